"""Reading the audit trail: filters and a compact before/after diff."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from laurel.audit.models import AuditEvent


def event_filter(
    events,
    *,
    tz,
    action: str = "",
    actor: str = "",
    object_type: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    """Narrow ``events``; dates are calendar days in ``tz`` (the organization's zone)."""
    if action:
        events = events.filter(action__startswith=action.strip())
    if actor:
        events = events.filter(actor__email__icontains=actor.strip())
    if object_type:
        events = events.filter(object_type=object_type)
    if date_from:
        events = events.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        next_day = date_to + dt.timedelta(days=1)
        events = events.filter(at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    return events


def object_types_for(org) -> list[str]:
    return list(
        AuditEvent.objects.for_org(org)
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # compact JSON, None when the field was absent
    after: str | None


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)


def event_changes(event: AuditEvent) -> list[Change]:
    """The fields that differ between ``before`` and ``after``, each as compact JSON."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [Change("value", _compact(event.before), _compact(event.after))]
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        changes.append(
            Change(
                key,
                _compact(old) if key in before else None,
                _compact(new) if key in after else None,
            )
        )
    return changes
