"""Digest e-mails for an import, rendered once per import instead of once per recipient.

An import of a million rows reaches ~200,000 people; rendering three Django templates per
person costs ~40 s. The templates are rendered once per variant (one credit or several,
invitation or not) with marker strings where the per-person parts go, and each message is
filled in with ``str.replace``: the same text the template would give, escaped the same way.
The rows go to the outbox with the set-based insert (``dedupe_key`` keeps it idempotent),
and one task sends them (``tasks.import_send_digests_task``).
"""

from __future__ import annotations

from html import escape

from django.utils import timezone

from laurel.imports import bulk
from laurel.notifications.models import OutboxMessage
from laurel.notifications.services import render_email

COUNT = "\x00COUNT\x00"
ITEMS_TEXT = "\x00ITEMS_TEXT\x00"
ITEMS_HTML = "\x00ITEMS_HTML\x00"
SHOWN_ITEMS = 20


class DigestRenderer:
    def __init__(self, template: str, *, organization) -> None:
        self.template = template
        self.organization = organization
        self._variants: dict[tuple[bool, bool], tuple[str, str, str]] = {}

    def _variant(self, single: bool, invite: bool) -> tuple[str, str, str]:
        key = (single, invite)
        if key not in self._variants:
            self._variants[key] = render_email(
                self.template,
                {
                    "organization": self.organization,
                    "count": 1 if single else COUNT,
                    "plural": not single,
                    "invite": invite,
                    "items_text": ITEMS_TEXT,
                    "items_html": ITEMS_HTML,
                },
            )
        return self._variants[key]

    def message(self, *, to: str, items: list[tuple], invite: bool, dedupe_key: str) -> tuple:
        """An outbox row (``OUTBOX_COLUMNS`` order) for ``items`` of (title, date, status)."""
        subject, text, html = self._variant(len(items) == 1, invite)
        shown = items[:SHOWN_ITEMS]
        more = len(items) - len(shown)
        lines = [f"- {title} (completed {day:%Y-%m-%d})" for title, day, _ in shown]
        lis = [f"<li>{escape(title)} (completed {day:%Y-%m-%d})</li>" for title, day, _ in shown]
        if more:
            lines.append(f"- and {more} more")
            lis.append(f"<li>and {more} more</li>")
        count = str(len(items))
        org = self.organization
        return (
            org.pk,
            self.template,
            to,
            org.reply_to or "",
            subject.replace(COUNT, count)[:300],
            text.replace(COUNT, count).replace(ITEMS_TEXT, "\n".join(lines)),
            html.replace(COUNT, count).replace(ITEMS_HTML, "<ul>" + "".join(lis) + "</ul>"),
            "[]",
            dedupe_key,
            OutboxMessage.Status.QUEUED.value,
            0,
            "",
            timezone.now(),
        )


OUTBOX_COLUMNS = (
    "organization_id",
    "kind",
    "to_email",
    "reply_to",
    "subject",
    "body_text",
    "body_html",
    "attachments",
    "dedupe_key",
    "status",
    "attempts",
    "last_error",
    "created_at",
)
OUTBOX_TYPES = (
    "bigint", "text", "text", "text", "text", "text", "text", "jsonb", "text", "text",
    "smallint", "text", "timestamptz",
)  # fmt: skip


def outbox_insert(messages: list[tuple]) -> int:
    """Queue rendered messages; ones whose ``dedupe_key`` is already queued are skipped."""
    inserted = bulk.insert_returning(
        "notifications_outboxmessage",
        OUTBOX_COLUMNS,
        messages,
        returning=("id",),
        pg_types=OUTBOX_TYPES,
    )
    return len(inserted)
