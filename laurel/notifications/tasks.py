"""Send queued outbox messages. Idempotent: a message already sent is left alone."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from laurel.notifications import bounces
from laurel.notifications.deferred import needs_render, render_body
from laurel.notifications.models import OutboxMessage, is_essential
from laurel.notifications.services import send_decision, unsubscribe_url

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
RATE_WINDOW = timedelta(minutes=1)


@task(queue_name="email")
def outbox_send(message_id: int) -> str:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxMessage.Status.QUEUED:
            return "skipped"
        decision = send_decision(message)
        if decision != "send":
            message.status = (
                OutboxMessage.Status.SUPPRESSED
                if decision == "suppressed"
                else OutboxMessage.Status.DIGEST
            )
            message.save(update_fields=["status"])
            return decision
        delay = _rate_delay(message)
        if delay:
            message.deferrals += 1
            message.save(update_fields=["deferrals"])
            transaction.on_commit(
                lambda: outbox_send.using(run_after=timezone.now() + delay).enqueue(message_id)
            )
            return "deferred"
        rendered = needs_render(message)
        if rendered:
            message.body_text, message.body_html = render_body(message)
        email = build_email(message)
        message.attempts += 1
        try:
            email.send()
        except Exception as exc:  # any transport error: record it and retry later
            log.warning("outbox message %s failed: %s", message.pk, exc)
            message.last_error = str(exc)[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            # A deferred body is not kept: the next attempt renders it again.
            message.save(update_fields=["attempts", "last_error", "status"])
            if message.status == OutboxMessage.Status.QUEUED:
                retry = timedelta(seconds=30 * 2**message.attempts)
                transaction.on_commit(
                    lambda: outbox_send.using(run_after=timezone.now() + retry).enqueue(message_id)
                )
            return "failed"
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        fields = ["attempts", "last_error", "status", "sent_at"]
        # What was sent is kept on the message.
        message.save(update_fields=fields + (["body_text", "body_html"] if rendered else []))
        return "sent"


def _rate_delay(message: OutboxMessage) -> timedelta | None:
    """How long to wait when the organization has used its send rate for this minute.

    The wait grows with the organization's queue ahead of this message, so a million-row
    import's digests are spread over the minutes they need instead of all retrying at once.
    """
    rate = settings.LAUREL_MAIL_RATE_PER_MINUTE
    if not rate or message.organization_id is None or is_essential(message.kind):
        return None
    if not outbox_send.get_backend().supports_defer:
        return None  # tasks run at once (tests, LAUREL_ENV=test): nothing to pace against
    org_mail = OutboxMessage.objects.filter(organization_id=message.organization_id)
    sent = org_mail.filter(sent_at__gte=timezone.now() - RATE_WINDOW).count()
    if sent < rate:
        return None
    ahead = org_mail.filter(status=OutboxMessage.Status.QUEUED, pk__lt=message.pk)[
        : rate * 60
    ].count()
    return RATE_WINDOW * (1 + ahead // rate)


def _domain_of(message: OutboxMessage) -> str:
    """The organization's own domain (its reply-to address) where it has one."""
    for address in (message.reply_to, settings.DEFAULT_FROM_EMAIL):
        domain = parseaddr(address or "")[1].rpartition("@")[2]
        if domain:
            return domain
    return "laurel.localhost"


def build_email(message: OutboxMessage) -> EmailMultiAlternatives:
    """The message as sent: text and HTML parts, reply-to, VERP envelope sender, and the
    headers mailbox providers look for on automatic and bulk mail."""
    headers = {
        "From": settings.DEFAULT_FROM_EMAIL,
        "Message-ID": make_msgid(idstring=f"outbox{message.pk}", domain=_domain_of(message)),
        "Auto-Submitted": "auto-generated",
    }
    if message.organization_id and not is_essential(message.kind):
        url = unsubscribe_url(email=message.to_email, organization=message.organization)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        # The envelope sender: a bounce comes back to an address naming this message.
        from_email=bounces.verp_address(message.pk) or settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for item in message.attachments:
        email.attach(item["filename"], base64.b64decode(item["content_b64"]), item["mimetype"])
    return email
