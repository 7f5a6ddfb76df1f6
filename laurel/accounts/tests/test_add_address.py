"""An address added to an existing account joins it only when that account's owner confirms:
a victim clicking a link mailed to them cannot hand their held credit to someone else."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from laurel.credits.models import Credit
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+(/accounts/confirm-email/[^\s\"<>]+/)")


@pytest.fixture
def attacker():
    return make_user("mallory@example.com")


@pytest.fixture
def held_credit():
    org = make_org("northwind")
    return enter_credit(org, make_course(org), "victim@example.com")


def _add_address(client, committed, email):
    with committed():
        client.post(reverse("account_email"), {"email": email, "action_add": ""})
    [message] = [m for m in mail.outbox if m.to == [email]]
    return message, CONFIRM_LINK.search(message.body).group(1)


def test_mail_and_page_name_the_account_the_address_would_join(attacker, committed):
    client = Client()
    client.force_login(attacker)
    message, link = _add_address(client, committed, "victim@example.com")
    assert "mallory@example.com" in message.body
    assert "will belong to the account mallory@example.com" in message.body
    page = Client().get(link).content.decode()
    assert "to the Laurel account <strong>mallory@example.com</strong>" in page


def test_victim_clicking_the_link_cannot_hand_over_held_credit(attacker, held_credit, committed):
    attacker_client = Client()
    attacker_client.force_login(attacker)
    _, link = _add_address(attacker_client, committed, "victim@example.com")
    anonymous, logged_in_as_self = Client(), Client()
    logged_in_as_self.force_login(make_user("victim-account@example.com"))
    for victim in (anonymous, logged_in_as_self):
        with committed():
            response = victim.post(link)
        assert response.status_code == 403
        assert "log in as mallory@example.com" in response.content.decode()
    assert not EmailAddress.objects.get(email="victim@example.com").verified
    held_credit.refresh_from_db()
    assert held_credit.status == Credit.Status.HELD and held_credit.holder is None


def test_the_account_owner_confirms_by_post_only(attacker, held_credit, committed):
    client = Client()
    client.force_login(attacker)
    _, link = _add_address(client, committed, "second@example.com")
    assert client.get(link).status_code == 200  # GET shows the page, confirms nothing
    assert not EmailAddress.objects.get(email="second@example.com").verified
    with committed():
        client.post(link)
    assert EmailAddress.objects.get(email="second@example.com").verified


def test_sign_up_mail_speaks_as_laurel_and_its_link_confirms_in_one_click(committed, settings):
    settings.SITE_URL = "https://laurel.example.org"
    client = Client()
    with committed():
        response = client.post(
            reverse("account_signup"),
            {
                "full_name": "Noor Haddad",
                "email": "new@example.com",
                "password1": "a-long-pass-phrase-9",
                "password2": "a-long-pass-phrase-9",
            },
        )
    assert response.status_code == 302
    [message] = [m for m in mail.outbox if m.to == ["new@example.com"]]
    assert message.subject == "[Laurel] Confirm your e-mail address"
    assert message.body.startswith("Hello from Laurel,")
    assert "laurel.example.org" in message.body
    assert "Hello from testserver" not in message.body  # allauth's default names the host
    link = CONFIRM_LINK.search(message.body).group(1)
    with committed():
        opened = client.get(link)
    assert opened.status_code == 302  # confirmed and logged in, no second button
    assert EmailAddress.objects.get(email="new@example.com").verified
