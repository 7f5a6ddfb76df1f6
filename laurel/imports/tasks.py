"""Background tasks of the import pipeline: thin, idempotent, ids in."""

from __future__ import annotations

from django_tasks import task

from laurel.imports import services


@task(queue_name="imports")
def import_validate_task(job_id: int) -> str:
    job = services.import_validate(job_id=job_id)
    return job.status if job else "skipped"


@task(queue_name="imports")
def import_commit_task(job_id: int) -> str:
    job = services.import_commit_run(job_id=job_id)
    return job.status if job else "skipped"


@task(queue_name="imports")
def import_undo_task(job_id: int) -> str:
    job = services.import_undo_run(job_id=job_id)
    return job.status if job else "skipped"


@task(queue_name="email")
def import_send_digests_task(job_id: int) -> int:
    return services.import_send_digests(job_id=job_id)


@task(queue_name="email")
def import_send_undo_notices_task(job_id: int) -> int:
    return services.import_send_digests(job_id=job_id, prefix="import-undo")
