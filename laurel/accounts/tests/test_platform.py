"""Platform superusers create organizations; nobody else sees the page."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import MemberInvitation, Membership, Organization, Role
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db
URL = reverse("accounts:platform_organizations")


@pytest.fixture
def superuser():
    return make_user("root@laurel.test", is_superuser=True, is_staff=True)


def _create(client, **overrides):
    data = {
        "name": "Northwind Nursing Association",
        "slug": "northwind",
        "course_id_prefix": "nna",
        "time_zone": "America/Chicago",
        "date_format": "US",
        "first_admin_email": "ada@northwind.test",
    }
    data.update(overrides)
    return client.post(URL, data)


def test_superuser_sees_every_organization(client, superuser):
    make_org("alpha", name="Alpha Board")
    make_org("beta", name="Beta Society")
    client.force_login(superuser)
    page = client.get(URL).content.decode()
    assert "Alpha Board" in page and "Beta Society" in page
    assert "Create organization" in page


def test_first_admin_with_verified_address_becomes_admin_at_once(client, superuser):
    ada = make_user("ada@northwind.test")
    client.force_login(superuser)
    response = _create(client)
    assert response.status_code == 302
    org = Organization.objects.get(slug="northwind")
    assert org.course_id_prefix == "NNA" and org.time_zone == "America/Chicago"
    assert Membership.objects.active().get(organization=org).user == ada
    assert not MemberInvitation.objects.filter(organization=org).exists()
    assert "ada@northwind.test is its admin" in client.get(URL).content.decode()


def test_first_admin_without_account_is_invited_as_admin(client, superuser, committed):
    client.force_login(superuser)
    with committed():
        _create(client)
    org = Organization.objects.get(slug="northwind")
    assert not Membership.objects.filter(organization=org).exists()
    invitation = MemberInvitation.objects.get(organization=org)
    assert invitation.role == Role.ADMIN and invitation.email == "ada@northwind.test"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@northwind.test"]
    assert re.search(r"/invitations/[\w-]+/", mail.outbox[0].body)


def test_unverified_address_is_invited_not_made_admin(client, superuser, committed):
    make_user("ada@northwind.test", verified=False)
    client.force_login(superuser)
    with committed():
        _create(client)
    org = Organization.objects.get(slug="northwind")
    assert not Membership.objects.filter(organization=org).exists()
    assert MemberInvitation.objects.filter(organization=org, role=Role.ADMIN).exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"course_id_prefix": "n-1"}, "2–8 capital letters or digits"),
        ({"slug": "taken"}, "Organization with this Slug already exists."),
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice."),
        ({"first_admin_email": "not-an-address"}, "Enter a valid email address."),
    ],
)
def test_create_form_shows_errors_next_to_fields(client, superuser, overrides, error):
    make_org("taken")
    client.force_login(superuser)
    response = _create(client, **overrides)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Organization.objects.filter(name="Northwind Nursing Association").exists()


def test_org_admin_who_is_not_superuser_gets_404(client):
    admin = make_member(make_org(), Role.ADMIN)
    client.force_login(admin)
    assert client.get(URL).status_code == 404
    assert _create(client).status_code == 404
    assert not Organization.objects.filter(slug="northwind").exists()


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_create_without_csrf_token_is_refused(superuser):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert _create(client).status_code == 403
    assert not Organization.objects.filter(slug="northwind").exists()
