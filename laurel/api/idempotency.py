"""``Idempotency-Key`` support: the first successful response is stored and replayed.

Only successes are stored, so a client that was refused (a validation error, a duplicate)
can correct the request and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction

from laurel.accounts.services import ServiceError
from laurel.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ServiceError):
    code = "idempotency_key_reused"


def request_fingerprint(method: str, path: str, body: dict) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_from(request) -> str:
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ServiceError(f"{HEADER} can be at most {MAX_KEY_LENGTH} characters.", field=HEADER)
    return key


def idempotent_lookup(*, organization, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """The stored response for ``key``, if any; refuses a key reused for another request."""
    record = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
    if record is not None and record.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"This {HEADER} was already used for a different request.", field=HEADER
        )
    return record


def idempotent_run(*, organization, key: str, fingerprint: str, work) -> tuple[int, str, bool]:
    """Run ``work() -> (status, body text)`` once per key: (status, body text, replayed).

    The record is written in the same transaction as the work, so a concurrent twin either
    sees it or fails on the unique constraint and replays it.
    """
    if not key:
        status, body = work()
        return status, body, False
    record = idempotent_lookup(organization=organization, key=key, fingerprint=fingerprint)
    if record is not None:
        return record.response_status, record.response_body, True
    try:
        with transaction.atomic():
            status, body = work()
            IdempotencyRecord.objects.create(
                organization=organization,
                key=key,
                request_hash=fingerprint,
                response_status=status,
                response_body=body,
            )
    except (IntegrityError, ServiceError):
        # A twin sent at the same moment won (its credit makes ours a duplicate, or its
        # record beat ours): answer as it did. Otherwise this was a genuine refusal.
        record = idempotent_lookup(organization=organization, key=key, fingerprint=fingerprint)
        if record is None:
            raise
        return record.response_status, record.response_body, True
    return status, body, False
