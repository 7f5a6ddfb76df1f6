"""NUL characters are refused with a message on every path, and the API agrees with imports
on what an e-mail address is."""

import json

import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from tests.factories import make_course, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind")


def _api(client, org):
    key = api_key_create(actor=Actor.system("test"), organization=org, name="LMS")
    return {"Authorization": f"Bearer {key.full_key}"}


def test_api_refuses_nul_in_json_text_with_the_error_shape(client, org):
    course = make_course(org)
    response = client.post(
        "/api/v1/credits",
        data=json.dumps(
            {
                "course_id": course.course_id,
                "email": "a@example.org",
                "completion_date": "2025-03-01",
                "name": "Ann\x00Lee",  # json.dumps writes it as \u0000
            }
        ),
        content_type="application/json",
        headers=_api(client, org),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "nul_character"
    assert not Credit.objects.exists()


def test_pages_refuse_nul_in_query_and_form_values(client, org):
    client.force_login(make_member(org, Role.ADMIN))
    search = client.get(reverse("credits:org_ledger", args=[org.slug]), {"email": "a\x00b"})
    assert search.status_code == 400 and "NUL character" in search.content.decode()
    settings = client.post(
        reverse("accounts:org_settings", args=[org.slug]), {"name": "North\x00wind"}
    )
    assert settings.status_code == 400
    org.refresh_from_db()
    assert org.name != "North\x00wind"


def test_api_refuses_an_ip_literal_address_like_imports_do(client, org):
    course = make_course(org)
    response = client.post(
        "/api/v1/credits",
        data={
            "course_id": course.course_id,
            "email": "x@[127.0.0.1]",
            "completion_date": "2025-03-01",
        },
        content_type="application/json",
        headers=_api(client, org),
    )
    assert response.status_code in (400, 422)
    assert not Credit.objects.exists()
