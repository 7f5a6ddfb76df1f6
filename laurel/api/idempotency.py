"""``Idempotency-Key`` support: the first successful response is stored and replayed.

Only successes are stored, so a client that was refused (a validation error, a duplicate)
can correct the request and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from ninja.renderers import JSONRenderer

from laurel.accounts.services import ServiceError
from laurel.api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A stored response is replayed for a day; after that the key may be used again.
KEEP_FOR = timedelta(hours=24)
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "Send the same key again (within 24 hours) to get the first response back "
    "instead of creating a second one.",
}


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
    idempotency_records_expire(organization=organization, key=key)
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


def idempotency_records_expire(*, organization=None, key: str | None = None) -> int:
    """Delete stored responses older than a day (for one key when given): their keys are free
    again. The worker's periodic duties run it for all; a lookup runs it for its own key."""
    records = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - KEEP_FOR)
    if organization is not None:
        records = records.filter(organization=organization)
    if key is not None:
        records = records.filter(key=key)
    return records.delete()[0]


def idempotent_response(request, *, path: str, payload: dict, work, status: int = 201):
    """Answer a creating POST once per ``Idempotency-Key``: ``work() -> body`` runs the first
    time; the same key and request again get the stored response with
    ``Idempotent-Replayed: true``."""
    renderer = JSONRenderer()
    organization = request.auth.organization

    def run():
        return status, renderer.render(request, work(), response_status=status)

    code, content, replayed = idempotent_run(
        organization=organization,
        key=idempotency_key_from(request),
        fingerprint=request_fingerprint("POST", path, payload),
        work=run,
    )
    content_type = f"{renderer.media_type}; charset={renderer.charset}"
    response = HttpResponse(content, status=code, content_type=content_type)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
