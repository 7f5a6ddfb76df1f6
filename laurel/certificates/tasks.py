"""Background work for certificates. Tasks take ids and are idempotent.

A combined PDF is built in chunks: each chunk is its own task (so several workers render in
parallel) and is saved as a part file; the task that completes the last chunk enqueues the
join. A chunk already saved is never rendered again, so a job resumed after a worker died
only does what is missing.
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from laurel.certificates import rendering
from laurel.certificates.models import Certificate, CertificateJob
from laurel.lib import pdf
from laurel.notifications.services import outbox_enqueue

log = logging.getLogger(__name__)
RUNNING = CertificateJob.Status.RUNNING


def _part_path(job: CertificateJob, number: int) -> str:
    return f"certificates/jobs/{job.pk}/part-{number:05d}.pdf"


def _certificates(job: CertificateJob, ids: list[int]) -> list[Certificate]:
    by_id = {
        c.pk: c
        for c in Certificate.objects.for_org(job.organization)
        .filter(pk__in=ids)
        .select_related("template_version", "organization")
    }
    return [by_id[i] for i in ids if i in by_id]


@task(queue_name="pdf")
def job_start(job_id: int) -> str:
    # The claim only keeps two starts apart: the chunks then run side by side as separate
    # idempotent tasks and beat for the job whoever runs them (``beat(pk, None)``).
    if not CertificateJob.claim(job_id, statuses=CertificateJob.RUNNING, status=RUNNING):
        return "skipped"
    job = CertificateJob.objects.get(pk=job_id)
    if job.kind == CertificateJob.Kind.ZIP:
        job_build_zip.enqueue(job_id)
        return "zip"
    missing = [n for n in range(job.chunk_count) if n not in job.chunks_done]
    for number in missing:
        job_render_chunk.enqueue(job_id, number)
    if not missing:
        job_finish.enqueue(job_id)
    return f"{len(missing)} chunks"


@task(queue_name="pdf")
def job_render_chunk(job_id: int, number: int) -> str:
    job = CertificateJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.status != CertificateJob.Status.RUNNING:
        return "skipped"
    path = _part_path(job, number)
    ids = job.chunk_ids(number)
    if not default_storage.exists(path):
        data = rendering.render_certificates(_certificates(job, ids))
        default_storage.save(path, ContentFile(data))
    with transaction.atomic():
        job = CertificateJob.objects.select_for_update().get(pk=job_id)
        if number in job.chunks_done:
            return "already done"
        job.chunks_done = sorted({*job.chunks_done, number})
        job.done = min(job.total, job.done + len(ids))
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["chunks_done", "done", "heartbeat_at"])
        complete = len(job.chunks_done) == job.chunk_count
    if complete:
        job_finish.enqueue(job_id)
    return "rendered"


@task(queue_name="pdf")
def job_finish(job_id: int) -> str:
    job = CertificateJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.status != CertificateJob.Status.RUNNING:
        return "skipped"

    def parts():  # one part in memory at a time
        for number in range(job.chunk_count):
            with default_storage.open(_part_path(job, number), "rb") as handle:
                yield handle.read()

    # The file is written to disk as the parts are read (a 50,000-page file in ~100 MB)
    # and handed to the storage from there.
    with tempfile.TemporaryFile() as combined:
        pdf.combine_to(
            parts(), combined, title=f"{job.total} certificates – {job.organization.name}"
        )
        size = combined.tell()
        combined.seek(0)
        name = default_storage.save(
            f"certificates/jobs/{job.pk}/certificates-{job.organization.slug}-{job.pk}.pdf",
            File(combined),
        )
    _complete(job, name, size)
    for number in range(job.chunk_count):
        default_storage.delete(_part_path(job, number))
    return "done"


@task(queue_name="pdf")
def job_build_zip(job_id: int) -> str:
    job = CertificateJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None or job.status != CertificateJob.Status.RUNNING:
        return "skipped"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for number in range(job.chunk_count):
            for cert in _certificates(job, job.chunk_ids(number)):
                archive.writestr(f"{cert.serial_number}.pdf", rendering.certificate_pdf(cert))
            CertificateJob.beat(job_id, None, done=min(job.total, (number + 1) * job.chunk_size))
    name = default_storage.save(
        f"certificates/jobs/{job.pk}/certificates-{job.organization.slug}-{job.pk}.zip",
        ContentFile(buffer.getvalue()),
    )
    _complete(job, name, buffer.tell())
    return "done"


def _complete(job: CertificateJob, name: str, size: int) -> None:
    with transaction.atomic():
        updated = CertificateJob.objects.filter(
            pk=job.pk, status=CertificateJob.Status.RUNNING
        ).update(
            status=CertificateJob.Status.DONE,
            file=name,
            file_size=size,
            done=job.total,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            worker_token="",
        )
        if not updated:
            default_storage.delete(name)
            return
        # "Download last file" keeps only the newest file per person.
        older = CertificateJob.objects.filter(
            organization=job.organization,
            requested_by=job.requested_by,
            status=CertificateJob.Status.DONE,
        ).exclude(pk=job.pk)
        for old in older:
            if old.file:
                transaction.on_commit(lambda f=old.file: default_storage.delete(f))
        older.update(status=CertificateJob.Status.SUPERSEDED, file="")
        if job.requested_by is not None:
            link = job.download_path or reverse(
                "certificates:job_download", args=[job.organization.slug, job.pk]
            )
            outbox_enqueue(
                to=job.requested_by.email,
                template="certificate_file_ready",
                context={"job": job, "link": link},
                organization=job.organization,
                dedupe_key=f"certificate-job:{job.pk}",
            )


def job_resume_stale() -> int:
    """Re-enqueue jobs (certificate files, and the signing after a bulk acceptance) whose
    worker stopped sending heartbeats (what was done is kept), at
    most ``LAUREL_JOB_MAX_RESUMES`` times each; return how many were resumed."""
    from laurel.certificates.models import CertificateIssueJob

    return len(CertificateJob.resume_stale()) + len(CertificateIssueJob.resume_stale())


@task()
def expiry_reminders() -> int:
    from laurel.certificates.services import expiry_reminders_send

    return expiry_reminders_send()


@task()
def certificates_issue_run(job_id: int) -> str:
    """Sign the certificates of a ``CertificateIssueJob`` (see ``certificates_issue_job_run``)."""
    from laurel.certificates.services import certificates_issue_job_run

    return certificates_issue_job_run(job_id)


@task()
def certificates_issue_for_credits(credit_ids: list[int], user_id: int | None) -> int:
    """Kept only for tasks queued before ``CertificateIssueJob`` existed (an upgrade with a
    non-empty queue); new acceptances queue ``certificates_issue_run``."""
    from django.contrib.auth import get_user_model

    from laurel.audit.services import Actor
    from laurel.certificates.services import certificates_issue_for_credits as issue

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return issue(credit_ids, actor=Actor(user=user) if user else Actor.system("credits"))


@task()
def certificates_sign_task(ids: list[int]) -> int:
    """Sign the credentials of a bulk issue (``services.certificates_sign``)."""
    from laurel.certificates.services import certificates_sign

    return certificates_sign(ids)
