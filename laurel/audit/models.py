"""Append-only record of who changed what, when and from where."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def for_object(self, obj):
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEvent(models.Model):
    # An import writes a million events at once: only the indexes the readers use (by
    # organization and time, by object), and no database-level foreign keys (the writers
    # know their organization and actor; ``on_delete`` still applies in Django).
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Who acted when there is no user (an API key, the system, an import job).
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The trail's order, so a page is the first rows of an index walk.
            models.Index(fields=["organization", "-at", "-id"], name="audit_org_recent"),
            # The page's "action" and "person" filters in the same order: a rare action or
            # person otherwise walks the whole trail (a 1M-row scan, ~360 ms). Events with no
            # actor (imports by the system, deadlines) are left out of the second.
            models.Index(
                fields=["organization", "action", "-at", "-id"], name="audit_org_action_recent"
            ),
            models.Index(
                fields=["organization", "actor", "-at", "-id"],
                name="audit_org_actor_recent",
                condition=models.Q(actor__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    @property
    def who(self) -> str:
        if self.actor_id:
            return str(self.actor)
        return self.actor_label or "system"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)
