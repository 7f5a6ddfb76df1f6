"""Benchmark certificate PDF rendering: one warm certificate, a large combined file, and the
same certificates through WeasyPrint (HTML -> PDF) as a baseline, in one run.

    python bench/certificates.py                 # 10,000 certificates, 200 for WeasyPrint
    python bench/certificates.py --count 1000    # scaled down
    python bench/certificates.py --count 50000   # issue 12's size: peak_rss_mb must stay <= 500

The combined file is written to a temporary file (or --out) as the chunks arrive, as the
combined-PDF job does; `peak_rss_mb` is the largest process (a render worker or the joining
one), `join_peak_rss_mb` the joining process alone.

The last line printed is one JSON object with the figures. Needs no Django; WeasyPrint is
optional (pip install -r requirements-bench.txt, plus Debian's libpango-1.0-0 and
libpangoft2-1.0-0) and is reported as missing if it cannot be imported.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pikepdf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from laurel.lib import pdf  # noqa: E402

FIRST = [
    "Maria",
    "Nguyễn Thị",
    "Zoë",
    "山田",
    "Αλέξανδρος",
    "Пётр",
    "José",
    "Aoife",
    "김",
    "Łukasz",
]
LAST = ["Schmidt", "Minh Khai", "Brontë", "太郎", "Παπαδόπουλος", "Ильич", "Núñez", "Ó Ceallaigh"]
TITLES = [
    "Fair Housing and Ethics in Residential Real Estate Practice",
    "Advanced Cardiac Life Support: Annual Recertification",
    "Legal Ethics and Professional Responsibility in the Digital Age",
]
SIGNATURE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 60"><path d="M5 45 C 30 5, 50 60,'
    b' 70 30 S 110 10, 120 40 S 160 50, 195 20" fill="none" stroke="#1a2a6c" stroke-width="3"/>'
    b"</svg>"
)
LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><circle cx="60" cy="60" r="54"'
    b' fill="#0b6e4f"/><path d="M60 22 L72 52 L104 52 L78 72 L88 102 L60 84 L32 102 L42 72 L16 52'
    b' L48 52 Z" fill="#fff"/></svg>'
)
BRANDING = pdf.Branding(
    organization_name="Northern Association of Realtors",
    accent_color="#0b6e4f",
    signatory_name="Dr. Amelia Okafor",
    signatory_title="Director of Professional Education",
    footer_text=(
        "The Northern Association of Realtors is approved by the State Real Estate Commission as a"
        " provider of continuing education (Provider No. 0042)."
    ),
    logo=LOGO_SVG,
    signature=SIGNATURE_SVG,
)


def make_cert(n: int) -> pdf.CertificateData:
    code = f"{n:04X}-{(n * 7919) % 65536:04X}"
    return pdf.CertificateData(
        serial_number=f"NAR-2026-{n:06d}",
        recipient_name=f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
        title=TITLES[n % len(TITLES)],
        completion_date="12 March 2026",
        issue_date="14 March 2026",
        expiry_date="13 March 2028" if n % 2 else None,
        verification_code=code,
        verification_url=f"https://laurel.example.org/v/{code}",
        components=(
            pdf.CreditComponent("3.0", "hours", "COEC"),
            pdf.CreditComponent("1.0", "hour", "Ethics"),
        ),
    )


def render_chunk(bounds: tuple[int, int], design: str, paper: str) -> bytes:
    start, stop = bounds
    return pdf.render_many([make_cert(n) for n in range(start, stop)], BRANDING, design, paper)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN is the largest child waited for.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def cpu_seconds() -> float:
    """CPU time of this process and its finished children, all threads."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def bench_single(design: str, paper: str, runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of one warm certificate."""
    pdf.render_one(make_cert(0), BRANDING, design, paper)  # warm: fonts, templates
    wall, cpu = [], []
    for n in range(1, runs + 1):
        t, c = time.perf_counter(), time.process_time()
        pdf.render_one(make_cert(n), BRANDING, design, paper)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def bench_combined(count: int, chunk: int, workers: int, design: str, paper: str, out: Path):
    """End to end: start the worker processes, render chunks in parallel, join them into
    the file ``out`` (as the combined-PDF job does: the file is never held in memory)."""
    t = time.perf_counter()
    bounds = [(s, min(s + chunk, count)) for s in range(0, count, chunk)]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with Typst's threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool, out.open("wb") as f:
        # combine_to() reads chunks as they arrive, so joining overlaps with rendering.
        chunks = pool.map(render_chunk, bounds, [design] * len(bounds), [paper] * len(bounds))
        pages = pdf.combine_to(chunks, f)
    assert pages == count, (pages, count)
    return time.perf_counter() - t


# --- WeasyPrint baseline: the same certificate as HTML + CSS ---------------------------------

BASELINE_CSS = """
@font-face { font-family: "Noto Serif"; src: url("{fonts}/NotoSerif-Regular.ttf"); }
@font-face { font-family: "Noto Serif"; font-weight: bold; src: url("{fonts}/NotoSerif-Bold.ttf"); }
@font-face { font-family: "Noto Serif"; font-style: italic;
  src: url("{fonts}/NotoSerif-Italic.ttf"); }
@font-face { font-family: "Noto Sans"; src: url("{fonts}/NotoSans-Regular.ttf"); }
@font-face { font-family: "Noto Sans CJK JP"; src: url("{fonts}/NotoSansCJKjp-Regular.otf"); }
@page { size: letter landscape; margin: 0.75in 0.85in 0.62in; background: #fffdf8; }
body { font-family: "Noto Serif", "Noto Sans CJK JP"; color: #1d2127; text-align: center; }
.page { page-break-after: always; height: 7.1in; position: relative;
  outline: 2.2pt solid #0b6e4f; outline-offset: 0.37in; }
.logo img { height: 1.3cm; }
.org { font-size: 9.5pt; letter-spacing: 0.18em; color: #5b6470; text-transform: uppercase; }
.head { font-size: 24pt; letter-spacing: 0.22em; color: #0b6e4f; margin-top: 0.35in; }
.sub { font-size: 11pt; letter-spacing: 0.32em; color: #0b6e4f; text-transform: uppercase; }
.intro { font-style: italic; color: #5b6470; font-size: 12pt; margin-top: 0.3in; }
.name { font-size: 38pt; }
.rule { width: 38%; margin: 4pt auto; border-top: 0.8pt solid #0b6e4f; }
.title { font-weight: bold; font-size: 19pt; }
.foot { position: absolute; bottom: 0; width: 100%; }
.row { display: flex; justify-content: space-between; align-items: flex-end; }
.row > div { width: 33%; font-size: 9pt; color: #5b6470; }
.qr svg { width: 2.1cm; height: 2.1cm; }
.sig img { height: 1.2cm; } .sig .line { border-top: 0.6pt solid #5b6470; margin: 4pt 1cm; }
.statement { font-size: 7.5pt; color: #5b6470; margin-top: 10pt; }
"""


def baseline_html(certs: list[pdf.CertificateData]) -> str:
    logo = "data:image/svg+xml;base64," + base64.b64encode(LOGO_SVG).decode()
    signature = "data:image/svg+xml;base64," + base64.b64encode(SIGNATURE_SVG).decode()
    esc = html.escape
    pages = []
    for c in certs:
        credits = " · ".join(f"<b>{x.amount}</b> {x.unit} of {x.credit_type}" for x in c.components)
        expiry = f"<div>Valid until {c.expiry_date}</div>" if c.expiry_date else ""
        pages.append(f"""<section class="page">
<div class="logo"><img src="{logo}"></div><div class="org">{esc(BRANDING.organization_name)}</div>
<div class="head">CERTIFICATE</div><div class="sub">of completion</div>
<div class="intro">This certifies that</div><div class="name">{esc(c.recipient_name)}</div>
<div class="rule"></div><div class="intro">has successfully completed</div>
<div class="title">{esc(c.title)}</div><div>Awarded {credits}</div>
<div>Completed on {c.completion_date}</div>
<div class="foot"><div class="row">
 <div class="sig"><img src="{signature}"><div class="line"></div>
  <b>{esc(BRANDING.signatory_name)}</b><br>{esc(BRANDING.signatory_title)}</div>
 <div><div>Issued {c.issue_date}</div>{expiry}<div>Certificate № {c.serial_number}</div></div>
 <div class="qr">{pdf.qr_svg(c.verification_url)}<br>Verify: {esc(c.verification_url)}
  <br>Code <b>{c.verification_code}</b></div>
</div><div class="statement">{esc(BRANDING.footer_text)}</div></div></section>""")
    css = BASELINE_CSS.replace("{fonts}", pdf.FONTS_DIR.as_uri())
    body = "".join(pages)
    return f"<!doctype html><html><head><style>{css}</style></head><body>{body}</body></html>"


def bench_baseline(count: int) -> dict:
    """Runs in its own process so WeasyPrint's memory does not count against Typst's."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango is missing
        return {"error": f"{type(exc).__name__}: {exc}"}
    certs = [make_cert(n) for n in range(count)]
    t = time.perf_counter()
    out = weasyprint.HTML(string=baseline_html(certs)).write_pdf()
    seconds = time.perf_counter() - t
    return {
        "pages_per_s": count / seconds,
        "bytes_per_page": len(out) / count,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": weasyprint.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000, help="certificates in the combined PDF")
    ap.add_argument("--baseline-count", type=int, default=200, help="pages for both renderers")
    ap.add_argument(
        "--chunk", type=int, default=pdf.BULK_CHUNK, help="certificates per Typst document"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--single-runs", type=int, default=200)
    ap.add_argument("--design", choices=pdf.DESIGNS, default="classic")
    ap.add_argument("--paper", choices=pdf.PAPERS, default="letter")
    ap.add_argument("--out", type=Path, help="also write the combined PDF here")
    args = ap.parse_args()

    # Other work on the machine slows every figure; the load average and CPU times say how much.
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    cpu_before = cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp, "combined.pdf")
        seconds = bench_combined(args.count, args.chunk, args.workers, args.design, args.paper, out)
        cpu_ms_per_page = (cpu_seconds() - cpu_before) * 1000 / args.count
        # Before the check: opening the whole file with qpdf is not part of the job.
        rss = peak_rss_mb()
        parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = out.stat().st_size
        with pikepdf.open(out) as check:
            assert len(check.pages) == args.count, (len(check.pages), args.count)
            assert check.check_pdf_syntax() == [], "the combined file has syntax errors"
    pages_per_s = args.count / seconds
    bytes_per_page = size / args.count
    print(
        f"combined: {args.count} pages in {seconds:.2f} s ({pages_per_s:.0f} pages/s),"
        f" {size / 1e6:.1f} MB,"
        f" {bytes_per_page:.0f} bytes/page, peak RSS {rss:.0f} MB"
        f" (the joining process: {parent_rss:.0f} MB),"
        f" {cpu_ms_per_page:.2f} ms CPU/page (all processes)"
    )

    # After the bulk run, so the parent's peak RSS is that of a bulk job alone.
    single_ms, single_cpu_ms = bench_single(args.design, args.paper, args.single_runs)
    print(
        f"single certificate, warm: median {single_ms:.2f} ms wall, {single_cpu_ms:.2f} ms CPU,"
        f" over {args.single_runs} runs"
    )

    # Same small count through both renderers, one process each, side by side.
    n = args.baseline_count
    t = time.perf_counter()
    render_chunk((0, n), args.design, args.paper)
    typst_small = n / (time.perf_counter() - t)
    print(f"typst, {n} pages in one process: {typst_small:.0f} pages/s")
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        baseline = pool.submit(bench_baseline, n).result()
    if "error" in baseline:
        print(
            f"WeasyPrint baseline SKIPPED: cannot import weasyprint ({baseline['error']}). Install"
            " it with `pip install -r requirements-bench.txt` and Debian's libpango-1.0-0"
            " libpangoft2-1.0-0."
        )
        baseline_pages_per_s = ratio = None
    else:
        baseline_pages_per_s = round(baseline["pages_per_s"], 1)
        ratio = round(pages_per_s / baseline["pages_per_s"], 1)
        print(
            f"weasyprint {baseline['version']}, {n} pages: {baseline['pages_per_s']:.1f} pages/s,"
            f" {baseline['bytes_per_page']:.0f} bytes/page, its peak RSS"
            f" {baseline['peak_rss_mb']:.0f} MB; combined Typst is {ratio}x faster"
            f" ({typst_small / baseline['pages_per_s']:.1f}x on one core)"
        )

    print(
        json.dumps(
            {
                "single_median_ms": round(single_ms, 2),
                "combined_pages_per_s": round(pages_per_s, 1),
                "bytes_per_page": round(bytes_per_page),
                "peak_rss_mb": round(rss, 1),
                "join_peak_rss_mb": round(parent_rss, 1),
                "baseline_pages_per_s": baseline_pages_per_s,
                "ratio_vs_baseline": ratio,
                "single_median_cpu_ms": round(single_cpu_ms, 2),
                "combined_cpu_ms_per_page": round(cpu_ms_per_page, 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
