"""Organizations may require two-factor login for their admins, reviewers and managers; and
the organization a member last worked in is remembered for the home page."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect
from django.utils import timezone

from laurel.accounts.models import TWO_FACTOR_ROLES

LAST_ORG_SESSION_KEY = "laurel_last_org"


def _org_slug_from_path(path: str) -> str | None:
    # Organization pages live under /o/<org_slug>/ (see laurel.web.tenancy).
    parts = path.split("/", 3)
    if len(parts) >= 3 and parts[1] == "o" and parts[2]:
        return parts[2]
    return None


class StaffTwoFactorMiddleware:
    """On an organization's pages, send its staff who must use 2FA and have not set it up to
    the TOTP set-up page (their locker and account pages stay reachable)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        slug = _org_slug_from_path(request.path)
        if user.is_authenticated and slug:
            from laurel.web.tenancy import membership_in

            # The same membership ``org_required`` checks next: one query for both.
            membership = membership_in(request, slug)
            must = (
                membership is not None
                and membership.role in TWO_FACTOR_ROLES
                and membership.organization.require_staff_2fa
            )
            if (
                must
                and not Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists()
            ):
                return redirect("mfa_activate_totp")
        response = self.get_response(request)
        # ``org_required`` sets request.org once membership is checked; remember it so that
        # "/" brings the member back to the organization they last worked in.
        org = getattr(request, "org", None)
        if org is not None and request.session.get(LAST_ORG_SESSION_KEY) != org.slug:
            request.session[LAST_ORG_SESSION_KEY] = org.slug
        return response


class HolderTimeZoneMiddleware:
    """Outside organization pages (which use the organization's zone), show a signed-in
    person's times in the time zone on their profile; UTC until they set one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not _org_slug_from_path(request.path):
            timezone.activate(user.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
