def organizations(request):
    """The organizations the signed-in user works in, for the switcher in the header."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    from laurel.web.navigation import org_nav
    from laurel.web.tenancy import SAFE_METHODS, active_memberships

    if request.method not in SAFE_METHODS:
        # The view may have just changed them (see ``active_memberships``).
        request.__dict__.pop("_laurel_memberships", None)
    return {
        "my_memberships": active_memberships(request),
        "current_org": getattr(request, "org", None),
        "org_nav": org_nav(request),
    }
