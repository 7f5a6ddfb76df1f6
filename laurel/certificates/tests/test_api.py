"""The certificates Router, mounted on a small NinjaAPI whose auth yields an org-bound key."""

import io
from types import SimpleNamespace

import pypdf
import pytest
from django.test import override_settings
from django.urls import include, path
from ninja import NinjaAPI
from ninja.security import HttpBearer

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.certificates.api import router
from laurel.certificates.models import Certificate
from laurel.certificates.tests.conftest import issue
from laurel.lib import ob3

pytestmark = pytest.mark.django_db


class SlugBearer(HttpBearer):
    """Test auth: the bearer token is the organization's slug."""

    def authenticate(self, request, token):
        org = Organization.objects.filter(slug=token).first()
        return SimpleNamespace(organization=org, actor_label="test key") if org else None


api = NinjaAPI(auth=SlugBearer(), urls_namespace="certs_test_api")
api.add_router("/certificates", router)


@api.exception_handler(ServiceError)
def service_error(request, exc):
    body = {"error": {"code": exc.code or "invalid", "message": exc.message, "details": None}}
    return api.create_response(request, body, status=422)


urlpatterns = [path("api/", api.urls), path("", include("laurel.urls"))]


@pytest.fixture(autouse=True)
def _urls():
    with override_settings(ROOT_URLCONF=__name__):
        yield


def auth(slug):
    return {"HTTP_AUTHORIZATION": f"Bearer {slug}"}


def test_issue_list_get_revoke_through_the_api(client, org):
    created = client.post(
        "/api/certificates",
        {
            "recipient_email": "api@example.com",
            "recipient_name": "Api Person",
            "title": "Infection Control",
            "completion_date": "2025-01-10",
            "components": [{"code": "ce", "name": "CE", "unit": "hours", "amount": "1.5"}],
        },
        content_type="application/json",
        **auth("northwind"),
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["serial_number"] == "NNA-C-000001"
    assert body["state"] == "valid"
    assert body["components"][0]["amount"] == "1.5"

    listed = client.get("/api/certificates?q=api", **auth("northwind")).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]

    revoked = client.post(
        f"/api/certificates/{body['id']}/revoke",
        {"reason": "Entered twice"},
        content_type="application/json",
        **auth("northwind"),
    ).json()
    assert revoked["status"] == "revoked" and revoked["revoke_reason"] == "Entered twice"
    again = client.post(
        f"/api/certificates/{body['id']}/revoke",
        {"reason": "Again"},
        content_type="application/json",
        **auth("northwind"),
    )
    assert again.status_code == 422 and "error" in again.json()


def test_pdf_and_credential_endpoints(client, org):
    cert = issue(org)
    pdf = client.get(f"/api/certificates/{cert.pk}/pdf", **auth("northwind"))
    assert len(pypdf.PdfReader(io.BytesIO(pdf.content)).pages) == 1
    credential = client.get(f"/api/certificates/{cert.pk}/credential", **auth("northwind")).json()
    assert ob3.validate_schema(credential) == []


def test_another_organizations_certificate_is_404(client, org, outsider_org):
    cert = issue(org)
    for path_ in (f"/api/certificates/{cert.pk}", f"/api/certificates/{cert.pk}/pdf"):
        assert client.get(path_, **auth(outsider_org.slug)).status_code == 404
    assert client.get("/api/certificates", **auth(outsider_org.slug)).json()["count"] == 0
    assert client.get("/api/certificates").status_code == 401


def test_request_and_poll_a_combined_file(client, org, committed):
    certs = [issue(org, recipient_email=f"p{n}@example.com", notify=False) for n in range(4)]
    with committed():
        job = client.post(
            "/api/certificates/files",
            {"kind": "pdf", "certificate_ids": [c.pk for c in certs]},
            content_type="application/json",
            **auth("northwind"),
        ).json()
    polled = client.get(f"/api/certificates/files/{job['id']}", **auth("northwind")).json()
    assert polled["status"] == "done" and polled["done"] == 4
    download = client.get(f"/api/certificates/files/{job['id']}/download", **auth("northwind"))
    data = b"".join(download.streaming_content)
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 4
    assert (
        client.get(f"/api/certificates/files/{job['id']}", **auth("southwind")).status_code == 401
    )
    assert Certificate.objects.count() == 4
