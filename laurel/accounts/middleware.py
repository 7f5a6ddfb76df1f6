"""Organizations may require two-factor login for their admins, reviewers and managers."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.shortcuts import redirect

from laurel.accounts.models import TWO_FACTOR_ROLES, Membership


class StaffTwoFactorMiddleware:
    """On organization pages, send staff who must use 2FA and have not set it up to the
    TOTP set-up page (their locker and account pages stay reachable)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and request.path.startswith("/o/"):
            must = (
                Membership.objects.active()
                .filter(user=user, role__in=TWO_FACTOR_ROLES, organization__require_staff_2fa=True)
                .exists()
            )
            if (
                must
                and not Authenticator.objects.filter(
                    user=user, type=Authenticator.Type.TOTP
                ).exists()
            ):
                return redirect("mfa_activate_totp")
        return self.get_response(request)
