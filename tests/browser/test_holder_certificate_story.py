"""A new holder's first certificate, in a real browser with mail over real SMTP: sign up with
a name, the held credit is offered, the first Accept (no dashboard yet) files it into
"My credits", the certificate appears in the locker with its e-mail, and its share link
opens the public verification page. At a desktop width and at 390 px."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from laurel.accounts.models import User
from laurel.certificates.models import Certificate
from laurel.credits.models import Credit, Dashboard
from tests.browser.conftest import links_in, text_of
from tests.factories import enter_credit, make_course, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.mark.parametrize("width", [1280, 390])
def test_new_holder_signs_up_accepts_and_shares_the_certificate(
    live_server, smtp, settings, browser, width
):
    settings.SITE_URL = live_server.url
    # One address per run: allauth limits confirmation mails per address, across tests.
    recipient = f"casey.rivera.{width}@example.com"
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    course = make_course(org, components={"CE": "2"}, title="Ethics in End-of-Life Care")
    # Entered without a name: the certificate must take the one given at sign-up.
    credit = enter_credit(org, course, recipient)
    assert credit.status == Credit.Status.HELD
    smtp.wait_for(recipient, "Ethics in End-of-Life Care")

    context = browser.new_context(
        viewport={"width": width, "height": 900}, timezone_id="Europe/Paris"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Your full name").fill("Casey Rivera")
    page.fill("input[name=email]", recipient)
    page.fill("input[name=password1]", "a-long-holder-passphrase")
    page.fill("input[name=password2]", "a-long-holder-passphrase")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    user = User.objects.get(email=recipient)
    # The name, and the browser's time zone as the default for holder pages.
    assert (user.full_name, user.time_zone) == ("Casey Rivera", "Europe/Paris")

    verify_mail = smtp.wait_for(recipient, "Confirm")
    confirm_link = next(link for link in links_in(verify_mail) if "/confirm-email/" in link)
    page.goto(confirm_link)
    page.wait_for_load_state()  # the sign-up link confirms on opening: no button

    # --- the held credit is offered; the first Accept needs no dashboard -----------------
    page.goto(f"{live_server.url}/locker/")
    pending = page.get_by_role("region", name=re.compile("Waiting for your answer"))
    expect(pending).to_contain_text("Ethics in End-of-Life Care")
    expect(page.locator("#default-dashboard-note")).to_contain_text("My credits")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"locker-first-accept-{width}.png"), full_page=True)
    page.get_by_role("button", name="Accept Ethics in End-of-Life Care").click()
    expect(page.locator("body")).to_contain_text("1 credit accepted into “My credits”")
    assert Dashboard.objects.get(holder=user).name == "My credits"

    # --- the certificate is in the locker, and its e-mail arrived over SMTP --------------
    cert = Certificate.objects.get(credit=credit)
    assert cert.recipient_name == "Casey Rivera"
    page.goto(f"{live_server.url}/locker/")
    page.get_by_role("link", name="Certificates").first.click()
    page.wait_for_load_state()
    card = page.locator(f"#certificate-{cert.pk}")
    expect(card).to_contain_text("Ethics in End-of-Life Care")
    expect(card).to_contain_text("Valid")
    expect(card).to_contain_text("Casey Rivera")
    expect(card.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(card.get_by_role("link", name="Add to LinkedIn profile")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"holder-certificates-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    mail = smtp.wait_for(recipient, "Your certificate from Northwind")
    assert cert.verification_url in text_of(mail)

    # --- the share link opens the public verification page (no account needed) -----------
    share = card.locator("a.share-link").get_attribute("href")
    assert share == cert.verification_url
    visitor = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    response = visitor.goto(share)
    assert response.status == 200
    expect(visitor.locator("body")).to_contain_text(cert.serial_number)
    expect(visitor.locator("body")).to_contain_text("Casey Rivera")
    visitor.screenshot(path=str(SCREENSHOTS / f"verification-{width}.png"), full_page=True)
