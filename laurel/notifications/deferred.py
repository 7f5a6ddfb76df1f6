"""Messages rendered when they are sent.

A message queued with ``context`` and no body (an import's digests: ~200,000 of them for a
million rows) is rendered by its kind's renderer just before it is sent; the body sent is
then kept on the message like any other.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

RENDERERS = {
    "import_digest": "laurel.imports.digest.render_deferred",
    "import_undone": "laurel.imports.digest.render_deferred",
    "program_grace": "laurel.programs.services.render_deferred_notice",
    "program_expired": "laurel.programs.services.render_deferred_notice",
    "attendance_marked": "laurel.events.emails.render_deferred",
}


def needs_render(message) -> bool:
    return message.context is not None and not message.body_text


def render_body(message) -> tuple[str, str]:
    """(text, HTML) for a deferred ``message``."""
    return import_string(RENDERERS[message.kind])(message)
