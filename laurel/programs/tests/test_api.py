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
    path = f"/api/v1/programs/enrollments/{enrollment['id']}/completions"
    body = {"requirement_id": req.pk, "completed_on": str(date.today())}
    detail = post(client, path, body, {**headers, "Idempotency-Key": "c1"}).json()
    assert detail["requirements"][0]["status"] == "Awaiting approval"
    retry = post(client, path, body, {**headers, "Idempotency-Key": "c1"})
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert Completion.objects.count() == 1  # not recorded twice
    queue = client.get("/api/v1/programs/approvals/queue", headers=headers).json()["items"]
    assert [c["email"] for c in queue] == ["a@example.com"]
    post(client, f"/api/v1/programs/approvals/{queue[0]['id']}/approve", {}, headers)
    assert Completion.objects.get().status == "complete"
    got = client.get(f"/api/v1/programs/enrollments/{enrollment['id']}", headers=headers).json()
    assert got["status"] == "earned"
    trackers = client.get(f"/api/v1/programs/{program.pk}", headers=headers).json()["trackers"]
    assert trackers["earned"] == 1


def program_body(**extra):
    return {
        "code": "rn-cert",
        "name": "Registered Nurse Certification",
        "window_months": 12,
        "grace_days": 30,
        "requirements": [
            {
                "kind": "credit_hours",
                "title": "12 CE hours",
                "credit_type_code": "CE",
                "hours": "12",
            },
            {"kind": "manual", "title": "Exam", "needs_grade": True, "min_grade": "70"},
        ],
        **extra,
    }


def test_program_is_defined_activated_and_versioned_through_the_api(client, org, headers):
    first = post(client, "/api/v1/programs", program_body(), {**headers, "Idempotency-Key": "p1"})
    again = post(client, "/api/v1/programs", program_body(), {**headers, "Idempotency-Key": "p1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    created = first.json()
    assert (created["code"], created["status"], created["version"]) == ("RN-CERT", "draft", 1)
    assert [r["kind"] for r in created["requirements"]] == ["credit_hours", "manual"]
    assert post(client, "/api/v1/programs", program_body(), headers).status_code == 422
    pid = created["id"]
    active = post(client, f"/api/v1/programs/{pid}/status", {"status": "active"}, headers)
    assert active.json()["status"] == "active"
    [enrollment] = post(
        client,
        f"/api/v1/programs/{pid}/enrollments",
        {"people": [{"email": "a@example.com"}]},
        headers,
    ).json()
    body = program_body(name="RN Certification 2027")
    del body["code"]
    body["requirements"] = body["requirements"][:1]
    changed = client.put(
        f"/api/v1/programs/{pid}",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    ).json()
    assert (changed["version"], changed["name"], len(changed["requirements"])) == (
        2,
        "RN Certification 2027",
        1,
    )
    still = client.get(f"/api/v1/programs/enrollments/{enrollment['id']}", headers=headers).json()
    assert still["version"] == 1 and len(still["requirements"]) == 2  # stays on its version
    cancelled = post(client, f"/api/v1/programs/enrollments/{enrollment['id']}/cancel", {}, headers)
    assert cancelled.json()["status"] == "cancelled"
    again = post(client, f"/api/v1/programs/enrollments/{enrollment['id']}/cancel", {}, headers)
    assert again.status_code == 409


def test_unknown_course_in_a_requirement_is_refused_and_nothing_is_created(client, org, headers):
    body = program_body(
        requirements=[{"kind": "offering", "title": "Intro", "course_ids": ["NOPE-1"]}]
    )
    response = post(client, "/api/v1/programs", body, headers)
    assert response.status_code == 422
    assert "NOPE-1" in response.json()["error"]["message"]
    assert client.get("/api/v1/programs", headers=headers).json()["count"] == 0


def test_self_reported_credit_is_approved_through_the_api(client, org, headers):
    from decimal import Decimal

    from laurel.credits.services import dashboard_create, self_report_create
    from laurel.programs.tests.helpers import hours
    from tests.factories import make_user

    nurse = make_user("nurse@example.com")
    program = make_program(org, requirements=[hours("CE", "4")])
    path = f"/api/v1/programs/{program.pk}/enrollments"
    post(client, path, {"people": [{"email": nurse.email}], "enrolled_on": "2025-01-01"}, headers)
    self_report_create(
        holder=nurse,
        title="Wound care",
        provider="County Hospital",
        completion_date=date(2025, 2, 1),
        hours={"CE": Decimal(4)},
        dashboard=dashboard_create(holder=nurse, name="License"),
    )
    listed = client.get("/api/v1/programs/self-reports?status=awaiting_approval", headers=headers)
    [item] = listed.json()["items"]
    assert (item["title"], item["provider"], item["hours"]) == (
        "Wound care",
        "County Hospital",
        {"CE": "4.00"},
    )
    done = post(client, f"/api/v1/programs/self-reports/{item['id']}/approve", {}, headers).json()
    assert done["status"] == "approved" and done["decided_at"]
    assert Enrollment.objects.get().status == "earned"
    twice = post(
        client, f"/api/v1/programs/self-reports/{item['id']}/return", {"reason": "x"}, headers
    )
    assert twice.status_code == 409
