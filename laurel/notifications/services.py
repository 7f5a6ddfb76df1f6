"""Queue e-mail through the outbox; the worker sends it (``outbox_send`` task)."""

from __future__ import annotations

import base64

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import Context, engines
from django.template.loader import render_to_string

from laurel.notifications.models import OutboxMessage


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
