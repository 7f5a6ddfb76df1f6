"""Staff in Chromium: log in to the organization's home, enter course ID : e-mail pairs
with a bad line; a certification manager imports certificates; a revoked certificate's PDF
reads REVOKED and its holder gets the e-mail over real SMTP."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pypdf
import pytest

from laurel.accounts.models import Role
from laurel.certificates.models import Certificate
from laurel.certificates.tests.conftest import issue
from laurel.credits.models import Credit
from tests.factories import PASSWORD, make_course, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
WIDTHS = {"desktop": 1280, "phone": 390}


def log_in(browser, live_server, email: str, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form button")
    return page


def pdf_text(data: bytes, tmp_path) -> str:
    """pdftotext -raw (poppler; content order keeps the diagonal mark whole) when installed,
    else pypdf; letter-spacing collapsed."""
    if shutil.which("pdftotext"):
        (tmp_path / "c.pdf").write_bytes(data)
        text = subprocess.run(
            ["pdftotext", "-raw", str(tmp_path / "c.pdf"), "-"], check=True, capture_output=True
        ).stdout.decode()
    else:
        import io

        text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    return text.replace(" ", "")


@pytest.mark.parametrize("size", WIDTHS)
def test_staff_enter_pairs_with_a_bad_line_then_commit(live_server, browser, size):
    from playwright.sync_api import expect

    org = make_org("northwind", name="Northwind", course_id_prefix="NNA")
    course = make_course(org, active_from=date(2024, 1, 1), title="Wound care basics")
    course.course_id = "NNA-26-00001"
    course.save()
    make_member(org, Role.STAFF, "staff@northwind.test")
    page = log_in(browser, live_server, "staff@northwind.test", WIDTHS[size])

    # Login lands on the organization's home, with the quick action.
    expect(page.get_by_role("heading", name="Northwind", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"org-home-{WIDTHS[size]}.png"), full_page=True)
    page.get_by_role("link", name="Enter course ID : e-mail pairs").click()

    date_field = page.get_by_label("Completion date")
    expect(date_field).to_have_value(org.today().isoformat())
    date_field.fill("2025-03-01")
    pairs = page.get_by_label("Course ID : e-mail, one pair per line")
    pairs.fill(
        "NNA-26-00001 : ann@example.org\n"
        "NNA-26-00001\tbob@example.org\n"
        "this line has no address\n"
        "NNA-26-09999, cy@example.org\n"
    )
    page.get_by_role("button", name="Check the pairs").click()
    error = page.locator("#id_pairs_error")
    expect(error).to_contain_text("Line 3")
    expect(pairs).to_have_value(
        "NNA-26-00001 : ann@example.org\n"
        "NNA-26-00001\tbob@example.org\n"
        "this line has no address\n"
        "NNA-26-09999, cy@example.org\n"
    )  # what was typed is kept for correcting
    page.screenshot(path=str(SCREENSHOTS / f"pairs-error-{WIDTHS[size]}.png"), full_page=True)

    pairs.fill(
        "NNA-26-00001 : ann@example.org\n"
        "NNA-26-00001\tbob@example.org\n"
        "NNA-26-09999, cy@example.org\n"
    )
    page.get_by_role("button", name="Check the pairs").click()
    commit = page.locator("#commit-button")
    expect(commit).to_have_text("Commit 2 checked rows", timeout=20_000)
    expect(page.get_by_text("No course NNA-26-09999")).to_be_visible()
    commit.click()
    expect(page.get_by_text("Open the per-row report")).to_be_visible(timeout=30_000)
    assert sorted(Credit.objects.values_list("recipient_email", flat=True)) == [
        "ann@example.org",
        "bob@example.org",
    ]


def test_certification_manager_imports_certificates(live_server, browser, tmp_path):
    from playwright.sync_api import expect

    org = make_org("northwind", name="Northwind", course_id_prefix="NNA")
    make_member(org, Role.CERT_MANAGER, "cm@northwind.test")
    upload = tmp_path / "bls.csv"
    upload.write_text(
        "Email,Name,Certification,Awarded\n"
        "maria@example.com,Maria Schmidt,Basic Life Support,2025-03-05\n"
        "ann@example.org,Ann Lee,Basic Life Support,2099-01-01\n"
    )
    page = log_in(browser, live_server, "cm@northwind.test")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Certificates", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Review")).to_have_count(0)
    nav.get_by_role("link", name="Imports").click()
    page.goto(f"{live_server.url}/o/northwind/imports/new/")
    kind = page.get_by_label("The file contains")
    expect(kind).to_have_value("certificates")
    expect(kind.locator("option")).to_have_count(1)
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and check").click()
    commit = page.locator("#commit-button")
    expect(commit).to_have_text("Commit 1 checked row", timeout=20_000)
    expect(page.get_by_text("The awarded date is in the future.")).to_be_visible()
    commit.click()
    expect(page.get_by_text("Open the per-row report")).to_be_visible(timeout=30_000)
    cert = Certificate.objects.get(organization=org)
    assert cert.recipient_name == "Maria Schmidt" and cert.title == "Basic Life Support"


def test_revoked_certificate_pdf_reads_revoked_and_the_holder_is_told(
    live_server, browser, smtp, settings, tmp_path
):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    org = make_org("northwind", name="Northwind Nurses", course_id_prefix="NNA")
    make_member(org, Role.CERT_MANAGER, "cm@northwind.test")
    cert = issue(org, notify=False)
    page = log_in(browser, live_server, "cm@northwind.test")
    page.goto(f"{live_server.url}/o/northwind/certificates/{cert.pk}/")
    page.get_by_role("link", name="Revoke this certificate…").click()
    expect(
        page.get_by_role("heading", name=f"Revoke certificate {cert.serial_number}?")
    ).to_be_visible()
    expect(page.locator("#consequences")).to_contain_text("maria@example.com is e-mailed")
    page.get_by_role("button", name="Revoke the certificate").click()
    # The reason is required: the browser keeps the form until it is given.
    expect(
        page.get_by_role("heading", name=f"Revoke certificate {cert.serial_number}?")
    ).to_be_visible()
    page.get_by_label("Reason (shown on the public verification page)").fill("Exam irregularity")
    page.get_by_role("button", name="Revoke the certificate").click()
    expect(page.get_by_text(f"Certificate {cert.serial_number} revoked")).to_be_visible()

    message = smtp.wait_for("maria@example.com", "revoked your certificate", timeout=20)
    assert "Exam irregularity" in message.get_body(preferencelist=("plain",)).get_content()

    visitor = browser.new_page()
    visitor.goto(cert.verification_url)
    heading = visitor.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Revoked: certificate {cert.serial_number}")
    with visitor.expect_download() as download:
        visitor.evaluate(
            "url => { const a = document.createElement('a'); a.href = url; a.download = 'c.pdf';"
            " document.body.appendChild(a); a.click(); }",
            f"{cert.verification_url}/certificate.pdf",
        )
    text = pdf_text(Path(download.value.path()).read_bytes(), tmp_path)
    assert "REVOKED" in text and "MariaSchmidt" in text
