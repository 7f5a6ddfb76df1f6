"""Markdown an organization writes, checked when saved and rendered sanitised when shown."""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt

SAFE_SCHEMES = {"http", "https", "mailto"}
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "a", "hr",
}  # fmt: skip

# Parsing with HTML on lets ``problems`` see raw HTML; rendering keeps it off (shown as text).
_detect = MarkdownIt("commonmark", {"html": True})
_render = MarkdownIt("commonmark", {"html": False})


def _links(tokens):
    for token in tokens:
        if token.type == "link_open":
            yield token.attrGet("href") or ""
        if token.type == "image":
            yield token.attrGet("src") or ""
        if token.children:
            yield from _links(token.children)


def _scheme_ok(href: str) -> bool:
    # Browsers ignore control characters and spaces inside a scheme ("java\tscript:").
    cleaned = "".join(ch for ch in href if ch > " ").lower()
    scheme = urlsplit(cleaned).scheme
    return scheme == "" or scheme in SAFE_SCHEMES


def problems(text: str) -> list[str]:
    """Why ``text`` may not be saved: raw HTML, or a link that is not http(s)/mailto."""
    out = []
    tokens = _detect.parse(text or "")
    flat = [t for tok in tokens for t in [tok, *(tok.children or [])]]
    if any(t.type in {"html_block", "html_inline"} for t in flat):
        out.append("Raw HTML is not allowed; write Markdown (e.g. **bold**, [link](https://…)).")
    # markdown-it refuses javascript: links itself (leaves them as text); look at the source too.
    hrefs = list(_links(tokens))
    if any(not _scheme_ok(h) for h in hrefs) or "javascript:" in "".join(
        ch for ch in (text or "").lower() if ch > " "
    ):
        out.append("Links must start with https://, http:// or mailto:.")
    return out


def render(text: str) -> str:
    """Safe HTML for ``text``: Markdown without raw HTML, then an allow-list sanitiser."""
    html = _render.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
