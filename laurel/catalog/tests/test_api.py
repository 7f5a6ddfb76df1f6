"""The submissions API: a provider's key writes and submits; the organization's key reads
and decides; internal comments never reach a provider's key."""

from __future__ import annotations

import json

import pytest

from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.models import Submission
from laurel.catalog.tests.providers import make_accrediting, make_provider, make_reviewer

pytestmark = pytest.mark.django_db

APPLICATION = {
    "title": "Pressure Injury Prevention",
    "description": "Staging and turning schedules.",
    "objectives": "Stage an injury.",
    "delivery_format": "self_paced",
    "agenda": [{"part": "Staging", "minutes": 40}, {"part": "Quiz", "minutes": 20}],
    "instructors": [{"name": "Ana Ruiz", "credentials": "RN"}],
    "target_audience": "Nurses",
    "requested_credit": {"CE": "1"},
}


def _key(org):
    key = api_key_create(actor=Actor.system("t"), organization=org, name="k")
    return {"Authorization": f"Bearer {key.full_key}"}


def _post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_provider_key_submits_and_organization_key_approves(client):
    northwind = make_accrediting("northwind", "NNA")
    provider, user = make_provider("brightpath")
    pkey, okey = _key(provider), _key(northwind)
    created = _post(client, "/api/v1/applications", APPLICATION, pkey)
    assert created.status_code == 201, created.content
    app_id = created.json()["id"]
    assert created.json()["missing"] == {}
    submitted = _post(
        client, f"/api/v1/applications/{app_id}/submit", {"organizations": ["northwind"]}, pkey
    )
    assert submitted.status_code == 201, submitted.content
    sub_id = submitted.json()[0]["id"]
    listed = client.get("/api/v1/submissions", headers=okey).json()["items"]
    assert [s["id"] for s in listed] == [sub_id]
    _post(client, f"/api/v1/submissions/{sub_id}/comments", {"body": "INTERNAL-X"}, okey)
    _post(
        client,
        f"/api/v1/submissions/{sub_id}/comments",
        {"body": "PUBLIC-Y", "internal": False},
        okey,
    )
    seen = client.get(f"/api/v1/submissions/{sub_id}", headers=pkey).json()
    assert [c["body"] for c in seen["comments"]] == ["PUBLIC-Y"]
    assert len(client.get(f"/api/v1/submissions/{sub_id}", headers=okey).json()["comments"]) == 2
    # A provider's key cannot decide its own submission.
    refused = _post(client, f"/api/v1/submissions/{sub_id}/decision", {"decision": "deny"}, pkey)
    assert refused.status_code == 404
    decided = _post(
        client,
        f"/api/v1/submissions/{sub_id}/decision",
        {"decision": "approve", "credit": {"CE": "1"}, "active_from": "2026-09-01"},
        okey,
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved"
    assert decided.json()["course_id"].startswith("NNA-")
    again = _post(
        client,
        f"/api/v1/submissions/{sub_id}/decision",
        {"decision": "deny", "reason": "late"},
        okey,
    )
    assert again.status_code == 409
    assert "already approved" in again.json()["error"]["message"]


def test_incomplete_application_cannot_be_submitted_by_api(client):
    make_accrediting("northwind", "NNA")
    provider, _ = make_provider("brightpath")
    pkey = _key(provider)
    app_id = _post(client, "/api/v1/applications", {"title": "Just a title"}, pkey).json()["id"]
    response = _post(
        client, f"/api/v1/applications/{app_id}/submit", {"organizations": ["northwind"]}, pkey
    )
    assert response.status_code == 422
    assert "not complete" in response.json()["error"]["message"]
    assert not Submission.objects.exists()


def test_another_providers_key_sees_nothing(client):
    northwind = make_accrediting("northwind", "NNA")
    provider, user = make_provider("brightpath")
    other, _ = make_provider("dimlight")
    app = services.application_save(actor=Actor(user=user), provider=provider, **APPLICATION)
    [sub] = services.application_submit(
        actor=Actor(user=user), application=app, organizations=[northwind]
    )
    make_reviewer(northwind)
    key = _key(other)
    assert client.get("/api/v1/applications", headers=key).json()["items"] == []
    assert client.get("/api/v1/submissions", headers=key).json()["items"] == []
    assert client.get(f"/api/v1/applications/{app.pk}", headers=key).status_code == 404
    assert client.get(f"/api/v1/submissions/{sub.pk}", headers=key).status_code == 404
