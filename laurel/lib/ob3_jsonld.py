"""JSON-LD canonicalization (RDFC-1.0) for Open Badges 3.0, with every context bundled.

The document loader is frozen: it serves only the contexts in ``ob3_contexts/`` (each pinned
by SHA-256, because upstream has edited some in place) and raises for any other URL, so
signing and verifying never touch the network. Canonicalization also refuses a document with
a property no context defines: JSON-LD would silently drop it, leaving it unsigned.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

CONTEXTS_DIR = Path(__file__).with_name("ob3_contexts")

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"

# URL -> (file in ob3_contexts/, SHA-256 of its bytes).
BUNDLED_CONTEXTS: dict[str, tuple[str, str]] = {
    CREDENTIALS_V2: (
        "credentials-v2.jsonld",
        "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
    ),
    OB_V3P0: (
        "ob-v3p0-3.0.3.json",
        "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84",
    ),
    OB_V3P0_EXTENSIONS: (
        "ob-v3p0-extensions.json",
        "146f85aa16effd7ca1da8056eb443f53ce1eca8a34186cb062832c0a97d889c3",
    ),
}


class ContextNotBundled(Exception):
    """A document names a JSON-LD context Laurel does not bundle (it is never fetched)."""


class UndefinedTerm(Exception):
    """A document has a property that no context defines, so it could not be signed."""


@cache
def bundled_context(url: str) -> dict[str, Any]:
    """Return the parsed bundled context for ``url``, after checking its pinned hash."""
    try:
        filename, sha256 = BUNDLED_CONTEXTS[url]
    except KeyError:
        raise ContextNotBundled(f"JSON-LD context {url} is not bundled") from None
    data = (CONTEXTS_DIR / filename).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"bundled context {filename} does not match its pinned SHA-256")
    return json.loads(data)


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader that serves bundled contexts and refuses every other URL."""
    try:
        document = bundled_context(url)
    except ContextNotBundled as exc:
        raise jsonld.JsonLdError(
            str(exc), "jsonld.LoadDocumentError", {"url": url}, code="loading document failed"
        ) from exc
    return {"contextUrl": None, "documentUrl": url, "document": document}


# Our own cache, so no other pyld user in the process (with another loader) can feed it.
_context_cache = jsonld.LRUCache(maxsize=32)


def canonicalize(document: dict[str, Any]) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    dropped: list[str | None] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append)
    try:
        nquads = processor.normalize(
            document,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": document_loader,
                "contextResolver": ContextResolver(_context_cache, document_loader),
                "base": "",
            },
        )
    except jsonld.JsonLdError as exc:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ContextNotBundled):
                raise cause from exc
            cause = cause.__cause__
        raise
    if dropped:
        names = ", ".join(sorted({str(name) for name in dropped}))
        raise UndefinedTerm(f"properties not defined by any context: {names}")
    return nquads


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def format_datetime(moment: datetime) -> str:
    """Return an aware datetime as an XSD dateTime in UTC to the second (``...T12:00:00Z``)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("credential datetimes must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_datetime(text: str) -> datetime:
    """Parse an RFC 3339 date-time with its offset; raise ValueError for anything else."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError(f"not an RFC 3339 date-time with offset: {text!r}")
    return datetime.fromisoformat(text)
