"""Certificate PDFs: layout survives real names, QR codes decode, bulk files stay small.

Run without Django: python -m pytest -p no:django laurel/lib/tests/test_pdf.py
"""

import io
import os
import re
import shutil
import signal
import subprocess
import unicodedata

import pikepdf
import pypdf
import pytest
import segno
import typst

from laurel.lib.pdf import (
    DESIGNS,
    PAPERS,
    Branding,
    CertificateData,
    CreditComponent,
    combine,
    combine_to,
    qr_svg,
    render_many,
    render_one,
)

SIGNATURE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 60"><path d="M5 45 C 30 5, '
    b'50 60, 70 30 S 110 10, 120 40" fill="none" stroke="#1a2a6c" stroke-width="3"/></svg>'
)


def png_bytes() -> bytes:
    buf = io.BytesIO()
    segno.make_qr("logo", mask=0).save(buf, kind="png", scale=3)
    return buf.getvalue()


def make_branding(**overrides) -> Branding:
    fields = {
        "organization_name": "Northern Association of Realtors",
        "accent_color": "#0b6e4f",
        "signatory_name": "Dr. Amelia Okafor",
        "signatory_title": "Director of Professional Education",
        "footer_text": "Approved by the State Real Estate Commission, provider no. 0042.",
        "logo": png_bytes(),
        "signature": SIGNATURE_SVG,
    }
    return Branding(**(fields | overrides))


def make_cert(n: int = 1, **overrides) -> CertificateData:
    fields = {
        "serial_number": f"NAR-2026-{n:06d}",
        "recipient_name": "Maria Schmidt",
        "title": "Fair Housing and Ethics in Residential Real Estate Practice",
        "completion_date": "12 March 2026",
        "issue_date": "14 March 2026",
        "expiry_date": "13 March 2028",
        "verification_code": f"7KQ2-{n:04d}",
        "verification_url": f"https://laurel.example.org/v/7KQ2-{n:04d}",
        "components": (
            CreditComponent("3.0", "hours", "COEC"),
            CreditComponent("1.0", "hour", "Ethics"),
        ),
    }
    return CertificateData(**(fields | overrides))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def squeeze(text: str) -> str:
    """NFC, without whitespace: wrapped lines and letter-spacing both insert spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def embedded_fonts(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [
            str(o.FontName).lstrip("/")
            for o in doc.objects
            if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/FontDescriptor"
        ]


@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("design", DESIGNS)
def test_each_design_and_paper_renders_one_landscape_page(design, paper):
    pdf = render_one(make_cert(), make_branding(), design, paper)

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    expected = {"letter": (792, 612), "a4": (841.89, 595.28)}[paper]
    assert (float(box.width), float(box.height)) == pytest.approx(expected, abs=0.5)
    text = squeeze(reader.pages[0].extract_text())
    for wanted in ("Maria Schmidt", "Fair Housing and Ethics", "NAR-2026-000001", "COEC"):
        assert squeeze(wanted) in text
    assert "13March2028" in text


@pytest.mark.parametrize("design", DESIGNS)
def test_verification_url_and_code_are_printed(design):
    text = squeeze(page_texts(render_one(make_cert(7), make_branding(), design))[0])

    assert "https://laurel.example.org/v/7KQ2-0007" in text
    assert "7KQ2-0007" in text


@pytest.mark.parametrize("design", DESIGNS)
def test_qr_code_decodes_to_the_verification_url_and_the_logo_is_drawn(design, tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    (tmp_path / "c.pdf").write_bytes(render_one(make_cert(42), make_branding(), design))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", tmp_path / "c.pdf", tmp_path / "page"], check=True
    )

    found = zxingcpp.read_barcodes(image.open(next(tmp_path.glob("page*.png"))))

    # The test logo is itself a QR code of "logo", so decoding it proves the PNG was drawn.
    assert sorted(b.text for b in found) == ["https://laurel.example.org/v/7KQ2-0042", "logo"]


@pytest.mark.parametrize(
    "url",
    [
        "https://l.example/v/1",  # 25 modules wide
        "https://laurel.example.org/v/7KQ2-0042",  # 29
        "https://laurel.example.org/v/" + "X" * 60,  # 37
    ],
)
def test_qr_svg_decodes_at_every_size(url):
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    svg = qr_svg(url).replace("\\", "\\\\").replace('"', '\\"')
    page = f'#set page(width: auto, height: auto, margin: 1cm)\n#image(bytes("{svg}"), width: 5cm)'

    png = typst.compile(page.encode(), format="png", ppi=150)

    found = zxingcpp.read_barcodes(image.open(io.BytesIO(png)))
    assert [b.text for b in found] == [url]


@pytest.mark.parametrize(
    "name",
    [
        "山田 太郎",
        "Nguyễn Thị Minh Khai",
        "Zoe\u0308 Nguye\u0302\u0303n",  # combining diaeresis, circumflex and tilde
        "Αλέξανδρος Παπαδόπουλος",
        "Пётр Ильич Чайковский",
        "김민준",
    ],
)
@pytest.mark.parametrize("design", DESIGNS)
def test_names_in_any_script_come_back_out_of_the_pdf(design, name):
    pdf = render_one(make_cert(recipient_name=name), make_branding(), design)

    assert squeeze(name) in squeeze(page_texts(pdf)[0])


def test_only_bundled_fonts_are_embedded_and_cjk_uses_the_cjk_face():
    pdf = render_one(make_cert(recipient_name="山田 太郎"), make_branding(), "classic")

    fonts = embedded_fonts(pdf)
    assert fonts
    assert all(re.fullmatch(r"[A-Z]{6}\+Noto\w+(-\w+)?", f) for f in fonts), fonts
    assert any("NotoSansCJKjp" in f for f in fonts)


@pytest.mark.parametrize("design", DESIGNS)
def test_a_120_character_name_and_long_title_stay_on_one_page(design):
    name = ("Maximiliana Alexandrina Konstantinopoulou-Wolfeschlegelsteinhausen " * 2)[:120]
    title = "Advanced Interdisciplinary Perspectives on Regulatory Compliance, " * 3
    assert len(name) == 120
    cert = make_cert(recipient_name=name, title=title.strip())

    texts = page_texts(render_one(cert, make_branding(), design, "a4"))

    assert len(texts) == 1
    assert squeeze(name) in squeeze(texts[0])


def test_sample_watermark_only_when_asked():
    cert, branding = make_cert(), make_branding()

    assert "SAMPLE" in squeeze(page_texts(render_one(cert, branding, watermark="SAMPLE"))[0])
    assert "SAMPLE" not in squeeze(page_texts(render_one(cert, branding))[0])


def test_certificate_without_optional_parts_renders():
    cert = make_cert(expiry_date=None, components=())
    branding = Branding(organization_name="Tiny Org")

    for design in DESIGNS:
        text = squeeze(page_texts(render_one(cert, branding, design))[0])
        assert "TinyOrg" in text or "TINYORG" in text
        assert "Validuntil" not in text and "VALIDUNTIL" not in text


def test_same_data_gives_identical_bytes():
    assert render_one(make_cert(), make_branding()) == render_one(make_cert(), make_branding())


def test_render_many_gives_one_page_per_certificate_with_fonts_embedded_once():
    certs = [make_cert(n, recipient_name=f"Person {n} Ångström") for n in range(50)]

    pdf = render_many(certs, make_branding(), "modern", "a4")

    texts = page_texts(pdf)
    assert len(texts) == 50
    assert "Person49Ångström" in squeeze(texts[49])
    fonts = embedded_fonts(pdf)
    assert len(fonts) == len(set(fonts))
    assert len(pdf) / 50 < 10_000


def test_combined_chunks_keep_every_page_and_stay_small():
    branding = make_branding()
    chunks = [
        render_many([make_cert(n) for n in range(start, start + 40)], branding, "classic")
        for start in (0, 40, 80)
    ]

    combined = combine(chunks, title="120 certificates – Northern Association of Realtors")

    texts = page_texts(combined)
    assert len(texts) == 120
    with pikepdf.open(io.BytesIO(combined)) as doc:  # the whole file's title, not chunk one's
        assert str(doc.docinfo["/Title"]) == "120 certificates – Northern Association of Realtors"
    assert "NAR-2026-000119" in squeeze(texts[119])
    assert len(embedded_fonts(combined)) <= 3 * len(embedded_fonts(chunks[0]))
    assert len(combined) / 120 < 10_000


def test_a_combined_file_can_be_combined_again_in_page_order():
    branding = make_branding()
    first = combine(
        [render_many([make_cert(n) for n in range(s, s + 3)], branding) for s in (0, 3)]
    )
    last = render_many([make_cert(n) for n in range(6, 8)], branding)

    texts = page_texts(combine([first, last]))

    assert [f"NAR-2026-{n:06d}" in squeeze(t) for n, t in enumerate(texts)] == [True] * 8


def test_logo_and_signature_images_are_embedded_once_per_document():
    pdf = render_many([make_cert(n) for n in range(5)], make_branding(), "classic")

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        images = [
            o
            for o in doc.objects
            if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"
        ]
    assert len(images) == 1  # the PNG logo, shared by all five pages


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"accent_color": "green"}, "accent_color"),
        ({"logo": b"GIF89a..."}, "PNG or SVG"),
    ],
)
def test_bad_branding_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_one(make_cert(), make_branding(**kwargs))


def test_unknown_design_or_paper_is_refused():
    with pytest.raises(ValueError, match="design"):
        render_one(make_cert(), make_branding(), "baroque")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paper"):
        render_one(make_cert(), make_branding(), "classic", "legal")  # type: ignore[arg-type]


def test_render_many_refuses_an_empty_list():
    with pytest.raises(ValueError):
        render_many([], make_branding())


def test_combine_reads_chunks_from_a_generator_and_refuses_nothing():
    branding = make_branding()
    chunks = (render_many([make_cert(n)], branding) for n in range(3))

    assert len(page_texts(combine(chunks))) == 3
    with pytest.raises(ValueError):
        combine([])


@pytest.mark.parametrize(
    ("name", "face"),
    [
        ("محمد عبد الله", "NotoSansArabic"),
        ("דוד לוי", "NotoSansHebrew"),
        ("अनिल कुमार", "NotoSansDevanagari"),
        ("สมชาย ใจดี", "NotoSansThai"),
    ],
)
def test_other_scripts_fall_back_to_their_bundled_noto_face(name, face):
    pdf = render_one(make_cert(recipient_name=name), make_branding(), "modern")

    assert any(face in f for f in embedded_fonts(pdf))


def test_a_child_forked_after_rendering_refuses_instead_of_hanging():
    render_one(make_cert(), make_branding())
    pid = os.fork()
    if pid == 0:  # child: must fail fast, never hang
        signal.alarm(20)
        try:
            render_one(make_cert(), make_branding())
        except RuntimeError:
            os._exit(7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 7


def test_combine_to_writes_a_valid_file_from_part_files(tmp_path):
    branding = make_branding()
    parts = []
    for number, start in enumerate((0, 2, 4)):
        part = tmp_path / f"part-{number}.pdf"
        part.write_bytes(render_many([make_cert(n) for n in range(start, start + 2)], branding))
        parts.append(part)
    out = tmp_path / "combined.pdf"

    with out.open("wb") as handle:
        pages = combine_to(parts, handle, title="6 certificates – (Northern) Association")

    assert pages == 6
    with pikepdf.open(out) as doc:
        assert doc.check_pdf_syntax() == []
        assert str(doc.docinfo["/Title"]) == "6 certificates – (Northern) Association"
        assert len(doc.pages) == 6
    texts = page_texts(out.read_bytes())
    assert [f"NAR-2026-{n:06d}" in squeeze(t) for n, t in enumerate(texts)] == [True] * 6
