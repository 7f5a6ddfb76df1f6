"""Bounces in (saved files, VERP, the bounce mailbox) and what they do to later mail."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.credits.services import credit_revoke
from laurel.notifications import bounces
from laurel.notifications.bounces import BounceReport
from laurel.notifications.mailbox import bounce_mailbox_poll
from laurel.notifications.models import Bounce, OutboxMessage, Suppression
from laurel.notifications.services import bounce_record, outbox_enqueue_rendered
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db
DSN = Path(__file__).parent / "dsn"


def raw(name: str, **replace: str) -> bytes:
    text = (DSN / name).read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.encode()


@pytest.mark.parametrize(
    ("fixture", "recipient", "kind", "status"),
    [
        ("postfix_hard.eml", "jane.doe@exmaple.com", "hard", "5.1.1"),
        ("postfix_soft.eml", "full.box@example.net", "soft", "4.2.2"),
        ("exim_hard.eml", "old.nurse@hospital.example", "hard", "5.1.1"),
        ("exim_soft_nodsn.eml", "quota.user@clinic.example", "soft", "5.2.2"),
        ("office365_hard.eml", "a.kowalski@contoso.com", "hard", "5.1.10"),
        ("gmail_hard.eml", "no.such.person.2026@gmail.com", "hard", "5.1.1"),
        ("gmail_soft.eml", "busy.inbox@gmail.com", "soft", "4.2.2"),
        ("arf_complaint.eml", "annoyed.reader@yahoo.com", "complaint", "ARF"),
    ],
)
def test_each_mail_system_s_report_names_the_address_kind_and_status(
    fixture, recipient, kind, status
):
    (report,) = bounces.parse(raw(fixture))
    assert (report.recipient, report.kind) == (recipient, kind)
    assert status in report.status_text


def test_a_message_that_is_not_a_bounce_reports_nothing():
    assert bounces.parse(raw("not_a_bounce.eml")) == []


def test_ingest_command_prints_one_json_object_per_file_and_suppresses_hard_bounces():
    out = StringIO()
    files = [str(DSN / n) for n in ("postfix_hard.eml", "gmail_soft.eml", "not_a_bounce.eml")]
    call_command("bounces", "ingest", *files, "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["recipient"], x["kind"], x["action"]) for x in lines] == [
        ("jane.doe@exmaple.com", "hard", "suppressed"),
        ("busy.inbox@gmail.com", "soft", "recorded"),
        (None, "unknown", "ignored"),
    ]
    suppression = Suppression.objects.get()
    assert suppression.email == "jane.doe@exmaple.com"
    assert "User unknown" in suppression.status_text


def test_the_third_soft_bounce_in_a_week_suppresses_the_address():
    soft = BounceReport("full.box@example.net", "soft", "452 4.2.2 Mailbox full")
    assert bounce_record(report=soft, source="file") == "recorded"
    assert bounce_record(report=soft, source="file") == "recorded"
    assert not Suppression.objects.exists()
    assert bounce_record(report=soft, source="file") == "suppressed"
    assert Suppression.objects.get().reason == Suppression.Reason.SOFT_BOUNCES


def test_verp_names_the_message_and_its_recipient(settings, committed):
    settings.BOUNCE_ADDRESS = "bounces@laurel.example.org"
    org = make_org()
    with committed():
        enter_credit(org, make_course(org), "jane.doe@exmaple.com")
    message = OutboxMessage.objects.get(to_email="jane.doe@exmaple.com")
    token = bounces.verp_token(message.pk)
    assert mail.outbox[0].from_email == f"bounces+{token}@laurel.example.org"

    (report,) = bounces.parse(raw("postfix_hard.eml", VERPTOKEN=token))
    assert report.message_id == message.pk
    # A forged token names nothing.
    (forged,) = bounces.parse(raw("postfix_hard.eml", VERPTOKEN=f"{message.pk}-000000000000"))
    assert forged.message_id is None
    bounce_record(report=report, source="smtp")
    assert Bounce.objects.get().message == message


def test_a_suppressed_address_gets_no_more_mail_but_its_credit_is_entered(committed):
    org = make_org()
    course = make_course(org)
    bounce_record(report=BounceReport("gone@example.com", "hard", "550 5.1.1"), source="file")
    with committed():
        credit = enter_credit(org, course, "gone@example.com")
    assert mail.outbox == []
    assert credit.status == Credit.Status.HELD
    message = OutboxMessage.objects.get(to_email="gone@example.com")
    assert message.status == OutboxMessage.Status.SUPPRESSED


def test_a_complaint_stops_notices_but_not_a_revocation(committed):
    org = make_org()
    course = make_course(org)
    holder = make_user("annoyed.reader@yahoo.com")
    with committed():
        credit = enter_credit(org, course, holder.email)
    assert len(mail.outbox) == 1
    call_command("bounces", "ingest", str(DSN / "arf_complaint.eml"), stdout=StringIO())
    mail.outbox.clear()
    with committed():
        enter_credit(org, make_course(org), holder.email)
    assert mail.outbox == []
    with committed():
        credit_revoke(actor=Actor.system("test"), credit=credit, reason="Entered in error")
    assert [m.subject for m in mail.outbox] == [f"{org.name} revoked a credit: {credit.title}"]


def test_a_new_sign_up_s_verification_reaches_a_suppressed_address_once(committed):
    bounce_record(report=BounceReport("typo@example.com", "hard", "5.1.1"), source="file")
    for _ in range(2):
        with committed():
            outbox_enqueue_rendered(
                to="typo@example.com", subject="Confirm", body_text="x", kind="email_confirmation"
            )
    statuses = list(OutboxMessage.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [OutboxMessage.Status.SENT, OutboxMessage.Status.SUPPRESSED]


def test_only_a_platform_admin_removes_an_address_and_it_is_audited(client):
    bounce_record(report=BounceReport("back@example.com", "hard", "5.1.1"), source="file")
    suppression = Suppression.objects.get()
    url = reverse("mail:suppression_remove", args=[suppression.pk])
    make_member(make_org(), email="admin@org.example")
    client.login(email="admin@org.example", password=PASSWORD)
    assert client.post(url).status_code == 404
    assert Suppression.objects.exists()

    make_user("root@laurel.example", is_superuser=True, is_staff=True)
    client.login(email="root@laurel.example", password=PASSWORD)
    page = client.get(reverse("mail:suppressions"))
    assert b"back@example.com" in page.content
    client.post(url)
    assert not Suppression.objects.exists()
    event = AuditEvent.objects.get(action="mail.unsuppressed")
    assert event.actor.email == "root@laurel.example"


@pytest.fixture
def imap_server():
    """A real IMAP server (pymap, in-memory) on a free local port, with one mailbox user."""
    import imaplib
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pymap = Path(sys.executable).with_name("pymap")
    args = [str(pymap), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict"]
    server = subprocess.Popen(
        [*args, "--demo-user", "bounces", "--demo-password", "secret"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port).logout()
            break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.1)

    def mailbox():
        client = imaplib.IMAP4("127.0.0.1", port)
        client.login("bounces", "secret")
        return client

    try:
        yield port, mailbox
    finally:
        server.terminate()
        server.wait(10)


def test_the_worker_reads_the_bounce_mailbox_over_imap_and_empties_it(settings, imap_server):
    port, mailbox = imap_server
    box = mailbox()
    for message in (raw("exim_hard.eml"), raw("office365_hard.eml"), b"Subject: hi\r\n\r\nhi"):
        box.append("INBOX", None, None, message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    box.logout()
    settings.BOUNCE_IMAP_URL = f"imap://bounces:secret@127.0.0.1:{port}/INBOX"

    assert bounce_mailbox_poll() == 3
    assert set(Suppression.objects.values_list("email", flat=True)) == {
        "old.nurse@hospital.example",
        "a.kowalski@contoso.com",
    }
    box = mailbox()
    box.select("INBOX")
    assert box.search(None, "ALL")[1] == [b""]  # read, recorded and deleted
    box.logout()
    assert bounce_mailbox_poll() == 0


def test_the_same_report_read_twice_counts_once():
    out = StringIO()
    for _ in range(3):
        call_command("bounces", "ingest", str(DSN / "postfix_soft.eml"), "--json", stdout=out)
    actions = [json.loads(line)["action"] for line in out.getvalue().splitlines()]
    assert actions == ["recorded", "already recorded", "already recorded"]
    assert Bounce.objects.count() == 1
    assert not Suppression.objects.exists()  # one soft bounce, not three
