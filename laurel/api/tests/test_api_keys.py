"""API key pages and bearer authentication."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from laurel.accounts.models import Role
from laurel.api.models import ApiKey, hash_secret
from laurel.api.services import api_key_create, api_key_revoke
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from tests.factories import make_course, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("nna")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@nna.example")


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def new_key(org, name="LMS sync"):
    return api_key_create(actor=Actor.system("test"), organization=org, name=name)


def test_created_key_is_shown_once_and_only_its_hash_is_stored(client, org, admin):
    client.force_login(admin)
    response = client.post("/o/nna/api-keys/new/", {"name": "LMS sync"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    full_key = response.context["new"].full_key
    assert full_key in response.content.decode()
    _, prefix, secret = full_key.split("_", 2)
    stored = ApiKey.objects.get(organization=org)
    assert stored.prefix == prefix and len(prefix) == 8
    assert stored.secret_hash == hash_secret(secret)
    assert secret not in stored.secret_hash
    assert stored.created_by == admin
    assert AuditEvent.objects.filter(action="api_key.created", object_id=str(stored.pk)).exists()

    listing = client.get("/o/nna/api-keys/").content.decode()
    assert "LMS sync" in listing
    assert f"lrl_{prefix}_" in listing
    assert secret not in listing


def test_key_with_a_blank_name_is_refused_next_to_the_field(client, org, admin):
    client.force_login(admin)
    response = client.post("/o/nna/api-keys/new/", {"name": "  "})
    assert response.status_code == 422
    assert response.context["form"].errors["name"]
    assert not ApiKey.objects.exists()


def test_key_pages_are_for_admins_only(client, org):
    staff = make_member(org, Role.STAFF)
    client.force_login(staff)
    assert client.get("/o/nna/api-keys/").status_code == 404
    assert client.post("/o/nna/api-keys/new/", {"name": "x"}).status_code == 404
    assert not ApiKey.objects.exists()


def test_key_pages_enforce_csrf(org, admin):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin)
    assert csrf_client.post("/o/nna/api-keys/new/", {"name": "x"}).status_code == 403
    key = new_key(org).api_key
    assert csrf_client.post(f"/o/nna/api-keys/{key.pk}/revoke/").status_code == 403
    key.refresh_from_db()
    assert key.is_active and ApiKey.objects.count() == 1


def test_bearer_api_calls_need_no_csrf_token(org):
    make_course(org)
    full_key = new_key(org).full_key
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        "/api/v1/credits",
        {"course_id": "nope", "email": "a@example.com", "completion_date": "2025-01-01"},
        content_type="application/json",
        headers=bearer(full_key),
    )
    # Refused for the unknown course, not for a missing CSRF token.
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"field": "course_id"}


def test_revoked_key_is_refused_with_401(client, org, admin):
    new = new_key(org)
    assert client.get("/api/v1/courses", headers=bearer(new.full_key)).status_code == 200

    client.force_login(admin)
    response = client.post(f"/o/nna/api-keys/{new.api_key.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    client.logout()

    response = client.get("/api/v1/courses", headers=bearer(new.full_key))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_revoking_twice_is_refused(org):
    key = new_key(org).api_key
    api_key_revoke(actor=Actor.system("test"), api_key=key)
    with pytest.raises(Exception, match="already revoked"):
        api_key_revoke(actor=Actor.system("test"), api_key=key)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer lrl_",
        "Basic dXNlcjpwYXNz",
        "Bearer lrl_abcdefgh_wrongsecret",
        "Bearer sk_live_0123456789",
    ],
)
def test_missing_or_wrong_key_is_401_in_the_error_shape(client, org, header):
    new_key(org)
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/courses", headers=headers)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details", "request_id"}


def test_key_with_right_prefix_but_wrong_secret_is_401(client, org):
    full_key = new_key(org).full_key
    response = client.get("/api/v1/courses", headers=bearer(full_key[:-2] + "xx"))
    assert response.status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(client, org):
    new = new_key(org)
    client.get("/api/v1/courses", headers=bearer(new.full_key))
    new.api_key.refresh_from_db()
    first = new.api_key.last_used_at
    assert first is not None

    client.get("/api/v1/courses", headers=bearer(new.full_key))
    new.api_key.refresh_from_db()
    assert new.api_key.last_used_at == first

    ApiKey.objects.filter(pk=new.api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/courses", headers=bearer(new.full_key))
    new.api_key.refresh_from_db()
    assert new.api_key.last_used_at > first - timedelta(seconds=1)
    assert new.api_key.last_used_at <= timezone.now()
