"""Browser: upload a file with problems, review the preview, uncheck a row, commit, report."""

from __future__ import annotations

import os
from datetime import date

import pytest
from django.conf import settings

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from laurel.imports.models import ImportRow
from tests.factories import make_course, make_member, make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Course ID,Email,Date Completed\n"
    "NNA-26-00001,ann@example.org,03/01/2025\n"
    "NNA-26-00001,bob@example.org,03/01/2025\n"
    "NNA-26-00001,cy@example.org,03/01/2025\n"
    "NNA-26-09999,dee@example.org,03/01/2025\n"
    "NNA-26-00001,not-an-email,03/01/2025\n"
)


def test_upload_review_uncheck_commit_and_open_the_report(live_server, client, tmp_path):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop, our ORM
    from playwright.sync_api import expect, sync_playwright

    org = make_org("northwind", name="Northwind", course_id_prefix="NNA")
    course = make_course(org, active_from=date(2024, 1, 1))
    course.course_id = "NNA-26-00001"
    course.save()
    admin = make_member(org, Role.ADMIN, "admin@northwind.test")
    client.force_login(admin)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    upload = tmp_path / "november.csv"
    upload.write_text(CSV)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/o/northwind/imports/new/")
        page.set_input_files("#id_file", str(upload))
        page.get_by_role("button", name="Upload and check").click()

        commit = page.locator("#commit-button")
        expect(commit).to_have_text("Commit 3 checked rows")
        expect(page.get_by_text("No course NNA-26-09999")).to_be_visible()
        expect(page.get_by_text("is not an email address")).to_be_visible()

        search = page.get_by_label("Search e-mail, course ID or row").first
        search.fill("bob")
        search.press("Enter")
        expect(page.locator("#rows-invite")).not_to_contain_text("ann@example.org")
        box = page.get_by_label("Import row 3")
        expect(box).to_be_checked()
        box.uncheck()
        expect(commit).to_have_text("Commit 2 checked rows")

        commit.click()
        expect(
            page.get_by_role("progressbar").or_(page.get_by_text("Delivered, held"))
        ).to_be_visible()
        expect(page.get_by_text("Open the per-row report")).to_be_visible(timeout=30_000)
        page.get_by_text("Open the per-row report").click()
        expect(page.get_by_role("heading", name="Report: november.csv")).to_be_visible()
        expect(page.locator("#report-rows")).to_contain_text("Excluded")
        expect(page.locator("#report-rows")).to_contain_text("Delivered (held)")
        browser.close()

    assert sorted(Credit.objects.values_list("recipient_email", flat=True)) == [
        "ann@example.org",
        "cy@example.org",
    ]
    assert ImportRow.objects.get(number=3).outcome == "excluded"
