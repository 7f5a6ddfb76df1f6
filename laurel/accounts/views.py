"""Organization membership and settings pages, and the platform's organization list."""

from allauth.account.models import EmailAddress
from allauth.account.views import ConfirmEmailView as AllauthConfirmEmailView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from laurel.accounts import services
from laurel.accounts.forms import (
    MemberInviteForm,
    OrganizationCreateForm,
    OrganizationSettingsForm,
    ProfileForm,
    RoleForm,
    add_service_errors,
)
from laurel.accounts.models import MemberInvitation, Membership, Organization, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.web.confirm import confirm_page
from laurel.web.tenancy import org_required

# --- Platform (superusers) ------------------------------------------------------------------


@login_required
def platform_organizations(request):
    """Every organization on this Laurel, and the form to create one. Superusers only."""
    if not request.user.is_superuser:
        raise Http404("No such page")
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.organization_create(
                actor=Actor.from_request(request), **form.cleaned_data
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            email = form.cleaned_data["first_admin_email"]
            joined = Membership.objects.active().filter(organization=org, role=Role.ADMIN).exists()
            messages.success(
                request,
                f"Created {org.name}. "
                + (f"{email} is its admin." if joined else f"{email} was invited as its admin."),
            )
            return redirect("accounts:platform_organizations")
    organizations = Organization.objects.all()
    return render(
        request,
        "accounts/platform_organizations.html",
        {"form": form, "organizations": organizations},
    )


# --- Organization settings ------------------------------------------------------------------


@org_required(Role.ADMIN)
def org_settings(request):
    max_bytes = settings.LAUREL_LOGO_MAX_BYTES
    org = request.org
    initial = {f: getattr(org, f) for f in services.ORG_SETTINGS_FIELDS}
    form = OrganizationSettingsForm(
        request.POST or None, request.FILES or None, initial=initial, max_logo_bytes=max_bytes
    )
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        logo = changes.pop("logo")
        if logo is False:
            changes["logo"] = None
        elif logo:
            changes["logo"] = logo
        # Work on a fresh copy so a refused change leaves the page's organization as it was.
        target = Organization.objects.get(pk=org.pk)
        try:
            target = services.organization_update(
                actor=Actor.from_request(request), organization=target, **changes
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            request.org = target
            messages.success(request, "Settings saved.")
            return redirect("accounts:org_settings", org_slug=target.slug)
    return render(request, "accounts/org_settings.html", {"org": org, "form": form})


# --- Members and invitations ----------------------------------------------------------------


@org_required(Role.ADMIN)
def member_list(request):
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.member_invite(
                actor=Actor.from_request(request), organization=request.org, **form.cleaned_data
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email} as {invitation.get_role_display()}.",
            )
            return redirect("accounts:member_list", org_slug=request.org.slug)
    members = (
        Membership.objects.active()
        .filter(organization=request.org)
        .select_related("user")
        .order_by("user__email")
    )
    invitations = MemberInvitation.objects.filter(
        organization=request.org, accepted_at__isnull=True, cancelled_at__isnull=True
    )
    return render(
        request,
        "accounts/member_list.html",
        {"members": members, "invitations": invitations, "form": form, "roles": Role.choices},
    )


def _membership(request, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.active().select_related("user", "organization"),
        organization=request.org,
        pk=pk,
    )


def _invitation(request, pk: int) -> MemberInvitation:
    return get_object_or_404(
        MemberInvitation.objects.select_related("organization"), organization=request.org, pk=pk
    )


@org_required(Role.ADMIN)
@require_POST
def member_role(request, pk: int):
    membership = _membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
    else:
        try:
            services.membership_change_role(
                actor=Actor.from_request(request), membership=membership, **form.cleaned_data
            )
        except ServiceError as exc:
            messages.error(request, f"{membership.user.email}: {exc.message}")
        else:
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display()}."
            )
    return redirect("accounts:member_list", org_slug=request.org.slug)


@org_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def member_remove(request, pk: int):
    """GET: the confirmation; POST: remove (the membership row stays, as history)."""
    membership = _membership(request, pk)
    if request.method == "GET":
        yourself = membership.user_id == request.user.pk
        return confirm_page(
            request,
            title=f"Remove {membership.user} from {request.org.name}?",
            consequences=[
                f"{membership.user.email} can no longer open {request.org.name}'s pages "
                f"as {membership.get_role_display().lower()}."
                + (" That includes you: you leave this organization." if yourself else ""),
                "What they recorded stays, with their name in the audit trail.",
                "To give them access again, invite them again.",
            ],
            button="Remove the member",
            cancel_url=reverse("accounts:member_list", args=[request.org.slug]),
        )
    try:
        services.membership_remove(actor=Actor.from_request(request), membership=membership)
    except ServiceError as exc:
        messages.error(request, f"{membership.user.email}: {exc.message}")
    else:
        messages.success(request, f"{membership.user.email} was removed.")
        if membership.user_id == request.user.pk:
            return redirect("home")
    return redirect("accounts:member_list", org_slug=request.org.slug)


@org_required(Role.ADMIN)
@require_POST
def invitation_resend(request, pk: int):
    invitation = _invitation(request, pk)
    try:
        services.member_invitation_resend(actor=Actor.from_request(request), invitation=invitation)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("accounts:member_list", org_slug=request.org.slug)


@org_required(Role.ADMIN)
@require_POST
def invitation_cancel(request, pk: int):
    invitation = _invitation(request, pk)
    try:
        services.member_invitation_cancel(actor=Actor.from_request(request), invitation=invitation)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation to {invitation.email} cancelled.")
    return redirect("accounts:member_list", org_slug=request.org.slug)


@login_required
def invitation_accept(request, token: str):
    """Staff invitation link: confirm, then join with the invited role."""
    if request.method == "POST":
        try:
            membership = services.member_invitation_accept(token=token, user=request.user)
        except ServiceError as exc:
            return render(request, "accounts/invitation_accept.html", {"error": exc.message})
        messages.success(request, f"You joined {membership.organization.name}.")
        return redirect("org_home", org_slug=membership.organization.slug)
    return render(request, "accounts/invitation_accept.html", {})


# --- The holder's profile and connection invitations ---------------------------------------


@login_required
def profile(request):
    """The holder's name (for certificates and transcripts) and time zone."""
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"full_name": user.full_name, "time_zone": user.time_zone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.profile_update(
                user=user,
                full_name=form.cleaned_data["full_name"],
                time_zone=form.cleaned_data["time_zone"],
            )
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            if issued:
                n = len(issued)
                messages.success(
                    request,
                    f"{n} certificate{'s' if n != 1 else ''} that waited for your name "
                    f"{'were' if n != 1 else 'was'} issued.",
                )
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


def connection_invitation(request, token: str):
    """An organization's invitation to connect: accept (signed in, with the invited address
    verified) or decline (anyone holding the mailed link: it stops the reminders)."""
    conn = services.connection_for_invitation(token)
    if conn is None:
        raise Http404("This invitation link is not valid.")
    error = ""
    if request.method == "POST":
        if request.POST.get("answer") == "decline":
            services.connection_invitation_decline(
                conn=conn, user=request.user if request.user.is_authenticated else None
            )
            messages.info(request, f"You declined the invitation from {conn.organization.name}.")
            return redirect("accounts:connection_invitation", token=token)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            services.connection_invitation_accept(conn=conn, user=request.user)
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, f"You are connected with {conn.organization.name}.")
            return redirect("credits:locker")
    return render(
        request,
        "accounts/connection_invitation.html",
        {"conn": conn, "error": error, "token": token},
        status=403 if error else 200,
    )


# --- Confirming an e-mail address ---------------------------------------------------------


class ConfirmEmailView(AllauthConfirmEmailView):
    """allauth's confirmation page, stricter for an address added to an existing account.

    Verifying an address hands that account every credit held for it, so a link mailed to
    someone else's inbox must not be enough: the page names the account the address will
    join, and only someone logged in as that account can confirm (by POST). A new account's
    first address (sign-up) confirms as allauth does, from any browser.
    """

    template_name = "account/email_confirm.html"

    def _joins_existing_account(self, confirmation) -> bool:
        address = confirmation.email_address
        return (
            EmailAddress.objects.filter(user_id=address.user_id, verified=True)
            .exclude(pk=address.pk)
            .exists()
        )

    def _refused(self, confirmation) -> bool:
        return (
            self._joins_existing_account(confirmation)
            and self.request.user.pk != confirmation.email_address.user_id
        )

    def get(self, *args, **kwargs):
        # A sign-up link confirms on opening (ACCOUNT_CONFIRM_EMAIL_ON_GET); an address added
        # to an existing account still shows whose account it joins and asks for the POST.
        try:
            confirmation = self.get_object()
        except Http404:
            confirmation = None
        if confirmation is not None and self._joins_existing_account(confirmation):
            self.object = confirmation
            return self.render_to_response(self.get_context_data())
        return super().get(*args, **kwargs)

    def logout_other_user(self, confirmation) -> None:
        # Someone else's session stays: they are shown whose account the link is for.
        if not self._joins_existing_account(confirmation):
            super().logout_other_user(confirmation)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        if self.object:
            ctx["account_email"] = self.object.email_address.user.email
            ctx["joins_existing"] = self._joins_existing_account(self.object)
            ctx["must_log_in"] = self._refused(self.object)
        return ctx

    def post(self, *args, **kwargs):
        try:
            confirmation = self.get_object()
        except Http404:
            return super().post(*args, **kwargs)
        if self._refused(confirmation):
            self.object = confirmation
            return self.render_to_response(self.get_context_data(), status=403)
        return super().post(*args, **kwargs)


confirm_email = ConfirmEmailView.as_view()
