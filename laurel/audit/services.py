"""The one way to write an audit event."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models

from laurel.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, or a label for an API key / the system, plus where from."""

    user: object | None = None
    label: str = ""
    ip: str | None = None

    @classmethod
    def from_request(cls, request) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip=client_ip(request))

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=label)

    def __str__(self) -> str:
        return str(self.user) if self.user else self.label or "system"


def client_ip(request) -> str | None:
    # The rate limiter's notion: X-Forwarded-For only through TRUSTED_PROXY_COUNT proxies.
    from laurel.lib.ratelimit import client_ip as trusted_client_ip

    return trusted_client_ip(request) or None


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    organization=None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Write one audit event; call inside the transaction that made the change."""
    return AuditEvent.objects.create(**_fields(actor, action, obj, organization, before, after))


def audit_record_many(
    *, actor: Actor, action: str, objects: Iterable[models.Model], organization=None, after=None
) -> int:
    """Bulk variant for batch work (imports); one event per object, same transaction."""
    from laurel.imports.bulk import insert_objects  # COPY on PostgreSQL

    rows = [AuditEvent(**_fields(actor, action, obj, organization, None, after)) for obj in objects]
    insert_objects(AuditEvent, rows)
    return len(rows)


def audit_record_changes(*, actor: Actor, action: str, changes: list[tuple]) -> int:
    """Bulk variant for a batch of state changes: one event per ``(obj, before, after)``,
    in the object's own organization, written in one insert in the caller's transaction."""
    rows = [
        AuditEvent(**_fields(actor, action, obj, None, before, after))
        for obj, before, after in changes
    ]
    for row, (obj, _, _) in zip(rows, changes, strict=True):
        row.organization_id = obj.organization_id
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _fields(actor, action, obj, organization, before, after) -> dict:
    return {
        "organization": organization,
        "actor": actor.user,
        "actor_label": actor.label,
        "ip": actor.ip,
        "action": action,
        "object_type": obj._meta.label_lower,
        "object_id": str(obj.pk),
        "object_repr": str(obj)[:200],
        "before": before,
        "after": after,
    }
