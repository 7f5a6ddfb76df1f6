"""Background work for recognition: the on-demand Canvas sync (the daily one is a worker
duty, ``services.canvas_sync_due``)."""

from __future__ import annotations

from django_tasks import task

from laurel.accounts.models import Organization


@task()
def canvas_sync_now(organization_id: int) -> str:
    from laurel.recognition.services import canvas_sync

    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return "skipped"
    return canvas_sync(organization=org, trigger="on demand").status
