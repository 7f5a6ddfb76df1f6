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

import array
import base64
import io
import json
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Literal

import typst
import zxingcpp

from laurel.lib.amounts import credit_words

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
    "combine_to",
    "qr_svg",
    "render_many",
    "render_one",
    "render_program",
    "render_transcript",
]

Design = Literal["classic", "modern", "minimal"]
Paper = Literal["letter", "a4"]
PNG_PPI = 100  # letter landscape → 1100 × 850 px: sharp on a phone, ~100 KB
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


def render_png(
    cert: CertificateData,
    branding: Branding,
    design: Design = "classic",
    paper: Paper = "letter",
    *,
    watermark: str = "",
    ppi: int = PNG_PPI,
) -> bytes:
    """The same certificate as `render_one`, page one as a PNG image (previews, link cards)."""
    title = f"Certificate {cert.serial_number} – {cert.recipient_name}"
    main = _main_source([cert], branding, design, paper, watermark, title)
    return _compile(main, fmt="png", ppi=ppi)


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


def combine(pdf_chunks: Iterable[bytes | Path], title: str | None = None) -> bytes:
    """Join PDFs (e.g. chunks from `render_many` rendered in parallel) into one file.

    ``title`` becomes the document's title (by default the first chunk's, which names only
    that chunk's certificates). For big files use `combine_to`, which writes to a file.
    """
    out = io.BytesIO()
    combine_to(pdf_chunks, out, title=title)
    return out.getvalue()


def combine_to(
    pdf_chunks: Iterable[bytes | Path], out: BinaryIO, *, title: str | None = None
) -> int:
    """Join PDFs (bytes or paths) into ``out`` as they come, one chunk in memory at a time;
    returns the page count.

    Memory stays flat whatever the page count (a 50,000-page file is written by a process
    of ~100 MB): each chunk's objects are written out renumbered as soon as the chunk is
    read, so only the cross-reference table (a few bytes an object) grows. Pages are copied,
    not re-rendered, and each chunk's font subsets are kept once. Chunks are read as the
    iterable yields them, so a pool's `map` can be passed in directly.
    """
    import pikepdf  # imported here: only bulk jobs need it

    writer = _PdfWriter(out)
    catalog, page_root, info = writer.reserve(), writer.reserve(), writer.reserve()
    branches: list[int] = []
    pages = 0
    info_body = catalog_extra = b""
    for chunk in pdf_chunks:
        source = io.BytesIO(chunk) if isinstance(chunk, bytes | bytearray) else chunk
        with pikepdf.open(source) as src:
            if not branches:
                info_body, catalog_extra = _first_chunk_metadata(src, title)
            branch, count = _copy_pages(src, writer, page_root)
        branches.append(branch)
        pages += count
    if not branches:
        raise ValueError("combine needs at least one PDF")
    kids = b" ".join(b"%d 0 R" % n for n in branches)
    writer.add(page_root, b"<< /Type /Pages /Kids [ %s ] /Count %d >>" % (kids, pages))
    writer.add(catalog, b"<< /Type /Catalog /Pages %d 0 R%s >>" % (page_root, catalog_extra))
    writer.add(info, info_body)
    writer.finish(root=catalog, info=info)
    return pages


# --- internals ---------------------------------------------------------------------------

# A literal string (qpdf's unparse escapes every parenthesis inside one) or a reference.
_REFERENCE = re.compile(rb"\((?:[^\\)]|\\.)*\)|(\d+) (\d+) R", re.S)
_OBJECTS_PER_STREAM = 200


def _first_chunk_metadata(src: Any, title: str | None) -> tuple[bytes, bytes]:
    """The combined file's /Info (the first chunk's, with ``title``) and the catalog entries
    worth keeping (language, viewer preferences), all direct objects."""
    import pikepdf

    info = pikepdf.Dictionary()
    for key, value in src.docinfo.items():
        if not value.is_indirect:
            info[key] = value
    if title:
        info[pikepdf.Name.Title] = pikepdf.String(title)
    extra = b""
    for key in ("/Lang", "/ViewerPreferences"):
        value = src.Root.get(key)
        if value is not None and not value.is_indirect:
            extra += b" " + key.encode() + b" " + value.unparse()
    return info.unparse(), extra


def _copy_pages(src: Any, writer: _PdfWriter, page_root: int) -> tuple[int, int]:
    """Write the pages of ``src`` and everything they use under a new /Pages node.

    Every object is unparsed by qpdf and its references renumbered by one regex pass, so
    the Python work is a few calls an object. Every node of the source's page tree maps to
    the new node, which makes it each page's /Parent. Typst writes /MediaBox and /Resources
    on every page, so nothing is inherited from the source's tree.
    """
    import pikepdf

    branch = writer.reserve()
    numbers: dict[tuple[int, int], int] = {}
    nodes = [src.Root.Pages]
    while nodes:
        node = nodes.pop()
        numbers[node.objgen] = branch
        nodes.extend(k for k in node.get("/Kids", ()) if k.get("/Type") == "/Pages")
    queue = [page.obj.objgen for page in src.pages]
    kids = []
    for objgen in queue:
        numbers[objgen] = writer.reserve()
        kids.append(b"%d 0 R" % numbers[objgen])

    def renumber(match: re.Match[bytes]) -> bytes:
        if match.group(1) is None:
            return match.group(0)  # a string
        objgen = (int(match.group(1)), int(match.group(2)))
        number = numbers.get(objgen)
        if number is None:
            number = numbers[objgen] = writer.reserve()
            queue.append(objgen)
        return b"%d 0 R" % number

    sub = _REFERENCE.sub
    for objgen in queue:  # grows while it is walked: a breadth-first copy
        obj = src.get_object(objgen)
        if isinstance(obj, pikepdf.Stream):
            head = sub(renumber, obj.stream_dict.unparse(resolved=True))
            writer.add_stream(numbers[objgen], head, obj.read_raw_bytes())
        else:
            writer.add(numbers[objgen], sub(renumber, obj.unparse(resolved=True)))
    writer.add(
        branch,
        b"<< /Type /Pages /Kids [ %s ] /Count %d /Parent %d 0 R >>"
        % (b" ".join(kids), len(kids), page_root),
    )
    return branch, len(kids)


class _PdfWriter:
    """Writes a PDF 1.7 file front to back: streams as they come, other objects packed
    into compressed object streams, and a cross-reference stream at the end.

    Only the cross-reference table is kept in memory (three small arrays).
    """

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.pos = 0
        # Entry n: type (1 in the file at offset, 2 in object stream `where` at `index`).
        self.kinds = array.array("B", [0])
        self.where = array.array("Q", [0])
        self.index = array.array("H", [65535])
        self.pending: list[tuple[int, bytes]] = []
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.pos += len(data)

    def reserve(self) -> int:
        self.kinds.append(0)
        self.where.append(0)
        self.index.append(0)
        return len(self.kinds) - 1

    def add(self, number: int, body: bytes) -> None:
        self.pending.append((number, body))
        if len(self.pending) >= _OBJECTS_PER_STREAM:
            self._flush()

    def add_stream(self, number: int, head: bytes, data: bytes) -> None:
        self.kinds[number], self.where[number] = 1, self.pos
        self._write(b"%d 0 obj\n%s\nstream\n" % (number, head))
        self._write(data)
        self._write(b"\nendstream\nendobj\n")

    def _flush(self) -> None:
        if not self.pending:
            return
        stream = self.reserve()
        offsets, bodies, at = [], [], 0
        for i, (number, body) in enumerate(self.pending):
            self.kinds[number], self.where[number], self.index[number] = 2, stream, i
            offsets.append(b"%d %d" % (number, at))
            bodies.append(body)
            at += len(body) + 1
        header = b" ".join(offsets) + b"\n"
        data = zlib.compress(header + b"\n".join(bodies) + b"\n")
        head = b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>" % (
            len(self.pending),
            len(header),
            len(data),
        )
        self.pending = []
        self.add_stream(stream, head, data)

    def finish(self, *, root: int, info: int) -> None:
        self._flush()
        xref = self.reserve()
        self.kinds[xref], self.where[xref] = 1, self.pos
        if 0 in self.kinds[1:]:
            raise RuntimeError("a reserved PDF object was never written")
        width = max(1, (self.pos.bit_length() + 7) // 8)
        rows = b"".join(
            bytes((kind,)) + where.to_bytes(width, "big") + index.to_bytes(2, "big")
            for kind, where, index in zip(self.kinds, self.where, self.index, strict=True)
        )
        data = zlib.compress(rows)
        file_id = os.urandom(16).hex().encode()
        self._write(
            b"%d 0 obj\n<< /Type /XRef /Size %d /W [ 1 %d 2 ] /Root %d 0 R /Info %d 0 R"
            b" /ID [ <%s> <%s> ] /Filter /FlateDecode /Length %d >>\nstream\n"
            % (xref, len(self.kinds), width, root, info, file_id, file_id, len(data))
        )
        self._write(data)
        self._write(b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % self.where[xref])


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
    main = _main_source(certs, branding, design, paper, watermark, title)
    return _compile(main, drop_layouts=len(certs) >= _BIG_DOCUMENT)


def _main_source(
    certs: Sequence[CertificateData],
    branding: Branding,
    design: str,
    paper: str,
    watermark: str,
    title: str,
) -> str:
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
    return f'#import "certificate.typ": certificates\n#certificates(json(bytes("{literal}")))\n'


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


def _compile(
    main: str, *, drop_layouts: bool = False, fmt: str = "pdf", ppi: int | None = None
) -> bytes:
    """Compile a Typst main source to PDF (or page one to PNG with ``fmt="png"``);
    ``drop_layouts`` frees the compiler's cached layouts afterwards (a big document's would
    otherwise stay in memory)."""
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
        if fmt == "png":
            out = compiler.compile(input=main.encode(), format="png", ppi=ppi or PNG_PPI)
        else:
            out = compiler.compile(input=main.encode(), format="pdf", pdf_tags=False)
        if drop_layouts:
            _drop_cached_layouts(compiler)
    if isinstance(out, list):  # a PNG per page
        out = out[0]
    assert isinstance(out, bytes)
    return out


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
        "components": [_component_payload(x) for x in c.components],
    }


@lru_cache(maxsize=32)
def _component_payload(x: CreditComponent) -> dict:
    unit, kind = credit_words(x.credit_type, x.unit)  # kind is "" when the unit says it
    return {"amount": str(x.amount), "unit": unit, "type": kind}


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
