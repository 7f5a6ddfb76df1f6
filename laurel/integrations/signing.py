"""Standard Webhooks signatures (https://www.standardwebhooks.com/): ``v1,<base64
HMAC-SHA256 of "id.timestamp.body">`` with the bytes after ``whsec_`` base64-decoded."""

from __future__ import annotations

import base64
import hashlib
import hmac

from laurel.integrations.models import SECRET_PREFIX


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per secret (two during a rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def verify(secret: str, headers, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """The receiver's check (used by ``laurel webhooks listen``)."""
    msg_id = headers.get("webhook-id", "")
    try:
        timestamp = int(headers.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(
        hmac.compare_digest(expected, candidate)
        for candidate in headers.get("webhook-signature", "").split()
    )
