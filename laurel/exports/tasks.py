"""Background exports. Thin: the job id in, the service does the work."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="default")
def export_run(job_id: int) -> str:
    from laurel.exports.services import export_write

    return export_write(job_id=job_id)
