"""Owner-scoped access for organization pages: another organization's object is a 404."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.utils import timezone

from laurel.accounts.models import Membership, Role

SAFE_METHODS = ("GET", "HEAD")


def active_memberships(request) -> list[Membership]:
    """The signed-in user's active memberships, with their organizations, read once a request:
    the two-factor check, ``org_required`` and the header's organization switcher share this
    one query instead of making one each.

    Only a GET or HEAD keeps the list for the whole request; any other method may change
    memberships in its view (accept an invitation, leave, change a role) and the page it
    renders must show that, so the header reads them again (see
    ``laurel.accounts.context_processors``)."""
    memberships = getattr(request, "_laurel_memberships", None)
    if memberships is None:
        memberships = list(
            Membership.objects.active()
            .filter(user=request.user)
            .select_related("organization")
            .order_by("pk")
        )
        request._laurel_memberships = memberships
    return memberships


def membership_in(request, org_slug: str) -> Membership | None:
    """The user's active membership of the organization at ``org_slug``, if any."""
    return next((m for m in active_memberships(request) if m.organization.slug == org_slug), None)


def org_required(*roles: str):
    """Resolve ``org_slug`` to an organization the user is an active member of, with one of
    ``roles`` (admins always pass). Anything else, including a non-member, is a 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, org_slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_in(request, org_slug)
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
