"""Bounces end to end over a real SMTP server (aiosmtpd): the VERP envelope sender names the
message, the bounce is ingested, and the address receives nothing further while its credits
stay in the ledger. The browser test walks the staff side: undeliverable → enter again."""

from __future__ import annotations

import re
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.credits.services import credit_resend
from laurel.notifications import bounces
from laurel.notifications.models import OutboxMessage
from tests.browser.test_credit_story import log_in
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org

DSN = Path(__file__).resolve().parents[2] / "laurel" / "notifications" / "tests" / "dsn"
TYPO = "jane.doe@exmaple.com"


def bounce_for(smtp, tmp_path) -> Path:
    """The Postfix DSN the mail system would return for the first message sent to TYPO."""
    envelope = next(e for e in smtp.envelopes if TYPO in e.rcpt_tos)
    local = envelope.mail_from.split("@")[0]
    token = local.split("+", 1)[1]
    path = tmp_path / "bounce.eml"
    path.write_text((DSN / "postfix_hard.eml").read_text().replace("VERPTOKEN", token))
    return path


@pytest.mark.django_db
def test_a_bounced_address_receives_nothing_further_over_smtp_but_its_credits_stay(
    smtp, committed, settings, tmp_path, client
):
    settings.BOUNCE_ADDRESS = "bounces@laurel.example.org"
    org = make_org("northwind", name="Northwind Nursing Association")
    make_member(org, Role.ADMIN, "admin@northwind.example")
    with committed():
        first = enter_credit(org, make_course(org, title="Sepsis"), TYPO)
    smtp.wait_for(TYPO, "Sepsis")
    message = OutboxMessage.objects.get(to_email=TYPO)
    assert smtp.envelopes[0].mail_from == bounces.verp_address(message.pk)

    out = StringIO()
    call_command("bounces", "ingest", str(bounce_for(smtp, tmp_path)), "--json", stdout=out)
    assert '"action": "suppressed"' in out.getvalue()

    with committed():
        enter_credit(org, make_course(org, title="Wound care"), TYPO)
        credit_resend(actor=Actor.system("test"), credit=first)
    assert len(smtp.messages) == 1  # nothing after the bounce
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.SUPPRESSED).count() == 2

    client.login(email="admin@northwind.example", password=PASSWORD)
    ledger = client.get(f"/o/{org.slug}/credits/", {"delivery": "undeliverable"})
    assert {c.title for c in ledger.context["page"].object_list} == {"Sepsis", "Wound care"}
    assert ledger.content.decode().count("badge undeliverable") == 2


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_enters_again_a_credit_that_bounced_and_the_holder_receives_it(
    live_server, smtp, settings, browser, tmp_path
):
    settings.SITE_URL = live_server.url
    settings.BOUNCE_ADDRESS = "bounces@laurel.example.org"
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    make_member(org, Role.ADMIN, "admin@northwind.example")
    course = make_course(org, components={"CE": "2"}, title="Sepsis Recognition")

    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(admin, live_server.url, "admin@northwind.example", PASSWORD)
    admin.get_by_role("link", name="Enter a credit").click()
    admin.fill("#id_course_id", course.course_id)
    admin.fill("#id_email", TYPO)
    admin.fill("#id_completion_date", date(2026, 3, 2).isoformat())
    admin.get_by_role("button", name="Record credit").click()
    admin.wait_for_load_state()
    smtp.wait_for(TYPO, "Sepsis Recognition")

    # The mail system returns it; the operator (or the bounce mailbox duty) ingests it.
    call_command("bounces", "ingest", str(bounce_for(smtp, tmp_path)), stdout=StringIO())

    admin.reload()
    expect(admin.locator("#undeliverable")).to_contain_text("User unknown")
    expect(admin.locator("h1")).to_contain_text("Undeliverable")
    admin.fill("#reenter-email", "jane.doe@example.com")
    admin.get_by_role("button", name="Enter again").click()
    admin.wait_for_load_state()
    expect(admin.locator("body")).to_contain_text("Entered again for jane.doe@example.com")
    expect(admin.locator("h1")).not_to_contain_text("Undeliverable")

    delivered = smtp.wait_for("jane.doe@example.com", "Sepsis Recognition")
    assert "Sepsis Recognition" in delivered.get_body(preferencelist=("plain",)).get_content()
    statuses = dict(Credit.objects.values_list("recipient_email", "status"))
    assert statuses == {TYPO: Credit.Status.VOIDED, "jane.doe@example.com": Credit.Status.HELD}
    admin.goto(f"{live_server.url}/o/{org.slug}/credits/?delivery=undeliverable")
    expect(admin.locator("#ledger-rows")).to_contain_text(TYPO)
    assert re.search("1 credit", admin.locator("#ledger-rows").inner_text())
