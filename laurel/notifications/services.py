"""Queue e-mail through the outbox; the worker sends it (``outbox_send`` task)."""

from __future__ import annotations

import base64
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template import Context, engines
from django.template.loader import render_to_string
from django.utils import timezone

from laurel.accounts.models import normalize_email
from laurel.audit.services import Actor, audit_record
from laurel.notifications import bounces
from laurel.notifications.bounces import BounceReport
from laurel.notifications.models import (
    NOTICE_KINDS,
    VERIFICATION_KINDS,
    Bounce,
    MailPreference,
    OutboxMessage,
    Suppression,
    is_essential,
)


def _refuse(message: str, **kwargs):
    # accounts.services imports this module to queue mail: its error class comes in late.
    from laurel.accounts.services import ServiceError

    raise ServiceError(message, **kwargs)


def _render_plain(name: str, context: dict) -> str:
    """A plain-text part: never HTML-escaped (an organization named "Lake <b>" must not
    arrive as "Lake &lt;b&gt;"), whatever the template remembers to say."""
    template = engines["django"].engine.get_template(name)
    return template.render(Context(context, autoescape=False))


def render_email(template: str, context: dict) -> tuple[str, str, str]:
    """Render ``notifications/email/<template>`` subject, text and HTML parts."""
    ctx = {"site_url": settings.SITE_URL, **context}
    subject = _render_plain(f"notifications/email/{template}.subject.txt", ctx)
    text = _render_plain(f"notifications/email/{template}.txt", ctx)
    html = render_to_string(f"notifications/email/{template}.html", ctx)
    return " ".join(subject.split()), text.strip() + "\n", html


def outbox_enqueue(
    *,
    to: str,
    template: str,
    context: dict,
    kind: str | None = None,
    organization=None,
    dedupe_key: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> OutboxMessage | None:
    """Record a message and send it after the current transaction commits.

    Returns ``None`` when a message with the same ``dedupe_key`` was already queued.
    """
    subject, text, html = render_email(template, {"organization": organization, **context})
    return outbox_enqueue_rendered(
        to=to,
        subject=subject,
        body_text=text,
        body_html=html,
        kind=kind or template,
        organization=organization,
        dedupe_key=dedupe_key,
        attachments=attachments,
    )


def outbox_enqueue_rendered(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: str,
    organization=None,
    dedupe_key: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> OutboxMessage | None:
    message = OutboxMessage(
        organization=organization,
        kind=kind,
        to_email=to,
        reply_to=(organization.reply_to if organization else "") or "",
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        dedupe_key=dedupe_key,
        attachments=[
            {"filename": name, "mimetype": mime, "content_b64": base64.b64encode(data).decode()}
            for name, mime, data in attachments or []
        ],
    )
    if dedupe_key and OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        if dedupe_key and OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    schedule_send(message.pk)
    return message


def schedule_send(message_id: int) -> None:
    from laurel.notifications.tasks import outbox_send

    transaction.on_commit(lambda: outbox_send.enqueue(message_id))


# --- Bounces, complaints and the suppression list -------------------------------------------

SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=7)


@transaction.atomic
def bounce_record(*, report: BounceReport, source: str) -> str:
    """Record one bounce or complaint and suppress the address when the rules say so.

    Returns the action taken: ``suppressed``, ``already suppressed``, ``recorded`` (a soft
    bounce under the limit), ``already recorded`` (this report was read before) or
    ``ignored`` (nothing to act on).
    """
    message = None
    email = normalize_email(report.recipient)
    if report.message_id:
        message = OutboxMessage.objects.filter(pk=report.message_id).first()
        if message is not None:
            # The VERP address names the message: its recipient is the one that failed,
            # whatever a forwarding server wrote in the report.
            email = normalize_email(message.to_email)
    if not email or report.kind == Bounce.Kind.UNKNOWN:
        return "ignored"
    key = f"{report.report_id} {email}"[:500] if report.report_id else None
    if key and Bounce.objects.filter(report_key=key).exists():
        return "already recorded"
    try:
        with transaction.atomic():
            bounce = Bounce.objects.create(
                email=email,
                kind=report.kind,
                status_text=report.status_text[:500],
                source=source,
                message=message,
                report_key=key,
            )
    except IntegrityError:  # another worker recorded the same report just now
        return "already recorded"
    reason = None
    if report.kind == Bounce.Kind.HARD:
        reason = Suppression.Reason.HARD_BOUNCE
    elif report.kind == Bounce.Kind.COMPLAINT:
        reason = Suppression.Reason.COMPLAINT
    elif report.kind == Bounce.Kind.SOFT:
        recent = Bounce.objects.filter(
            email=email,
            kind=Bounce.Kind.SOFT,
            received_at__gte=bounce.received_at - SOFT_BOUNCE_WINDOW,
        ).count()
        if recent >= SOFT_BOUNCE_LIMIT:
            reason = Suppression.Reason.SOFT_BOUNCES
    audit_record(
        actor=Actor.system(f"bounce:{source}"),
        action=f"mail.{report.kind}",
        obj=bounce,
        organization=message.organization if message else None,
        after={"email": email, "status": bounce.status_text},
    )
    if reason is None:
        return "recorded"
    existing = Suppression.objects.select_for_update().filter(email=email).first()
    if existing is not None:
        # A bounce after a complaint widens the suppression to essential mail too.
        if existing.reason == Suppression.Reason.COMPLAINT and reason != existing.reason:
            existing.reason, existing.status_text = reason, bounce.status_text
            existing.save(update_fields=["reason", "status_text"])
            return "suppressed"
        return "already suppressed"
    suppression = Suppression(email=email, reason=reason, status_text=bounce.status_text)
    suppression.full_clean()
    suppression.save()
    audit_record(
        actor=Actor.system(f"bounce:{source}"),
        action="mail.suppressed",
        obj=suppression,
        after={"email": email, "reason": reason, "status": bounce.status_text},
    )
    return "suppressed"


def bounces_ingest(raw: bytes, *, source: str = Bounce.Source.SMTP) -> list[dict]:
    """Parse a returned message and record what it reports; one dict per address."""
    reports = bounces.parse(raw)
    if not reports:
        return [{"recipient": None, "kind": "unknown", "action": "ignored", "status": ""}]
    return [
        {
            "recipient": normalize_email(r.recipient),
            "kind": r.kind,
            "status": r.status_text,
            "action": bounce_record(report=r, source=source),
        }
        for r in reports
    ]


@transaction.atomic
def suppression_remove(*, actor: Actor, suppression: Suppression) -> None:
    """Take an address off the list; platform admins only (the address may be anyone's)."""
    if not (actor.user and actor.user.is_superuser):
        _refuse("Only platform administrators can remove a suppressed address.", code="forbidden")
    audit_record(
        actor=actor,
        action="mail.unsuppressed",
        obj=suppression,
        before={"email": suppression.email, "reason": suppression.reason},
    )
    suppression.delete()


def suppressions_for(emails) -> dict[str, Suppression]:
    """Suppression by address for a page's worth of addresses, in one query."""
    emails = {normalize_email(e) for e in emails if e}
    return {s.email: s for s in Suppression.objects.filter(email__in=emails)}


# --- Preferences and one-click unsubscribe ----------------------------------------------------

UNSUBSCRIBE_SALT = "laurel.notifications.unsubscribe"


def unsubscribe_token(*, email: str, organization) -> str:
    payload = {"e": normalize_email(email), "o": organization.pk if organization else None}
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, email: str, organization) -> str:
    from django.urls import reverse

    token = unsubscribe_token(email=email, organization=organization)
    return settings.SITE_URL + reverse("mail:unsubscribe", args=[token])


def unsubscribe_read(token: str) -> tuple[str, int | None]:
    """(email, organization id) of a token; raises ServiceError for a forged one."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        _refuse("This unsubscribe link is not valid.", code="not_found")
    return data["e"], data["o"]


@transaction.atomic
def preference_set(*, email: str, organization, choice: str, actor: Actor) -> MailPreference:
    """What ``email`` wants from ``organization``: each notice, a daily digest, or none."""
    if choice not in MailPreference.Choice.values:
        _refuse("Choose each notice, a daily digest or none.", field="choice")
    pref, _ = MailPreference.objects.select_for_update().get_or_create(
        email=normalize_email(email), organization=organization
    )
    before = pref.choice
    pref.choice = choice
    pref.updated_at = timezone.now()
    pref.save(update_fields=["choice", "updated_at"])
    audit_record(
        actor=actor,
        action="mail.preference_set",
        obj=pref,
        organization=organization,
        before={"choice": before},
        after={"choice": choice, "email": pref.email},
    )
    return pref


def preference_of(email: str, organization_id) -> str:
    if organization_id is None:
        return MailPreference.Choice.EACH
    pref = (
        MailPreference.objects.filter(email=normalize_email(email), organization_id=organization_id)
        .values_list("choice", flat=True)
        .first()
    )
    return pref or MailPreference.Choice.EACH


def send_decision(message: OutboxMessage) -> str:
    """``send``, ``suppressed`` or ``digest``: what the outbox does with ``message`` now."""
    email = normalize_email(message.to_email)
    suppression = Suppression.objects.filter(email=email).first()
    if suppression is not None and suppression.blocks(message.kind):
        if message.kind in VERIFICATION_KINDS and suppression.verification_sent_at is None:
            claimed = Suppression.objects.filter(
                pk=suppression.pk, verification_sent_at__isnull=True
            ).update(verification_sent_at=timezone.now())
            if claimed:
                return "send"
        return "suppressed"
    if is_essential(message.kind):
        return "send"
    choice = preference_of(email, message.organization_id)
    if choice == MailPreference.Choice.NONE:
        return "suppressed"
    if choice == MailPreference.Choice.DIGEST and message.kind in NOTICE_KINDS:
        return "digest"
    return "send"


DIGEST_EVERY = timedelta(days=1)


def notice_digests_send() -> int:
    """Bundle the notices held for a daily digest into one message per recipient and
    organization, once the oldest has waited a day. Idempotent (dedupe key per bundle)."""
    cutoff = timezone.now() - DIGEST_EVERY
    held = OutboxMessage.objects.filter(status=OutboxMessage.Status.DIGEST, sent_at__isnull=True)
    groups = (
        held.filter(created_at__lte=cutoff)
        .values_list("to_email", "organization_id")
        .distinct()[:1000]
    )
    from laurel.accounts.models import Organization

    sent = 0
    for email, org_id in groups:
        with transaction.atomic():
            rows = list(held.select_for_update().filter(to_email=email, organization_id=org_id))
            if not rows:
                continue
            organization = Organization.objects.get(pk=org_id)
            outbox_enqueue(
                to=email,
                template="notice_digest",
                kind="notice_digest",
                organization=organization,
                context={
                    "items": [m.subject for m in reversed(rows)],
                    "preferences_url": unsubscribe_url(email=email, organization=organization),
                },
                dedupe_key=f"notice-digest:{org_id}:{email}:{max(m.pk for m in rows)}",
            )
            OutboxMessage.objects.filter(pk__in=[m.pk for m in rows]).update(sent_at=timezone.now())
            sent += 1
    return sent
