"""Held credit reaches a person only through a verified address, via the real allauth flow,
and no page tells anyone whether credit waits for an address."""

import re
from datetime import date

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import User
from laurel.credits.models import Credit
from tests.factories import PASSWORD, enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+/accounts/confirm-email/[^\s\"<>]+/")


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3"}, title="Wound care")


def signup(client, email):
    return client.post(
        reverse("account_signup"),
        {"full_name": "Casey Rivera", "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def locker_html(client) -> str:
    return client.get(reverse("credits:locker")).content.decode()


def test_held_credit_is_offered_right_after_the_address_is_verified_at_signup(
    org, course, committed
):
    credit = enter_credit(org, course, "New.Nurse@example.com")
    assert credit.status == Credit.Status.HELD
    client = Client()
    with committed():
        response = signup(client, "new.nurse@example.com")
    assert response.status_code == 302
    user = User.objects.get(email__iexact="new.nurse@example.com")
    assert not EmailAddress.objects.get(user=user).verified

    # Before verification: nothing in the locker, not even a hint.
    client.force_login(user)
    before = locker_html(client)
    assert "Wound care" not in before and "Waiting for your answer (0)" in before
    assert "unverified e-mail address" in before
    credit.refresh_from_db()
    assert credit.status == Credit.Status.HELD and credit.holder is None

    [message] = [m for m in mail.outbox if m.to == ["new.nurse@example.com"]]
    link = CONFIRM_LINK.search(message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    with committed():
        opened = client.get("/" + path)
    assert opened.status_code == 302  # a sign-up link confirms in one click

    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED and credit.holder == user
    after = locker_html(client)
    assert "Waiting for your answer (1)" in after and "Wound care" in after
    assert "unverified e-mail address" not in after


def test_adding_and_verifying_a_second_address_delivers_its_held_credit(org, course, committed):
    user = make_user("main@example.com")
    credit = enter_credit(org, course, "work@example.com")
    client = Client()
    client.force_login(user)
    with committed():
        client.post(reverse("account_email"), {"email": "work@example.com", "action_add": ""})
    assert "Wound care" not in locker_html(client)
    [message] = [m for m in mail.outbox if m.to == ["work@example.com"]]
    path = "/" + CONFIRM_LINK.search(message.body).group(0).split("://", 1)[1].split("/", 1)[1]
    with committed():
        client.post(path)
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED and credit.holder == user
    assert "Wound care" in locker_html(client)


# --- No page reveals whether credit waits for an address -----------------------------------

TOKEN = re.compile(r"[A-Za-z0-9]{32,}")


def shape(response, *emails: str) -> tuple:
    """What differs between two answers once the address itself and tokens are blanked."""
    body = response.content.decode()
    for email in emails:
        body = body.replace(email, "EMAIL")
    body = TOKEN.sub("TOKEN", body)
    location = response.get("Location", "")
    return response.status_code, location, body


@pytest.fixture
def held_for(org, course):
    enter_credit(org, course, "claimable@example.com")
    return "claimable@example.com", "nothing@example.com"


def test_signup_answers_the_same_with_or_without_held_credit(held_for):
    with_credit, without = held_for
    a = signup(Client(), with_credit)
    b = signup(Client(), without)
    assert shape(a, with_credit) == shape(b, without)
    a = Client().post(
        reverse("account_signup"),
        {"full_name": "A", "email": with_credit, "password1": PASSWORD, "password2": "x"},
    )
    b = Client().post(
        reverse("account_signup"),
        {"full_name": "A", "email": without, "password1": PASSWORD, "password2": "x"},
    )
    assert shape(a, with_credit) == shape(b, without)


def test_locker_looks_the_same_for_an_unverified_address_with_or_without_held_credit(held_for):
    with_credit, without = held_for
    pages = []
    for email in held_for:
        user = make_user(email.replace("@", "-owner@"))
        EmailAddress.objects.create(user=user, email=email, verified=False)
        client = Client()
        client.force_login(user)
        pages.append(shape(client.get(reverse("credits:locker")), email, user.email))
    assert pages[0] == pages[1]
    assert "unverified e-mail address" in pages[0][2]


@pytest.mark.parametrize(
    "page, data",
    [
        ("account_login", {"login": "{email}", "password": "wrong-password"}),
        ("account_reset_password", {"email": "{email}"}),
    ],
)
def test_login_and_password_reset_answer_the_same_with_or_without_held_credit(held_for, page, data):
    answers = []
    for email in held_for:
        filled = {k: v.format(email=email) for k, v in data.items()}
        answers.append(shape(Client().post(reverse(page), filled), email))
    assert answers[0] == answers[1]


def test_adding_an_address_answers_the_same_with_or_without_held_credit(held_for):
    answers = []
    for email in held_for:
        user = make_user(email.replace("@", "-owner@"))
        client = Client()
        client.force_login(user)
        response = client.post(
            reverse("account_email"), {"email": email, "action_add": ""}, follow=True
        )
        answers.append(shape(response, email, user.email))
    assert answers[0] == answers[1]
    assert not Credit.objects.exclude(status=Credit.Status.HELD).exists()


def test_credit_for_an_unverified_address_is_not_attached_even_when_entered_later(org, course):
    user = make_user("late@example.com", verified=False)
    credit = enter_credit(org, course, "late@example.com", completion_date=date(2025, 4, 1))
    assert credit.holder is None and credit.status == Credit.Status.HELD
    client = Client()
    client.force_login(user)
    assert "Wound care" not in locker_html(client)


def test_email_page_lists_addresses_with_their_state_and_resends_verification(committed):
    user = make_user("main@example.com")
    EmailAddress.objects.create(user=user, email="work@example.com", verified=False)
    client = Client()
    client.force_login(user)
    html = client.get(reverse("account_email")).content.decode()
    work = html.split('value="work@example.com"')[1].split("</div>")[0]
    assert "Unverified" in work and "Verified" not in work.replace("Unverified", "")
    assert "reaches" in html and reverse("credits:locker") in html
    with committed():
        client.post(reverse("account_email"), {"email": "work@example.com", "action_send": ""})
    [message] = mail.outbox
    assert message.to == ["work@example.com"] and CONFIRM_LINK.search(message.body)
