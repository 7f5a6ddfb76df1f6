"""Owner-scoped access for organization pages: another organization's object is a 404."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils import timezone

from laurel.accounts.models import Membership, Role


def org_required(*roles: str):
    """Resolve ``org_slug`` to an organization the user is an active member of, with one of
    ``roles`` (admins always pass). Anything else, including a non-member, is a 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, org_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = (
                Membership.objects.active()
                .select_related("organization")
                .filter(organization__slug=org_slug, user=request.user)
                .first()
            )
            if membership is None or (roles and not membership.has_role(*roles)):
                raise Http404("No such organization")
            request.org = membership.organization
            request.membership = membership
            # Staff pages show every moment in the organization's time zone (labelled in
            # base.html), whatever the server's or the browser's zone.
            with timezone.override(membership.organization.tz):
                return view(request, *args, **kwargs)

        wrapper.org_roles = roles or tuple(Role.values)
        return wrapper

    return decorator


ANY_MEMBER = ()
ENTRY_ROLES = (Role.STAFF,)  # admin and staff may enter credits
