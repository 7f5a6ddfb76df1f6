import json

import pytest

from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.events.models import Event, Registration
from laurel.events.services import event_cancel
from laurel.events.tests.helpers import STAFF, make_event, register
from tests.factories import make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("lakes")


@pytest.fixture
def headers(org):
    key = api_key_create(actor=Actor.system("t"), organization=org, name="AMS").full_key
    return {"Authorization": f"Bearer {key}"}


def post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_create_an_event_then_register_with_an_idempotency_key(client, org, headers):
    created = post(
        client,
        "/api/v1/events",
        {"title": "Ethics", "starts_at": "2026-03-05T14:00:00Z",
         "ends_at": "2026-03-05T17:00:00Z", "time_zone": "America/Chicago"},
        headers,
    )  # fmt: skip
    assert created.status_code == 201
    event_id = created.json()["id"]
    assert Event.objects.get(pk=event_id).time_zone == "America/Chicago"
    path = f"/api/v1/events/{event_id}/registrations"
    body = {"email": "Ann@Example.com", "name": "Ann", "member_id": "N-1"}
    first = post(client, path, body, {**headers, "Idempotency-Key": "r1"})
    again = post(client, path, body, {**headers, "Idempotency-Key": "r1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["email"] == "ann@example.com" and len(first.json()["check_in_code"]) == 6
    assert Registration.objects.count() == 1
    refused = post(client, path, body, headers)
    assert refused.status_code == 409
    assert "already registered" in refused.json()["error"]["message"]


def test_registration_for_a_cancelled_event_is_a_409(client, org, headers):
    event = make_event(org, days_ago=-5)
    event_cancel(actor=STAFF, event=event)
    response = post(
        client, f"/api/v1/events/{event.pk}/registrations", {"email": "x@example.com"}, headers
    )
    assert response.status_code == 409
    assert "cancelled" in response.json()["error"]["message"]


def test_status_one_and_in_bulk_award_once(client, org, headers):
    event = make_event(org, components={"FAIRH": "2"})
    regs = register(event, "a@example.com", "b@example.com")
    one = post(
        client, f"/api/v1/events/registrations/{regs[0].pk}/status", {"status": "attended"}, headers
    )
    assert one.status_code == 200 and one.json()["status"] == "attended"
    bulk = post(
        client,
        f"/api/v1/events/{event.pk}/registrations/status",
        {"status": "attended", "registration_ids": [r.pk for r in regs]},
        headers,
    )
    assert bulk.status_code == 200
    assert bulk.json() | {"job_id": None} == {
        "changed": 1, "unchanged": 1, "credits": 1, "certificates": 1, "revoked": 0,
        "job_id": None,
    }  # fmt: skip
    assert Credit.objects.filter(source="attendance").count() == 2
    listed = client.get(
        f"/api/v1/events/{event.pk}/registrations?status=attended", headers=headers
    ).json()
    assert listed["count"] == 2


def test_marking_before_the_event_starts_is_refused_with_a_clear_message(client, org, headers):
    event = make_event(org, days_ago=-5, components={"CE": "1"})
    [reg] = register(event, "early@example.com")
    response = post(
        client, f"/api/v1/events/registrations/{reg.pk}/status", {"status": "attended"}, headers
    )
    assert response.status_code == 422
    assert "from the day the event starts" in response.json()["error"]["message"]
