"""Enrollment webhooks: each change sends one event whose body matches its JSON Schema."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from laurel.accounts.models import Connection
from laurel.audit.services import Actor
from laurel.integrations import services as hooks
from laurel.integrations.events import ENROLLMENT_EVENTS
from laurel.integrations.models import WebhookMessage
from laurel.programs.models import Enrollment
from laurel.programs.services import (
    completion_record,
    deadlines_sweep,
    enrollment_cancel,
    enrollments_create,
)
from laurel.programs.tests.helpers import STAFF, make_program, manual
from tests.factories import make_org

pytestmark = pytest.mark.django_db
SCHEMAS = Path(__file__).resolve().parents[2] / "integrations" / "schemas"


def bodies(event_type):
    out = []
    for message in WebhookMessage.objects.filter(event_type=event_type).order_by("pk"):
        body = json.loads(hooks.body_of(message))
        jsonschema.validate(body, json.loads((SCHEMAS / f"{event_type}.json").read_text()))
        out.append(body["data"])
    return out


def test_enrolled_earned_grace_expired_and_cancelled_are_sent_once_each():
    org = make_org("northwind")
    hooks.endpoint_create(
        actor=Actor.system("t"),
        organization=org,
        url="https://hooks.example.org/laurel",
        event_types=list(ENROLLMENT_EVENTS),
    )
    Connection.objects.create(organization=org, email="a@example.com", member_id="M-1")
    program = make_program(org, window_months=1, grace_days=10, requirements=[manual("Exam")])
    start = org.today() - timedelta(days=35)
    a, b, c, d = enrollments_create(
        actor=STAFF,
        program=program,
        people=[(f"{x}@example.com", f"Person {x.upper()}") for x in "abcd"],
        enrolled_on=start,
    )
    completion_record(
        actor=STAFF,
        enrollment=a,
        requirement=program.current_version.requirements.get(),
        completed_on=start,
    )
    enrollment_cancel(actor=STAFF, enrollment=d)
    deadlines_sweep(notify=False)  # b and c: past the deadline, inside the grace period
    deadlines_sweep(notify=False)  # a second run changes nothing
    deadlines_sweep(today=org.today() + timedelta(days=30), notify=False)

    enrolled = bodies("enrollment.enrolled")
    assert sorted(e["person"]["email"] for e in enrolled) == [f"{x}@example.com" for x in "abcd"]
    assert enrolled[0]["person"]["member_id"] == "M-1"
    [earned] = bodies("enrollment.earned")
    assert earned["enrollment"]["id"] == a.pk
    assert earned["enrollment"]["certificate"]  # issued on earning, by its serial
    assert sorted(e["enrollment"]["id"] for e in bodies("enrollment.grace")) == [b.pk, c.pk]
    assert sorted(e["enrollment"]["id"] for e in bodies("enrollment.expired")) == [b.pk, c.pk]
    [cancelled] = bodies("enrollment.cancelled")
    assert cancelled["enrollment"]["program"] == program.code
    assert Enrollment.objects.get(pk=b.pk).status == "expired"


def test_nothing_is_built_for_an_organization_without_endpoints():
    org = make_org("quiet")
    program = make_program(org)
    enrollments_create(actor=STAFF, program=program, people=[("a@example.com", "")])
    assert not WebhookMessage.objects.exists()
