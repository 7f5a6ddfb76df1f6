"""An event's attendance in a real browser, mail over real SMTP: staff create an event with
two credit tracks, import a roster with the statuses Attended and Registered, mark everyone
still Registered as Attended with the attendance tool; the attendee's e-mail arrives, the
holder accepts the credit into a dashboard, and the certificate in the mail verifies."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from laurel.events.models import Event, Registration
from tests.browser.conftest import links_in
from tests.browser.test_credit_story import log_in
from tests.factories import PASSWORD, make_credit_type, make_member, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"
TITLE = "Fair Housing and You"
HOLDER = "ann.agent@example.com"


def test_event_with_tracks_roster_import_mark_all_mail_accept_and_verify(
    live_server, smtp, settings, browser, tmp_path
):
    settings.SITE_URL = live_server.url
    org = make_org("lakes", name="Lakes Association of Realtors", course_id_prefix="LAR")
    make_member(org, Role.ADMIN, "education@lakes.example")
    types = {code: make_credit_type(org, code) for code in ("COEC", "COEN")}
    make_user(HOLDER, full_name="Ann Agent")  # has a Laurel account with this address

    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(staff, live_server.url, "education@lakes.example", PASSWORD)

    # --- an event (yesterday morning) with two credit tracks ------------------------------
    staff.goto(f"{live_server.url}/o/lakes/events/new/")
    day = timezone.localdate() - timedelta(days=1)
    staff.fill("#id_title", TITLE)
    staff.fill("#id_starts_at", f"{day.isoformat()}T09:00")
    staff.fill("#id_ends_at", f"{day.isoformat()}T12:00")
    staff.fill("#id_time_zone", org.time_zone)
    staff.get_by_role("button", name="Save").click()
    staff.wait_for_load_state()
    expect(staff.get_by_role("heading", level=1)).to_have_text(TITLE)
    for track, code in (("COEC 3.0", "COEC"), ("COEN 3.0", "COEN")):
        staff.fill("#id_track-name", track)
        staff.get_by_role("button", name="Add track").click()
        staff.wait_for_load_state()
        staff.select_option("#id_component-credit_type", value=str(types[code].pk))
        staff.fill("#id_component-amount", "3")
        staff.select_option("#id_component-track", label=track)
        staff.get_by_role("button", name="Add component").click()
        staff.wait_for_load_state()
    event = Event.objects.get(title=TITLE)
    assert sorted(t.name for t in event.tracks.all()) == ["COEC 3.0", "COEN 3.0"]

    # --- a roster: Bob attended, Ann is registered ----------------------------------------
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "Email,Name,Status,Track\n"
        "bob.broker@example.com,Bob Broker,Attended,COEN 3.0\n"
        f"{HOLDER},Ann Agent,Registered,COEC 3.0\n"
    )
    staff.goto(f"{live_server.url}/o/lakes/imports/new/?kind=attendees&event={event.pk}")
    expect(staff.locator("#id_kind")).to_have_value("attendees")
    staff.set_input_files("#id_file", str(roster))
    staff.get_by_role("button", name="Upload and check").click()
    commit = staff.locator("#commit-button")
    expect(commit).to_have_text("Commit 2 checked rows")
    commit.click()
    expect(staff.get_by_text("Open the per-row report")).to_be_visible(timeout=30_000)
    statuses = dict(event.registrations.values_list("email", "status"))
    assert statuses == {
        "bob.broker@example.com": Registration.Status.ATTENDED,
        HOLDER: Registration.Status.REGISTERED,
    }
    smtp.wait_for("bob.broker@example.com", TITLE)  # imported as Attended: credited and told

    # --- the attendance tool: everyone still Registered → Attended --------------------------
    staff.goto(f"{live_server.url}/o/lakes/events/{event.pk}/attendees/")
    staff.select_option("#id_state", "attended")
    staff.get_by_label("Everyone still Registered").check()
    staff.get_by_role("button", name="Apply").click()
    expect(staff.locator("body")).to_contain_text("1 marked Attended")

    # --- Ann's mail over SMTP: her credit and her certificate -----------------------------
    mail = smtp.wait_for(HOLDER, TITLE)
    links = links_in(mail)
    assert any(link.endswith("/locker/") for link in links), links
    verify = next(link for link in links if "/v/" in link)
    assert "COEC" in mail.get_body(preferencelist=("plain",)).get_content()

    holder = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(holder, live_server.url, HOLDER, PASSWORD)
    holder.goto(f"{live_server.url}/locker/")
    pending = holder.get_by_role("region", name=re.compile("Waiting for your answer"))
    expect(pending).to_contain_text(TITLE)
    holder.get_by_role("checkbox", name=re.compile(TITLE)).check()
    holder.get_by_label("…or a new dashboard named").fill("Real estate license 2026")
    holder.get_by_role("button", name="Accept selected").click()
    expect(holder.locator("body")).to_contain_text("1 credit accepted")
    credit = Credit.objects.get(recipient_email=HOLDER)
    assert credit.status == Credit.Status.ACCEPTED
    assert [c.credit_type.code for c in credit.components.all()] == ["COEC"]

    # --- anyone can verify the certificate from the link in the mail ----------------------
    visitor = browser.new_context().new_page()
    visitor.goto(verify)
    expect(visitor.locator("body")).to_contain_text("Ann Agent")
    expect(visitor.locator("body")).to_contain_text(re.compile("valid", re.IGNORECASE))
    expect(visitor.locator("body")).to_contain_text(TITLE)
    SCREENSHOTS.mkdir(exist_ok=True)
    visitor.screenshot(path=str(SCREENSHOTS / "event-certificate-verified.png"), full_page=True)
