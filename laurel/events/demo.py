"""Demo events, so a newcomer sees each part of events: a past class whose attendance is
marked (credit offered or held, certificates issued), an upcoming public event with
registrations and a waitlist, and a two-session, two-track conference. Called by
``laurel/demo.py`` once the organization and its holders exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from laurel.audit.services import Actor
from laurel.events import services
from laurel.events.models import Event, Registration

ACTOR = Actor.system("demo")


def _at(days: int, hour: int, tz):
    day = (timezone.now().astimezone(tz) + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return day


def load(
    org, *, emails: list[str], credit_types: dict, names: dict[str, str] | None = None
) -> list[Event]:
    """``credit_types`` by code (two or three of them are used); ``names`` by e-mail (a
    certificate is issued in a name, never without). Small: a few dozen people."""
    names = names or {}
    if Event.objects.for_org(org).exists():
        return []
    codes = list(credit_types)
    first, second = credit_types[codes[0]], credit_types[codes[1 % len(codes)]]
    tz = org.tz
    people = emails[:40]

    past = services.event_create(
        actor=ACTOR, organization=org, title="Wound care update (evening class)",
        description="Three hours with the regional wound care team.",
        starts_at=_at(-12, 18, tz), ends_at=_at(-12, 21, tz), time_zone=org.time_zone,
        venue="Northwind Training Centre", address="12 Harbour Street",
        visibility=Event.Visibility.BACK_OFFICE,
    )  # fmt: skip
    services.component_add(actor=ACTOR, event=past, credit_type=first, amount=Decimal(3))
    regs = [
        services.registration_create(actor=ACTOR, event=past, email=e, name=names.get(e, ""))
        for e in people[:18]
    ]
    services.attendance_set(
        actor=ACTOR, registrations=regs[:15], state=Registration.Status.ATTENDED, notify=False
    )
    services.attendance_set(actor=ACTOR, registrations=regs[15:], state=Registration.Status.NO_SHOW)

    upcoming = services.event_create(
        actor=ACTOR, organization=org, title="Pressure injury prevention workshop",
        description="Hands-on practice. Bring your own case notes.",
        starts_at=_at(20, 9, tz), ends_at=_at(20, 12, tz), time_zone=org.time_zone,
        venue="Northwind Training Centre", address="12 Harbour Street", capacity=12,
        visibility=Event.Visibility.PUBLIC,
    )  # fmt: skip
    services.registration_type_add(actor=ACTOR, event=upcoming, name="Member")
    services.registration_type_add(
        actor=ACTOR, event=upcoming, name="Non-member", price_label="$45"
    )
    services.component_add(actor=ACTOR, event=upcoming, credit_type=first, amount=Decimal(3))
    for email in people[:15]:  # 12 seats: the last three wait, in order
        services.registration_create(
            actor=ACTOR, event=upcoming, email=email, name=names.get(email, "")
        )

    conference = services.event_create(
        actor=ACTOR, organization=org, title="Spring nursing conference",
        description="Two sessions; choose a track when you register.",
        starts_at=_at(-3, 9, tz), ends_at=_at(-3, 16, tz), time_zone=org.time_zone,
        format=Event.Format.ONLINE, join_url="https://meet.example.org/northwind-spring",
        visibility=Event.Visibility.PUBLIC,
    )  # fmt: skip
    tracks = [
        services.track_add(actor=ACTOR, event=conference, name=f"{ct.code} track")
        for ct in (first, second)
    ]
    for n, title in enumerate(("Morning plenary", "Afternoon workshops")):
        session = services.session_add(
            actor=ACTOR, event=conference, title=title,
            starts_at=_at(-3, 9 + 4 * n, tz), ends_at=_at(-3, 12 + 4 * n, tz),
        )  # fmt: skip
        for track, ct in zip(tracks, (first, second), strict=True):
            services.component_add(
                actor=ACTOR, event=conference, credit_type=ct, amount=Decimal("1.5"),
                session=session, track=track,
            )  # fmt: skip
    conf_regs = [
        services.registration_create(
            actor=ACTOR,
            event=conference,
            email=email,
            name=names.get(email, ""),
            track=tracks[i % 2],
        )  # fmt: skip
        for i, email in enumerate(people[18:30])
    ]
    services.attendance_set(
        actor=ACTOR, registrations=conf_regs[:8], state=Registration.Status.ATTENDED, notify=False
    )
    return [past, upcoming, conference]
