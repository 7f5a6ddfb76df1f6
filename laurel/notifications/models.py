"""The e-mail outbox: every message Laurel sends is a row here first."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # Digests of an import arrive by the hundred thousand: no per-row foreign key check
    # (``on_delete`` applies in Django) and no index the sender does not read.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    kind = models.CharField(max_length=64)
    to_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # [{"filename": ..., "mimetype": ..., "content_b64": ...}] for small attachments (reports).
    attachments = models.JSONField(default=list, blank=True)
    # A message rendered when it is sent: what its template is filled with (an import's
    # digests keep their items here, ~100 bytes, not ~2 KB of rendered body per recipient).
    # ``body_text``/``body_html`` stay empty until then and keep what was sent afterwards.
    context = models.JSONField(null=True, blank=True)
    # Makes enqueueing idempotent: the same logical message is never queued twice.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email}"
