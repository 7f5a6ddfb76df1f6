"""Recognition end to end: a partner admin schedules a ceremony through both wizard steps
(keyboard for the row menu), the confirmation arrives over real SMTP, the issuing
organization's staff mark the pins mailed, and the partner builds a combined PDF of the
completers and downloads the last file."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest

from laurel.recognition.tests.factories import feed, make_cast
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(browser, live_server, email):
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form button")
    return page


def test_partner_schedules_issuer_mails_pins_partner_downloads_certificates(
    live_server, smtp, browser, settings
):
    settings.SITE_URL = live_server.url
    cast = make_cast()
    done = date.today() - timedelta(days=2)
    feed(cast.issuer, cast.river_cohort, [
        ("ann@river.edu", 100, done, True, "Ann Arbor"),
        ("bo@river.edu", 100, done, True, "Bo Beam"),
        ("cy@river.edu", 100, done, True, "Cy Cedar"),
        ("di@river.edu", 30, None, False, "Di Dawn"),
    ])  # fmt: skip
    base = f"{live_server.url}/o/{cast.river.slug}/recognition/"

    partner = login(browser, live_server, cast.river_admin.email)
    partner.goto(base)
    partner.get_by_role("link", name="Schedule a ceremony").click()
    end = cast.river_cohort.end_date
    partner.fill("input[name=range_start]", (end - timedelta(days=7)).isoformat())
    partner.fill("input[name=range_end]", (end + timedelta(days=7)).isoformat())
    partner.get_by_role("button", name="Find cohorts").click()
    partner.get_by_label("River Spring", exact=False).check()
    partner.get_by_role("button", name="Next: ceremony details").click()
    earliest = cast.river.today() + timedelta(days=14)
    assert partner.get_by_text("The earliest date you can choose is").is_visible()
    partner.fill("input[name=day]", earliest.isoformat())
    partner.fill("input[name=at]", "15:00")
    partner.select_option("select[name=time_zone]", "America/Chicago")
    partner.get_by_label("In person").check()
    partner.fill("input[name=venue]", "Great Hall")
    partner.fill("input[name=mailing_contact]", "Pat Post")
    partner.fill("input[name=mailing_email]", "pat@river.edu")
    partner.fill("textarea[name=mailing_address]", "1 River Rd\nRiver City")
    partner.get_by_role("button", name="Submit").click()
    assert partner.get_by_text("Scheduled / Pending").first.is_visible()
    smtp.wait_for(cast.river_admin.email, "Ceremony scheduled")

    staff = login(browser, live_server, cast.issuer_staff.email)
    staff.goto(f"{live_server.url}/o/{cast.issuer.slug}/recognition/pins/")
    assert staff.get_by_text("3 × Certificate in Effective College Instruction").is_visible()
    staff.get_by_label("Tracking number (optional)").fill("1Z999")
    staff.get_by_role("button", name="Mark mailed").click()
    mailed = smtp.wait_for("pat@river.edu", "Pins mailed")
    assert "1Z999" in mailed.get_body(preferencelist=("plain",)).get_content()

    partner.goto(base)
    assert partner.get_by_text("Scheduled / Pins mailed").first.is_visible()
    menu = partner.get_by_label("Actions for Ceremony: River Spring")
    menu.focus()
    partner.keyboard.press("Enter")  # the row menu opens from the keyboard
    partner.locator("details.row-menu[open]").get_by_role(
        "link", name="Certificates", exact=True
    ).click()
    assert partner.get_by_text("Completers (3)").is_visible()
    for name in ("Ann Arbor", "Bo Beam", "Cy Cedar"):
        partner.get_by_label(f"Select {name}").check()
    partner.get_by_role("button", name="Download certificates (combined PDF)").click()
    partner.wait_for_selector("text=3 of 3 rendered", timeout=60_000)
    smtp.wait_for(cast.river_admin.email, "is ready", timeout=30)
    with partner.expect_download() as info:
        partner.get_by_role("link", name="Download (").click()
    with open(info.value.path(), "rb") as handle:
        assert len(pypdf.PdfReader(io.BytesIO(handle.read())).pages) == 3
