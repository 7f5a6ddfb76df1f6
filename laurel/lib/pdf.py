"""Certificate PDFs rendered with Typst from bundled templates and fonts.

Pure library: no Django, no database. The caller formats dates (in the issuer's time zone)
and amounts; this module lays them out. See docs/decisions/0002-typst-for-certificates.md.

    pdf = render_one(cert, branding, "modern", "a4", watermark="SAMPLE")
    chunks = pool.map(render_chunk, batches)  # each: render_many(batch, branding, ...)
    pdf = combine(chunks)

Render in parallel with `spawn` or `forkserver` processes: Typst's threads do not survive
fork(), so a process forked after its parent rendered cannot render (it raises rather than
hangs).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import typst
import zxingcpp

__all__ = [
    "BULK_CHUNK",
    "DESIGNS",
    "PAPERS",
    "Branding",
    "CertificateData",
    "CreditComponent",
    "Design",
    "Paper",
    "combine",
    "qr_svg",
    "render_many",
    "render_one",
    "render_program",
    "render_transcript",
]

Design = Literal["classic", "modern", "minimal"]
Paper = Literal["letter", "a4"]
DESIGNS: tuple[Design, ...] = ("classic", "modern", "minimal")
PAPERS: tuple[Paper, ...] = ("letter", "a4")

TEMPLATES_DIR = Path(__file__).with_name("pdf_templates")
FONTS_DIR = Path(__file__).with_name("fonts")

# Certificates per `render_many` call in a bulk job (bench/certificates.py and the combined-PDF
# job's default). 250 and 500 cost the same CPU a page (~4 ms); 250 keeps a worker at ~210 MB
# instead of ~260 MB and adds ~70 bytes a page for the fonts embedded once more per chunk.
BULK_CHUNK = 250

_TYPST_PAPER = {"letter": "us-letter", "a4": "a4"}
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class CreditComponent:
    """One line of credit: e.g. amount "1.5", unit "hours", credit_type "CLE Ethics"."""

    amount: str
    unit: str
    credit_type: str


@dataclass(frozen=True, slots=True)
class Branding:
    """How an organization's certificates look. Images are PNG or SVG bytes."""

    organization_name: str
    accent_color: str = "#1f4e79"
    signatory_name: str = ""
    signatory_title: str = ""
    footer_text: str = ""
    logo: bytes | None = None
    signature: bytes | None = None

    def __post_init__(self) -> None:
        if not _HEX_COLOUR.fullmatch(self.accent_color):
            raise ValueError(f"accent_color must look like #1f4e79, not {self.accent_color!r}")


@dataclass(frozen=True, slots=True)
class CertificateData:
    """What one certificate says. Dates are already formatted for display."""

    serial_number: str
    recipient_name: str
    title: str
    completion_date: str
    issue_date: str
    verification_code: str
    verification_url: str
    components: Sequence[CreditComponent] = field(default_factory=tuple)
    expiry_date: str | None = None


def render_one(
    cert: CertificateData,
    branding: Branding,
    design: Design = "classic",
    paper: Paper = "letter",
    *,
    watermark: str = "",
) -> bytes:
    """Render one certificate as a one-page PDF. `watermark="SAMPLE"` marks a preview."""
    title = f"Certificate {cert.serial_number} – {cert.recipient_name}"
    return _render([cert], branding, design, paper, watermark, title)


def render_many(
    certs: Sequence[CertificateData],
    branding: Branding,
    design: Design = "classic",
    paper: Paper = "letter",
    *,
    watermark: str = "",
) -> bytes:
    """Render certificates as one PDF, one page each, with each font embedded once.

    Memory grows with the page count (~210 MB for 250 pages): render big batches in chunks
    of `BULK_CHUNK`, in parallel processes if you like, and join them with `combine`.
    """
    if not certs:
        raise ValueError("render_many needs at least one certificate")
    title = f"{len(certs)} certificates – {branding.organization_name}"
    return _render(certs, branding, design, paper, watermark, title)


def combine(pdf_chunks: Iterable[bytes], title: str | None = None) -> bytes:
    """Join PDFs (e.g. chunks from `render_many` rendered in parallel) into one file.

    ``title`` becomes the document's title (by default the first chunk's, which names only
    that chunk's certificates).

    Pages are copied, not re-rendered, and each chunk's font subsets are kept once. Chunks
    are read as the iterable yields them, so a pool's `map` can be passed in directly.
    """
    import pikepdf  # imported here: only bulk jobs need it

    out = pikepdf.new()
    root = out.Root.Pages
    sources = []
    branches = []
    try:
        for chunk in pdf_chunks:
            src = pikepdf.open(io.BytesIO(chunk))
            if not sources:
                out.docinfo = out.copy_foreign(src.docinfo)
            sources.append(src)
            # Each chunk's pages hang under a /Pages node of their own. `out.pages.extend`
            # costs more per page the longer the file already is (2.4 ms a page for the
            # 20th chunk of 500): joining 10,000 pages took 11 s of the parent's CPU.
            # Typst writes /MediaBox and /Resources on every page, so nothing is inherited
            # from the source's page tree; copy_foreign copies shared fonts once per chunk.
            pages = pikepdf.Array([out.copy_foreign(page.obj) for page in src.pages])
            branch = out.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Pages, Kids=pages, Count=len(pages), Parent=root
                )
            )
            for page in pages:
                page.Parent = branch
            branches.append(branch)
        if not sources:
            raise ValueError("combine needs at least one PDF")
        root.Kids = pikepdf.Array(branches)
        root.Count = sum(len(b.Kids) for b in branches)
        if title:
            out.docinfo[pikepdf.Name.Title] = title
        buf = io.BytesIO()
        out.save(
            buf,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,  # Typst's streams are compressed
        )
        return buf.getvalue()
    finally:
        for src in sources:
            src.close()
        out.close()


# --- internals ---------------------------------------------------------------------------

_lock = threading.Lock()
_rendered_in: int | None = None  # pid of the process that rendered first


@lru_cache(maxsize=1)
def _compiler() -> typst.Compiler:
    # Built once per process: loading the fonts and parsing the templates is the slow part.
    # Only the bundled fonts are visible, so a PDF is identical on every machine.
    fonts = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONTS_DIR)]
    )
    return typst.Compiler(root=str(TEMPLATES_DIR), font_paths=fonts, ignore_system_fonts=True)


def _render(
    certs: Sequence[CertificateData],
    branding: Branding,
    design: str,
    paper: str,
    watermark: str,
    title: str,
) -> bytes:
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose one of {DESIGNS}")
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of {PAPERS}")
    payload = {
        "design": design,
        "paper": _TYPST_PAPER[paper],
        "watermark": watermark,
        "title": title,
        "lang": "en",
        "branding": _branding_payload(branding),
        "certs": [_cert_payload(c) for c in certs],
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # The data goes into the main source as a string literal, not into sys.inputs: changing
    # sys.inputs changes Typst's standard library and throws away every cached layout
    # (10.7 ms a certificate instead of 6 ms).
    literal = data.replace("\\", "\\\\").replace('"', '\\"')
    main = f'#import "certificate.typ": certificates\n#certificates(json(bytes("{literal}")))\n'
    return _compile(main, drop_layouts=len(certs) >= _BIG_DOCUMENT)


def render_program(
    *,
    org: str,
    title: str,
    subtitle: str,
    groups: Sequence[tuple[str, Sequence[str]]],
    paper: str = "letter",
) -> bytes:
    """A printed ceremony program: names of completers grouped by certificate type."""
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of {PAPERS}")
    payload = {
        "org": org,
        "title": title,
        "subtitle": subtitle,
        "paper": _TYPST_PAPER[paper],
        "groups": [{"title": t, "names": list(names)} for t, names in groups],
    }
    return _compile(_main_calling("program", payload))


def render_transcript(
    *,
    org: str,
    title: str,
    subtitle: str,
    generated: str,
    header: Sequence[str],
    sections: Sequence[tuple[str, Sequence[str], Sequence[Sequence[str]]]],
    paper: str = "letter",
) -> bytes:
    """A person's program transcript: per program a title, a line of facts (status, dates)
    and a table of requirement rows (``header`` names its columns)."""
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of {PAPERS}")
    width = len(header)
    payload = {
        "org": org,
        "title": title,
        "subtitle": subtitle,
        "generated": generated,
        "paper": _TYPST_PAPER[paper],
        "header": list(header),
        "sections": [
            {
                "title": t,
                "facts": list(facts),
                "rows": [[str(cell) for cell in row][:width] for row in rows],
            }
            for t, facts, rows in sections
        ],
    }
    return _compile(_main_calling("transcript", payload))


def _main_calling(name: str, payload: dict) -> str:
    """A Typst main source calling ``name`` of ``<name>.typ`` with ``payload`` as JSON (a
    string literal in the source, not sys.inputs: see ``_render``)."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    literal = data.replace("\\", "\\\\").replace('"', '\\"')
    return f'#import "{name}.typ": {name}\n#{name}(json(bytes("{literal}")))\n'


def _compile(main: str, *, drop_layouts: bool = False) -> bytes:
    """Compile a Typst main source to PDF; ``drop_layouts`` frees the compiler's cached
    layouts afterwards (a big document's would otherwise stay in memory)."""
    global _rendered_in
    if _rendered_in not in (None, os.getpid()):
        # Typst's worker threads do not survive fork(): rendering here would hang forever.
        raise RuntimeError(
            "laurel.lib.pdf cannot render in a process forked after its parent rendered;"
            " start workers with multiprocessing's 'spawn' or 'forkserver' method"
        )
    _rendered_in = os.getpid()
    with _lock:  # a Typst compiler is not safe to share between threads
        compiler = _compiler()
        pdf = compiler.compile(input=main.encode(), format="pdf", pdf_tags=False)
        if drop_layouts:
            _drop_cached_layouts(compiler)
    assert isinstance(pdf, bytes)
    return pdf


_BIG_DOCUMENT = 100
_FLUSH = b'#set text(font: "Noto Serif")\n.'


def _drop_cached_layouts(compiler: typst.Compiler) -> None:
    # typst-py keeps Typst's memoized results for 10 more compiles (comemo::evict(10) after
    # each). After a 500-page document that is ~200 MB per process and it adds up chunk after
    # chunk; ten tiny compiles age it out so a long-lived worker stays at ~250 MB.
    for _ in range(11):
        compiler.compile(input=_FLUSH, format="pdf", pdf_tags=False)


def _cert_payload(c: CertificateData) -> dict:
    return {
        "serial": c.serial_number,
        "recipient": c.recipient_name,
        "title": c.title,
        "completed": c.completion_date,
        "issued": c.issue_date,
        "expires": c.expiry_date,
        "code": c.verification_code,
        "url": c.verification_url,
        "qr": qr_svg(c.verification_url),
        "components": [
            {"amount": str(x.amount), "unit": x.unit, "type": x.credit_type} for x in c.components
        ],
    }


@lru_cache(maxsize=32)
def _branding_payload(b: Branding) -> dict:
    return {
        "org": b.organization_name,
        "accent": b.accent_color,
        "signatory_name": b.signatory_name,
        "signatory_title": b.signatory_title,
        "footer": b.footer_text,
        "logo": _image_as_svg(b.logo),
        "signature": _image_as_svg(b.signature),
    }


def qr_svg(url: str) -> str:
    """The QR code of `url` as SVG markup: one stroked path, no quiet zone (layouts add it)."""
    # zxing-cpp encodes in C++ (with its own mask choice) in ~0.3 ms; segno, pure Python even
    # with a fixed mask, took ~1.2 ms: a fifth of a whole certificate's CPU time.
    image = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M").to_image(
        scale=1, add_quiet_zones=False
    )
    size = image.shape[0]
    pixels = memoryview(image).tobytes()  # one byte a module, row by row: 0 dark, 255 light
    rows = b"\n".join([pixels[start : start + size] for start in range(0, size * size, size)])
    # One regex pass cuts the rows into tokens (light modules, then dark ones or the row's
    # end) and a table per size turns each distinct token into relative path commands once:
    # 0.15 ms a code, where formatting every run in Python took 0.4 ms.
    steps = _qr_steps(size)
    d = "M0 0.5" + "".join([steps[token] for token in _QR_TOKEN.findall(rows)])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
        f'<path stroke="#000" d="{d}"/></svg>'
    )


_QR_TOKEN = re.compile(rb"\xff*(?:\x00+|\n)")


class _QrSteps(dict):
    """Path commands for each token of a QR code `size` modules wide, made when first seen."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __missing__(self, token: bytes) -> str:
        light = len(token) - len(token.lstrip(b"\xff"))
        if token.endswith(b"\n"):  # back to the start of the next row
            step = f"m{light - self.size} 1"
        else:
            dark = len(token) - light
            step = f"m{light} 0h{dark}" if light else f"h{dark}"
        self[token] = step
        return step


@cache
def _qr_steps(size: int) -> _QrSteps:
    return _QrSteps(size)


def _image_as_svg(data: bytes | None) -> str | None:
    """Typst reads images only from files or bytes, and sys.inputs carries text, so a PNG
    travels inside an SVG as a data URL; the SVG is decoded once per distinct image."""
    if not data:
        return None
    if data.startswith(_PNG_SIGNATURE):
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
        encoded = base64.b64encode(data).decode("ascii")
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<image width="{width}" height="{height}" '
            f'xlink:href="data:image/png;base64,{encoded}"/></svg>'
        )
    text = data.decode("utf-8-sig", errors="strict").lstrip()
    if "<svg" not in text[:2048]:
        raise ValueError("logo and signature images must be PNG or SVG")
    return text
