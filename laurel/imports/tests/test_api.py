"""The imports API router, mounted on a tiny NinjaAPI with a stand-in API key auth."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from ninja import NinjaAPI
from ninja.security import APIKeyHeader
from ninja.testing import TestClient

from laurel.credits.models import Credit
from laurel.imports.api import build_router

KEYS: dict[str, object] = {}


@dataclass
class FakeKey:
    organization: object
    user: object = None

    def __str__(self) -> str:
        return f"key for {self.organization.slug}"


class KeyAuth(APIKeyHeader):
    param_name = "X-API-Key"

    def authenticate(self, request, key):
        return KEYS.get(key)


api = NinjaAPI(auth=KeyAuth(), urls_namespace="imports-api-test")
api.add_router("/imports", build_router())
client = TestClient(api)
CSV = (
    "Course ID,Email,Date Completed\n"
    "NNA-26-00001,ann@example.org,2025-02-01\n"
    "NNA-26-00001,bob@example.org,2025-02-01\n"
    "NNA-26-09999,bob@example.org,2025-02-01\n"
)


@pytest.fixture
def keys(org, outsider):
    KEYS.clear()
    KEYS["north"] = FakeKey(org)
    KEYS["south"] = FakeKey(outsider.memberships.first().organization)
    yield
    KEYS.clear()


def post_file(key, content=CSV, **data):
    return client.post(
        "/imports",
        data={"kind": "credits", **data},
        FILES={"file": SimpleUploadedFile("c.csv", content.encode())},
        headers={"X-API-Key": key},
    )


def test_upload_status_rows_and_commit_through_the_api(keys, courses, committed):
    with committed():
        created = post_file("north")
    assert created.status_code == 201, created.json()
    import_id = created.json()["id"]
    status = client.get(f"/imports/{import_id}", headers={"X-API-Key": "north"}).json()
    assert status["status"] == "validated"
    assert status["counts"]["invite"] == 2
    assert status["counts"]["unknown_course"] == 1
    assert status["progress"] == {"rows_done": 3, "rows_total": 3, "percent": 100}
    unknown = client.get(
        f"/imports/{import_id}/rows?category=unknown_course", headers={"X-API-Key": "north"}
    ).json()
    assert unknown["count"] == 1
    assert unknown["items"][0]["number"] == 4
    assert unknown["next"] is None
    with committed():
        started = client.post(f"/imports/{import_id}/commit", headers={"X-API-Key": "north"})
    assert started.status_code == 202
    done = client.get(f"/imports/{import_id}", headers={"X-API-Key": "north"}).json()
    assert done["status"] == "committed"
    assert done["counts"]["held"] == 2
    held = client.get(
        f"/imports/{import_id}/rows?outcome=held", headers={"X-API-Key": "north"}
    ).json()
    assert [r["email"] for r in held["items"]] == ["ann@example.org", "bob@example.org"]
    assert all(r["credit_id"] for r in held["items"])
    assert Credit.objects.count() == 2
    again = client.post(f"/imports/{import_id}/commit", headers={"X-API-Key": "north"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "state"


def test_the_same_file_again_returns_the_earlier_import(keys, courses, committed):
    with committed():
        first = post_file("north").json()["id"]
    again = post_file("north")
    assert again.status_code == 200
    assert again.json() == {"id": first, "status": "validated", "existing": True}


def test_another_organizations_import_is_not_found(keys, courses, committed):
    with committed():
        import_id = post_file("north").json()["id"]
    for path in (f"/imports/{import_id}", f"/imports/{import_id}/rows"):
        response = client.get(path, headers={"X-API-Key": "south"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    response = client.post(f"/imports/{import_id}/commit", headers={"X-API-Key": "south"})
    assert response.status_code == 404
    assert Credit.objects.count() == 0


def test_an_oversized_upload_is_refused(keys, settings):
    settings.LAUREL_IMPORT_MAX_BYTES = 10
    response = post_file("north")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_no_key_no_access(keys):
    assert client.get("/imports/1").status_code == 401


def test_an_attendee_report_through_the_api_names_its_event(keys, org, outsider, committed):
    from laurel.events.models import Registration
    from laurel.events.tests.helpers import make_event, register

    event = make_event(org, components={"CE": "3"})
    register(event, "ann@example.org")
    theirs = make_event(outsider.memberships.first().organization, components={"CE": "1"})
    report = (
        "Name (Original Name),User Email,Total Duration (Minutes),Guest\n"
        "Ann,ann@example.org,170,No\n"
    )

    refused = post_file("north", report, kind="attendees", event=theirs.pk)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "event"
    with committed():
        created = post_file("north", report, kind="attendees", event=event.pk)
    assert created.status_code == 201, created.json()
    import_id = created.json()["id"]
    with committed():
        started = client.post(f"/imports/{import_id}/commit", headers={"X-API-Key": "north"})
    assert started.status_code == 202
    done = client.get(f"/imports/{import_id}", headers={"X-API-Key": "north"}).json()
    assert (done["status"], done["counts"]["marked"]) == ("committed", 1)
    assert Registration.objects.get(event=event).status == Registration.Status.ATTENDED
