"""Reading bounces and complaints: what a returned message says about which address.

flufl.bounce (GNU Mailman's detectors: Postfix, Exim, Exchange, qmail, Yahoo…) finds the
failing recipients and whether the failure is temporary; the RFC 3464
``message/delivery-status`` part, when there is one, gives the status code and diagnostic
staff see. An ARF report (RFC 5965) is a complaint. Pure functions, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from flufl.bounce import all_failures

SALT = "laurel.notifications.verp"
# Mailbox full and over quota are temporary whatever class the server gave them.
SOFT_STATUSES = {"5.2.2", "5.2.1"}
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class BounceReport:
    recipient: str
    kind: str  # hard | soft | complaint | unknown
    status_text: str = ""
    message_id: int | None = None  # the outbox message named by the VERP address
    # The report's own identity (the bounce's Message-ID, SES's feedback ID): the same report
    # read twice (two workers, a re-run of the CLI) is recorded once.
    report_id: str = ""


# --- VERP ---------------------------------------------------------------------------------


def verp_token(message_id: int) -> str:
    sig = salted_hmac(SALT, str(message_id), algorithm="sha256").hexdigest()[:12]
    return f"{message_id}-{sig}"


def verp_address(message_id: int) -> str | None:
    """``bounces+<id>-<sig>@domain`` for ``BOUNCE_ADDRESS = bounces@domain``, else None."""
    base = settings.BOUNCE_ADDRESS
    if not base:
        return None
    local, _, domain = base.partition("@")
    return f"{local}+{verp_token(message_id)}@{domain}"


def verp_message_id(address: str) -> int | None:
    """The outbox message a VERP address names, if the address is ours and its signature holds."""
    if not settings.BOUNCE_ADDRESS:
        return None
    local, _, domain = parseaddr(address)[1].lower().partition("@")
    base_local, _, base_domain = settings.BOUNCE_ADDRESS.lower().partition("@")
    if domain != base_domain or not local.startswith(base_local + "+"):
        return None
    token = local[len(base_local) + 1 :]
    pk, _, _sig = token.partition("-")
    if not pk.isdigit() or not constant_time_compare(token, verp_token(int(pk))):
        return None
    return int(pk)


def _verp_in(msg: Message) -> int | None:
    for header in ("X-Original-To", "Delivered-To", "Envelope-To", "To", "Return-Path"):
        for _, addr in getaddresses(msg.get_all(header, [])):
            found = verp_message_id(addr)
            if found:
                return found
    return None


# --- Parsing ------------------------------------------------------------------------------


def parse(raw: bytes) -> list[BounceReport]:
    """Every address ``raw`` reports as failing or complaining (empty: not a bounce)."""
    msg = message_from_bytes(raw, policy=compat32)
    message_id = _verp_in(msg)
    report_id = str(msg.get("Message-ID", "")).strip()[:200]
    complaint = _complaint(msg)
    if complaint is not None:
        return [BounceReport(complaint, "complaint", "spam complaint (ARF)", message_id, report_id)]
    statuses = _delivery_status(msg)
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # a detector choking on a malformed message: rely on RFC 3464 alone
        temporary, permanent = frozenset(), frozenset()
    found: dict[str, str] = {}
    for addr in permanent:
        found[_addr(addr)] = "hard"
    for addr in temporary:
        found.setdefault(_addr(addr), "soft")
    for addr, (action, status, _) in statuses.items():
        if addr not in found and action in {"failed", "delayed"}:
            found[addr] = "hard" if action == "failed" and status.startswith("5") else "soft"
    reports = []
    for addr, kind in found.items():
        if not addr or "@" not in addr:
            continue
        _, status, text = statuses.get(addr, ("", "", ""))
        if not status:
            status, text = _status_from_text(msg)
        if status in SOFT_STATUSES:
            kind = "soft"
        elif status.startswith("5") and kind == "soft" and addr in statuses:
            kind = "hard"
        reports.append(BounceReport(addr, kind, _status_line(status, text), message_id, report_id))
    return reports


def _addr(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return parseaddr(value.strip())[1].strip("<>").lower()


def _complaint(msg: Message) -> str | None:
    """The complaining recipient of an ARF feedback report, or None."""
    if msg.get_content_type() != "multipart/report":
        return None
    if (msg.get_param("report-type") or "").lower() != "feedback-report":
        return None
    original = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            fields = _fields(part)
            rcpt = fields.get("original-rcpt-to", "")
            if rcpt:
                return _addr(rcpt)
        elif ctype in {"message/rfc822", "text/rfc822-headers"}:
            original = part
    if original is not None:
        inner = original.get_payload(0) if original.is_multipart() else None
        if inner is None:
            inner = message_from_bytes(original.get_payload(decode=True) or b"", policy=compat32)
        return _addr(inner.get("To", "")) or None
    return None


def _fields(part: Message) -> dict[str, str]:
    """Header-style fields of a report part, whether parsed as sub-messages or as text."""
    out: dict[str, str] = {}
    blocks = part.get_payload() if part.is_multipart() else None
    if blocks is None:
        text = part.get_payload(decode=True) or b""
        blocks = [message_from_bytes(text, policy=compat32)]
    for block in blocks:
        for key, value in block.items():
            out.setdefault(key.lower(), str(value).strip())
    return out


def _delivery_status(msg: Message) -> dict[str, tuple[str, str, str]]:
    """RFC 3464: recipient → (action, status, diagnostic) from every delivery-status part."""
    out: dict[str, tuple[str, str, str]] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            text = part.get_payload(decode=True) or b""
            blocks = [
                message_from_bytes(b, policy=compat32) for b in re.split(rb"\r?\n\r?\n", text)
            ]
        for block in blocks:
            rcpt = block.get("Final-Recipient") or block.get("Original-Recipient")
            if not rcpt:
                continue
            addr = _addr(str(rcpt).split(";", 1)[-1])
            status = (_STATUS.search(str(block.get("Status", ""))) or [""])[0]
            diag = " ".join(str(block.get("Diagnostic-Code", "")).split(";", 1)[-1].split())
            out[addr] = (str(block.get("Action", "")).strip().lower(), status, diag)
    return out


def _status_from_text(msg: Message) -> tuple[str, str]:
    """A status code from the human-readable part, for bounces without RFC 3464 parts."""
    for part in msg.walk():
        if part.get_content_type() != "text/plain":
            continue
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        for line in text.splitlines():
            found = _STATUS.search(line)
            if found and re.search(r"\b[45]\d\d\b", line):
                return found[1], " ".join(line.split())
    return "", ""


def _status_line(status: str, diagnostic: str) -> str:
    if diagnostic and status and status in diagnostic:
        return diagnostic[:500]
    return " ".join(x for x in (status, diagnostic) if x)[:500]
