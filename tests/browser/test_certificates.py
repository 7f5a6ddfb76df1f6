"""Certificates end to end: an admin asks for a combined PDF of 50 certificates in Chromium,
the e-mail arrives over real SMTP (aiosmtpd), the file downloads with 50 pages; a visitor
opens the verification page from the URL decoded out of a certificate's QR code."""

from __future__ import annotations

import io
import re
import subprocess

import pypdf
import pytest

from laurel.accounts.models import Role
from laurel.certificates.tests.conftest import issue
from tests.factories import PASSWORD, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def qr_urls(pdf: bytes, tmp_path) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    (tmp_path / "one.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            tmp_path / "one.pdf",
            tmp_path / "p",
        ],
        check=True,
    )
    found = zxingcpp.read_barcodes(image.open(next(tmp_path.glob("p*.png"))))
    return [b.text for b in found]


def test_admin_gets_a_combined_pdf_of_50_and_a_visitor_verifies_from_the_qr(
    live_server, smtp, browser, settings, tmp_path
):
    settings.SITE_URL = live_server.url
    org = make_org("northwind", name="Northwind Nurses", course_id_prefix="NNA")
    admin = make_member(org, Role.ADMIN, "admin@northwind.test")
    certs = [
        issue(
            org, recipient_email=f"n{n}@example.com", recipient_name=f"Nurse {n:02d}", notify=False
        )
        for n in range(50)
    ]

    page = browser.new_page(accept_downloads=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form button")
    page.goto(f"{live_server.url}/o/northwind/certificates/")
    assert page.get_by_text("Nurse 07").is_visible()
    page.check("#select-all-matching")
    page.click("button[value=pdf]")
    page.wait_for_selector("text=50 of 50 rendered", timeout=60_000)

    msg = smtp.wait_for(admin.email, "is ready", timeout=30)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/download/", body).group(0)
    with page.expect_download() as download_info:
        page.evaluate("url => { window.location.href = url }", link)
    with open(download_info.value.path(), "rb") as handle:
        data = handle.read()
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 50

    one = pypdf.PdfWriter()
    one.add_page(pypdf.PdfReader(io.BytesIO(data)).pages[0])
    buffer = io.BytesIO()
    one.write(buffer)
    urls = qr_urls(buffer.getvalue(), tmp_path)
    target = next(c for c in certs if c.verification_url in urls)

    visitor = browser.new_page()
    visitor.goto(target.verification_url)
    assert visitor.get_by_role("status").get_by_text("Verified").is_visible()
    assert visitor.get_by_text(target.recipient_name).first.is_visible()
    assert target.recipient_email not in visitor.content()
