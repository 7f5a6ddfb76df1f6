"""Digest e-mails for an import, rendered once per import instead of once per recipient.

An import of a million rows reaches ~200,000 people; rendering three Django templates per
person costs ~40 s. The templates are rendered once per variant (one credit or several,
invitation or not) with marker strings where the per-person parts go, and each message is
filled in with ``str.replace``: the same text the template would give, escaped the same way.
The outbox rows hold the subject and the items (``OutboxMessage.context``): the body is
filled in when the message is sent (``render_deferred``), so queueing 200,000 digests writes
~100 bytes each, not ~2 KB. ``dedupe_key`` keeps queueing idempotent, and one task sends them
(``tasks.import_send_digests_task``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape

from django.db import IntegrityError, transaction
from django.utils import timezone

from laurel.imports import bulk
from laurel.notifications.models import OutboxMessage
from laurel.notifications.services import render_email

# Marker strings no template or title contains: a private-use character, because PostgreSQL
# text cannot hold NUL and subjects are whitespace-normalised (the digests' subjects are also
# filled in by SQL: ``credits_sql.digests_insert``).
COUNT = "\ue000COUNT\ue000"
ITEMS_TEXT = "\ue000ITEMS_TEXT\ue000"
ITEMS_HTML = "\ue000ITEMS_HTML\ue000"
INVITE_URL = "\ue000INVITE_URL\ue000"
SHOWN_ITEMS = 20


class DigestRenderer:
    def __init__(self, template: str, *, organization) -> None:
        self.template = template
        self.organization = organization
        self._variants: dict[tuple[bool, bool], tuple[str, str, str]] = {}

    def variant(self, single: bool, invite: bool) -> tuple[str, str, str]:
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
                    "invitation_url": INVITE_URL,
                },
            )
        return self._variants[key]

    def subjects(self) -> list[tuple[bool, bool, str]]:
        """(single, invite, subject with the count marker) for every variant."""
        return [
            (single, invite, self.variant(single, invite)[0])
            for single in (True, False)
            for invite in (True, False)
        ]

    def message(self, *, to: str, items: list[tuple], invite: bool, dedupe_key: str) -> tuple:
        """An outbox row (``OUTBOX_COLUMNS`` order) for ``items`` of (title, date, status):
        its subject now, its body when it is sent (``render_deferred``)."""
        count = len(items)
        org = self.organization
        context = {
            "count": count,
            "invite": invite,
            "items": [[title, day.isoformat()] for title, day, _ in items[:SHOWN_ITEMS]],
        }
        return (
            org.pk,
            self.template,
            to,
            org.reply_to or "",
            self.variant(count == 1, invite)[0].replace(COUNT, str(count))[:300],
            "",
            "",
            "[]",
            json.dumps(context),
            dedupe_key,
            OutboxMessage.Status.QUEUED.value,
            0,
            "",
            timezone.now(),
        )

    def body(self, context: dict, *, to: str = "") -> tuple[str, str]:
        """(text, HTML) of the message for ``context`` (count, invite, the items shown); an
        invitation links to its own page (looked up when sent, one indexed read)."""
        count = int(context["count"])
        invite_url = ""
        if context.get("invite") and to:
            from laurel.accounts.services import connection_invitation_url

            invite_url = connection_invitation_url(organization=self.organization, email=to)
        items = context["items"]
        _, text, html = self.variant(count == 1, bool(context["invite"]))
        lines = [f"- {title} (completed {day})" for title, day in items]
        lis = [f"<li>{escape(title)} (completed {day})</li>" for title, day in items]
        more = count - len(items)
        if more > 0:
            lines.append(f"- and {more} more")
            lis.append(f"<li>and {more} more</li>")
        return (
            text.replace(COUNT, str(count))
            .replace(ITEMS_TEXT, "\n".join(lines))
            .replace(INVITE_URL, invite_url),
            html.replace(COUNT, str(count))
            .replace(ITEMS_HTML, "<ul>" + "".join(lis) + "</ul>")
            .replace(INVITE_URL, escape(invite_url)),
        )


@lru_cache(maxsize=64)
def _renderer(kind: str, organization, name: str, reply_to: str) -> DigestRenderer:
    """One renderer per organization as its e-mails show it: the name and reply-to address
    the templates use are part of the key, so a changed organization is rendered anew."""
    return DigestRenderer(kind, organization=organization)


def render_deferred(message) -> tuple[str, str]:
    """The body of a digest or undo notice, when the outbox sends it: the variants are
    rendered once per organization in this process, not once per message."""
    org = message.organization
    return _renderer(message.kind, org, org.name, org.reply_to).body(
        message.context, to=message.to_email
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
    "context",
    "dedupe_key",
    "status",
    "attempts",
    "last_error",
    "created_at",
)
OUTBOX_TYPES = (
    "bigint", "text", "text", "text", "text", "text", "text", "jsonb", "jsonb", "text", "text",
    "smallint", "text", "timestamptz",
)  # fmt: skip


def outbox_insert(messages: list[tuple]) -> int:
    """Queue rendered messages; ones whose ``dedupe_key`` is already queued are skipped.

    The keys already present are looked up first (through the unique index) and the rest are
    copied straight into the outbox (staging them in a temp table for ``INSERT … ON
    CONFLICT`` would write every message twice). Should a key appear in between
    (the unique index refuses the copy), the batch goes through ``ON CONFLICT`` instead.
    """
    if not messages:
        return 0
    key_at = OUTBOX_COLUMNS.index("dedupe_key")
    present = bulk.existing_keys("notifications_outboxmessage", [m[key_at] for m in messages])
    fresh = [m for m in messages if m[key_at] not in present]
    if not fresh:
        return 0
    try:
        with transaction.atomic():
            return bulk.copy_insert("notifications_outboxmessage", OUTBOX_COLUMNS, fresh)
    except IntegrityError:
        inserted = bulk.insert_returning(
            "notifications_outboxmessage",
            OUTBOX_COLUMNS,
            fresh,
            returning=("id",),
            pg_types=OUTBOX_TYPES,
        )
        return len(inserted)
