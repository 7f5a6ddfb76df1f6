"""Credits to an address that bounced: shown undeliverable, found by the ledger filter, and
entered again with a corrected address in one step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from laurel.audit.models import AuditEvent
from laurel.credits.models import Credit
from laurel.notifications.bounces import BounceReport
from laurel.notifications.services import bounce_record
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(client):
    org = make_org("northwind")
    course = make_course(org, components={"CE": "3"})
    make_member(org, email="admin@nna.example")
    client.login(email="admin@nna.example", password=PASSWORD)
    orphan = enter_credit(
        org,
        course,
        "jane.doe@exmaple.com",
        completion_date=date(2025, 5, 1),
        amount_earned=Decimal("2"),
    )
    fine = enter_credit(org, course, "fine@example.com")
    bounce_record(
        report=BounceReport("jane.doe@exmaple.com", "hard", "550 5.1.1 User unknown"),
        source="file",
    )
    return org, orphan, fine


def test_the_credit_page_and_ledger_show_undeliverable_with_the_reason(client, world):
    org, orphan, fine = world
    page = client.get(reverse("credits:org_credit_detail", args=[org.slug, orphan.pk]))
    text = page.content.decode()
    assert "Undeliverable" in text and "550 5.1.1 User unknown" in text
    assert "Enter again with a corrected address" in text
    ok = client.get(reverse("credits:org_credit_detail", args=[org.slug, fine.pk]))
    assert "Undeliverable" not in ok.content.decode()

    ledger = client.get(
        reverse("credits:org_ledger", args=[org.slug]), {"delivery": "undeliverable"}
    )
    assert list(ledger.context["page"].object_list) == [orphan]


def test_enter_again_voids_the_orphan_and_enters_the_same_credit_for_the_new_address(
    client, world, committed
):
    from django.core import mail

    org, orphan, _ = world
    url = reverse("credits:org_credit_reenter", args=[org.slug, orphan.pk])
    with committed():
        response = client.post(url, {"email": "jane.doe@example.com"})
    new = Credit.objects.get(recipient_email="jane.doe@example.com")
    assert response.url == reverse("credits:org_credit_detail", args=[org.slug, new.pk])
    orphan.refresh_from_db()
    assert orphan.status == Credit.Status.VOIDED
    assert (new.course, new.completion_date) == (orphan.course, orphan.completion_date)
    assert new.components.get().amount_earned == Decimal("2")
    assert [m.to for m in mail.outbox][-1] == ["jane.doe@example.com"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"credit.voided", "credit.entered"} <= actions


def test_enter_again_refuses_the_same_address_and_changes_nothing(client, world):
    org, orphan, _ = world
    url = reverse("credits:org_credit_reenter", args=[org.slug, orphan.pk])
    client.post(url, {"email": "Jane.Doe@exmaple.com"})
    orphan.refresh_from_db()
    assert orphan.status == Credit.Status.HELD
    assert Credit.objects.count() == 2


def test_a_complaint_is_shown_as_such_not_as_undeliverable(client, world):
    org, _, fine = world
    bounce_record(report=BounceReport("fine@example.com", "complaint", "ARF"), source="file")
    text = client.get(reverse("credits:org_credit_detail", args=[org.slug, fine.pk])).content
    assert b"reported Laurel's mail as spam" in text
    assert b"Undeliverable" not in text


def test_a_certificate_to_a_bounced_address_shows_it(client, world):
    from laurel.audit.services import Actor
    from laurel.certificates.services import certificate_issue

    org, orphan, _ = world
    cert = certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Jane Doe",
        recipient_email=orphan.recipient_email,
        title="Sepsis",
        completion_date=date(2025, 5, 1),
        notify=False,
    )
    page = client.get(reverse("certificates:detail", args=[org.slug, cert.pk]))
    assert b"Undeliverable" in page.content and b"User unknown" in page.content


def test_the_ledger_export_has_an_undeliverable_column_with_the_reason(client, world):
    import csv
    import io

    org, orphan, fine = world
    # A complaint stops non-essential mail only: not undeliverable.
    bounce_record(report=BounceReport("fine@example.com", "complaint", "ARF"), source="file")
    # The DSN text comes from a remote mail server: it never leads the cell (no formula).
    other = enter_credit(org, orphan.course, "evil@example.net")
    bounce_record(
        report=BounceReport("evil@example.net", "hard", '=HYPERLINK("http://x")'), source="file"
    )
    export = reverse("credits:org_ledger_export", args=[org.slug])

    def column(**query):
        response = client.get(export, query)
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        header, *rows = csv.reader(io.StringIO(text))
        assert header[-1] == "Undeliverable"
        return {int(r[0]): r[-1] for r in rows}

    everything = column()
    assert everything[orphan.pk] == "Hard bounce — 550 5.1.1 User unknown"
    assert everything[fine.pk] == ""
    assert everything[other.pk] == 'Hard bounce — =HYPERLINK("http://x")'
    assert set(column(delivery="undeliverable")) == {orphan.pk, other.pk}
