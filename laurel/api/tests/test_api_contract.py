"""The API's contract: what a client generated from the OpenAPI document can rely on for
every operation (errors, pagination, idempotency, request ids, content types, HEAD)."""

import logging
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from ninja import Schema

from laurel.api.idempotency import idempotency_records_expire
from laurel.api.models import IdempotencyRecord
from laurel.api.services import api_key_create
from laurel.api.v1 import api as v1
from laurel.audit.services import Actor
from laurel.certificates import services as certificate_services
from laurel.certificates.models import Certificate
from laurel.imports.models import ImportJob
from laurel.lib.request_id import RequestIdLogFilter
from laurel.web import housekeeping
from tests.factories import make_course, make_org

pytestmark = pytest.mark.django_db

LISTS = ["/api/v1/courses", "/api/v1/credits", "/api/v1/certificates"]
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def org():
    return make_org("nna")


@pytest.fixture
def auth(org):
    key = api_key_create(actor=Actor.system("test"), organization=org, name="LMS")
    return {"Authorization": f"Bearer {key.full_key}"}


@pytest.fixture
def schema():
    return v1.get_openapi_schema(path_prefix="/api/v1/")


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def issue(org, **kw) -> Certificate:
    return certificate_services.certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Ada Lovelace",
        recipient_email="ada@example.com",
        title="Safe lifting",
        completion_date=date(2025, 3, 1),
        notify=False,
        **kw,
    )


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response["X-Request-ID"]
    return error


# --- Bounds that were 500s ------------------------------------------------------------------


@pytest.mark.parametrize("path", LISTS)
def test_a_page_number_too_large_is_a_422_not_a_crash(client, auth, path):
    response = client.get(path, {"page": 10**30, "page_size": 10**12}, headers=auth)
    assert_error(response, 422, "validation_error")


def test_import_rows_page_number_too_large_is_a_422(client, auth, org):
    job = ImportJob.objects.create(organization=org, file_name="c.csv")
    response = client.get(f"/api/v1/imports/{job.pk}/rows", {"page": 10**30}, headers=auth)
    assert_error(response, 422, "validation_error")


def test_certificate_ids_too_large_for_the_database_are_a_422(client, auth):
    response = client.post(
        "/api/v1/certificates/files",
        {"kind": "zip", "certificate_ids": [46306360317170638848]},
        content_type="application/json",
        headers=auth,
    )
    assert_error(response, 422, "validation_error")


def test_an_id_in_the_path_too_large_for_the_database_is_a_422(client, auth):
    response = client.get(f"/api/v1/credits/{10**30}", headers=auth)
    assert_error(response, 422, "validation_error")


def test_multipart_without_a_boundary_is_a_400(client, auth):
    response = client.generic(
        "POST", "/api/v1/imports", b"--x\r\n", content_type="multipart/form-data", headers=auth
    )
    assert_error(response, 400, "bad_request")


def test_a_body_over_the_limit_is_a_413_in_the_error_shape(client, auth, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = {"reason": "x" * 2000}
    response = client.post(
        "/api/v1/credits/1/revoke", body, content_type="application/json", headers=auth
    )
    assert_error(response, 413, "too_large")


def test_post_to_an_unknown_api_path_is_the_json_404_not_the_csrf_page(auth):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/no-such-thing", {}, content_type="application/json")
    assert_error(response, 404, "not_found")


def test_a_date_must_be_written_as_a_date(client, auth):
    response = client.get("/api/v1/credits", {"completed_to": "0"}, headers=auth)
    assert_error(response, 422, "validation_error")


def test_certificate_ids_of_nothing_here_is_a_404(client, auth):
    response = client.post(
        "/api/v1/certificates/files",
        {"kind": "zip", "certificate_ids": [999]},
        content_type="application/json",
        headers=auth,
    )
    assert_error(response, 404, "not_found")


# --- The OpenAPI document -------------------------------------------------------------------


def _schema_classes(cls=Schema):
    for sub in cls.__subclasses__():
        yield sub
        yield from _schema_classes(sub)


def test_no_two_api_schemas_share_a_name():
    """ninja names a component by its class name: a second class of the same name silently
    replaces the first in the OpenAPI document."""
    v1.get_openapi_schema(path_prefix="/api/v1/")  # builds ninja's generated classes too
    seen: dict[str, type] = {}
    for cls in _schema_classes():
        if not cls.__module__.startswith("laurel."):
            continue
        other = seen.setdefault(cls.__name__, cls)
        assert other is cls, f"{cls.__name__}: {other.__module__} and {cls.__module__}"


def test_every_operation_declares_the_errors_it_can_answer(schema):
    for method, path, op in operations(schema):
        codes = set(op["responses"])
        assert {"401", "422"} <= codes, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        assert "WWW-Authenticate" in op["responses"]["401"]["headers"]


def _body_example(schema, op) -> bool:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    return bool(ref) and "examples" in schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_operations_have_human_ids_summaries_descriptions_and_examples(schema):
    ids = []
    for method, path, op in operations(schema):
        ids.append(op["operationId"])
        assert not op["operationId"].startswith("laurel_"), op["operationId"]
        assert op["summary"] and op["description"], (method, path)
        assert "Example" in op["description"] or _body_example(schema, op), (method, path)
    assert "credit_list" in ids and "import_rows" in ids
    assert len(ids) == len(set(ids))


def test_choices_are_enums_emails_have_a_format_and_amounts_are_decimal_strings(schema):
    schemas = schema["components"]["schemas"]
    assert schemas["JobIn"]["properties"]["kind"]["enum"] == ["pdf", "zip"]
    assert schemas["JobIn"]["properties"]["certificate_ids"]["minItems"] == 1
    assert "enum" in schemas["RowOut"]["properties"]["outcome"]
    assert "enum" in schemas["RowOut"]["properties"]["category"]
    assert "enum" in schemas["CertificateOut"]["properties"]["status"]
    assert "enum" in schemas["ImportOut"]["properties"]["status"]
    assert schemas["CreditIn"]["properties"]["email"]["format"] == "email"
    assert schemas["CertificateIn"]["properties"]["recipient_email"]["format"] == "email"
    amount = schemas["CreditComponentOut"]["properties"]["amount_earned"]
    assert amount["type"] == "string" and amount["pattern"]
    earned = schemas["CreditIn"]["properties"]["amount_earned"]["anyOf"][0]
    assert earned["type"] == "string" and earned["pattern"]


def test_a_number_for_an_amount_is_refused(client, auth, org):
    course = make_course(org)
    body = {"course_id": course.course_id, "email": "pat@example.com"}
    body |= {"completion_date": "2025-03-01", "amount_earned": 1.5}
    response = client.post("/api/v1/credits", body, content_type="application/json", headers=auth)
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["loc"][-1] == "amount_earned"


# --- Pagination -----------------------------------------------------------------------------


def test_lists_link_the_next_and_previous_page(client, auth, org):
    for _ in range(3):
        make_course(org)
    first = client.get("/api/v1/courses", {"page_size": 2}, headers=auth).json()
    assert first["count"] == 3 and first["previous"] is None
    assert first["next"].startswith("http://testserver/api/v1/courses?")
    second = client.get(first["next"], headers=auth).json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert client.get(second["previous"], headers=auth).json()["items"] == first["items"]


# --- Idempotency ----------------------------------------------------------------------------

CERTIFICATE = {
    "recipient_email": "ada@example.com",
    "recipient_name": "Ada Lovelace",
    "title": "Safe lifting",
    "completion_date": "2025-03-01",
    "notify": False,
}


def test_idempotency_key_on_post_certificates_issues_once(client, auth, org):
    headers = {**auth, "Idempotency-Key": "cert-1"}
    first = client.post("/api/v1/certificates", CERTIFICATE, "application/json", headers=headers)
    again = client.post("/api/v1/certificates", CERTIFICATE, "application/json", headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Certificate.objects.for_org(org).count() == 1


def test_a_stored_idempotency_key_expires_after_a_day(client, auth, org):
    course = make_course(org)
    body = {"course_id": course.course_id, "email": "pat@example.com"}
    body |= {"completion_date": "2025-03-01"}
    headers = {**auth, "Idempotency-Key": "row-1"}
    first = client.post("/api/v1/credits", body, "application/json", headers=headers)
    assert first.status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # Not replayed any more: entered again, and the ledger refuses the duplicate.
    again = client.post("/api/v1/credits", body, "application/json", headers=headers)
    assert "Idempotent-Replayed" not in again
    assert_error(again, 409, "duplicate")


def test_the_worker_deletes_expired_idempotency_records(org):
    old = timezone.now() - timedelta(hours=25)
    IdempotencyRecord.objects.create(
        organization=org, key="a", request_hash="x", response_status=201, response_body="{}"
    )
    IdempotencyRecord.objects.create(
        organization=org,
        key="b",
        request_hash="x",
        response_status=201,
        response_body="{}",
        created_at=old,
    )
    assert "laurel.api.idempotency.idempotency_records_expire" in [
        d.path for d in housekeeping.DUTIES
    ]
    assert idempotency_records_expire() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["a"]


# --- Request ids, 401, HEAD, 415 ------------------------------------------------------------


def test_a_request_id_sent_is_echoed_and_put_in_the_error_and_the_log(client, auth):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get(
            "/api/v1/credits/999", headers={**auth, "X-Request-ID": "lms-sync-42"}
        )
    finally:
        logger.removeHandler(handler)
    assert response["X-Request-ID"] == "lms-sync-42"
    assert response.json()["error"]["request_id"] == "lms-sync-42"
    assert [r.request_id for r in records] == ["lms-sync-42"]


def test_a_request_id_is_made_up_when_none_or_a_bad_one_is_sent(client, auth):
    plain = client.get("/api/v1/courses", headers=auth)
    bad = client.get("/api/v1/courses", headers={**auth, "X-Request-ID": "a b\tc" * 50})
    assert len(plain["X-Request-ID"]) == 32
    assert len(bad["X-Request-ID"]) == 32 and bad["X-Request-ID"] != plain["X-Request-ID"]


def test_401_says_how_to_authenticate(client):
    response = client.get("/api/v1/courses")
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_head_answers_like_get_without_a_body(client, auth, org):
    make_course(org)
    get = client.get("/api/v1/courses", headers=auth)
    head = client.head("/api/v1/courses", headers=auth)
    assert head.status_code == 200
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]
    assert head["Content-Length"] == str(len(get.content))


def test_a_body_of_the_wrong_type_is_a_415(client, auth):
    response = client.post(
        "/api/v1/credits", "course_id=x", content_type="text/plain", headers=auth
    )
    error = assert_error(response, 415, "unsupported_media_type")
    assert error["details"] == {"accepted": ["application/json"]}
    json_upload = client.post(
        "/api/v1/imports", {"kind": "credits"}, content_type="application/json", headers=auth
    )
    assert_error(json_upload, 415, "unsupported_media_type")


def test_a_multipart_upload_still_works(client, auth):
    upload = SimpleUploadedFile("c.csv", b"Course ID,Email,Date Completed\n")
    response = client.post(
        "/api/v1/imports", {"file": upload, "kind": "credits", "verify_only": "true"}, headers=auth
    )
    assert response.status_code == 201, response.content


def test_a_form_boolean_is_true_or_false(client, auth):
    upload = SimpleUploadedFile("c.csv", b"Course ID,Email,Date Completed\n")
    response = client.post("/api/v1/imports", {"file": upload, "verify_only": "0"}, headers=auth)
    assert_error(response, 422, "validation_error")


def test_revoking_a_revoked_certificate_is_a_409_state_conflict(client, auth, org):
    cert = issue(org)
    path = f"/api/v1/certificates/{cert.pk}/revoke"
    first = client.post(path, {"reason": "Error"}, "application/json", headers=auth)
    again = client.post(path, {"reason": "Error"}, "application/json", headers=auth)
    assert first.status_code == 200
    assert_error(again, 409, "state")


def test_docs_api_md_lists_every_operation(schema):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    for method, path, op in operations(schema):
        assert f"`{op['operationId']}`" in text, op["operationId"]
        short = path.removeprefix("/api/v1").replace("_id}", "}")
        short = short.replace("{credit}", "{id}").replace("{cert}", "{id}")
        short = short.replace("{job}", "{id}").replace("{import}", "{id}")
        short = short.replace("{application}", "{id}").replace("{submission}", "{id}")
        assert f"`{method.upper()} {short}`" in text, (method, short)
