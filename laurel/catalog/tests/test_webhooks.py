"""Review events reach the accrediting organization's endpoints, as the schemas say."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.tests.providers import (
    approve,
    make_accrediting,
    make_application,
    make_provider,
    make_reviewer,
    submit,
)
from laurel.integrations.events import SUBMISSION_EVENTS
from laurel.integrations.services import endpoint_create, webhooks_dispatch
from laurel.integrations.tests.conftest import receiver  # noqa: F401 (a fixture)
from tests.factories import make_member

SCHEMAS = Path(__file__).resolve().parents[2] / "integrations" / "schemas"


@pytest.fixture
def world(db, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    org = make_accrediting("northwind", "NNA")
    provider, user = make_provider("brightpath")
    return org, provider, user, make_reviewer(org), make_member(org, Role.ADMIN, "a@nw.example")


def listen(org, admin, url, types=SUBMISSION_EVENTS):
    endpoint_create(actor=Actor(user=admin), organization=org, url=url, event_types=list(types))


def received(rec) -> list[dict]:
    events = [r.json for r in rec.got]
    for event in events:
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['type']}.json").read_text()))
    return events


def test_submitted_then_approved_with_the_new_course_id(world, receiver):  # noqa: F811
    org, provider, user, reviewer, admin = world
    listen(org, admin, receiver.url)
    (sub,) = submit(make_application(provider, user), user, org)
    sub = approve(sub, reviewer, credit={"CE": "1.5"})
    assert webhooks_dispatch() == 2
    submitted, approved = received(receiver)
    assert submitted["type"] == "submission.submitted"
    assert submitted["data"]["organization"] == "northwind"
    assert submitted["data"]["submission"]["provider"] == {
        "slug": "brightpath",
        "name": "Brightpath",
    }
    assert submitted["data"]["submission"]["course_id"] is None
    assert approved["type"] == "submission.approved"
    assert approved["data"]["submission"]["id"] == sub.pk
    assert approved["data"]["submission"]["course_id"] == sub.course.course_id
    assert approved["data"]["submission"]["course_id"].startswith("NNA-")
    assert approved["data"]["submission"]["credit"] == sub.approved_credit


def test_denied_then_tried_again_and_changes_requested_is_not_an_event(world, receiver):  # noqa: F811
    org, provider, user, reviewer, admin = world
    listen(org, admin, receiver.url)
    app = make_application(provider, user)
    (sub,) = submit(app, user, org)
    services.submission_decide(
        actor=Actor(user=reviewer), submission=sub, decision="deny", reason="No objectives."
    )
    (again,) = submit(app, user, org, previous=sub)
    services.submission_decide(
        actor=Actor(user=reviewer),
        submission=again,
        decision="request_changes",
        reason="Add a session.",
    )
    services.submission_resubmit(actor=Actor(user=user), submission=again)
    webhooks_dispatch()
    events = received(receiver)
    assert [e["type"] for e in events] == [
        "submission.submitted",
        "submission.denied",
        "submission.submitted",
        "submission.submitted",  # sent again after changes were requested: round 2
    ]
    assert events[1]["data"]["submission"]["reason"] == "No objectives."
    assert events[2]["data"]["submission"]["previous_id"] == sub.pk
    assert events[3]["data"]["submission"]["round"] == 2


def test_the_provider_and_other_organizations_endpoints_get_nothing(world, receiver):  # noqa: F811
    org, provider, user, reviewer, _ = world
    other = make_accrediting("southwind", "SWA")
    listen(other, make_member(other, Role.ADMIN, "a@sw.example"), receiver.url)
    listen(provider, user, receiver.url)
    (sub,) = submit(make_application(provider, user), user, org)
    approve(sub, reviewer)
    webhooks_dispatch()
    assert receiver.got == []


def test_an_endpoint_gets_only_the_review_types_it_chose(world, receiver):  # noqa: F811
    org, provider, user, reviewer, admin = world
    listen(org, admin, receiver.url, types=["submission.approved"])
    (sub,) = submit(make_application(provider, user), user, org)
    approve(sub, reviewer)
    webhooks_dispatch()
    assert [e["type"] for e in received(receiver)] == ["submission.approved"]


def test_with_two_reviewers_only_the_second_approval_is_an_event(world, receiver):  # noqa: F811
    from laurel.catalog.models import ReviewPolicy

    org, provider, user, reviewer, admin = world
    ReviewPolicy.objects.update_or_create(organization=org, defaults={"two_reviewers": True})
    listen(org, admin, receiver.url, types=["submission.approved"])
    (sub,) = submit(make_application(provider, user), user, org)
    approve(sub, reviewer)
    webhooks_dispatch()
    assert receiver.got == []
    approve(sub, make_reviewer(org, "second@northwind.example"))
    webhooks_dispatch()
    (approved,) = received(receiver)
    assert approved["data"]["submission"]["course_id"].startswith("NNA-")
