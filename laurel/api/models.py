"""Organization API keys, and the stored responses that make API writes idempotent."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "lrl"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def usable(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A bearer key acting for one organization. Only the SHA-256 of its secret is stored;
    the full key ``lrl_<prefix>_<secret>`` is shown once, when it is created."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, help_text="What uses this key, e.g. “LMS sync”.")
    prefix = models.CharField(max_length=8, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["revoked_at", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor_label(self) -> str:
        return f"API key {self.prefix}"


class IdempotencyRecord(models.Model):
    """The first successful response to a write sent with an ``Idempotency-Key`` header,
    replayed when the same request is sent again with the same key."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    # The exact text sent, so a replay is byte-for-byte the first response (jsonb would
    # reorder its keys).
    response_body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="one_idempotency_record_per_org_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"
