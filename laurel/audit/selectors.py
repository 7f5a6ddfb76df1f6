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
    if actor and actor.strip():
        events = events.filter(actor_id__in=actors_matching(actor))
    if object_type:
        events = events.filter(object_type=object_type)
    if date_from:
        events = events.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        next_day = date_to + dt.timedelta(days=1)
        events = events.filter(at__lt=dt.datetime.combine(next_day, dt.time.min, tzinfo=tz))
    return events


def actors_matching(text: str) -> list[int]:
    """Users whose e-mail is ``text`` or starts with it, resolved on the user table first so
    the trail is read on its (organization, time) index. At most 500."""
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(email__istartswith=text.strip())
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )


def object_types() -> list[tuple[str, str]]:
    """Every kind of object Laurel records events about (its own models), as (value, label):
    a fixed list from the code, never a ``SELECT DISTINCT`` over millions of events."""
    from django.apps import apps

    return sorted(
        (m._meta.label_lower, f"{m._meta.verbose_name.capitalize()} ({m._meta.label_lower})")
        for m in apps.get_models()
        if m.__module__.startswith("laurel.")
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
