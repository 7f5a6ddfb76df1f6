"""Thin task: send the webhook deliveries that are due (idempotent: a delivery is sent by
whoever holds its endpoint's lease, and re-sent only if that worker died)."""

from __future__ import annotations

from django_tasks import task

from laurel.integrations.services import webhooks_dispatch_parallel


@task()
def webhooks_dispatch_task() -> int:
    return webhooks_dispatch_parallel()


def webhooks_dispatch_due() -> int:
    """Housekeeping duty: retries fall due without anyone emitting anything."""
    return webhooks_dispatch_parallel()
