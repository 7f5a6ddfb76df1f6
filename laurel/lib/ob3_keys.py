"""Ed25519 keys for Open Badges 3.0: Multikey encoding, did:web documents, did:key resolution.

A public key is published as ``publicKeyMultibase``: ``z`` + base58btc(0xed 0x01 + 32 key
bytes). A private key leaves this module only as its 32 raw seed bytes, for the app to
encrypt and store.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_PUB_MULTICODEC = b"\xed\x01"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


def base58btc_encode(data: bytes) -> str:
    """Encode bytes in Bitcoin's base58 alphabet (leading zero bytes become '1')."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = BASE58_ALPHABET[digit] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def base58btc_decode(text: str) -> bytes:
    """Decode Bitcoin base58 text; raise ValueError on a character outside the alphabet."""
    number = 0
    for char in text:
        index = BASE58_ALPHABET.find(char)
        if index < 0:
            raise ValueError(f"not a base58btc character: {char!r}")
        number = number * 58 + index
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def generate_private_key() -> Ed25519PrivateKey:
    """Return a new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def private_key_to_bytes(private_key: Ed25519PrivateKey) -> bytes:
    """Return the 32-byte seed of ``private_key`` (encrypt it before storing it)."""
    return private_key.private_bytes_raw()


def private_key_from_bytes(data: bytes) -> Ed25519PrivateKey:
    """Rebuild a private key from the 32 bytes given by :func:`private_key_to_bytes`."""
    return Ed25519PrivateKey.from_private_bytes(data)


def public_key_multibase(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the Multikey ``publicKeyMultibase`` (``z6Mk...``) of a key or its private half."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58btc_encode(ED25519_PUB_MULTICODEC + raw)


def public_key_from_multibase(multibase: str) -> Ed25519PublicKey:
    """Parse a ``z6Mk...`` Ed25519 Multikey value; raise ValueError for anything else."""
    if not multibase.startswith("z"):
        raise ValueError("publicKeyMultibase must be base58btc ('z' prefix)")
    data = base58btc_decode(multibase[1:])
    if len(data) != 34 or not data.startswith(ED25519_PUB_MULTICODEC):
        raise ValueError("publicKeyMultibase is not an Ed25519 public key (multicodec 0xed01)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def did_web(host: str, *path: str) -> str:
    """Return the did:web for ``host`` and optional path segments (``did:web:h:orgs:nar``)."""
    parts = [host.replace(":", "%3A"), *path]
    return "did:web:" + ":".join(parts)


def did_web_document_url(did: str) -> str:
    """Return the https URL where the DID document of a did:web must be served."""
    if not did.startswith("did:web:"):
        raise ValueError(f"not a did:web: {did}")
    host, *path = did.removeprefix("did:web:").split(":")
    if not path:
        return f"https://{unquote(host)}/.well-known/did.json"
    return f"https://{unquote(host)}/{'/'.join(path)}/did.json"


def did_web_document(did: str, public_key_multibase: str, *older_keys: str) -> dict[str, Any]:
    """Return the ``did.json`` for ``did``: its Multikeys, all usable for assertionMethod.

    List keys retired by rotation in ``older_keys`` so credentials they signed still verify;
    drop a compromised key instead.
    """
    methods = [
        {
            "id": f"{did}#{key}",
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key,
        }
        for key in (public_key_multibase, *older_keys)
    ]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def did_key_document(did: str) -> dict[str, Any]:
    """Resolve a did:key (Ed25519 only) to its DID document, without any network."""
    multibase = did.removeprefix("did:key:")
    if not did.startswith("did:key:") or "#" in multibase:
        raise ValueError(f"not a did:key: {did}")
    public_key_from_multibase(multibase)
    document = did_web_document(did, multibase)
    document["authentication"] = list(document["assertionMethod"])
    return document
