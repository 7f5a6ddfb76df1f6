"""The attendee's e-mail, rendered when it is sent (queued in bulk with its context)."""

from __future__ import annotations

from laurel.notifications.services import render_email, unsubscribe_url


def render_deferred(message) -> tuple[str, str]:
    ctx = dict(message.context or {})
    org = message.organization
    ctx["preferences_url"] = unsubscribe_url(email=message.to_email, organization=org)
    _, text, html = render_email("attendance_marked", {"organization": org, **ctx})
    return text, html
