import json
from datetime import date, timedelta

import pytest

from laurel.api.services import api_key_create
from laurel.recognition.models import Ceremony, CourseTaker
from laurel.recognition.tests.factories import SYSTEM, feed, make_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    cast = make_cast()
    for who in ("issuer", "river", "hill"):
        key = api_key_create(actor=SYSTEM, organization=getattr(cast, who), name=who).full_key
        setattr(cast, f"{who}_key", {"Authorization": f"Bearer {key}"})
    return cast


def post(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def test_progress_batch_is_idempotent(client, cast):
    body = {"records": [
        {"cohort": cast.river_cohort.pk, "email": "Ann@River.edu", "percent": 50},
        {"cohort": "2001", "email": "hal@hill.edu", "percent": 100,
         "completed_on": str(date.today()), "certified": True},
    ]}  # fmt: skip
    first = post(client, "/api/v1/recognition/progress", body, cast.issuer_key)
    assert first.status_code == 200, first.content
    assert first.json() == {"added": 2, "changed": 0, "completed": 1, "unchanged": 0}
    again = post(client, "/api/v1/recognition/progress", body, cast.issuer_key)
    assert again.json() == {"added": 0, "changed": 0, "completed": 0, "unchanged": 2}
    keyed = {**cast.issuer_key, "Idempotency-Key": "batch-1"}
    body["records"][0]["percent"] = 60
    assert post(client, "/api/v1/recognition/progress", body, keyed).json()["changed"] == 1
    assert (
        post(client, "/api/v1/recognition/progress", body, keyed).json()["changed"] == 1
    )  # replay
    assert CourseTaker.objects.get(email="ann@river.edu").percent == 60


def test_a_bad_record_refuses_the_batch_with_each_problem(client, cast):
    feed(cast.issuer, cast.river_cohort, [("ann@river.edu", 30, None, False)])
    body = {"records": [
        {"cohort": cast.river_cohort.pk, "email": "ann@river.edu", "percent": 90},
        {"cohort": 987654, "email": "x@river.edu", "percent": 10},
        {"cohort": cast.river_cohort.pk, "email": "nope", "percent": 10},
    ]}  # fmt: skip
    response = post(client, "/api/v1/recognition/progress", body, cast.issuer_key)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["index"] for d in details] == [1, 2]
    assert "No cohort" in details[0]["message"]
    assert CourseTaker.objects.get(email="ann@river.edu").percent == 30
    over = {"records": [{"cohort": cast.river_cohort.pk, "email": "a@b.edu", "percent": 101}]}
    assert post(client, "/api/v1/recognition/progress", over, cast.issuer_key).status_code == 422


def test_partner_keys_see_their_cohorts_only_and_the_issuer_all(client, cast):
    river = client.get("/api/v1/recognition/cohorts", headers=cast.river_key).json()["items"]
    assert [c["name"] for c in river] == ["River Spring"]
    issuer = client.get("/api/v1/recognition/cohorts", headers=cast.issuer_key).json()["items"]
    assert {c["name"] for c in issuer} == {"River Spring", "Hill Spring"}
    path = f"/api/v1/recognition/cohorts/{cast.river_cohort.pk}"
    assert client.get(path, headers=cast.hill_key).status_code == 404
    assert client.get(path + "/takers", headers=cast.hill_key).status_code == 404


def test_a_request_is_drafted_and_created_through_the_api(client, cast):
    end = cast.river_cohort.end_date
    body = {
        "kind": "request",
        "range_start": str(end - timedelta(days=3)),
        "range_end": str(end),
        "cohorts": [cast.river_cohort.pk],
    }
    created = post(client, "/api/v1/recognition/ceremonies", body, cast.river_key)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status_label"] == "Draft" and data["cohorts"] == [cast.river_cohort.pk]
    done = post(client, f"/api/v1/recognition/ceremonies/{data['id']}/submit", {}, cast.river_key)
    assert done.json()["status_label"] == "Created"
    listed = client.get("/api/v1/recognition/certificate-requests", headers=cast.river_key).json()
    assert [r["id"] for r in listed["items"]] == [data["id"]]
    assert (
        client.get("/api/v1/recognition/ceremonies", headers=cast.river_key).json()["items"] == []
    )
    assert (
        client.get(
            f"/api/v1/recognition/ceremonies/{data['id']}", headers=cast.hill_key
        ).status_code
        == 404
    )
    # Hillcrest cannot pick River City's cohort.
    refused = post(client, "/api/v1/recognition/ceremonies", body, cast.hill_key)
    assert refused.status_code == 422 and Ceremony.objects.count() == 1


def test_a_ceremony_without_details_cannot_be_submitted(client, cast):
    end = cast.river_cohort.end_date
    body = {"range_start": str(end), "range_end": str(end), "cohorts": [cast.river_cohort.pk]}
    data = post(client, "/api/v1/recognition/ceremonies", body, cast.river_key).json()
    refused = post(
        client, f"/api/v1/recognition/ceremonies/{data['id']}/submit", {}, cast.river_key
    )
    assert refused.status_code == 422
    assert "Complete the ceremony details" in refused.json()["error"]["message"]
