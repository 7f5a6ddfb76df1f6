"""How mail leaves: headers, one-click unsubscribe, preferences, the send rate, the outbox page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from laurel.audit.services import Actor
from laurel.credits.services import credit_revoke
from laurel.notifications.bounces import BounceReport
from laurel.notifications.models import MailPreference, OutboxMessage
from laurel.notifications.services import (
    bounce_record,
    notice_digests_send,
    unsubscribe_token,
)
from laurel.notifications.tasks import outbox_send
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing", reply_to="ce@nna.example")


def test_a_notice_has_text_html_reply_to_auto_submitted_and_one_click_unsubscribe(
    org, committed, settings
):
    settings.SITE_URL = "https://laurel.example"
    with committed():
        enter_credit(org, make_course(org), "new.nurse@example.com")
    (sent,) = mail.outbox
    message = sent.message()
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@nna.example>")
    assert message["Reply-To"] == "ce@nna.example"
    assert message["List-Unsubscribe"].startswith("<https://laurel.example/mail/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [t for _, t in sent.alternatives] == ["text/html"]
    assert sent.body.strip()


def test_essential_mail_has_no_unsubscribe_and_ignores_preferences(org, committed):
    holder = make_user("nurse@example.com")
    with committed():
        credit = enter_credit(org, make_course(org), holder.email)
    Client().post(
        reverse("mail:unsubscribe", args=[unsubscribe_token(email=holder.email, organization=org)])
    )
    mail.outbox.clear()
    with committed():
        credit_revoke(actor=Actor.system("test"), credit=credit, reason="Wrong course")
    (sent,) = mail.outbox
    assert "List-Unsubscribe" not in sent.message()
    assert sent.message()["Auto-Submitted"] == "auto-generated"


def test_one_click_unsubscribe_is_a_bare_post_without_session_or_csrf(org, committed):
    url = reverse(
        "mail:unsubscribe", args=[unsubscribe_token(email="Nurse@Example.com", organization=org)]
    )
    browserless = Client(enforce_csrf_checks=True)
    response = browserless.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    pref = MailPreference.objects.get()
    assert (pref.email, pref.organization, pref.choice) == ("nurse@example.com", org, "none")
    with committed():
        enter_credit(org, make_course(org), "nurse@example.com")
    assert mail.outbox == []
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SUPPRESSED
    # Another organization's notices still arrive.
    other = make_org()
    with committed():
        enter_credit(other, make_course(other), "nurse@example.com")
    assert len(mail.outbox) == 1


def test_a_forged_unsubscribe_token_is_refused(org):
    token = unsubscribe_token(email="nurse@example.com", organization=org)
    response = Client().post(reverse("mail:unsubscribe", args=[token[:-2] + "xx"]))
    assert response.status_code == 404
    assert not MailPreference.objects.exists()


def test_the_preferences_page_offers_each_digest_or_none_without_login(org, committed):
    url = reverse(
        "mail:unsubscribe", args=[unsubscribe_token(email="n@example.com", organization=org)]
    )
    page = Client().get(url)
    assert b"A daily digest" in page.content and b"Northwind Nursing" in page.content
    Client().post(url, {"choice": "digest"})
    with committed():
        enter_credit(org, make_course(org, title="Sepsis"), "n@example.com")
        enter_credit(org, make_course(org, title="Wound care"), "n@example.com")
    assert mail.outbox == []
    assert notice_digests_send() == 0  # not a day old yet
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    with committed():
        assert notice_digests_send() == 1
    (digest,) = mail.outbox
    assert "2 notices" in digest.subject
    assert "Sepsis" in digest.body and "Wound care" in digest.body
    with committed():
        assert notice_digests_send() == 0  # each notice goes in one digest only


def test_the_send_rate_applies_to_each_organization_separately(org, committed, settings):
    settings.LAUREL_MAIL_RATE_PER_MINUTE = 2
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}
    }
    other = make_org("riverside")
    with committed():
        for n in range(3):
            enter_credit(org, make_course(org), f"p{n}@example.com")
        for n in range(2):
            enter_credit(other, make_course(other), f"r{n}@example.com")
    with committed():
        for message in OutboxMessage.objects.order_by("pk"):
            outbox_send.call(message.pk)
    # Northwind used its 2 a minute and waits; Riverside's own 2 still go out at once.
    sent = sorted(to for m in mail.outbox for to in m.to)
    assert sent == ["p0@example.com", "p1@example.com", "r0@example.com", "r1@example.com"]
    late = OutboxMessage.objects.get(to_email="p2@example.com")
    assert (late.status, late.deferrals) == (OutboxMessage.Status.QUEUED, 1)


def test_the_send_rate_defers_an_organization_s_mail_and_the_outbox_page_counts_it(
    org, committed, settings, client
):
    settings.LAUREL_MAIL_RATE_PER_MINUTE = 2
    # Tasks queued in the database, as in production, so a deferred send has a run_after.
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}
    }
    course = make_course(org)
    with committed():
        for n in range(3):
            enter_credit(org, course, f"p{n}@example.com")
    with committed():
        for message in OutboxMessage.objects.order_by("pk"):
            outbox_send.call(message.pk)
    assert len(mail.outbox) == 2
    late = OutboxMessage.objects.get(to_email="p2@example.com")
    assert (late.status, late.deferrals) == (OutboxMessage.Status.QUEUED, 1)
    # (django-tasks-db stores "no run_after" as a far-future date.)
    soon = (timezone.now() + timedelta(seconds=50), timezone.now() + timedelta(hours=1))
    assert DBTaskResult.objects.filter(status="READY", run_after__range=soon).count() == 1
    bounce_record(
        report=BounceReport("p0@example.com", "hard", "550 5.1.1 no such user", late.pk - 2),
        source="file",
    )

    make_member(org, email="admin@nna.example")
    client.login(email="admin@nna.example", password=PASSWORD)
    page = client.get(reverse("mail:org_outbox", args=[org.slug])).content.decode()
    today = timezone.now().date().isoformat()
    # Sent, queued, deferred, bounced, suppressed, failed.
    assert f"<td>{today}</td><td>2</td><td>1</td><td>1</td><td>1</td><td>0</td><td>0</td>" in page
    assert "p0@example.com" in page and "no such user" in page


def test_an_invitation_is_reminded_at_most_twice_and_don_t_email_me_again_stops_it(org, committed):
    from laurel.accounts.models import Connection
    from laurel.credits.services import invitation_reminders_send

    with committed():
        enter_credit(org, make_course(org, title="Sepsis"), "never@example.com")
    (invitation,) = mail.outbox
    stop = next(
        line.split(": ", 1)[1]
        for line in invitation.body.splitlines()
        if line.startswith("Don't email me again")
    )
    conn = Connection.objects.get(email="never@example.com")
    now = timezone.now()
    with committed():
        assert invitation_reminders_send(now=now) == 0  # not a week yet
        assert invitation_reminders_send(now=now + timedelta(days=8)) == 1
        assert invitation_reminders_send(now=now + timedelta(days=9)) == 0
        assert invitation_reminders_send(now=now + timedelta(days=22)) == 1
        assert invitation_reminders_send(now=now + timedelta(days=60)) == 0
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert len(reminders) == 2
    assert "reminder 2 of 2" in reminders[1].body
    assert conn.invited_at <= now

    # The link in the invitation works without a login; nothing more is sent.
    Client().post(urlparse(stop).path)
    assert MailPreference.objects.get(email="never@example.com").choice == "none"
    mail.outbox.clear()
    with committed():
        enter_credit(org, make_course(org, title="Wound care"), "never@example.com")
    assert mail.outbox == []
