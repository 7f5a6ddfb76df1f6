"""Webhook endpoints through the API and the admin pages: the same services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from laurel.api.services import api_key_create
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.integrations import services
from laurel.integrations.models import WebhookDelivery, WebhookEndpoint
from laurel.integrations.tests.conftest import standard_webhooks_signatures_ok
from tests.factories import enter_credit


@pytest.fixture
def headers(org):
    key = api_key_create(actor=Actor.system("test"), organization=org, name="member db")
    return {"Authorization": f"Bearer {key.full_key}"}


def post(client, url, headers, body=None, **extra):
    return client.post(
        url, body or {}, content_type="application/json", headers={**headers, **extra}
    )


def test_create_through_the_api_is_idempotent_and_returns_the_secret(client, headers):
    body = {"url": "https://members.example.org/laurel", "event_types": ["credit.accepted"]}
    first = post(client, "/api/v1/webhooks/endpoints", headers, body, **{"Idempotency-Key": "k1"})
    again = post(client, "/api/v1/webhooks/endpoints", headers, body, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert first.json()["secret"].startswith("whsec_")
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"url": "http://members.example.org/", "event_types": ["credit.held"]}, "url"),
        ({"url": "https://members.example.org/", "event_types": ["credit.eaten"]}, "event_types"),
        ({"url": "https://members.example.org/", "event_types": []}, "event_types"),
    ],
)
def test_bad_endpoints_are_refused_with_the_field_at_fault(client, headers, body, field):
    response = post(client, "/api/v1/webhooks/endpoints", headers, body)
    assert response.status_code == 422
    assert field in str(response.json()["error"])
    assert not WebhookEndpoint.objects.exists()


def test_rotate_disable_test_and_resend_through_the_api(client, headers, org, admin, course):
    endpoint = services.endpoint_create(
        actor=Actor(user=admin),
        organization=org,
        url="https://members.example.org/in",
        event_types=["credit.held"],
    )
    old = endpoint.secret
    base = f"/api/v1/webhooks/endpoints/{endpoint.pk}"
    rotated = post(client, f"{base}/rotate-secret", headers).json()
    assert rotated["secret"] != old and rotated["previous_secret_valid_until"]
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [rotated["secret"], old]
    assert endpoint.signing_secrets(timezone.now() + timedelta(hours=25)) == [rotated["secret"]]

    test = post(client, f"{base}/test", headers, **{"Idempotency-Key": "t1"})
    assert test.status_code == 202 and test.json()["event_type"] == "webhook.test"
    post(client, f"{base}/test", headers, **{"Idempotency-Key": "t1"})
    assert WebhookDelivery.objects.count() == 1

    resend = post(client, f"/api/v1/webhooks/deliveries/{test.json()['id']}/resend", headers)
    assert resend.status_code == 202
    assert resend.json()["webhook_id"] == test.json()["webhook_id"]
    listed = client.get(f"{base}/deliveries", headers=headers).json()
    assert [d["id"] for d in listed["items"]] == [resend.json()["id"], test.json()["id"]]

    disabled = post(client, f"{base}/disable", headers).json()
    assert disabled["enabled"] is False
    enter_credit(org, course, "ann@example.org")  # nobody listens while disabled
    assert WebhookDelivery.objects.count() == 2
    assert AuditEvent.objects.filter(action__startswith="webhook_").count() >= 4


def test_admin_adds_an_endpoint_sends_a_test_and_sees_the_log(
    client, org, admin, receiver, allow_private
):
    client.force_login(admin)
    response = client.post(
        reverse("integrations:endpoint_list", args=[org.slug]),
        {"url": receiver.url, "description": "Member DB", "event_types": ["credit.held"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    detail = reverse("integrations:endpoint_detail", args=[org.slug, endpoint.pk])
    assert endpoint.secret in client.get(detail).content.decode()

    client.post(reverse("integrations:endpoint_test", args=[org.slug, endpoint.pk]))
    services.webhooks_dispatch()
    assert receiver.events()[0][0] == "webhook.test"
    got = receiver.got[0]
    assert standard_webhooks_signatures_ok(endpoint.secret, got.headers, got.body) == [True]

    page = client.get(detail, headers={"HX-Request": "true"}).content.decode()
    assert "webhook.test" in page and "<html" not in page
    delivery = WebhookDelivery.objects.get()
    log = client.get(reverse("integrations:delivery_detail", args=[org.slug, delivery.pk]))
    assert "HTTP 200" in log.content.decode()
    client.post(reverse("integrations:delivery_resend", args=[org.slug, delivery.pk]))
    services.webhooks_dispatch()
    assert [r.id for r in receiver.got] == [got.id, got.id]


def test_a_form_error_is_shown_next_to_the_url(client, org, admin):
    client.force_login(admin)
    response = client.post(
        reverse("integrations:endpoint_list", args=[org.slug]),
        {"url": "ftp://x.example/", "event_types": ["credit.held"]},
    )
    assert response.status_code == 422
    assert "Enter an https:// URL." in response.content.decode()


def test_staff_and_the_api_record_a_member_id_that_webhooks_then_carry(
    client, headers, org, admin, course, receiver, allow_private
):
    from laurel.accounts.models import Role
    from tests.factories import make_member

    services.endpoint_create(
        actor=Actor(user=admin), organization=org, url=receiver.url, event_types=["credit.revoked"]
    )
    credit = enter_credit(org, course, "ann@example.org")
    staff = make_member(org, Role.STAFF, "staff@northwind.test")
    client.force_login(staff)
    client.post(
        reverse("credits:org_credit_member_id", args=[org.slug, credit.pk]),
        {"member_id": "NRDS-1"},
    )
    page = client.get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    assert 'value="NRDS-1"' in page.content.decode()

    response = post(
        client,
        "/api/v1/webhooks/member-ids",
        headers,
        {"email": "Ann@Example.org", "member_id": "NRDS-2"},
    )
    assert response.json() == {
        "email": "ann@example.org",
        "status": "invited",
        "member_id": "NRDS-2",
    }
    unknown = post(
        client, "/api/v1/webhooks/member-ids", headers, {"email": "x@y.org", "member_id": "1"}
    )
    assert unknown.status_code == 404

    from laurel.credits.services import credit_revoke

    credit_revoke(actor=Actor.system("test"), credit=credit, reason="Wrong course")
    services.webhooks_dispatch()
    assert receiver.got[0].json["data"]["person"]["member_id"] == "NRDS-2"
    assert AuditEvent.objects.filter(action="connection.member_id_set").count() == 2
