"""Amazon SES bounce and complaint events delivered by SNS, with the SNS signature checked.

SNS signs each message with a certificate it serves from ``sns.<region>.amazonaws.com``;
the message is trusted only when that certificate (fetched over HTTPS from an AWS host, and
cached) verifies the signature over the canonical string AWS documents.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from urllib.error import URLError
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.cache import cache

from laurel.notifications.bounces import BounceReport, verp_message_id

_CERT_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS["UnsubscribeConfirmation"] = _SIGNED_FIELDS["SubscriptionConfirmation"]


class InvalidMessage(Exception):
    pass


def fetch_certificate(url: str) -> bytes:
    """The PEM at ``url`` (an AWS SNS host, checked by the caller), cached for a day."""
    key = f"sns-cert:{url}"
    pem = cache.get(key)
    if pem is None:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (AWS host only)
            pem = response.read()
        cache.set(key, pem, 86400)
    return pem


def open_aws_url(url: str) -> bool:
    """GET an SNS URL (a subscription confirmation), only on an AWS SNS host; False (and
    nothing fetched) for any other URL."""
    if not aws_url(url):
        return False
    with urllib.request.urlopen(url, timeout=10):  # noqa: S310 (AWS host only)
        pass
    return True


def aws_url(url: str) -> bool:
    parts = urlparse(url or "")
    return parts.scheme == "https" and bool(_CERT_HOST.match(parts.hostname or ""))


def string_to_sign(body: dict) -> bytes:
    fields = _SIGNED_FIELDS.get(body.get("Type", ""))
    if fields is None:
        raise InvalidMessage(f"unknown SNS message type {body.get('Type')!r}")
    out = []
    for name in fields:
        if name in body and body[name] is not None:
            out += [name, str(body[name])]
    return ("\n".join(out) + "\n").encode()


def verify(body: dict) -> None:
    """Raise InvalidMessage unless SNS signed ``body``."""
    cert_url = body.get("SigningCertURL") or body.get("SigningCertUrl") or ""
    if not aws_url(cert_url) or not urlparse(cert_url).path.endswith(".pem"):
        raise InvalidMessage("the signing certificate is not on an AWS SNS host")
    # SignatureVersion 1 is SHA1withRSA: what SNS topics send unless set to version 2.
    versions = {"1": hashes.SHA1(), "2": hashes.SHA256()}  # noqa: S303
    algorithm = versions.get(str(body.get("SignatureVersion")))
    if algorithm is None:
        raise InvalidMessage("unknown signature version")
    try:
        cert = x509.load_pem_x509_certificate(fetch_certificate(cert_url))
        signature = base64.b64decode(body.get("Signature", ""), validate=True)
        cert.public_key().verify(signature, string_to_sign(body), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError, URLError, OSError) as exc:
        raise InvalidMessage(f"bad signature: {exc.__class__.__name__}")


def reports(event: dict) -> list[BounceReport]:
    """The bounces or complaints one SES event (the SNS message's JSON) reports."""
    kind = event.get("notificationType") or event.get("eventType") or ""
    mail = event.get("mail") or {}
    message_id = verp_message_id(mail.get("source", "")) if mail.get("source") else None
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        bounce_type = bounce.get("bounceType")
        kind = {"Permanent": "hard", "Transient": "soft"}.get(bounce_type, "unknown")
        return [
            BounceReport(
                recipient=r.get("emailAddress", ""),
                kind=kind,
                status_text=" ".join(
                    x for x in (r.get("status", ""), r.get("diagnosticCode", "")) if x
                )[:500]
                or f"{bounce_type} / {bounce.get('bounceSubType', '')}",
                message_id=message_id,
                report_id=f"ses:{bounce.get('feedbackId', '')}" if bounce.get("feedbackId") else "",
            )
            for r in bounce.get("bouncedRecipients", [])
        ]
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType") or "abuse"
        return [
            BounceReport(
                r.get("emailAddress", ""),
                "complaint",
                f"SES complaint ({feedback})",
                message_id,
                f"ses:{complaint['feedbackId']}" if complaint.get("feedbackId") else "",
            )
            for r in complaint.get("complainedRecipients", [])
        ]
    return []


def parse_event(message: str) -> dict:
    try:
        return json.loads(message)
    except (TypeError, ValueError):
        raise InvalidMessage("the SNS message is not JSON")
