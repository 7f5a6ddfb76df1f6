"""Certificates end to end: an admin asks for a combined PDF of 50 certificates in Chromium,
the e-mail arrives over real SMTP (aiosmtpd), the file downloads with 50 pages; a visitor
opens the verification page from the URL decoded out of a certificate's QR code."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pypdf
import pytest

from laurel.accounts.models import Role
from laurel.certificates.tests.conftest import issue
from tests.factories import PASSWORD, make_member, make_org

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("LAUREL_CHROMIUM", "/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Mailbox:
    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def wait_for(self, to: str, subject_contains: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for msg in self.messages:
                    if to in msg["To"] and subject_contains in msg["Subject"]:
                        return msg
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} about {subject_contains!r}")


@pytest.fixture
def mailbox(settings):
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


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
    live_server, mailbox, chromium, settings, tmp_path
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

    page = chromium.new_page(accept_downloads=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form button")
    page.goto(f"{live_server.url}/o/northwind/certificates/")
    assert page.get_by_text("Nurse 07").is_visible()
    page.check("#select-all-matching")
    page.click("button[value=pdf]")
    page.wait_for_selector("text=50 of 50 rendered", timeout=60_000)

    msg = mailbox.wait_for(admin.email, "is ready")
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

    visitor = chromium.new_page()
    visitor.goto(target.verification_url)
    assert visitor.get_by_text("and is valid").is_visible()
    assert visitor.get_by_text(target.recipient_name).first.is_visible()
    assert target.recipient_email not in visitor.content()
