"""Creating and revoking organization API keys."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.api.models import KEY_PREFIX, ApiKey, hash_secret
from laurel.audit.services import Actor, audit_record

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    full_key: str  # shown once; never stored


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))


@transaction.atomic
def api_key_create(*, actor: Actor, organization: Organization, name: str) -> NewApiKey:
    """Make a key for ``organization``; the returned ``full_key`` is the only copy."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the key a name, e.g. what will use it.", field="name")
    prefix = _new_prefix()
    while ApiKey.objects.filter(prefix=prefix).exists():  # 36**8 makes this rare
        prefix = _new_prefix()
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey(
        organization=organization,
        name=name[:100],
        prefix=prefix,
        secret_hash=hash_secret(secret),
        created_by=actor.user,
    )
    api_key.full_clean()
    api_key.save()
    audit_record(
        actor=actor,
        action="api_key.created",
        obj=api_key,
        organization=organization,
        after={"name": api_key.name, "prefix": prefix},
    )
    return NewApiKey(api_key=api_key, full_key=f"{KEY_PREFIX}_{prefix}_{secret}")


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Stop a key working at once; the row stays for the audit trail."""
    now = timezone.now()
    if ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now) != 1:
        raise ServiceError("This key was already revoked.", code="state")
    api_key.revoked_at = now
    audit_record(
        actor=actor,
        action="api_key.revoked",
        obj=api_key,
        organization=api_key.organization,
        before={"revoked": False},
        after={"revoked": True, "prefix": api_key.prefix},
    )
    return api_key
