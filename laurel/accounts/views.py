"""Organization membership and settings pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from laurel.accounts import services
from laurel.accounts.models import MemberInvitation, Membership, Role
from laurel.accounts.services import ServiceError
from laurel.web.tenancy import org_required


@org_required(Role.ADMIN)
def member_list(request):
    members = Membership.objects.active().filter(organization=request.org).select_related("user")
    invitations = MemberInvitation.objects.filter(
        organization=request.org, accepted_at__isnull=True, cancelled_at__isnull=True
    )
    return render(
        request, "accounts/member_list.html", {"members": members, "invitations": invitations}
    )


@org_required(Role.ADMIN)
def org_settings(request):
    return render(request, "accounts/org_settings.html", {"org": request.org})


@login_required
def invitation_accept(request, token: str):
    """Staff invitation link: confirm, then join with the invited role."""
    if request.method == "POST":
        try:
            membership = services.member_invitation_accept(token=token, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, "accounts/invitation_accept.html", {"error": exc.message})
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("credits:org_ledger", org_slug=membership.organization.slug)
    return render(request, "accounts/invitation_accept.html", {})
