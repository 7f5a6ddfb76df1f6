"""Send queued outbox messages. Idempotent: a message already sent is left alone."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from laurel.notifications.deferred import needs_render, render_body
from laurel.notifications.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6


@task(queue_name="email")
def outbox_send(message_id: int) -> str:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxMessage.Status.QUEUED:
            return "skipped"
        rendered = needs_render(message)
        if rendered:
            message.body_text, message.body_html = render_body(message)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_email],
            reply_to=[message.reply_to] if message.reply_to else None,
        )
        if message.body_html:
            email.attach_alternative(message.body_html, "text/html")
        for item in message.attachments:
            email.attach(item["filename"], base64.b64decode(item["content_b64"]), item["mimetype"])
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
                delay = timedelta(seconds=30 * 2**message.attempts)
                transaction.on_commit(
                    lambda: outbox_send.using(run_after=timezone.now() + delay).enqueue(message_id)
                )
            return "failed"
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        fields = ["attempts", "last_error", "status", "sent_at"]
        # What was sent is kept on the message.
        message.save(update_fields=fields + (["body_text", "body_html"] if rendered else []))
        return "sent"
