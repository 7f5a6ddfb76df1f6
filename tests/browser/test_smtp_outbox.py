"""The outbox really delivers over SMTP (a real aiosmtpd server, not Django's locmem box)."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from laurel.notifications.models import OutboxMessage
from tests.browser.conftest import free_port, links_in, text_of
from tests.factories import enter_credit, make_course, make_org

pytestmark = pytest.mark.django_db


def test_credit_mail_arrives_over_smtp_with_text_and_html_parts(smtp, committed, settings):
    settings.SITE_URL = "https://laurel.example"
    org = make_org("northwind", name="Northwind Nursing Association", reply_to="ce@nna.example")
    course = make_course(org, components={"CE": "2"}, title="Sepsis Recognition")

    with committed():
        enter_credit(org, course, "new.nurse@example.com")

    msg = smtp.wait_for("new.nurse@example.com", "Sepsis Recognition")
    assert smtp.envelopes[0].rcpt_tos == ["new.nurse@example.com"]
    assert "Northwind Nursing Association" in msg["Subject"]
    assert msg["Reply-To"] == "ce@nna.example"
    assert "Sepsis Recognition" in text_of(msg)
    assert "https://laurel.example/accounts/signup/" in links_in(msg)
    html = msg.get_body(preferencelist=("html",))
    assert html.get_content_type() == "text/html"
    assert "Sepsis Recognition" in html.get_content()
    sent = OutboxMessage.objects.get(to_email="new.nurse@example.com")
    assert sent.status == OutboxMessage.Status.SENT
    assert sent.attempts == 1


@pytest.fixture
def db_tasks(settings):
    """Tasks go to the database queue, as in production, until a worker runs them."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "email", "imports", "pdf"],
        }
    }


def run_worker():
    call_command(
        "db_worker",
        "--batch",
        "--queue-name",
        "email",
        "--no-startup-delay",
        "--no-reload",
        verbosity=0,
    )


# The worker closes and reopens database connections between tasks, as in production: that
# needs real commits, not the test's enclosing transaction.
@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_queued_mail_over_smtp(smtp, db_tasks, committed):
    org = make_org()
    course = make_course(org)
    with committed():
        enter_credit(org, course, "queued@example.com")
    message = OutboxMessage.objects.get(to_email="queued@example.com")
    assert message.status == OutboxMessage.Status.QUEUED  # nothing sent before the worker runs
    assert smtp.messages == []

    run_worker()

    smtp.wait_for("queued@example.com")
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_mail_stays_queued_with_the_error_and_a_retry_when_smtp_is_down(
    db_tasks, committed, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    org = make_org()
    course = make_course(org)
    with committed():
        enter_credit(org, course, "someone@example.com")

    with committed():
        run_worker()

    message = OutboxMessage.objects.get(to_email="someone@example.com")
    assert message.status == OutboxMessage.Status.QUEUED
    assert message.attempts == 1
    assert "refused" in message.last_error.lower()
    retry = DBTaskResult.objects.filter(status="READY").get()
    assert retry.run_after > timezone.now()
