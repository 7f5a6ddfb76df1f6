"""The whole credit story in a real browser against a live server, with mail over real SMTP:
an admin enters a credit for a new address, the recipient signs up from the mail, verifies
the address from the second mail, accepts the credit into a new dashboard, and the admin sees
it accepted in the ledger and in the audit trail."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from tests.browser.conftest import links_in
from tests.factories import PASSWORD, make_course, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
RECIPIENT = "casey.rivera@example.com"


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()


def test_admin_enters_credit_and_new_holder_signs_up_verifies_and_accepts_it(
    live_server, smtp, settings, browser
):
    settings.SITE_URL = live_server.url
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    make_member(org, Role.ADMIN, "admin@northwind.example")
    course = make_course(
        org, components={"CE": "2", "ETH": "1"}, title="Ethics in End-of-Life Care"
    )

    # --- the organization admin enters a credit for an address nobody has verified -------
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(admin, live_server.url, "admin@northwind.example", PASSWORD)
    admin.get_by_role("link", name="Enter a credit").click()
    admin.fill("#id_course_id", course.course_id)
    admin.fill("#id_email", RECIPIENT)
    admin.fill("#id_name", "Casey Rivera")
    admin.fill("#id_completion_date", date(2026, 3, 2).isoformat())
    admin.get_by_role("button", name="Record credit").click()
    admin.wait_for_load_state()
    assert Credit.objects.get(recipient_email=RECIPIENT).status == Credit.Status.HELD

    # --- the mail arrives over SMTP; its link leads to sign-up ---------------------------
    credit_mail = smtp.wait_for(RECIPIENT, "Ethics in End-of-Life Care")
    signup_link = next(link for link in links_in(credit_mail) if "/accounts/signup/" in link)

    holder_context = browser.new_context(viewport={"width": 375, "height": 812})
    holder = holder_context.new_page()
    holder.goto(signup_link)
    holder.fill("input[name=full_name]", "Casey Rivera")
    holder.fill("input[name=email]", RECIPIENT)
    holder.fill("input[name=password1]", "a-long-holder-passphrase")
    holder.fill("input[name=password2]", "a-long-holder-passphrase")
    holder.locator("form button[type=submit]").first.click()
    holder.wait_for_load_state()
    expect(holder.locator("body")).to_contain_text("Verify")

    # --- the verification mail, then its link (one click confirms) -----------------------
    verify_mail = smtp.wait_for(RECIPIENT, "Confirm")
    confirm_link = next(link for link in links_in(verify_mail) if "/confirm-email/" in link)
    holder.goto(confirm_link)
    holder.wait_for_load_state()  # the sign-up link confirms on opening: no button

    # --- the credit waits in the locker; it is accepted into a new dashboard -------------
    holder.goto(f"{live_server.url}/locker/")
    pending = holder.get_by_role("region", name=re.compile("Waiting for your answer"))
    expect(pending).to_contain_text("Ethics in End-of-Life Care")
    expect(pending).to_contain_text("Northwind Nursing Association")
    SCREENSHOTS.mkdir(exist_ok=True)
    holder.screenshot(path=str(SCREENSHOTS / "locker-375.png"), full_page=True)
    # Usable at 375 px: nothing sticks out sideways, the accept button is on screen.
    assert holder.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    holder.get_by_role("checkbox", name="Ethics in End-of-Life Care").check()
    holder.get_by_label("…or a new dashboard named").fill("Ohio RN license 2025–27")
    holder.get_by_role("button", name="Accept selected").click()
    # htmx answers in place and announces the result; the new dashboard is listed.
    expect(holder.locator("body")).to_contain_text(
        "1 credit accepted into “Ohio RN license 2025–27”"
    )
    holder.get_by_role("link", name="Ohio RN license 2025–27").first.click()
    holder.wait_for_load_state()

    expect(holder.get_by_role("heading", level=1)).to_have_text("Ohio RN license 2025–27")
    totals = holder.locator("#dashboard-totals")
    expect(totals.locator("tr", has_text="CE")).to_contain_text("2")
    expect(totals.locator("tr", has_text="ETH")).to_contain_text("1")
    holder.screenshot(path=str(SCREENSHOTS / "dashboard-375.png"), full_page=True)

    # --- the admin sees it accepted in the ledger and in the audit trail ------------------
    admin.goto(f"{live_server.url}/o/northwind/credits/")
    row = admin.get_by_role("row").filter(has_text=RECIPIENT)
    expect(row).to_contain_text("Accepted")
    admin.goto(f"{live_server.url}/o/northwind/audit/")
    events = admin.locator("#audit-events")
    for action in ("credit.entered", "credit.offered", "credit.accepted", "connection.connected"):
        expect(events).to_contain_text(action)
    expect(events).to_contain_text(RECIPIENT)
