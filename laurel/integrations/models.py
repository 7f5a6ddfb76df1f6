"""Webhooks: an organization's endpoints, the events it emits, and their deliveries.

An event (``WebhookMessage``) is written in the same transaction as the change it tells
of, with one ``WebhookDelivery`` per enabled endpoint that subscribes to its type: the
outbox pattern, like e-mail. The dispatcher sends each endpoint's pending deliveries in
order of creation and logs every try as a ``WebhookAttempt``.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# Standard Webhooks: the old secret keeps signing beside the new one for a day.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    # Standard base64 of 24 random bytes (no padding needed), as Standard Webhooks libraries
    # expect.
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class EndpointQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # The event types it receives (``laurel.integrations.events.EVENT_TYPES``).
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=100, default=new_secret)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    # Set at the first failure of a streak, cleared by a success: a streak older than
    # ``WEBHOOKS_GIVE_UP_AFTER`` disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    # A dispatcher owns the endpoint while ``leased_until`` is in the future; a dispatcher
    # that dies simply lets the lease run out and another sends again (at least once).
    lease_token = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one
        during the day after a rotation."""
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_until and self.previous_secret_until > now:
            keys.append(self.previous_secret)
        return keys


class WebhookMessage(models.Model):
    """One event, as its receivers get it: ``{"type", "timestamp", "data"}``."""

    # Imports write these by the hundred thousand: no per-row foreign key check, and no
    # index nobody reads (events are reached through their deliveries).
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    event_type = models.CharField(max_length=64)
    # The event's ``data``; or, for an import's credit events, empty with ``credit_id`` set:
    # their data is made when sent from the credit, whose fields in it never change (the
    # status is the event's), so a million-row import writes ~50 bytes an event, not ~500.
    payload = models.JSONField(null=True, blank=True)
    credit_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header: the same for every try and resend of this event."""
        return f"msg_{self.pk}"


class DeliveryQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(endpoint__organization=org)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # the endpoint answered 410 Gone: it wants no more

    # Written set-based by imports: two indexes only (the log's and the queue's).
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,  # (endpoint, id) below serves it
    )
    message = models.ForeignKey(
        WebhookMessage,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,  # nothing looks deliveries up by event
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The dispatcher's queue: an endpoint's pending deliveries by id.
            models.Index(
                fields=["endpoint", "id"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_pending",
            ),
            models.Index(fields=["endpoint", "id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try: what was sent, what came back (the first 2 KB), how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="tries",
        db_constraint=False,
        db_index=False,  # (delivery, -id) below serves it
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    address = models.CharField(max_length=64, blank=True)  # the IP connected to
    request_headers = models.JSONField(default=dict)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["delivery", "-id"])]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
