"""Thin tasks of programs: send the notices a deadline sweep queued."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="email")
def notices_send(dedupe_keys: list[str]) -> int:
    """Send the sweep's queued notices (each send is idempotent: a sent message is skipped)."""
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
