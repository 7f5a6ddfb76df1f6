"""Demo data: deterministic, idempotent, through the services, never in production."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction

from laurel import demo
from laurel.accounts.models import Organization
from laurel.audit.models import AuditEvent
from laurel.catalog.models import Course
from laurel.credits.models import Credit
from laurel.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

SMALL = {"holders": 20, "unclaimed": 8}


def fingerprint() -> list[tuple]:
    return list(
        Credit.objects.order_by("pk").values_list(
            "organization__slug",
            "course__course_id",
            "recipient_email",
            "completion_date",
            "status",
            "dashboard__name",
        )
    )


def test_demo_has_two_organizations_courses_and_credits_in_every_state():
    summary = demo.load(**SMALL)

    assert summary.loaded
    northwind = Organization.objects.get(slug="northwind")
    assert northwind.name == "Northwind Nursing Association"
    assert (northwind.course_id_prefix, northwind.time_zone) == ("NNA", "America/New_York")
    assert list(
        Course.objects.filter(organization=northwind, submission__isnull=True)
        .order_by("course_id")
        .values_list("course_id", flat=True)
    ) == [f"NNA-26-{n:05d}" for n in range(1, 13)]
    assert Credit.objects.filter(organization__slug="lakeside").exists()
    # Brightpath's applications in every state; the approved one became a Northwind course.
    brightpath = Organization.objects.get(slug="brightpath")
    assert brightpath.kind == Organization.Kind.PROVIDER
    assert brightpath.course_applications.filter(submissions__isnull=True).exists()  # draft
    states = set(brightpath.submissions_sent.values_list("status", flat=True))
    assert states == {"submitted", "in_review", "changes_requested", "approved", "denied"}
    assert brightpath.submissions_sent.filter(previous__status="denied").exists()
    assert Course.objects.get(submission__provider=brightpath).organization == northwind
    assert northwind.crib_sheets.filter(audience="providers").count() == 2
    assert northwind.instruction_texts.count() == 4
    for status in Credit.Status.values:
        assert Credit.objects.filter(organization=northwind, status=status).exists(), status
    # Through the services: every credit has its audit event; and nothing was e-mailed.
    # (A holder's self-reported credit is recorded as "credit.self_reported" instead.)
    reported = Credit.objects.filter(source=Credit.Source.SELF_REPORT)
    assert AuditEvent.objects.filter(action="credit.entered").count() == (
        Credit.objects.count() - reported.count()
    )
    assert AuditEvent.objects.filter(action="credit.self_reported").count() == reported.count()
    assert AuditEvent.objects.filter(action="credit.accepted").exists()
    assert not OutboxMessage.objects.exists()


def test_demo_people_log_in_with_the_demo_password_and_see_their_own_part(client, settings):
    demo.load(**SMALL)

    for email in [
        "admin@northwind.example",
        "reviewer@northwind.example",
        "staff@northwind.example",
        "certificates@northwind.example",
        "admin@lakeside.example",
        "nurse@example.com",
        "provider@brightpath.example",
    ]:
        user = authenticate(email=email, password=settings.LAUREL_DEMO_PASSWORD)
        assert user is not None, email
        assert email in user.verified_emails()
    client.login(email="nurse@example.com", password=settings.LAUREL_DEMO_PASSWORD)
    locker = client.get("/locker/").content.decode()
    assert "Waiting for your answer (3)" in locker
    assert "Ohio RN license 2025–27" in locker
    assert "Lakeside Health Education" in locker
    # Isolation: Lakeside's admin sees Lakeside's ledger and not Northwind's.
    client.login(email="admin@lakeside.example", password=settings.LAUREL_DEMO_PASSWORD)
    assert client.get("/o/lakeside/credits/").status_code == 200
    assert client.get("/o/northwind/credits/").status_code == 404


def test_loading_the_demo_twice_changes_nothing():
    demo.load(**SMALL)
    before = fingerprint()

    again = demo.load(**SMALL)

    assert not again.loaded
    assert fingerprint() == before


def test_demo_data_is_the_same_on_every_load():
    class Rollback(Exception):
        pass

    runs = []
    for _ in range(2):
        try:
            with transaction.atomic():
                demo.load(**SMALL)
                runs.append(fingerprint())
                raise Rollback
        except Rollback:
            pass
    first, second = runs
    # Primary keys differ between the runs; everything a person sees is the same.
    assert first == second
    assert len(first) > 50


def test_demo_refuses_to_load_in_production(settings):
    settings.LAUREL_ENV = "production"

    with pytest.raises(CommandError, match="never loaded"):
        call_command("demo")
    assert not Organization.objects.exists()


def test_demo_has_a_webhook_endpoint_disabled_after_three_days_of_failed_tries():
    from laurel.integrations.models import WebhookAttempt, WebhookEndpoint

    demo.load(**SMALL)
    endpoint = WebhookEndpoint.objects.get(organization__slug="northwind")
    assert not endpoint.enabled
    assert "72 hours" in endpoint.disabled_reason
    tries = WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
    assert tries.count() >= 15
    assert all("does not resolve" in t.error for t in tries)
    assert endpoint.deliveries.filter(status="pending").count() > 1  # kept, not lost
