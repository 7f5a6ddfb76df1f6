"""One way to run long work in the background: a job row that a worker claims, beats,
finishes or fails, and that the worker's periodic duty resumes when its worker died.

The contract (``docs/jobs.md``) in short:

- ``claim(pk, statuses=..., status=...)`` takes the job for this worker when nobody live
  holds it and returns a token (``None`` when someone else has it);
- ``beat(pk, token, **progress)`` proves the worker is alive; ``LostClaim`` when another
  worker took the job over (ours was thought dead), so the caller stops quietly;
- ``finish(pk, token, status=...)`` and ``fail(pk, message=...)`` end it;
- ``resume_stale()`` hands every running job whose heartbeat is older than
  ``LAUREL_JOB_STALE_SECONDS`` to a new attempt through the model's ``job_resume()``, at most
  ``LAUREL_JOB_MAX_RESUMES`` times; the next time it is failed with a message, and its owner
  is told by e-mail through the outbox.

A job kind subclasses ``BackgroundJob`` (abstract: no table of its own), keeps its own
``Status`` choices (with a ``FAILED``) and says which statuses are ``RUNNING``.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

log = logging.getLogger(__name__)


class LostClaim(Exception):
    """Another worker took the job over (ours was thought dead); stop quietly."""


class BackgroundJob(models.Model):
    """Fields and functions every background job row shares."""

    # Which worker owns the running phase; cleared when a stale job is handed on.
    worker_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times a stale job was handed to a new attempt (see ``resume_stale``).
    resumes = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Statuses in which a worker should be beating; a subclass sets its own.
    RUNNING: tuple = ()
    # The audit action for a job failed by the resume cap, e.g. "import.failed".
    FAILED_ACTION = "job.failed"

    class Meta:
        abstract = True

    # --- what a job kind provides ---------------------------------------------------------

    def job_owner(self):
        """The user told when the job fails for good (``None``: nobody)."""
        return None

    def job_title(self) -> str:
        return str(self)

    def job_link(self) -> str:
        """Path of the page that shows the job, for the e-mail."""
        return ""

    def job_resume(self) -> None:
        """Set the job up for a new attempt and enqueue its task (inside a transaction)."""
        raise NotImplementedError

    # --- the contract ---------------------------------------------------------------------

    @staticmethod
    def stale_before(now=None):
        return (now or timezone.now()) - timedelta(seconds=settings.LAUREL_JOB_STALE_SECONDS)

    @classmethod
    def stale_q(cls, now=None) -> Q:
        """Rows whose worker has not beaten in time (no beat yet: counted from creation)."""
        before = cls.stale_before(now)
        return Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before)

    def is_stale(self, now=None) -> bool:
        beat = self.heartbeat_at or self.created_at
        return self.status in self.RUNNING and beat < self.stale_before(now)

    @classmethod
    def claim(cls, pk: int, *, statuses, status: str) -> str | None:
        """Take the job for this worker if nobody live holds it; return our token."""
        token = secrets.token_hex(8)
        taken = (
            cls.objects.filter(pk=pk, status__in=statuses)
            .filter(Q(worker_token="") | cls.stale_q())
            .update(worker_token=token, status=status, heartbeat_at=timezone.now(), error="")
        )
        return token if taken else None

    @classmethod
    def beat(cls, pk: int, token: str | None, **fields) -> None:
        """Heartbeat (and progress); ``LostClaim`` if another worker owns the job now.

        ``token=None`` beats for whichever worker owns it: for kinds whose parts run side
        by side as separate idempotent tasks (certificate chunks)."""
        rows = cls.objects.filter(pk=pk)
        if token is not None:
            rows = rows.filter(worker_token=token)
        if not rows.update(heartbeat_at=timezone.now(), **fields):
            raise LostClaim

    @classmethod
    def locked(cls, pk: int, token: str):
        """The job row, locked for this transaction; ``LostClaim`` if another worker owns it."""
        job = cls.objects.select_for_update().get(pk=pk)
        if job.worker_token != token:
            raise LostClaim
        return job

    @classmethod
    def finish(cls, pk: int, token: str | None, *, status: str, **fields) -> None:
        """End the job in ``status``; ``LostClaim`` if another worker owns it now."""
        fields.setdefault("finished_at", timezone.now())
        cls.beat(pk, token, status=status, worker_token="", **fields)

    @classmethod
    def fail(cls, pk: int, *, message: str, token: str | None = None, where: Q | None = None):
        """Mark the job failed with ``message``, record it and tell its owner by e-mail.

        Returns the job, or ``None`` when it was not ours to fail (another worker's token,
        or ``where`` no longer holds)."""
        from laurel.audit.services import Actor, audit_record
        from laurel.notifications.services import outbox_enqueue

        with transaction.atomic():
            rows = cls.objects.filter(pk=pk)
            if token is not None:
                rows = rows.filter(worker_token=token)
            if where is not None:
                rows = rows.filter(where)
            now = timezone.now()
            if not rows.update(
                status=cls.Status.FAILED,
                error=message,
                worker_token="",
                heartbeat_at=now,
                # A committed import keeps its commit's time (the undo window counts from it).
                finished_at=Coalesce(F("finished_at"), now),
            ):
                return None
            job = cls.objects.select_related("organization").get(pk=pk)
            audit_record(
                actor=Actor.system("jobs"),
                action=cls.FAILED_ACTION,
                obj=job,
                organization=job.organization,
                after={"error": message, "resumes": job.resumes},
            )
            owner = job.job_owner()
            if owner is not None and owner.email:
                outbox_enqueue(
                    to=owner.email,
                    template="job_failed",
                    context={"title": job.job_title(), "message": message, "link": job.job_link()},
                    organization=job.organization,
                    dedupe_key=f"job-failed:{job._meta.label_lower}:{job.pk}",
                )
        log.error("%s %s failed: %s", job._meta.label_lower, pk, message)
        return job

    @classmethod
    def retry(cls, pk: int, *, actor):
        """Give a failed job a fresh set of attempts (the operator's "retry"); the job
        continues from what it had finished. Returns the job, or ``None`` if not failed."""
        from laurel.audit.services import audit_record

        with transaction.atomic():
            if not cls.objects.filter(pk=pk, status=cls.Status.FAILED).update(
                resumes=0, error="", worker_token="", heartbeat_at=timezone.now()
            ):
                return None
            job = cls.objects.select_related("organization").get(pk=pk)
            audit_record(
                actor=actor,
                action=cls.FAILED_ACTION.replace(".failed", ".retried"),
                obj=job,
                organization=job.organization,
            )
            job.job_resume()
        return job

    @classmethod
    def resume_stale(cls, *, now=None, max_resumes: int | None = None) -> list[int]:
        """Hand every running job whose worker stopped beating to a new attempt; return the
        ids resumed. A job already resumed ``max_resumes`` times is failed instead.

        A worker killed mid-job leaves its django-tasks row RUNNING forever, so the job's own
        heartbeat decides. Safe to run in several workers at once (conditional updates)."""
        now = now or timezone.now()
        cap = settings.LAUREL_JOB_MAX_RESUMES if max_resumes is None else max_resumes
        stale = cls.stale_q(now)
        resumed = []
        for job in cls.objects.filter(status__in=cls.RUNNING).filter(stale):
            still = Q(status=job.status, resumes=job.resumes) & stale
            if job.resumes >= cap:
                cls.fail(job.pk, message=cls.gave_up_message(job), where=still)
                continue
            with transaction.atomic():
                moved = (
                    cls.objects.filter(pk=job.pk)
                    .filter(still)
                    .update(worker_token="", heartbeat_at=now, resumes=job.resumes + 1)
                )
                if not moved:
                    continue
                job.resumes += 1
                job.job_resume()
            resumed.append(job.pk)
            log.warning("%s %s: worker stopped; resuming", cls._meta.label_lower, job.pk)
        return resumed

    @staticmethod
    def gave_up_message(job) -> str:
        return (
            f"Stopped: its worker stopped {job.resumes + 1} times before it could finish, "
            f"so it was not resumed again (the limit is {job.resumes}). "
            "Nothing it had finished was lost. If the file or selection is very large, try "
            "a smaller one; if this keeps happening, tell the platform's operator."
        )
