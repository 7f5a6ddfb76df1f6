"""An address not yet connected to an organization gets a real invitation: its own page to
accept or decline; staff see its state; a declined invitation sends no reminders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Connection, Role
from laurel.accounts.services import connection_invitation_token
from laurel.audit.models import AuditEvent
from laurel.credits.services import invitation_reminders_send
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db
EMAIL = "jo.newhire@example.com"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://laurel.test"


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def credit(org):
    return enter_credit(org, make_course(org, title="Wound care basics"), EMAIL)


def invitation_path(message) -> str:
    [url] = re.findall(r"https://laurel\.test(/connect/[^\s]+/)", message.body_text)
    return url


def test_first_credit_mail_carries_a_link_to_the_invitation_page(org, credit):
    mail = OutboxMessage.objects.get(to_email=EMAIL, kind="credit_held")
    path = invitation_path(mail)
    page = Client().get(path)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Northwind Nursing Association invites you to connect" in body
    assert EMAIL in body and "Waiting for your answer" in body
    assert "Accept and connect" in body and "Decline" in body


def test_declining_needs_no_account_stops_reminders_and_staff_see_it(org, credit):
    conn = Connection.objects.get(organization=org, email=EMAIL)
    path = reverse("accounts:connection_invitation", args=[connection_invitation_token(conn)])
    response = Client().post(path, {"answer": "decline"}, follow=True)
    assert "You declined the invitation" in response.content.decode()
    conn.refresh_from_db()
    assert conn.status == Connection.Status.DECLINED and conn.declined_at is not None
    assert AuditEvent.objects.filter(action="connection.declined").count() == 1
    # The reminder a week later is not sent to someone who declined.
    Connection.objects.filter(pk=conn.pk).update(invited_at=timezone.now() - timedelta(days=8))
    assert invitation_reminders_send() == 0
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    client = Client()
    client.force_login(admin)
    detail = client.get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    state = detail.content.decode().split('id="connection-state"')[1].split("</dd>")[0]
    assert "Declined" in state and "no reminders" in state


def test_accepting_needs_the_invited_address_verified_on_the_account(org, credit):
    conn = Connection.objects.get(organization=org, email=EMAIL)
    path = reverse("accounts:connection_invitation", args=[connection_invitation_token(conn)])
    anonymous = Client().post(path, {"answer": "accept"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    someone_else = make_user("other@example.com")
    client = Client()
    client.force_login(someone_else)
    refused = client.post(path, {"answer": "accept"})
    assert refused.status_code == 403
    assert f"This invitation was sent to {EMAIL}" in refused.content.decode()
    conn.refresh_from_db()
    assert conn.status == Connection.Status.INVITED
    invited = make_user(EMAIL)
    client.force_login(invited)
    client.post(path, {"answer": "accept"})
    conn.refresh_from_db()
    assert (conn.status, conn.holder) == (Connection.Status.CONNECTED, invited)
    assert "Connected" in client.get(path).content.decode()


def test_staff_see_an_unanswered_invitation(org, credit):
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    client = Client()
    client.force_login(admin)
    detail = client.get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    state = detail.content.decode().split('id="connection-state"')[1].split("</dd>")[0]
    assert "Invitation sent" in state and "not answered yet" in state


@pytest.mark.parametrize("token", ["nonsense", "eyJjIjoxfQ:1abc:forged"])
def test_a_forged_or_broken_invitation_link_is_404(token):
    assert Client().get(reverse("accounts:connection_invitation", args=[token])).status_code == 404


def test_a_second_credit_to_a_declined_address_does_not_invite_again(org, credit):
    conn = Connection.objects.get(organization=org, email=EMAIL)
    Client().post(
        reverse("accounts:connection_invitation", args=[connection_invitation_token(conn)]),
        {"answer": "decline"},
    )
    enter_credit(org, make_course(org, title="Second course"), EMAIL)
    second = OutboxMessage.objects.filter(to_email=EMAIL).order_by("-pk").first()
    assert "Second course" in second.subject
    assert "/connect/" not in second.body_text
