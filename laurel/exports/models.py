"""Export files built in the background (ledger, audit, import report, certificates list,
program transcript): one job row per request, the requester's last file kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse

from laurel.lib.jobs import BackgroundJob


class ExportJob(BackgroundJob):
    """A CSV too big to stream within a request, written by a worker and e-mailed as a link."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Writing"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Replaced by a newer file"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="export_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A name in ``laurel.exports.kinds.KINDS`` and what narrows it (a ledger's filters).
    kind = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)  # rows counted when asked
    done = models.PositiveIntegerField(default=0)  # rows written so far
    file = models.CharField(max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)

    RUNNING = (Status.QUEUED, Status.RUNNING)
    FAILED_ACTION = "export.failed"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "requested_by", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def title(self) -> str:
        from laurel.exports.kinds import KINDS

        kind = KINDS.get(self.kind)
        return kind.title if kind else self.kind

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0

    def job_owner(self):
        return self.requested_by

    def job_title(self) -> str:
        return f"The export “{self.title}”"

    def job_link(self) -> str:
        return reverse("exports:job", args=[self.organization.slug, self.pk])

    def job_resume(self) -> None:
        from laurel.exports.tasks import export_run

        # The file is written again from the start: a CSV has no resumable parts.
        ExportJob.objects.filter(pk=self.pk).update(status=self.Status.QUEUED)
        transaction.on_commit(lambda: export_run.enqueue(self.pk))
