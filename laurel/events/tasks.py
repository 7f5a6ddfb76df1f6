"""Thin tasks of events: take ids, call the service."""

from __future__ import annotations

from django_tasks import task


@task()
def attendance_job_run(job_id: int) -> None:
    from laurel.events.services import attendance_job_process

    attendance_job_process(job_id)


@task(queue_name="email")
def attendance_emails_send(dedupe_keys: list[str]) -> int:
    """Send the attendance e-mails a bulk mark queued (each send is idempotent)."""
    from laurel.notifications.models import OutboxMessage
    from laurel.notifications.tasks import outbox_send

    ids = list(
        OutboxMessage.objects.filter(
            dedupe_key__in=dedupe_keys, status=OutboxMessage.Status.QUEUED
        ).values_list("pk", flat=True)
    )
    for message_id in ids:
        outbox_send.call(message_id)
    return len(ids)


def attendance_job_resume_stale() -> int:
    """Housekeeping: hand attendance jobs whose worker died to a new attempt."""
    from laurel.events.models import AttendanceJob

    return len(AttendanceJob.resume_stale())
