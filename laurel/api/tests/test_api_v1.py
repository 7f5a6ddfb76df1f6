"""API v1: courses and credits of the key's organization, in one error shape."""

import json
import re
from datetime import date

import pytest
from django.test import Client

from laurel.accounts.models import Role
from laurel.api.models import IdempotencyRecord
from laurel.api.services import api_key_create
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db
# The database cache's read and write of one rate-limit counter (with a test's savepoints).
RATE_LIMIT_QUERIES = 5

ENDPOINTS = {
    ("GET", "/api/v1/courses"),
    ("GET", "/api/v1/credits"),
    ("POST", "/api/v1/credits"),
    ("GET", "/api/v1/credits/{credit_id}"),
    ("POST", "/api/v1/credits/{credit_id}/revoke"),
    ("GET", "/api/v1/certificates"),
    ("POST", "/api/v1/certificates"),
    ("GET", "/api/v1/certificates/{cert_id}"),
    ("POST", "/api/v1/certificates/{cert_id}/revoke"),
    ("GET", "/api/v1/certificates/{cert_id}/pdf"),
    ("GET", "/api/v1/certificates/{cert_id}/credential"),
    ("POST", "/api/v1/certificates/files"),
    ("GET", "/api/v1/certificates/files/{job_id}"),
    ("GET", "/api/v1/certificates/files/{job_id}/download"),
    ("POST", "/api/v1/imports"),
    ("GET", "/api/v1/imports/{import_id}"),
    ("GET", "/api/v1/imports/{import_id}/rows"),
    ("POST", "/api/v1/imports/{import_id}/commit"),
    ("GET", "/api/v1/applications"),
    ("POST", "/api/v1/applications"),
    ("GET", "/api/v1/applications/{application_id}"),
    ("PUT", "/api/v1/applications/{application_id}"),
    ("POST", "/api/v1/applications/{application_id}/submit"),
    ("GET", "/api/v1/submissions"),
    ("GET", "/api/v1/submissions/{submission_id}"),
    ("POST", "/api/v1/submissions/{submission_id}/comments"),
    ("POST", "/api/v1/submissions/{submission_id}/resubmit"),
    ("POST", "/api/v1/submissions/{submission_id}/decision"),
    ("GET", "/api/v1/recognition/cohorts"),
    ("GET", "/api/v1/recognition/cohorts/{cohort_id}"),
    ("GET", "/api/v1/recognition/cohorts/{cohort_id}/takers"),
    ("POST", "/api/v1/recognition/progress"),
    ("GET", "/api/v1/recognition/ceremonies"),
    ("POST", "/api/v1/recognition/ceremonies"),
    ("GET", "/api/v1/recognition/ceremonies/{ceremony_id}"),
    ("POST", "/api/v1/recognition/ceremonies/{ceremony_id}/submit"),
    ("GET", "/api/v1/recognition/certificate-requests"),
    ("GET", "/api/v1/webhooks/endpoints"),
    ("POST", "/api/v1/webhooks/endpoints"),
    ("GET", "/api/v1/webhooks/endpoints/{endpoint_id}"),
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"),
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/disable"),
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/enable"),
    ("POST", "/api/v1/webhooks/endpoints/{endpoint_id}/test"),
    ("GET", "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/resend"),
    ("POST", "/api/v1/webhooks/member-ids"),
    ("GET", "/api/v1/programs"),
    ("GET", "/api/v1/programs/{program_id}"),
    ("GET", "/api/v1/programs/{program_id}/enrollments"),
    ("POST", "/api/v1/programs/{program_id}/enrollments"),
    ("GET", "/api/v1/programs/enrollments/{enrollment_id}"),
    ("POST", "/api/v1/programs/enrollments/{enrollment_id}/completions"),
    ("GET", "/api/v1/programs/approvals/queue"),
    ("POST", "/api/v1/programs/approvals/{completion_id}/approve"),
    ("POST", "/api/v1/programs/approvals/{completion_id}/return"),
    ("GET", "/api/v1/events"),
    ("POST", "/api/v1/events"),
    ("GET", "/api/v1/events/{event_id}"),
    ("GET", "/api/v1/events/{event_id}/sessions"),
    ("GET", "/api/v1/events/{event_id}/registrations"),
    ("POST", "/api/v1/events/{event_id}/registrations"),
    ("POST", "/api/v1/events/registrations/{registration_id}/status"),
    ("POST", "/api/v1/events/{event_id}/registrations/status"),
    ("POST", "/api/v1/programs"),
    ("PUT", "/api/v1/programs/{program_id}"),
    ("POST", "/api/v1/programs/{program_id}/status"),
    ("POST", "/api/v1/programs/enrollments/{enrollment_id}/cancel"),
    ("GET", "/api/v1/programs/self-reports"),
    ("POST", "/api/v1/programs/self-reports/{review_id}/approve"),
    ("POST", "/api/v1/programs/self-reports/{review_id}/return"),
}


@pytest.fixture
def org():
    return make_org("nna")


@pytest.fixture
def other_org():
    return make_org("other")


@pytest.fixture
def key(org):
    return api_key_create(actor=Actor.system("test"), organization=org, name="LMS")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "2", "ETH": "1"}, title="Safe lifting")


@pytest.fixture
def api(client, key):
    """Calls with the organization's key: api("get", "/api/v1/courses", json=...)."""

    def call(method, path, json=None, headers=None, **params):
        headers = {"Authorization": f"Bearer {key.full_key}", **(headers or {})}
        if method == "get":
            return client.get(path, params, headers=headers)
        return getattr(client, method)(
            path, json or {}, content_type="application/json", headers=headers
        )

    return call


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["request_id"] == response["X-Request-ID"]
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def without_request_id(response) -> dict:
    error = dict(response.json()["error"])
    error.pop("request_id")
    return error


def entry(course, **overrides):
    data = {
        "course_id": course.course_id,
        "email": "pat@example.com",
        "completion_date": "2025-03-01",
    }
    return {**data, **overrides}


# --- Courses --------------------------------------------------------------------------------


def test_course_list_shows_the_organizations_courses_with_components(
    api, course, other_org, django_assert_max_num_queries
):
    make_course(other_org, title="Not ours")
    for _ in range(3):
        make_course(course.organization)

    # 6, plus the per-key rate limit's counter in the database cache (a read, a write).
    with django_assert_max_num_queries(6 + RATE_LIMIT_QUERIES):
        response = api("get", "/api/v1/courses")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    ids = [c["course_id"] for c in body["items"]]
    assert ids == sorted(ids)
    first = next(c for c in body["items"] if c["course_id"] == course.course_id)
    assert first["title"] == "Safe lifting"
    assert first["delivery_format"] == course.delivery_format
    assert first["active_from"] == "2024-01-01"
    assert first["active_until"] is None
    assert {(c["credit_type"], c["unit"], c["amount"]) for c in first["components"]} == {
        ("CE", "hours", "2.00"),
        ("ETH", "hours", "1.00"),
    }
    assert "Not ours" not in response.content.decode()


def test_list_count_is_bounded_past_the_lookahead_and_next_stays_exact(api, org, monkeypatch):
    monkeypatch.setattr("laurel.api.contract.COUNT_LOOKAHEAD", 3)
    for _ in range(7):
        make_course(org)
    first = api("get", "/api/v1/courses", page_size=2).json()
    assert first["count"] == 3 and first["next"]  # 3 seen ahead: a lower bound
    third = api("get", "/api/v1/courses", page_size=2, page=3).json()
    assert third["count"] == 7 and third["next"]  # exact once the end is within reach
    last = api("get", "/api/v1/courses", page_size=2, page=4).json()
    assert last["count"] == 7 and last["next"] is None and len(last["items"]) == 1


def test_course_list_is_paginated(api, org):
    for _ in range(3):
        make_course(org)
    page1 = api("get", "/api/v1/courses", page_size=2).json()
    page2 = api("get", "/api/v1/courses", page_size=2, page=2).json()
    assert page1["count"] == page2["count"] == 3
    assert len(page1["items"]) == 2 and len(page2["items"]) == 1
    seen = {c["course_id"] for c in page1["items"] + page2["items"]}
    assert len(seen) == 3


# --- Entering credits -----------------------------------------------------------------------


def test_post_credit_enters_it_through_the_ledger_as_the_api_key(api, key, course, committed):
    make_user("pat@example.com")
    with committed():
        response = api("post", "/api/v1/credits", json=entry(course, name="Pat Doe"))

    assert response.status_code == 201, response.content
    body = response.json()
    credit = Credit.objects.get(pk=body["id"])
    assert body["status"] == "offered" == credit.status
    assert body["source"] == "api" == credit.source
    assert body["email"] == "pat@example.com"
    assert body["name"] == "Pat Doe"
    assert body["course_id"] == course.course_id
    assert {c["credit_type"]: c["amount_earned"] for c in body["components"]} == {
        "CE": "2.00",
        "ETH": "1.00",
    }
    assert [h["action"] for h in body["history"]] == ["credit.entered"]
    event = AuditEvent.objects.get(action="credit.entered", object_id=str(credit.pk))
    assert event.actor_label == f"API key {key.api_key.prefix}"
    assert event.actor is None
    assert OutboxMessage.objects.filter(to_email="pat@example.com").count() == 1


def test_post_credit_with_notify_false_sends_no_email(api, course, committed):
    with committed():
        response = api("post", "/api/v1/credits", json=entry(course, notify=False))
    assert response.status_code == 201
    assert response.json()["status"] == "held"
    assert not OutboxMessage.objects.filter(to_email="pat@example.com").exists()


def test_post_credit_with_partial_credit_of_one_type(api, course):
    response = api(
        "post", "/api/v1/credits", json=entry(course, amount_earned="1.5", credit_type="CE")
    )
    assert response.status_code == 201
    earned = {c["credit_type"]: c["amount_earned"] for c in response.json()["components"]}
    assert earned == {"CE": "1.50", "ETH": "1.00"}


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"completion_date": "03/01/2025"}, "completion_date"),
        ({"course_id": None}, "course_id"),
        ({"amount_earned": "-1"}, "amount_earned"),
        ({"notify": "perhaps"}, "notify"),
    ],
)
def test_invalid_body_is_a_422_naming_the_field(api, course, overrides, field):
    response = api("post", "/api/v1/credits", json=entry(course, **overrides))
    error = assert_error(response, 422, "validation_error")
    assert any(d["loc"][-1] == field for d in error["details"]), error
    assert not Credit.objects.exists()


def test_missing_fields_are_listed_in_the_validation_error(api):
    error = assert_error(api("post", "/api/v1/credits", json={}), 422, "validation_error")
    missing = {d["loc"][-1] for d in error["details"]}
    assert {"course_id", "email", "completion_date"} <= missing


def test_malformed_json_is_a_400_in_the_error_shape(client, key):
    response = client.post(
        "/api/v1/credits",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {key.full_key}"},
    )
    assert_error(response, 400, "bad_request")


def test_service_refusal_names_the_field(api, course):
    response = api("post", "/api/v1/credits", json=entry(course, completion_date="2099-01-01"))
    error = assert_error(response, 422, "invalid")
    assert error["details"] == {"field": "completion_date"}


def test_duplicate_credit_is_a_409_with_the_existing_id(api, course):
    first = api("post", "/api/v1/credits", json=entry(course)).json()
    response = api("post", "/api/v1/credits", json=entry(course, email="PAT@example.com"))
    error = assert_error(response, 409, "duplicate")
    assert error["details"] == {"existing_id": first["id"]}
    assert Credit.objects.count() == 1


def test_another_organizations_course_reads_like_an_unknown_one(api, course, other_org):
    theirs = make_course(other_org)
    unknown = api("post", "/api/v1/credits", json=entry(course, course_id="ZZZ-99-99999"))
    foreign = api("post", "/api/v1/credits", json=entry(course, course_id=theirs.course_id))
    assert_error(foreign, 422, "invalid")
    assert without_request_id(foreign) == without_request_id(unknown)
    assert not Credit.objects.exists()


def test_a_credit_for_the_same_email_in_another_organization_is_not_revealed(
    api, course, other_org
):
    enter_credit(other_org, make_course(other_org), "pat@example.com")
    response = api("post", "/api/v1/credits", json=entry(course))
    assert response.status_code == 201
    assert "existing" not in response.content.decode()


# --- Idempotency ----------------------------------------------------------------------------


def test_same_idempotency_key_and_body_replays_the_first_response(api, course, committed):
    headers = {"Idempotency-Key": "row-17"}
    with committed():
        first = api("post", "/api/v1/credits", json=entry(course), headers=headers)
        again = api("post", "/api/v1/credits", json=entry(course), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Credit.objects.count() == 1
    assert OutboxMessage.objects.filter(to_email="pat@example.com").count() == 1


def test_same_idempotency_key_with_another_body_is_refused(api, course):
    headers = {"Idempotency-Key": "row-17"}
    api("post", "/api/v1/credits", json=entry(course), headers=headers)
    response = api(
        "post", "/api/v1/credits", json=entry(course, email="sam@example.com"), headers=headers
    )
    assert_error(response, 422, "idempotency_key_reused")
    assert Credit.objects.count() == 1


def test_a_refused_request_can_be_corrected_and_retried_with_the_same_key(api, course):
    headers = {"Idempotency-Key": "row-18"}
    bad = api("post", "/api/v1/credits", json=entry(course, course_id="NOPE"), headers=headers)
    assert bad.status_code == 422
    good = api("post", "/api/v1/credits", json=entry(course), headers=headers)
    assert good.status_code == 201
    record = IdempotencyRecord.objects.get(key="row-18")
    assert json.loads(record.response_body)["id"] == good.json()["id"]


def test_idempotency_keys_belong_to_one_organization(client, api, course, other_org):
    other_key = api_key_create(actor=Actor.system("t"), organization=other_org, name="x")
    theirs = make_course(other_org)
    api("post", "/api/v1/credits", json=entry(course), headers={"Idempotency-Key": "k1"})
    response = client.post(
        "/api/v1/credits",
        entry(theirs),
        content_type="application/json",
        headers={"Authorization": f"Bearer {other_key.full_key}", "Idempotency-Key": "k1"},
    )
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Credit.objects.count() == 2


# --- Reading and revoking credits -----------------------------------------------------------


@pytest.fixture
def ledger(org, course, other_org):
    """Four credits of ours (one per e-mail/date) and one of another organization."""
    second = make_course(org)
    credits = {
        "a": enter_credit(org, course, "ann@example.com", completion_date=date(2025, 1, 10)),
        "b": enter_credit(org, course, "bob@example.com", completion_date=date(2025, 2, 10)),
        "c": enter_credit(org, second, "cy@example.com", completion_date=date(2025, 2, 10)),
        "d": enter_credit(org, second, "ann@example.com", completion_date=date(2025, 3, 10)),
    }
    enter_credit(other_org, make_course(other_org), "ann@example.com")
    return credits


def ids(response):
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["items"]]


def test_credit_list_is_newest_completion_first_and_stable(api, ledger):
    c = ledger
    assert ids(api("get", "/api/v1/credits")) == [
        c["d"].pk,
        c["c"].pk,
        c["b"].pk,
        c["a"].pk,
    ]
    paged = ids(api("get", "/api/v1/credits", page_size=3)) + ids(
        api("get", "/api/v1/credits", page_size=3, page=2)
    )
    assert paged == ids(api("get", "/api/v1/credits"))


def test_credit_list_filters(api, ledger, course):
    c = ledger
    assert set(ids(api("get", "/api/v1/credits", email="ann@"))) == {c["a"].pk, c["d"].pk}
    assert set(ids(api("get", "/api/v1/credits", course_id=course.course_id))) == {
        c["a"].pk,
        c["b"].pk,
    }
    assert set(
        ids(api("get", "/api/v1/credits", completed_from="2025-02-01", completed_to="2025-02-28"))
    ) == {c["b"].pk, c["c"].pk}
    Credit.objects.filter(pk=c["b"].pk).update(status="revoked")
    assert ids(api("get", "/api/v1/credits", status="revoked")) == [c["b"].pk]


def test_credits_to_a_bounced_address_are_marked_and_filtered(api, ledger):
    from laurel.notifications.bounces import BounceReport
    from laurel.notifications.services import bounce_record

    bounce_record(report=BounceReport("bob@example.com", "hard", "550 5.1.1"), source="file")
    assert ids(api("get", "/api/v1/credits", undeliverable="true")) == [ledger["b"].pk]
    detail = api("get", f"/api/v1/credits/{ledger['b'].pk}").json()
    assert detail["undeliverable"] is True
    assert api("get", f"/api/v1/credits/{ledger['a'].pk}").json()["undeliverable"] is False


def test_credit_list_rejects_an_unknown_status(api, ledger):
    error = assert_error(api("get", "/api/v1/credits", status="lost"), 422, "validation_error")
    assert error["details"][0]["loc"][-1] == "status"


def test_credit_list_queries_do_not_grow_with_rows(api, ledger, django_assert_max_num_queries):
    with django_assert_max_num_queries(6 + RATE_LIMIT_QUERIES):
        assert len(ids(api("get", "/api/v1/credits"))) == 4


def test_credit_detail_has_components_and_history(api, ledger):
    credit = ledger["a"]
    body = api("get", f"/api/v1/credits/{credit.pk}").json()
    assert body["id"] == credit.pk
    assert body["status"] == "held"
    assert body["components"][0]["credit_type"] == "CE"
    assert body["history"][0]["action"] == "credit.entered"
    assert body["history"][0]["actor"] == "test"


def test_revoke_credit_records_the_reason(api, key, ledger):
    credit = ledger["a"]
    response = api("post", f"/api/v1/credits/{credit.pk}/revoke", json={"reason": "Wrong date"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "revoked"
    assert body["revoke_reason"] == "Wrong date"
    assert body["history"][-1]["action"] == "credit.revoked"
    assert body["history"][-1]["actor"] == f"API key {key.api_key.prefix}"
    assert body["history"][-1]["reason"] == "Wrong date"
    credit.refresh_from_db()
    assert credit.status == "revoked"


def test_revoke_needs_a_reason_and_cannot_happen_twice(api, ledger):
    url = f"/api/v1/credits/{ledger['a'].pk}/revoke"
    assert_error(api("post", url, json={"reason": ""}), 422, "validation_error")
    assert api("post", url, json={"reason": "Wrong"}).status_code == 200
    assert_error(api("post", url, json={"reason": "Again"}), 409, "state")


def test_another_organizations_credit_is_a_404(api, other_org):
    theirs = enter_credit(other_org, make_course(other_org), "zed@example.com")
    for response in (
        api("get", f"/api/v1/credits/{theirs.pk}"),
        api("post", f"/api/v1/credits/{theirs.pk}/revoke", json={"reason": "x"}),
        api("get", "/api/v1/credits/999999"),
    ):
        assert_error(response, 404, "not_found")
        assert "zed@" not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "held"


# --- Errors and the schema ------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("delete", "/api/v1/courses", 405, "method_not_allowed"),
        ("put", "/api/v1/credits/1", 405, "method_not_allowed"),
        ("get", "/api/v1/no-such-thing", 404, "not_found"),
        ("get", "/api/v1/", 404, "not_found"),
        ("get", "/api/v1/credits/abc", 404, "not_found"),
    ],
)
def test_routing_errors_use_the_error_shape(api, method, path, status, code):
    assert_error(api(method, path), status, code)


def test_a_crash_is_a_500_in_the_error_shape(key, course, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("laurel.api.v1.selectors.ledger_filter", boom)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/credits", headers={"Authorization": f"Bearer {key.full_key}"})
    error = assert_error(response, 500, "server_error")
    assert "fire" not in error["message"]


def test_openapi_document_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    listed = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert listed == ENDPOINTS
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"
    params = schema["paths"]["/api/v1/credits"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" for p in params)


def test_docs_page_lists_operations_without_loading_anything_from_elsewhere(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    for method, path in ENDPOINTS:
        assert f"{method} {path}" in html
    external = re.findall(r'(?:src|href)="(https?:)?//', html)
    assert external == []
    assert "/api/v1/openapi.json" in html


def test_staff_of_the_organization_cannot_use_the_api_without_a_key(client, org):
    client.force_login(make_member(org, Role.ADMIN))
    assert_error(client.get("/api/v1/courses"), 401, "unauthorized")
