"""Webhooks against a real receiver on 127.0.0.1: signatures, rotation, retries on a fake
clock, 410, order per endpoint, a worker that dies mid-delivery, and bad receivers."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone

from laurel.accounts.models import Connection
from laurel.audit.services import Actor
from laurel.credits.models import Dashboard
from laurel.credits.services import credit_accept, credit_revoke
from laurel.integrations import services
from laurel.integrations.events import EVENT_TYPES
from laurel.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from laurel.integrations.tests.conftest import (
    fifty_megabytes,
    hang,
    standard_webhooks_signatures_ok,
)
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_user

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
pytestmark = pytest.mark.usefixtures("allow_private")


def endpoint_for(org, admin, url, types=EVENT_TYPES):
    return services.endpoint_create(
        actor=Actor(user=admin), organization=org, url=url, event_types=list(types)
    )


def later(seconds=1):
    return timezone.now() + timedelta(seconds=seconds)


def test_credit_events_arrive_signed_with_the_documented_payload(org, admin, course, receiver):
    endpoint = endpoint_for(org, admin, receiver.url)
    holder = make_user("ann@example.org")
    Connection.objects.create(organization=org, email="ann@example.org", member_id="NRDS-77")
    credit = enter_credit(org, course, "ann@example.org", name="Ann Lee")
    dashboard = Dashboard.objects.create(holder=holder, name="License")
    credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    enter_credit(org, course, "bob@example.org")

    assert services.webhooks_dispatch(now=later()) == 4

    assert [t for t, _ in receiver.events()] == [
        "credit.offered",
        "credit.accepted",
        "certificate.issued",  # the course's certificate is issued on acceptance
        "credit.held",
    ]
    for got in receiver.got:
        assert standard_webhooks_signatures_ok(endpoint.secret, got.headers, got.body) == [True]
        schema = json.loads((SCHEMAS / f"{got.json['type']}.json").read_text())
        jsonschema.validate(got.json, schema)
    offered = receiver.got[0].json["data"]
    assert offered["person"] == {
        "email": "ann@example.org",
        "name": "Ann Lee",
        "member_id": "NRDS-77",
    }
    assert offered["credit"]["course_id"] == course.course_id
    assert offered["credit"]["components"] == {"CE": "2.00"}
    assert receiver.got[2].json["data"]["person"]["member_id"] == "NRDS-77"
    assert receiver.got[3].json["data"]["person"]["member_id"] is None
    assert WebhookDelivery.objects.filter(status="delivered").count() == 4


def test_nothing_is_written_for_an_organization_without_endpoints(org, course):
    enter_credit(org, course, "ann@example.org")
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_receives_only_the_types_it_chose(org, admin, course, receiver):
    endpoint_for(org, admin, receiver.url, types=["credit.revoked"])
    credit = enter_credit(org, course, "ann@example.org")
    credit_revoke(actor=Actor.system("test"), credit=credit, reason="Wrong course")
    services.webhooks_dispatch(now=later())
    assert [t for t, _ in receiver.events()] == ["credit.revoked"]
    assert receiver.got[0].json["data"]["credit"]["reason"] == "Wrong course"


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(org, admin, course, receiver):
    endpoint = endpoint_for(org, admin, receiver.url)
    old = endpoint.secret
    t0 = later()
    endpoint = services.endpoint_rotate_secret(actor=Actor(user=admin), endpoint=endpoint, now=t0)
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=t0 + timedelta(hours=23))
    got = receiver.got[-1]
    assert standard_webhooks_signatures_ok(endpoint.secret, got.headers, got.body) == [True, False]
    assert standard_webhooks_signatures_ok(old, got.headers, got.body) == [False, True]

    enter_credit(org, course, "bob@example.org")
    services.webhooks_dispatch(now=t0 + timedelta(hours=25))
    got = receiver.got[-1]
    assert standard_webhooks_signatures_ok(endpoint.secret, got.headers, got.body) == [True]
    assert standard_webhooks_signatures_ok(old, got.headers, got.body) == [False]


def test_failures_are_retried_with_growing_jittered_delays_then_the_endpoint_is_disabled(
    org, admin, course, receiver
):
    receiver.reply = lambda got: (500, b"database down", {})
    endpoint = endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    enter_credit(org, course, "bob@example.org")
    now = later()
    start = now
    gaps = []
    for _ in range(100):
        if services.webhooks_dispatch(now=now) or not WebhookEndpoint.objects.get().enabled:
            break
        head = WebhookDelivery.objects.order_by("id").first()
        # Nothing is sent before the next try falls due.
        before = len(receiver.got)
        services.webhooks_dispatch(now=head.next_attempt_at - timedelta(seconds=1))
        assert len(receiver.got) == before
        gaps.append((head.next_attempt_at - now).total_seconds())
        now = head.next_attempt_at
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "72 hours" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    assert timedelta(hours=72) <= now - start < timedelta(hours=80)
    # 30 s doubling, ±20 % jitter, at most 6 h.
    for n, gap in enumerate(gaps[:8], start=1):
        assert 0.8 * 30 * 2 ** (n - 1) <= gap <= 1.2 * 30 * 2 ** (n - 1)
    assert max(gaps) <= 1.2 * 6 * 3600
    assert 15 <= len(receiver.got) <= 30
    # Every try was of the oldest event: the second waited behind it, and is still kept.
    assert {r.json["data"]["person"]["email"] for r in receiver.got} == {"ann@example.org"}
    assert WebhookDelivery.objects.filter(status="pending").count() == 2
    head = WebhookDelivery.objects.order_by("id").first()
    assert WebhookAttempt.objects.filter(delivery=head).count() == len(receiver.got)
    assert head.last_status_code == 500
    assert head.tries.first().response_body == "database down"
    assert [m.to_email for m in OutboxMessage.objects.filter(kind="webhook_disabled")] == [
        "admin@northwind.test"
    ]

    # Enabled again, the receiver back: both go out, oldest first.
    receiver.reply = None
    services.endpoint_set_enabled(actor=Actor(user=admin), endpoint=endpoint, enabled=True)
    services.webhooks_dispatch(now=later())
    emails = [r.json["data"]["person"]["email"] for r in receiver.got[-2:]]
    assert emails == ["ann@example.org", "bob@example.org"]


def test_410_gone_disables_the_endpoint_at_once(org, admin, course, receiver):
    receiver.reply = lambda got: (410, b"gone", {})
    endpoint = endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    enter_credit(org, course, "bob@example.org")
    services.webhooks_dispatch(now=later())
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert len(receiver.got) == 1
    assert list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True)) == [
        "failed",
        "pending",
    ]
    assert OutboxMessage.objects.filter(kind="webhook_disabled").count() == 1


def test_deliveries_arrive_in_order_of_creation_per_endpoint_across_a_failure(
    org, admin, course, receiver
):
    seen = []

    def reply(got):
        seen.append(got.id)
        return (503, b"busy", {}) if len(seen) == 4 else (200, b"", {})

    receiver.reply = reply
    endpoint_for(org, admin, receiver.url)
    for n in range(12):
        enter_credit(org, course, f"p{n}@example.org")
    now = later()
    for _ in range(5):
        services.webhooks_dispatch(now=now)
        now += timedelta(minutes=5)
    ids = [int(i.removeprefix("msg_")) for i in seen]
    assert len(set(ids)) == 12
    assert ids[3] == ids[4]  # the failed one again, before anything after it
    firsts = list(dict.fromkeys(ids))
    assert firsts == sorted(firsts)


class Killed(BaseException):
    """The worker process dying: nothing after the sends runs."""


def test_a_worker_killed_after_sending_before_recording_delivers_again(
    org, admin, course, receiver, monkeypatch
):
    endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    enter_credit(org, course, "bob@example.org")

    def die(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(services, "_record", die)
        with pytest.raises(Killed):
            services.webhooks_dispatch(now=later())
    first = [r.id for r in receiver.got]
    assert len(first) == 2
    assert WebhookDelivery.objects.filter(status="pending").count() == 2

    # While its lease runs, nobody else sends them; once it has run out, they go again.
    assert services.webhooks_dispatch(now=later(60)) == 0
    assert services.webhooks_dispatch(now=later(services.LEASE.total_seconds() + 5)) == 2
    assert [r.id for r in receiver.got] == first + first
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def test_a_redirect_is_not_followed_and_is_logged(org, admin, course, receiver):
    receiver.reply = lambda got: (
        (302, b"", {"Location": "http://127.0.0.1:1/elsewhere"})
        if got.path == "/hooks"
        else (200, b"", {})
    )
    endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    assert [r.path for r in receiver.got] == ["/hooks"]
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302 and "Redirects are not followed" in attempt.error
    assert WebhookDelivery.objects.get().status == "pending"


def test_a_fifty_megabyte_answer_is_cut_at_the_cap(org, admin, course, receiver, settings):
    receiver.reply = lambda got: (200, fifty_megabytes, {})
    endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 200
    assert len(attempt.response_body) == 2048
    assert "longer than" in attempt.error
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_receiver_that_hangs_times_out_and_is_retried(org, admin, course, receiver, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    receiver.reply = hang(3)
    endpoint_for(org, admin, receiver.url)
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "Timeout" in attempt.error
    assert attempt.duration_ms < 2500
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1


# --- SSRF -----------------------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.5.4", "private"),
    ("192.168.0.10", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.10.20", "link-local"),
    ("100.64.0.7", "CGNAT"),
    ("100.100.100.200", "metadata"),
    ("224.0.0.251", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (an address to refuse)
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::5", "private"),
    ("fd00:ec2::254", "metadata"),
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
]


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Answer for the names in ``answers`` (a list: one answer per lookup, the last repeats);
    real resolution for everything else (IP literals included)."""
    real = socket.getaddrinfo
    calls: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        n = calls[host] = calls.get(host, 0) + 1
        ip = answers[host][min(n, len(answers[host])) - 1]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


@pytest.mark.parametrize("ip,word", REFUSED)
def test_every_internal_address_class_is_refused_and_logged(
    org, admin, course, monkeypatch, settings, ip, word
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    fake_dns(monkeypatch, {"hooks.partner.example": [ip]})
    endpoint_for(org, admin, "https://hooks.partner.example/in")
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "refused" in attempt.error and ip in attempt.error
    assert word.lower() in attempt.error.lower()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.next_attempt_at > timezone.now()


def test_metadata_stays_refused_when_private_addresses_are_allowed(org, admin, course, monkeypatch):
    fake_dns(monkeypatch, {"hooks.partner.example": ["169.254.169.254"]})
    endpoint_for(org, admin, "https://hooks.partner.example/in")
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    assert "metadata" in WebhookAttempt.objects.get().error


def test_a_dns_answer_that_changes_after_the_check_does_not_reach_the_new_address(
    org, admin, course, receiver, monkeypatch, settings
):
    """First lookup: a public address (passes the check); any later one: 127.0.0.1, where
    the receiver listens. The connection goes to the checked address, never to 127.0.0.1."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    port = receiver.server.server_address[1]
    calls = fake_dns(monkeypatch, {"rebind.example": ["93.184.215.14", "127.0.0.1"]})
    # https is what the setting requires; the port is the receiver's.
    endpoint = endpoint_for(org, admin, f"https://rebind.example:{port}/hooks")
    enter_credit(org, course, "ann@example.org")
    services.webhooks_dispatch(now=later())
    assert receiver.got == []
    assert calls["rebind.example"] == 1  # resolved once, at the check
    attempt = WebhookAttempt.objects.get()
    assert attempt.address == "93.184.215.14"
    assert attempt.error  # the public address is unreachable here
    # An answer that is internal at check time is refused outright.
    services.webhooks_dispatch(now=WebhookDelivery.objects.get().next_attempt_at)
    assert "refused" in WebhookAttempt.objects.order_by("-id").first().error
    assert receiver.got == [] and endpoint.pk
