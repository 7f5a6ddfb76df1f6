"""A certification program end to end in Chromium: the manager defines it, enrolls three
people, records a completion with an attachment, approves it from the queue; the holder
accepts a credit in their locker, the program is Earned and its certificate verifies."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from laurel.accounts.models import Role
from laurel.certificates.models import Certificate
from laurel.programs.models import Enrollment, Program
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def login(page, url, email):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit], form button")


def test_define_enroll_complete_approve_accept_and_the_certificate_verifies(
    live_server, browser, settings, tmp_path
):
    settings.SITE_URL = live_server.url
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    course = make_course(org, components={"CE": "2"}, title="Wound care basics")
    manager = make_member(org, Role.CERT_MANAGER, "cm@northwind.test")
    nurse = make_user("nurse@example.com", full_name="Ada Nurse")
    url = live_server.url

    page = browser.new_page()
    login(page, url, manager.email)
    page.goto(f"{url}/o/northwind/programs/new/")
    page.locator("#id_code").fill("WCN")
    page.locator("#id_name").fill("Wound Care Nurse")
    page.locator("#id_window_months").fill("12")
    page.locator("#id_req-0-kind").select_option("manual")
    page.locator("#id_req-0-title").fill("Supervised practice")
    page.locator("#id_req-0-needs_approval").check()
    page.locator("#id_req-0-needs_attachment").check()
    page.locator("#id_req-1-kind").select_option("credit_hours")
    page.locator("#id_req-1-title").fill("2 CE hours")
    page.locator("#id_req-1-credit_type_code").fill("CE")
    page.locator("#id_req-1-hours").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("created as a Draft")
    page.get_by_role("button", name="Activate").click()

    page.get_by_role("link", name="Enroll people").click()
    page.locator("#id_emails").fill("nurse@example.com\nsecond@example.com\nthird@example.com")
    page.get_by_role("button", name="Enroll selected").click()
    expect(page.locator("#tracker-enrolled")).to_have_text("3")

    page.get_by_role("link", name="nurse@example.com").click()
    (tmp_path / "practice.pdf").write_bytes(PDF)
    page.locator("#id_requirement").select_option(label="Supervised practice")
    page.locator("#id_attachment").set_input_files(str(tmp_path / "practice.pdf"))
    page.get_by_role("button", name="Record").click()
    expect(page.locator("body")).to_contain_text("Awaiting approval")

    page.goto(f"{url}/o/northwind/programs/approvals/")
    page.get_by_role("button", name="Approve Supervised practice for nurse@example.com").click()
    expect(page.locator("body")).to_contain_text("Nothing is waiting for approval")

    enter_credit(org, course, nurse.email, completion_date=date.today())
    holder = browser.new_page()
    login(holder, url, nurse.email)
    holder.goto(f"{url}/locker/")
    holder.get_by_role("checkbox", name="Wound care basics").check()
    holder.get_by_label("…or a new dashboard named").fill("CE")
    holder.get_by_role("button", name="Accept selected").click()
    expect(holder.locator("body")).to_contain_text("1 credit accepted")

    holder.goto(f"{url}/locker/programs/")
    expect(holder.locator("body")).to_contain_text("Earned")
    enrollment = Enrollment.objects.get(email=nurse.email, program=Program.objects.get())
    assert enrollment.status == Enrollment.Status.EARNED
    cert = Certificate.objects.get(pk=enrollment.certificate_id)
    holder.get_by_role("link", name="certificate", exact=True).click()
    expect(holder.locator("body")).to_contain_text(cert.serial_number)
    expect(holder.locator("body")).to_contain_text("Wound Care Nurse")
