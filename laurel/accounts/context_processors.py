def organizations(request):
    """The organizations the signed-in user works in, for the switcher in the header."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {}
    memberships = list(user.memberships.active().select_related("organization"))
    from laurel.web.navigation import org_nav

    return {
        "my_memberships": memberships,
        "current_org": getattr(request, "org", None),
        "org_nav": org_nav(request),
    }
