"""The locker's htmx answer flow in a real browser (Playwright driving Chromium)."""

from datetime import date

import pytest

from laurel.credits.models import Credit, Dashboard
from tests.factories import PASSWORD, enter_credit, make_course, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    yield context.new_page()
    context.close()


def test_holder_accepts_several_credits_into_a_new_dashboard_without_a_page_load(live_server, page):
    org = make_org("northwind", name="Northwind Nursing Association")
    course = make_course(org, components={"CE": "3"}, title="Wound care")
    holder = make_user("nurse@example.com")
    credits = [
        enter_credit(org, course, holder.email, completion_date=d)
        for d in (date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3))
    ]

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", holder.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/locker/")
    page.evaluate("window.notReloaded = true")

    page.check("#select-all")  # laurel.js ticks every row (no inline script: the CSP)
    assert page.locator("input[name=credit]:checked").count() == 3
    page.uncheck(f"#credit-{credits[2].pk}")
    page.fill("#id_new_dashboard", "Ohio RN 2025–27")
    page.click("button[name=action][value=accept]")
    page.wait_for_selector("#locker-status >> text=2 credits accepted into “Ohio RN 2025–27”")

    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    assert "Waiting for your answer (1)" in page.inner_text("#pending-h")
    assert page.locator("h3", has_text="Ohio RN 2025–27").count() == 1
    dashboard = Dashboard.objects.get(holder=holder)
    assert set(dashboard.credits.values_list("pk", flat=True)) == {
        credits[0].pk,
        credits[1].pk,
    }

    page.fill("#reject-reason", "Not my course")
    page.click(f"button[name=reject_one][value='{credits[2].pk}']")
    page.wait_for_selector("#locker-status >> text=1 credit rejected.")
    credits[2].refresh_from_db()
    assert credits[2].status == Credit.Status.REJECTED
    assert credits[2].reject_reason == "Not my course"
