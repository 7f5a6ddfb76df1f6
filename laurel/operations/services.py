"""Operations writes: a worker's heartbeat, and the operator retrying a failed job."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.utils import timezone

from laurel.operations.models import WorkerHeartbeat

STARTED_AT = timezone.now()
# Rows of workers gone for this long are deleted; the readiness check only needs the last minute.
FORGET_AFTER = timedelta(days=1)


def worker_beat() -> WorkerHeartbeat:
    """Record that this worker process is alive (a housekeeping duty, so it beats while idle)."""
    hostname, pid = socket.gethostname()[:150], os.getpid()
    now = timezone.now()
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        name=f"{hostname}:{pid}",
        defaults={"hostname": hostname, "pid": pid, "beat_at": now},
        create_defaults={
            "hostname": hostname,
            "pid": pid,
            "beat_at": now,
            "started_at": STARTED_AT,
        },
    )
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    return beat


def job_kinds() -> dict:
    """Every background job kind by name (``laurel.lib.jobs.BackgroundJob`` subclasses)."""
    from laurel.certificates.models import CertificateJob
    from laurel.imports.models import ImportJob

    return {"import": ImportJob, "certificate_file": CertificateJob}


def job_retry(*, actor, kind: str, pk: int):
    """The operator's "retry" on a failed job: fresh attempts from where it stopped."""
    model = job_kinds().get(kind)
    if model is None:
        return None
    return model.retry(pk, actor=actor)
