"""Uploaded images (logos, signatures): checked and rewritten before anything stores them.

Raster images are opened header-first and refused when the dimensions they claim exceed
``max_pixels`` (a 467-byte PNG can claim 100,000 × 100,000 pixels: 40 GB once decoded), then
decoded and re-encoded, which drops whatever else the file carried. SVGs go through
svg-hush (Cloudflare's allow-list sanitiser): no scripts, event handlers, external
references or foreign content survive; a DOCTYPE (entity expansion) is refused outright.
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET  # noqa: S405 (parses svg-hush output only)

from PIL import Image, UnidentifiedImageError
from py_svg_hush import filter_svg

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_SVG_ROOT = re.compile(rb"<svg[\s>]")


class ImageRefused(ValueError):
    """The image cannot be accepted; the message says why, for the person who uploaded it."""


def clean_image(data: bytes, *, kinds: tuple[str, ...], max_pixels: int) -> tuple[bytes, str]:
    """Return ``(bytes to store, kind)`` with kind one of ``png``, ``jpg``, ``svg`` (only
    those in ``kinds``), or raise :class:`ImageRefused`."""
    if data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE):
        return _clean_raster(data, kinds=kinds, max_pixels=max_pixels)
    if "svg" in kinds and _SVG_ROOT.search(data[:4096]):
        return _clean_svg(data), "svg"
    names = [k.upper() for k in kinds]
    raise ImageRefused(f"Upload a {', '.join(names[:-1])} or {names[-1]} image.")


def _clean_raster(data: bytes, *, kinds: tuple[str, ...], max_pixels: int) -> tuple[bytes, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                kind = {"PNG": "png", "JPEG": "jpg"}.get(image.format or "")
                if kind not in kinds:
                    raise ImageRefused("This image format is not accepted here.")
                width, height = image.size
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise ImageRefused(
                        f"The image is {width} × {height} pixels; at most "
                        f"{max_pixels // 1_000_000} million pixels are accepted."
                    )
                image.load()
                return _reencode(image, kind), kind
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("The image claims more pixels than any logo needs.") from None
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRefused("The image file is damaged.") from None


def _reencode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "png":
        if image.mode not in {"1", "L", "LA", "P", "RGB", "RGBA"}:
            image = image.convert("RGBA")
        image.save(out, "PNG")
    else:
        if image.mode not in {"L", "RGB"}:
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _clean_svg(data: bytes) -> bytes:
    if _DOCTYPE.search(data):
        raise ImageRefused("SVG files with a DOCTYPE or entities are not accepted.")
    try:
        cleaned = filter_svg(data)
    except ValueError:
        raise ImageRefused("The SVG file is damaged.") from None
    # svg-hush keeps the path of an external reference ("https://x/p.png" becomes "/p.png"),
    # which a browser would fetch from us and Typst cannot draw: keep in-document ones only.
    root = ET.fromstring(cleaned)  # noqa: S314 (svg-hush's own output, no DOCTYPE)
    for element in root.iter():
        for name in [n for n in element.attrib if n.rsplit("}", 1)[-1] == "href"]:
            if not element.attrib[name].startswith("#"):
                del element.attrib[name]
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
