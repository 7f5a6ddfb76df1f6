"""The bounce mailbox: a periodic duty of ``laurel worker`` reads it over IMAP
(``BOUNCE_IMAP_URL``, e.g. ``imaps://bounces%40example.org:secret@imap.example.org/INBOX``),
records every bounce and complaint in it and deletes what it has read."""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlparse

from django.conf import settings
from imapclient import IMAPClient

from laurel.notifications.models import Bounce
from laurel.notifications.services import bounces_ingest

log = logging.getLogger(__name__)
BATCH = 200


def connect(url: str):
    parts = urlparse(url)
    ssl = parts.scheme == "imaps"
    client = IMAPClient(parts.hostname, port=parts.port or (993 if ssl else 143), ssl=ssl)
    client.login(unquote(parts.username or ""), unquote(parts.password or ""))
    return client


def bounce_mailbox_poll(*, client=None) -> int:
    """Ingest up to ``BATCH`` messages from the bounce mailbox; returns how many were read."""
    url = settings.BOUNCE_IMAP_URL
    if not url and client is None:
        return 0
    client = client or connect(url)
    try:
        client.select_folder(unquote(urlparse(url).path.lstrip("/")) or "INBOX")
        uids = client.search(["NOT", "DELETED"])[:BATCH]
        if not uids:
            return 0
        for uid, data in client.fetch(uids, ["RFC822"]).items():
            try:
                bounces_ingest(data[b"RFC822"], source=Bounce.Source.SMTP)
            except Exception:  # one unreadable message must not block the mailbox
                log.exception("bounce mailbox: message %s could not be ingested", uid)
        # Deleted only once recorded: a crash before this reads them again (a hard bounce
        # twice is still one suppression).
        client.add_flags(uids, [b"\\Deleted"])
        client.expunge()
        return len(uids)
    finally:
        try:
            client.logout()
        except Exception:  # already closed by the server
            log.debug("bounce mailbox: logout failed", exc_info=True)
