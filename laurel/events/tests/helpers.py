"""Small factories for events tests (and the attendee import's)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from laurel.audit.services import Actor
from laurel.events.services import (
    component_add,
    event_create,
    registration_create,
    session_add,
    track_add,
)
from tests.factories import make_credit_type

STAFF = Actor.system("test")


def make_event(
    org,
    *,
    title="Fair Housing Update",
    days_ago: int = 1,
    components: dict | None = None,
    tracks: dict | None = None,
    sessions: list | None = None,
    **fields,
):
    """An event ``days_ago`` days back (negative: ahead). ``components``: {code: amount}
    for everyone; ``tracks``: {track name: {code: amount}}; ``sessions``: [(title,
    {code: amount})] one hour each."""
    start = timezone.now().replace(microsecond=0) - timedelta(days=days_ago)
    fields.setdefault("time_zone", org.time_zone)
    event = event_create(
        actor=STAFF,
        organization=org,
        title=title,
        starts_at=fields.pop("starts_at", start),
        ends_at=fields.pop("ends_at", start + timedelta(hours=3)),
        **fields,
    )
    types = {}

    def ctype(code):
        if code not in types:
            types[code] = org.credit_types.filter(code=code).first() or make_credit_type(org, code)
        return types[code]

    for code, amount in (components or {}).items():
        component_add(actor=STAFF, event=event, credit_type=ctype(code), amount=Decimal(amount))
    for name, comps in (tracks or {}).items():
        track = track_add(actor=STAFF, event=event, name=name)
        for code, amount in comps.items():
            component_add(
                actor=STAFF, event=event, credit_type=ctype(code), amount=Decimal(amount),
                track=track,
            )  # fmt: skip
    for n, (title_, comps) in enumerate(sessions or []):
        begin = event.starts_at + timedelta(hours=n)
        session = session_add(
            actor=STAFF, event=event, title=title_, starts_at=begin,
            ends_at=begin + timedelta(hours=1),
        )  # fmt: skip
        for code, amount in comps.items():
            component_add(
                actor=STAFF, event=event, credit_type=ctype(code), amount=Decimal(amount),
                session=session,
            )  # fmt: skip
    return event


def register(event, *emails, track=None, **kw):
    if isinstance(track, str):
        track = event.tracks.get(name=track)
    # Named people, as a registration form asks (a certificate is never issued without a
    # name); pass name="" to register someone nameless.
    name = kw.pop("name", None)
    return [
        registration_create(
            actor=STAFF,
            event=event,
            email=e,
            name=e.split("@")[0].title() if name is None else name,
            track=track,
            **kw,
        )
        for e in emails
    ]


def at(event) -> datetime:
    return event.starts_at
