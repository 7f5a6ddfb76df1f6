import json
from datetime import date

import pytest

from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.programs.models import Completion, Enrollment
from laurel.programs.tests.helpers import make_program, manual
from tests.factories import make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind")


@pytest.fixture
def headers(org):
    key = api_key_create(actor=Actor.system("t"), organization=org, name="LMS").full_key
    return {"Authorization": f"Bearer {key}"}


def post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_bulk_enrollment_with_idempotency_key_replays_instead_of_refusing(client, org, headers):
    program = make_program(org)
    body = {"people": [{"email": "a@example.com"}, {"email": "b@example.com"}], "notify": False}
    path = f"/api/v1/programs/{program.pk}/enrollments"
    first = post(client, path, body, {**headers, "Idempotency-Key": "k1"})
    again = post(client, path, body, {**headers, "Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert [e["email"] for e in first.json()] == ["a@example.com", "b@example.com"]
    assert Enrollment.objects.count() == 2
    refused = post(client, path, body, headers)
    assert refused.status_code == 409
    assert "Already enrolled" in refused.json()["error"]["message"]


def test_completion_through_the_api_waits_for_approval_then_earns(client, org, headers):
    program = make_program(org, requirements=[manual("Essay", needs_approval=True)])
    path = f"/api/v1/programs/{program.pk}/enrollments"
    [enrollment] = post(client, path, {"people": [{"email": "a@example.com"}]}, headers).json()
    req = program.current_version.requirements.get()
    detail = post(
        client,
        f"/api/v1/programs/enrollments/{enrollment['id']}/completions",
        {"requirement_id": req.pk, "completed_on": str(date.today())},
        headers,
    ).json()
    assert detail["requirements"][0]["status"] == "Awaiting approval"
    queue = client.get("/api/v1/programs/approvals/queue", headers=headers).json()["items"]
    assert [c["email"] for c in queue] == ["a@example.com"]
    post(client, f"/api/v1/programs/approvals/{queue[0]['id']}/approve", {}, headers)
    assert Completion.objects.get().status == "complete"
    got = client.get(f"/api/v1/programs/enrollments/{enrollment['id']}", headers=headers).json()
    assert got["status"] == "earned"
    trackers = client.get(f"/api/v1/programs/{program.pk}", headers=headers).json()["trackers"]
    assert trackers["earned"] == 1
