"""Committing: credits delivered once, one digest per recipient, a report, undo, recovery."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from laurel.accounts.models import Connection
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.credits.services import credit_accept, dashboard_create
from laurel.imports import bulk, kinds, services
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import make_user

S = ImportJob.Status
HEAD = "Course ID,Email,Date Completed\n"
THREE_FOR_ANN = (
    HEAD
    + "NNA-26-00001,ann@example.org,2025-02-01\n"
    + "NNA-26-00001,ann@example.org,2025-02-02\n"
    + "NNA-26-00002,Ann@Example.org,2025-02-01\n"
    + "NNA-26-00002,bob@example.org,2025-02-01\n"
)


def digests(to):
    return [m for m in mail.outbox if m.to == [to]]


def test_each_recipient_gets_one_digest_listing_all_their_new_credits(
    org, admin, courses, holder, validated, commit
):
    job = validated(org, THREE_FOR_ANN, user=admin)
    mail.outbox.clear()
    job = commit(job, admin)
    assert job.status == S.COMMITTED
    ann = Credit.objects.filter(recipient_email="ann@example.org")
    assert ann.count() == 3
    assert set(ann.values_list("status", flat=True)) == {"offered"}
    assert set(ann.values_list("holder", flat=True)) == {holder.pk}
    assert Credit.objects.get(recipient_email="bob@example.org").status == "held"
    [ann_mail] = digests("ann@example.org")
    assert ann_mail.subject == "3 new credits from Northwind"
    assert ann_mail.body.count("(completed 2025-02-0") == 3
    [bob_mail] = digests("bob@example.org")
    assert bob_mail.subject == "1 new credit from Northwind"
    # A new e-mail is invited, with a link to the invitation's own page.
    assert "Northwind also invites you to connect" in bob_mail.body
    [invite_path] = re.findall(r"https?://[^/\s]+(/connect/\S+/)", bob_mail.body)
    assert "bob@example.org" in Client().get(invite_path).content.decode()
    [report] = digests("admin@northwind.test")
    assert report.subject == "Import done: credits.csv"
    assert f"/imports/{job.pk}/report/" in report.body
    assert job.count("offered") == 3 and job.count("held") == 1


def test_a_long_digest_lists_twenty_credits_and_how_many_more(
    org, admin, courses, validated, commit
):
    from laurel.notifications.models import OutboxMessage

    one, _ = courses
    one.title = "Ethics & <Law>"
    one.save(update_fields=["title"])
    rows = "".join(f"NNA-26-00001,cy@example.org,2025-01-{day:02d}\n" for day in range(1, 24))
    job = validated(org, HEAD + rows, user=admin)
    mail.outbox.clear()
    commit(job, admin)
    [sent] = digests("cy@example.org")
    assert sent.subject == "23 new credits from Northwind"
    assert sent.body.count("- Ethics & <Law> (completed 2025-01-") == 20
    assert "- and 3 more" in sent.body
    html = sent.alternatives[0][0]
    assert html.count("<li>Ethics &amp; &lt;Law&gt; (completed 2025-01-") == 20
    assert "<li>and 3 more</li>" in html
    # Queued with its items only; the body sent is kept on the message.
    message = OutboxMessage.objects.get(dedupe_key=f"import:{job.pk}:cy@example.org")
    assert message.context["count"] == 23 and len(message.context["items"]) == 20
    assert message.status == "sent" and message.body_text == sent.body


def test_a_queued_digest_shows_the_organization_as_it_is_when_sent(org):
    from laurel.imports.digest import render_deferred
    from laurel.notifications.models import OutboxMessage

    message = OutboxMessage(
        organization=org,
        kind="import_digest",
        context={"count": 1, "invite": False, "items": [["Ethics", "2025-01-02"]]},
    )
    text, html = render_deferred(message)
    assert "- Ethics (completed 2025-01-02)" in text
    assert "reply to this message" not in html
    org.reply_to = "office@northwind.test"
    org.save(update_fields=["reply_to"])
    assert "reply to this message to reach them" in render_deferred(message)[1]
    org.name = "Northwind Guild"
    org.save(update_fields=["name"])
    assert "Northwind Guild has recorded a credit for you" in render_deferred(message)[0]


def test_commit_writes_an_audit_event_per_credit_and_per_invitation(
    org, admin, courses, validated, commit
):
    job = commit(validated(org, THREE_FOR_ANN, user=admin), admin)
    entered = AuditEvent.objects.filter(action="credit.entered", organization=org)
    assert entered.count() == 4
    bob = Credit.objects.get(recipient_email="bob@example.org")
    assert entered.get(object_id=str(bob.pk)).after == {
        "status": "held",
        "email": "bob@example.org",
        "source": "import",
        "import": job.pk,
        "components": {"CE": "1.00", "ETH": "1.00"},
    }
    assert set(entered.values_list("actor", flat=True)) == {admin.pk}
    assert AuditEvent.objects.filter(action="connection.invited").count() == 2
    assert set(Connection.objects.filter(organization=org).values_list("email", flat=True)) == {
        "ann@example.org",
        "bob@example.org",
    }
    assert AuditEvent.objects.filter(action="import.committed").count() == 1


def test_suppressed_notifications_send_no_digest_but_still_report_to_the_uploader(
    org, admin, courses, validated, commit
):
    job = validated(org, THREE_FOR_ANN, user=admin, suppress_notifications=True)
    mail.outbox.clear()
    commit(job, admin)
    assert Credit.objects.count() == 4
    assert [m.to for m in mail.outbox] == [["admin@northwind.test"]]


def test_an_unchecked_row_is_excluded_and_reported_as_such(org, admin, courses, validated, commit):
    job = validated(org, THREE_FOR_ANN, user=admin)
    services.import_rows_include(actor=Actor(user=admin), job=job, numbers=[5], included=False)
    job.refresh_from_db()
    assert job.to_commit == 3
    job = commit(job, admin)
    assert not Credit.objects.filter(recipient_email="bob@example.org").exists()
    assert ImportRow.objects.get(job=job, number=5).outcome == "excluded"
    assert digests("bob@example.org") == []


def test_committing_rows_that_meanwhile_entered_the_ledger_skips_them_as_duplicates(
    org, admin, courses, validated, commit
):
    from tests.factories import enter_credit

    job = validated(org, THREE_FOR_ANN, user=admin)
    one, _ = courses
    from datetime import date

    enter_credit(org, one, "ann@example.org", completion_date=date(2025, 2, 1))
    job = commit(job, admin)
    assert job.count("skipped_duplicate") == 1
    assert ImportRow.objects.get(job=job, number=2).outcome == "skipped_duplicate"
    assert Credit.objects.filter(recipient_email="ann@example.org").count() == 3


def test_a_crashed_commit_resumes_from_its_cursor_with_no_duplicates(
    org, admin, courses, validated, committed, monkeypatch, settings
):
    rows = "".join(f"NNA-26-00001,p{i}@example.org,2025-02-01\n" for i in range(7))
    job = validated(org, HEAD + rows, user=admin)
    services.import_commit_start(actor=Actor(user=admin), job=job, enqueue=False)
    # The chunk function of this database: set-based on PostgreSQL, row by row on SQLite.
    which = "commit_range" if bulk.is_postgres() else "commit_chunk"
    real = getattr(kinds.CreditsKind, which)
    calls = []

    def crash_on_third_chunk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the worker dies mid-chunk
        return real(self, *args, **kwargs)

    monkeypatch.setattr(kinds.CreditsKind, which, crash_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        services.import_commit_run(job_id=job.pk, chunk_size=2)
    job.refresh_from_db()
    assert job.status == S.COMMITTING
    assert job.rows_done == 4  # rows 2-5 committed in two chunks, the third rolled back
    assert Credit.objects.count() == 4
    assert ImportRow.objects.filter(job=job).exclude(outcome="").count() == 4
    monkeypatch.setattr(kinds.CreditsKind, which, real)

    assert services.import_resume_stale() == []  # its heartbeat is still fresh
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.LAUREL_JOB_STALE_SECONDS + 1)
    )
    with committed():
        assert services.import_resume_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == S.COMMITTED
    assert Credit.objects.count() == 7
    assert job.count("held") == 7
    assert AuditEvent.objects.filter(action="credit.entered").count() == 7


def test_undo_revokes_what_nobody_accepted_and_tells_the_recipients(
    org, admin, courses, holder, validated, commit
):
    job = commit(validated(org, THREE_FOR_ANN, user=admin), admin)
    dashboard = dashboard_create(holder=holder, name="License")
    accepted = Credit.objects.filter(recipient_email="ann@example.org").first()
    credit_accept(credit=accepted, holder=holder, dashboard=dashboard)
    mail.outbox.clear()
    revoked = services.import_undo(actor=Actor(user=admin), job=job, reason="Wrong file")
    assert revoked == 3
    accepted.refresh_from_db()
    assert accepted.status == "accepted"
    assert Credit.objects.filter(status="revoked").count() == 3
    assert AuditEvent.objects.filter(action="credit.revoked").count() == 3
    job.refresh_from_db()
    assert job.status == S.UNDONE


def test_undo_notices_go_out_once_per_recipient(
    org, admin, courses, holder, validated, commit, committed
):
    job = commit(validated(org, THREE_FOR_ANN, user=admin), admin)
    mail.outbox.clear()
    with committed():
        services.import_undo(actor=Actor(user=admin), job=job, reason="Wrong file")
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert subjects == [
        ("ann@example.org", "Northwind withdrew 3 credits sent to you"),
        ("bob@example.org", "Northwind withdrew a credit sent to you"),
    ]


def test_undo_is_refused_after_the_window(org, admin, courses, validated, commit, settings):
    from laurel.accounts.services import ServiceError

    job = commit(validated(org, THREE_FOR_ANN, user=admin), admin)
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - timedelta(days=settings.LAUREL_IMPORT_UNDO_DAYS, hours=1)
    )
    job.refresh_from_db()
    with pytest.raises(ServiceError):
        services.import_undo(actor=Actor(user=admin), job=job)
    assert Credit.objects.filter(status="revoked").count() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verify_only_emails_the_report_with_problems_attached_over_smtp_and_changes_nothing(
    org, admin, courses, validated, settings
):
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            self.messages.append(envelope)
            return "250 OK"

    handler = Collect()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        content = THREE_FOR_ANN + "NNA-26-00001,=HYPERLINK(1),2025-02-01\n"
        job = validated(org, content, user=admin, verify_only=True)
    finally:
        controller.stop()
    assert job.status == S.VALIDATED
    assert Credit.objects.count() == 0
    assert not Connection.objects.exists()
    [envelope] = handler.messages
    assert envelope.rcpt_tos == ["admin@northwind.test"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "Import check: credits.csv" in message["Subject"]
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()
    assert "Invalid: 1" in text
    assert f"/o/northwind/imports/{job.pk}/" in text
    [attachment] = [p for p in message.walk() if p.get_filename()]
    rows = list(csv.reader(io.StringIO(attachment.get_payload(decode=True).decode())))
    assert rows[0][:3] == ["Row", "Problem", "Column"]
    assert rows[1][0] == "6" and rows[1][1] == "Invalid"
    assert rows[1][3] == "'=HYPERLINK(1)"  # formula-safe


def test_verify_only_for_a_holder_changes_nothing_even_for_existing_accounts(
    org, admin, courses, validated
):
    make_user("bob@example.org")
    validated(org, THREE_FOR_ANN, user=admin, verify_only=True)
    assert Credit.objects.count() == 0


def test_a_row_whose_course_was_deleted_before_the_commit_fails_with_a_reason(
    org, admin, courses, validated, commit
):
    job = validated(org, THREE_FOR_ANN, user=admin)
    _, two = courses
    two.components.all().delete()
    two.delete()
    job = commit(job, admin)
    assert job.status == S.COMMITTED
    assert job.count("failed") == 2
    failed = ImportRow.objects.get(job=job, number=4)
    assert failed.outcome == "failed"
    assert "no longer exists" in failed.reason
    assert Credit.objects.count() == 2


def test_an_amount_of_zero_is_recorded_as_zero_not_as_full_credit(
    org, admin, courses, validated, commit
):
    job = validated(
        org,
        "Course ID,Email,Date Completed,Amount earned\nNNA-26-00001,a@example.org,2025-02-01,0\n",
    )
    commit(job, admin)
    component = Credit.objects.get().components.get()
    assert (component.amount_offered, component.amount_earned) == (2, 0)


def test_undo_runs_in_the_background_and_resumes_after_a_dead_worker(
    org, admin, courses, validated, commit, committed, monkeypatch, settings
):
    job = commit(validated(org, THREE_FOR_ANN, user=admin), admin)
    job = services.import_undo_start(actor=Actor(user=admin), job=job, enqueue=False)
    assert job.status == S.UNDOING and job.is_running  # the page shows progress
    assert not Credit.objects.filter(status="revoked").exists()  # nothing yet

    # A worker revokes one row's credit per chunk and dies in the second chunk.
    monkeypatch.setattr(services, "COMMIT_CHUNK", 1)
    real = services._undo_chunk
    calls = []

    def die_in_second_chunk(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(services, "_undo_chunk", die_in_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        services.import_undo_run(job_id=job.pk)
    assert Credit.objects.filter(status="revoked").count() == 1
    monkeypatch.setattr(services, "_undo_chunk", real)

    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.LAUREL_JOB_STALE_SECONDS + 1)
    )
    with committed():
        assert services.import_resume_stale() == [job.pk]
    job.refresh_from_db()
    assert job.status == S.UNDONE
    assert job.count("revoked") == 4  # the file's four credits, none revoked twice
    assert Credit.objects.filter(status="revoked").count() == 4
    assert AuditEvent.objects.filter(action="credit.revoked").count() == 4


def test_a_commit_that_keeps_killing_its_worker_is_failed_after_five_resumes_and_the_uploader_told(
    org, admin, courses, validated, committed, monkeypatch, settings, client
):
    """A poison file cannot loop the workers forever (issue 13 item 4, issue 15)."""
    assert settings.LAUREL_JOB_MAX_RESUMES == 5
    rows = "".join(f"NNA-26-00001,p{i}@example.org,2025-02-01\n" for i in range(4))
    job = validated(org, HEAD + rows, user=admin)
    services.import_commit_start(actor=Actor(user=admin), job=job, enqueue=False)
    which = "commit_range" if bulk.is_postgres() else "commit_chunk"

    def poison(self, *args, **kwargs):
        raise MemoryError  # what a poison file does to a worker, every time

    monkeypatch.setattr(kinds.CreditsKind, which, poison)

    def worker_dies_and_heartbeat_goes_stale():
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=settings.LAUREL_JOB_STALE_SECONDS + 1)
        )

    with pytest.raises(MemoryError):
        services.import_commit_run(job_id=job.pk)
    for attempt in range(1, 6):
        worker_dies_and_heartbeat_goes_stale()
        with committed():  # the resumed task dies the same way
            assert services.import_resume_stale() == [job.pk]
        job.refresh_from_db()
        assert job.resumes == attempt
        assert job.status == S.COMMITTING  # still being tried
    mail.outbox.clear()
    worker_dies_and_heartbeat_goes_stale()
    with committed():
        assert services.import_resume_stale() == []  # the sixth time: not resumed, failed

    job.refresh_from_db()
    assert job.status == S.FAILED and not job.is_running
    assert "stopped 6 times" in job.error and "not resumed again" in job.error
    [notice] = mail.outbox
    assert notice.to == ["admin@northwind.test"]
    assert notice.subject == "The import of credits.csv at Northwind has stopped"
    assert "stopped 6 times" in notice.body
    assert f"/imports/{job.pk}/" in notice.body
    assert AuditEvent.objects.filter(action="import.failed", object_id=str(job.pk)).exists()
    # Nothing more happens to it: the next sweeps leave it alone, and its page says why.
    worker_dies_and_heartbeat_goes_stale()
    assert services.import_resume_stale() == []
    client.force_login(admin)
    page = client.get(f"/o/{org.slug}/imports/{job.pk}/").content.decode()
    assert "not resumed again" in page

    # Once the cause is gone, the operator's "retry" (Operations page) commits the file.
    monkeypatch.undo()
    with committed():
        assert ImportJob.retry(job.pk, actor=Actor(user=admin)) is not None
    job.refresh_from_db()
    assert job.status == S.COMMITTED and job.resumes == 0
    assert Credit.objects.filter(organization=org).count() == 4
