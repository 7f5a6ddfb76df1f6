"""Reading the audit trail: filters and a compact before/after diff."""

from __future__ import annotations

import datetime as dt


def event_filter(
    events,
    *,
    tz,
    action: str = "",
    person: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    """Narrow ``events``; dates are calendar days in ``tz`` (the organization's zone)."""
    if action:
        events = events.filter(action=action)
    if person.isdigit():
        events = events.filter(actor_id=int(person))
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id.strip():
        events = events.filter(object_id=object_id.strip())
    if date_from:
        events = events.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        next_day = date_to + dt.timedelta(days=1)
        events = events.filter(at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    return events


def people_for(org) -> list[tuple[str, str]]:
    """The organization's members, past and present, as the person filter's choices."""
    from laurel.accounts.models import Membership

    seen = {}
    for user_id, name, email in (
        Membership.objects.filter(organization=org)
        .order_by("user__full_name", "user__email")
        .values_list("user_id", "user__full_name", "user__email")
    ):
        seen.setdefault(str(user_id), f"{name} ({email})" if name else email)
    return list(seen.items())
