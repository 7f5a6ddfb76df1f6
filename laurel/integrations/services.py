"""Webhook workflows: emit an event in the change's transaction, manage endpoints, and
dispatch deliveries (at least once, in order of creation per endpoint)."""

from __future__ import annotations

import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from laurel.accounts.models import Membership, Organization, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, audit_record
from laurel.integrations.events import EVENT_TYPES, TEST_EVENT, render_lazy
from laurel.integrations.models import (
    ROTATION_OVERLAP,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    new_secret,
)
from laurel.integrations.signing import signature_header
from laurel.lib import safe_http
from laurel.notifications.services import outbox_enqueue

log = logging.getLogger(__name__)

BODY_KEPT = 2048  # bytes of a response body kept on the log
LEASE = timedelta(seconds=120)
USER_AGENT = "Laurel-Webhooks/1"


# --- emitting -------------------------------------------------------------------------------


def _subscribed(organization_id: int, event_type: str) -> list[int]:
    return [
        pk
        for pk, types in WebhookEndpoint.objects.filter(
            organization_id=organization_id, enabled=True
        ).values_list("pk", "event_types")
        if event_type in types
    ]


def webhooks_emit(
    *, organization: Organization, type: str, payload: dict | Callable[[], dict]
) -> WebhookMessage | None:
    """Record an event for every enabled endpoint of ``organization`` that subscribes to
    ``type``, in the caller's transaction; sent after it commits. None when nobody listens.

    ``payload`` may be a function making it, called only when some endpoint listens."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    endpoints = _subscribed(organization.pk, type)
    if not endpoints:
        return None
    if callable(payload):
        payload = payload()
    message = WebhookMessage.objects.create(
        organization=organization, event_type=type, payload=payload
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=pk, message=message, next_attempt_at=message.created_at)
        for pk in endpoints
    )
    webhooks_dispatch_after_commit()
    return message


def _emit_bulk(organization: Organization, events: list[tuple[str, object]], field: str) -> int:
    """One message per subscribed event (its ``field`` set to the event's value) and one
    delivery per subscribed endpoint: two inserts per batch."""
    by_type = {t: _subscribed(organization.pk, t) for t in {t for t, _ in events}}
    events = [(t, v) for t, v in events if by_type[t]]
    if not events:
        return 0
    from laurel.imports.bulk import insert_objects

    now = timezone.now()
    messages = [WebhookMessage(organization=organization, event_type=t, created_at=now,
                               **{field: v}) for t, v in events]  # fmt: skip
    insert_objects(WebhookMessage, messages)
    insert_objects(
        WebhookDelivery,
        [
            WebhookDelivery(endpoint_id=pk, message=m, next_attempt_at=now, created_at=now)
            for m in messages
            for pk in by_type[m.event_type]
        ],
    )
    webhooks_dispatch_after_commit()
    return len(messages)


def webhooks_emit_many(*, organization: Organization, events: list[tuple[str, dict]]) -> int:
    """``webhooks_emit`` for many events at once (bulk paths): two inserts per batch."""
    return _emit_bulk(organization, events, "payload")


def webhooks_emit_credits(*, organization: Organization, events: list[tuple[str, int]]) -> int:
    """(type, credit id) events of a bulk path, stored without a payload: their data is made
    from the credit when sent (``events.render_lazy``), as the import's SQL writes them."""
    return _emit_bulk(organization, events, "credit_id")


def subscriptions(organization_id: int, types) -> list[tuple[int, str]]:
    """(endpoint, event type) pairs of the enabled endpoints that receive any of ``types``:
    what the set-based SQL of an import joins its events with."""
    return [
        (pk, t)
        for pk, ets in WebhookEndpoint.objects.filter(
            organization_id=organization_id, enabled=True
        ).values_list("pk", "event_types")
        for t in types
        if t in ets
    ]


def _kick() -> None:
    from laurel.integrations.tasks import webhooks_dispatch_task

    webhooks_dispatch_task.enqueue()


def webhooks_dispatch_after_commit() -> None:
    # Once per transaction, however many events it emits.
    if not any(func is _kick for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_kick)


# --- endpoints ------------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        URLValidator(schemes=["https"])(url)
    except ValidationError:
        if url.startswith("http://") and settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
            return url  # on-premise receivers on a private network may speak plain HTTP
        raise ServiceError("Enter an https:// URL.", field="url") from None
    if urlsplit(url).username:
        raise ServiceError("Leave credentials out of the URL.", field="url")
    return url


def _clean_types(event_types) -> list[str]:
    chosen = [t for t in EVENT_TYPES if t in set(event_types or [])]
    unknown = sorted(set(event_types or []) - set(EVENT_TYPES))
    if unknown:
        raise ServiceError(f"Unknown event types: {', '.join(unknown)}.", field="event_types")
    if not chosen:
        raise ServiceError("Choose at least one event type.", field="event_types")
    return chosen


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
    }


@transaction.atomic
def endpoint_create(
    *, actor: Actor, organization: Organization, url: str, event_types, description: str = ""
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        organization=organization,
        url=_clean_url(url),
        description=(description or "").strip()[:200],
        event_types=_clean_types(event_types),
        created_by=actor.user,
    )
    endpoint.save()
    audit_record(
        actor=actor,
        action="webhook_endpoint.created",
        obj=endpoint,
        organization=organization,
        after=_endpoint_snapshot(endpoint),
    )
    return endpoint


@transaction.atomic
def endpoint_update(
    *, actor: Actor, endpoint: WebhookEndpoint, url: str, event_types, description: str = ""
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _endpoint_snapshot(endpoint)
    endpoint.url = _clean_url(url)
    endpoint.event_types = _clean_types(event_types)
    endpoint.description = (description or "").strip()[:200]
    endpoint.save(update_fields=["url", "event_types", "description"])
    audit_record(
        actor=actor,
        action="webhook_endpoint.updated",
        obj=endpoint,
        organization=endpoint.organization,
        before=before,
        after=_endpoint_snapshot(endpoint),
    )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint, now=None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    audit_record(
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        obj=endpoint,
        organization=endpoint.organization,
        after={"previous_valid_until": endpoint.previous_secret_until.isoformat()},
    )
    return endpoint


@transaction.atomic
def endpoint_set_enabled(
    *, actor: Actor, endpoint: WebhookEndpoint, enabled: bool, reason: str = ""
) -> WebhookEndpoint:
    """Disable (pending deliveries wait) or enable (they are sent, oldest first)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.enabled == enabled:
        return endpoint
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else (reason or "Disabled by an admin.")[:300]
    endpoint.failing_since = None
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since"])
    if enabled:
        WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").update(
            next_attempt_at=timezone.now()
        )
        webhooks_dispatch_after_commit()
    audit_record(
        actor=actor,
        action="webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled",
        obj=endpoint,
        organization=endpoint.organization,
        after={"enabled": enabled, "reason": endpoint.disabled_reason},
    )
    return endpoint


@transaction.atomic
def delivery_resend(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event again (same ``webhook-id``), after what is queued already."""
    new = WebhookDelivery.objects.create(endpoint=delivery.endpoint, message=delivery.message)
    audit_record(
        actor=actor,
        action="webhook_delivery.resent",
        obj=delivery.endpoint,
        organization=delivery.endpoint.organization,
        after={"message": delivery.message.webhook_id, "delivery": new.pk},
    )
    webhooks_dispatch_after_commit()
    return new


@transaction.atomic
def endpoint_send_test(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this endpoint alone."""
    org = endpoint.organization
    message = WebhookMessage.objects.create(
        organization=org,
        event_type=TEST_EVENT,
        payload={"organization": org.slug, "message": "A test event from Laurel."},
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, message=message)
    audit_record(
        actor=actor,
        action="webhook_endpoint.test_sent",
        obj=endpoint,
        organization=org,
        after={"message": message.webhook_id},
    )
    webhooks_dispatch_after_commit()
    return delivery


# --- dispatching ----------------------------------------------------------------------------


def retry_delay(attempt: int, rng: random.Random | None = None) -> timedelta:
    """Wait before try ``attempt + 1``: 30 s doubling per try, at most 6 h, ±20 % jitter
    (so that many receivers back online at once are not all called in the same second).
    With ``WEBHOOKS_GIVE_UP_AFTER`` of 72 h that is about 20 tries."""
    base = min(30 * 2 ** (attempt - 1), 6 * 3600)
    return timedelta(seconds=base * (rng or random).uniform(0.8, 1.2))


def body_of(message: WebhookMessage, data: dict | None = None) -> bytes:
    """The body sent; ``data`` for a message stored without a payload (``render_lazy``)."""
    if data is None:
        data = message.payload
        if data is None:
            data = render_lazy([message]).get(message.pk, {})
    return json.dumps(
        {
            "type": message.event_type,
            "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


@dataclass
class Outcome:
    delivery: WebhookDelivery
    attempt: WebhookAttempt
    ok: bool


def _claim(now) -> tuple[WebhookEndpoint, str] | None:
    """Lease one enabled endpoint whose oldest pending delivery is due."""
    head = (
        WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), status="pending")
        .order_by("id")
        .values("next_attempt_at")[:1]
    )
    token = secrets.token_hex(8)
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.filter(enabled=True)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .annotate(due=Subquery(head))
            .filter(due__lte=now)
            .order_by("due", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if endpoint is None:
            return None
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            lease_token=token, leased_until=now + LEASE
        )
    return endpoint, token


def _attempt(delivery, endpoint, url, address, headers, now) -> WebhookAttempt:
    return WebhookAttempt(
        delivery=delivery,
        number=delivery.attempts + 1,
        at=now,
        url=url,
        address=address,
        request_headers={k: v for k, v in headers.items() if k != "webhook-signature"},
    )


def _send_batch(endpoint: WebhookEndpoint, now, clock) -> list[Outcome]:
    """Send the endpoint's pending deliveries in order until one fails or the batch ends."""
    batch = list(
        WebhookDelivery.objects.filter(endpoint=endpoint, status="pending")
        .select_related("message")
        .order_by("id")[: settings.WEBHOOKS_BATCH]
    )
    if not batch:
        return []
    allow = settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    keys = endpoint.signing_secrets(now)
    rendered = render_lazy([d.message for d in batch])
    started = time.monotonic()
    outcomes = []
    try:
        address = safe_http.checked_address(endpoint.url, allow_private=allow)
    except safe_http.Refused as exc:
        head = batch[0]
        attempt = _attempt(head, endpoint, endpoint.url, "", {}, now)
        attempt.error = str(exc)[:500]
        return [Outcome(head, attempt, False)]
    with safe_http.client(timeout=timeout) as http:
        for delivery in batch:
            # Past half the lease, stop: the rest go in the next claim.
            if time.monotonic() - started > LEASE.total_seconds() / 2:
                break
            at = clock()
            body = body_of(delivery.message, rendered.get(delivery.message_id))
            msg_id = delivery.message.webhook_id
            stamp = int(at.timestamp())
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": signature_header(keys, msg_id, stamp, body),
            }
            attempt = _attempt(delivery, endpoint, endpoint.url, address, headers, at)
            t0 = time.monotonic()
            try:
                response = safe_http.post(
                    http,
                    endpoint.url,
                    address,
                    content=body,
                    headers=headers,
                    max_bytes=settings.WEBHOOKS_MAX_RESPONSE_BYTES,
                    deadline_s=timeout,
                )
            except Exception as exc:  # any transport failure is a failed try, retried
                attempt.error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
                attempt.duration_ms = int((time.monotonic() - t0) * 1000)
                outcomes.append(Outcome(delivery, attempt, False))
                break
            attempt.duration_ms = int((time.monotonic() - t0) * 1000)
            attempt.status_code = response.status_code
            attempt.response_body = response.body[:BODY_KEPT].decode("utf-8", "replace")
            if response.truncated:
                attempt.error = (
                    f"The response was longer than {settings.WEBHOOKS_MAX_RESPONSE_BYTES} "
                    "bytes; the rest was not read."
                )
            ok = 200 <= response.status_code < 300
            if not ok and 300 <= response.status_code < 400:
                attempt.error = "Redirects are not followed; answer 2xx at the URL itself."
            outcomes.append(Outcome(delivery, attempt, ok))
            if not ok:
                break
    return outcomes


def _record(endpoint: WebhookEndpoint, token: str, outcomes: list[Outcome], now) -> bool:
    """Write the tries and their consequences; False if the lease was lost meanwhile."""
    with transaction.atomic():
        locked = (
            WebhookEndpoint.objects.select_for_update()
            .filter(pk=endpoint.pk, lease_token=token)
            .first()
        )
        if locked is None:
            return False
        WebhookAttempt.objects.bulk_create([o.attempt for o in outcomes])
        delivered = [o for o in outcomes if o.ok]
        by_code: dict[int, list[int]] = {}
        for o in delivered:
            by_code.setdefault(o.attempt.status_code, []).append(o.delivery.pk)
        for code, ids in by_code.items():
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=WebhookDelivery.Status.DELIVERED,
                attempts=F("attempts") + 1,
                delivered_at=now,
                last_status_code=code,
                last_error="",
            )
        fields = {"lease_token": "", "leased_until": None}
        if delivered:
            fields["failing_since"] = None
            locked.failing_since = None
        failed = next((o for o in outcomes if not o.ok), None)
        if failed is not None:
            fields.update(_failure(locked, failed, now))
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
    return True


def _failure(endpoint: WebhookEndpoint, outcome: Outcome, now) -> dict:
    """Schedule the retry of a failed head, or disable the endpoint; returns its changes."""
    delivery, attempt = outcome.delivery, outcome.attempt
    code = attempt.status_code
    error = attempt.error or (f"HTTP {code}" if code else "failed")
    changes: dict = {}
    streak = endpoint.failing_since or now
    if endpoint.failing_since is None:
        changes["failing_since"] = now
    status = WebhookDelivery.Status.PENDING
    next_at = now + retry_delay(delivery.attempts + 1)
    reason = ""
    if code == 410:
        status = WebhookDelivery.Status.FAILED
        reason = "The receiver answered 410 Gone: it wants no more deliveries."
    elif now - streak >= settings.WEBHOOKS_GIVE_UP_AFTER:
        hours = int(settings.WEBHOOKS_GIVE_UP_AFTER.total_seconds() // 3600)
        reason = f"Every delivery failed for {hours} hours (last: {error})."[:300]
        next_at = now  # sent first thing when an admin enables the endpoint again
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=F("attempts") + 1,
        next_attempt_at=next_at,
        last_status_code=code,
        last_error=error[:500],
    )
    if reason:
        changes.update(enabled=False, disabled_reason=reason[:300], failing_since=None)
        _tell_admins(endpoint, reason)
    return changes


def _tell_admins(endpoint: WebhookEndpoint, reason: str) -> None:
    org = endpoint.organization
    audit_record(
        actor=Actor.system("webhooks"),
        action="webhook_endpoint.disabled",
        obj=endpoint,
        organization=org,
        after={"enabled": False, "reason": reason},
    )
    admins = (
        Membership.objects.active()
        .filter(organization=org, role=Role.ADMIN)
        .select_related("user")
        .order_by("pk")
    )
    for membership in admins:
        outbox_enqueue(
            to=membership.user.email,
            template="webhook_disabled",
            organization=org,
            context={"endpoint": endpoint, "reason": reason},
            dedupe_key=f"webhook-disabled:{endpoint.pk}:{int(time.time())}:{membership.pk}",
        )


def webhooks_dispatch(*, now: datetime | None = None, clock=None, max_claims: int = 1000) -> int:
    """Send what is due, endpoint by endpoint; returns how many deliveries succeeded.

    ``now``/``clock`` let tests run the retry schedule on a fake clock."""
    clock = clock or (lambda: now or timezone.now())
    sent = 0
    for _ in range(max_claims):
        at = clock()
        claimed = _claim(at)
        if claimed is None:
            break
        endpoint, token = claimed
        outcomes = _send_batch(endpoint, at, clock)
        if outcomes and _record(endpoint, token, outcomes, clock()):
            sent += sum(1 for o in outcomes if o.ok)
        elif not outcomes:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, lease_token=token).update(
                lease_token="", leased_until=None
            )
    return sent


def webhooks_dispatch_parallel(*, threads: int | None = None) -> int:
    """``webhooks_dispatch`` on several threads (each its own connection): different
    endpoints are sent side by side, each endpoint's deliveries stay in order."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    threads = threads or settings.WEBHOOKS_DISPATCH_THREADS
    if threads <= 1:
        return webhooks_dispatch()

    def run(_):
        try:
            return webhooks_dispatch()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhooks") as pool:
        return sum(pool.map(run, range(threads)))
