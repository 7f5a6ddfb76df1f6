"""The provider story in a real browser with mail over real SMTP: someone signs up, starts a
provider, writes an application and submits it to Northwind; a reviewer asks for changes;
the provider edits and sends it again; the reviewer approves; the course ID reaches the
provider by e-mail; Northwind's admin enters a credit for that course."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from laurel.accounts.models import Role
from laurel.catalog.models import Submission
from laurel.credits.models import Credit
from tests.browser.conftest import links_in, text_of
from tests.browser.test_credit_story import log_in
from tests.factories import PASSWORD, make_credit_type, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = "bea@brightpath.example"


def test_provider_submits_reviewer_requests_changes_then_approves_and_admin_credits_it(
    live_server, smtp, settings, browser
):
    settings.SITE_URL = live_server.url
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    make_credit_type(org, "CE")
    make_member(org, Role.ADMIN, "admin@northwind.example")
    make_member(org, Role.REVIEWER, "reviewer@northwind.example")

    # --- sign up and verify the address ---------------------------------------------------
    provider = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    provider.goto(f"{live_server.url}/accounts/signup/")
    provider.fill("input[name=full_name]", "Pat Provider")
    provider.fill("input[name=email]", OWNER)
    provider.fill("input[name=password1]", "a-long-provider-passphrase")
    provider.fill("input[name=password2]", "a-long-provider-passphrase")
    provider.locator("form button[type=submit]").first.click()
    provider.wait_for_load_state()
    confirm = next(u for u in links_in(smtp.wait_for(OWNER, "Confirm")) if "/confirm-email/" in u)
    provider.goto(confirm)
    provider.wait_for_load_state()  # the sign-up link confirms on opening: no button

    # --- start a provider, write the application, submit it -------------------------------
    provider.goto(f"{live_server.url}/locker/")
    provider.get_by_role("link", name="Become a course provider").click()
    provider.fill("#id_name", "Brightpath Learning")
    provider.fill("#id_slug", "brightpath")
    provider.get_by_role("button", name="Create the provider").click()
    provider.get_by_role("link", name="New application").click()
    provider.fill("#id_title", "Safe Medication Handoffs")
    provider.fill("#id_description", "Handing over medication orders between shifts.")
    provider.fill("#id_objectives", "Use a closed-loop read-back.")
    provider.select_option("#id_delivery_format", "live_online")
    provider.fill("#id_sessions", "2026-09-01 | Online")
    provider.fill("#id_agenda", "45 | Why handoffs fail\n15 | Practice")
    provider.fill("#id_instructors", "Dana Reyes | RN, MSN | ICU educator")
    provider.fill("#id_target_audience", "Registered nurses")
    provider.fill("#id_requested_credit", "CE 1")
    provider.get_by_role("button", name="Save draft").click()
    expect(provider.locator("body")).to_contain_text("Application saved.")
    provider.get_by_role("link", name="Submit…").click()
    provider.get_by_label("Northwind Nursing Association").check()
    provider.get_by_role("button", name="Submit to the checked organizations").click()
    expect(provider.locator("body")).to_contain_text("Submitted to Northwind Nursing Association")
    sub = Submission.objects.get()

    # --- the reviewer asks for changes -----------------------------------------------------
    smtp.wait_for("reviewer@northwind.example", "New submission from Brightpath Learning")
    reviewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(reviewer, live_server.url, "reviewer@northwind.example", PASSWORD)
    reviewer.goto(f"{live_server.url}/o/northwind/review/")
    reviewer.get_by_role("link", name=sub.reference).click()
    expect(reviewer.locator("body")).to_contain_text("Why handoffs fail")
    reviewer.get_by_label("Request changes").check()
    reviewer.fill("#id_reason", "Add a 15-minute post-test.")
    reviewer.get_by_role("button", name="Record the decision").click()
    expect(reviewer.locator("#submission-status")).to_have_text("Changes requested")

    # --- the provider reads the mail, edits, sends again -----------------------------------
    changes_mail = smtp.wait_for(OWNER, "asks for changes")
    assert "Add a 15-minute post-test." in text_of(changes_mail)
    provider.goto(next(u for u in links_in(changes_mail) if "/provider/submissions/" in u))
    provider.get_by_role("link", name="application").click()
    provider.fill("#id_agenda", "45 | Why handoffs fail\n15 | Practice\n15 | Post-test")
    provider.get_by_role("button", name="Save draft").click()
    provider.goto(f"{live_server.url}/o/brightpath/provider/submissions/{sub.pk}/")
    provider.get_by_role("button", name="Send again").click()
    expect(provider.locator("#submission-status")).to_have_text("Submitted")

    # --- the reviewer sees round 2 and approves --------------------------------------------
    reviewer.reload()
    expect(reviewer.locator("body")).to_contain_text("Round 2")
    expect(reviewer.locator("body")).to_contain_text("Post-test")
    reviewer.get_by_label("Approve", exact=True).check()
    reviewer.fill("#id_credit", "CE 1.25")
    reviewer.fill("#id_active_from", "2026-01-01")
    reviewer.get_by_role("button", name="Record the decision").click()
    expect(reviewer.locator("#submission-status")).to_have_text("Approved")
    sub.refresh_from_db()
    course_id = sub.course.course_id

    # --- the course ID reaches the provider over SMTP --------------------------------------
    approved_mail = smtp.wait_for(OWNER, "approved Safe Medication Handoffs")
    assert course_id in approved_mail["Subject"] and course_id in text_of(approved_mail)
    provider.goto(f"{live_server.url}/o/brightpath/provider/submissions/{sub.pk}/")
    expect(provider.locator("#course-id")).to_have_text(course_id)

    # --- Northwind's admin enters a credit for the new course ------------------------------
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(admin, live_server.url, "admin@northwind.example", PASSWORD)
    admin.goto(f"{live_server.url}/o/northwind/credits/new/")
    admin.fill("#id_course_id", course_id)
    admin.fill("#id_email", "nurse@example.com")
    admin.fill("#id_completion_date", date(2026, 9, 1).isoformat())
    admin.get_by_role("button", name="Record credit").click()
    admin.wait_for_load_state()
    credit = Credit.objects.get(recipient_email="nurse@example.com")
    assert credit.course == sub.course
    assert [str(c.amount_offered) for c in credit.components.all()] == ["1.25"]
