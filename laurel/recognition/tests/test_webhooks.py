"""Ceremony events reach the issuing organization's endpoints, as the schemas say."""

from __future__ import annotations

import json
from datetime import time, timedelta
from pathlib import Path

import jsonschema
import pytest

from laurel.audit.services import Actor
from laurel.integrations.events import CEREMONY_EVENTS
from laurel.integrations.services import endpoint_create, webhooks_dispatch
from laurel.integrations.tests.conftest import receiver  # noqa: F401 (a fixture)
from laurel.recognition.models import Ceremony
from laurel.recognition.services import (
    CeremonyDetails,
    ceremony_details_save,
    ceremony_select,
    ceremony_submit,
    pins_mark_mailed,
)
from laurel.recognition.tests.factories import make_cast

SCHEMAS = Path(__file__).resolve().parents[2] / "integrations" / "schemas"


@pytest.fixture
def cast(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    return make_cast()


def listen(org, admin, url, types=CEREMONY_EVENTS):
    endpoint_create(actor=Actor(user=admin), organization=org, url=url, event_types=list(types))


def received(rec) -> list[dict]:
    events = [r.json for r in rec.got]
    for event in events:
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['type']}.json").read_text()))
    return events


def draft(cast, kind=Ceremony.Kind.CEREMONY):
    actor = Actor(user=cast.river_admin)
    end = cast.river_cohort.end_date
    ceremony = ceremony_select(
        actor=actor,
        organization=cast.river,
        kind=kind,
        range_start=end,
        range_end=end,
        cohort_ids=[cast.river_cohort.pk],
    )
    if kind == Ceremony.Kind.CEREMONY:
        details = CeremonyDetails(
            day=cast.river.today() + timedelta(days=20),
            at=time(18, 0),
            time_zone="America/New_York",
            format="in_person",
            venue="Main Hall",
            mailing_contact="Pat Doe",
            mailing_email="pat@river.edu",
            mailing_address="1 River Rd",
        )
        ceremony = ceremony_details_save(
            actor=actor, organization=cast.river, ceremony=ceremony, details=details
        )
    return ceremony_submit(actor=actor, organization=cast.river, ceremony=ceremony)


def test_scheduled_by_the_partner_then_pins_mailed_reach_the_issuer(cast, receiver):  # noqa: F811
    listen(cast.issuer, cast.issuer_admin, receiver.url)
    ceremony = draft(cast)
    pins_mark_mailed(
        actor=Actor(user=cast.issuer_staff),
        organization=cast.issuer,
        ceremony=ceremony,
        tracking_number="1Z999",
    )
    assert webhooks_dispatch() == 2
    scheduled, mailed = received(receiver)
    assert scheduled["type"] == "ceremony.scheduled"
    assert scheduled["data"]["organization"] == cast.issuer.slug
    got = scheduled["data"]["ceremony"]
    assert got["id"] == ceremony.pk and got["status"] == "scheduled"
    assert got["partner"] == {"slug": cast.river.slug, "name": "River City"}
    assert got["cohorts"] == ["River Spring"]
    assert got["venue"] == "Main Hall" and got["pins_mailed_at"] is None
    assert mailed["type"] == "ceremony.pins_mailed"
    assert mailed["data"]["ceremony"]["tracking_number"] == "1Z999"
    assert mailed["data"]["ceremony"]["status"] == "pins_mailed"


def test_a_certificate_request_and_the_partners_own_endpoint_get_nothing(cast, receiver):  # noqa: F811
    listen(cast.river, cast.river_admin, receiver.url)  # the partner's endpoint
    draft(cast)
    listen(cast.issuer, cast.issuer_admin, receiver.url)
    draft(cast, kind=Ceremony.Kind.REQUEST)  # Draft → Created: no ceremony is scheduled
    webhooks_dispatch()
    assert receiver.got == []
