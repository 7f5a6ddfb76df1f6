"""W3C Bitstring Status List v1.0: revocation entries, the list credential, its encoding.

The list is a bitstring of at least 131,072 bits (16 KB, the spec's minimum, so one revoked
credential does not stand out); bit 0 is the most significant bit of the first byte.
``encodedList`` is ``u`` + base64url (no padding) of the GZIP-compressed bitstring.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from datetime import datetime
from typing import Any

from laurel.lib.ob3_jsonld import CREDENTIALS_V2, format_datetime

MIN_BITS = 131_072
# Refuse to inflate more than this (a 134-million-entry list): a status list comes from the
# network and must not be a decompression bomb.
MAX_BYTES = 16 * 1024 * 1024
STATUS_PURPOSE = "revocation"


def new_status_list(size_bits: int = MIN_BITS) -> bytearray:
    """Return an all-zero bitstring of ``size_bits`` (at least the spec's 131,072)."""
    if size_bits < MIN_BITS or size_bits % 8:
        raise ValueError(f"a status list needs a multiple of 8 bits, at least {MIN_BITS}")
    return bytearray(size_bits // 8)


def set_bit(bits: bytearray, index: int, value: bool = True) -> None:
    """Set (revoke) or clear the bit for ``index`` in place."""
    mask = 0x80 >> (index % 8)
    if value:
        bits[index // 8] |= mask
    else:
        bits[index // 8] &= ~mask & 0xFF


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Return whether the bit for ``index`` is set; raise IndexError beyond the list."""
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status index {index} is outside a list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def encode_status_list(bits: bytes | bytearray) -> str:
    """Return the multibase ``encodedList``: ``u`` + base64url(GZIP(bits)), no padding."""
    if len(bits) * 8 < MIN_BITS:
        raise ValueError(f"a status list must hold at least {MIN_BITS} bits")
    # mtime=0 keeps the encoding a pure function of the bits.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: str) -> bytearray:
    """Inverse of :func:`encode_status_list`; raise ValueError on a malformed value."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u' prefix)")
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # gzip framing
        bits = inflater.decompress(compressed, MAX_BYTES + 1)
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"encodedList is not GZIP+base64url: {exc}") from exc
    if len(bits) > MAX_BYTES:
        raise ValueError(f"status list is larger than {MAX_BYTES} bytes")
    if not inflater.eof:
        raise ValueError("encodedList is truncated")
    if len(bits) * 8 < MIN_BITS:
        raise ValueError(f"status list holds {len(bits) * 8} bits, fewer than {MIN_BITS}")
    return bytearray(bits)


def status_list_entry(*, status_list_url: str, index: int) -> dict[str, Any]:
    """Return the ``credentialStatus`` pointing at bit ``index`` of a revocation list."""
    if index < 0:
        raise ValueError("status list index must be non-negative")
    return {
        "id": f"{status_list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": status_list_url,
    }


def status_list_credential(
    *,
    url: str,
    issuer_did: str,
    bits: bytes | bytearray,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """Return the unsigned ``BitstringStatusListCredential`` served at ``url`` (sign it)."""
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": STATUS_PURPOSE,
        "encodedList": encode_status_list(bits),
    }
    return credential
