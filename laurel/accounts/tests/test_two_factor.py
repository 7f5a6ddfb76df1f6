"""Organizations can require two-factor login of their admins, reviewers and managers."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from laurel.accounts.models import Membership, Role
from tests.factories import make_member, make_org

pytestmark = pytest.mark.django_db
SETUP = reverse("mfa_activate_totp")


@pytest.fixture
def org():
    return make_org("northwind", require_staff_2fa=True)


def _courses(org):
    return reverse("catalog:course_list", args=[org.slug])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REVIEWER, Role.CERT_MANAGER])
def test_staff_role_without_totp_is_sent_to_set_it_up(client, org, role):
    client.force_login(make_member(org, role))
    response = client.get(_courses(org))
    assert response.status_code == 302 and response["Location"] == SETUP


def test_admin_with_totp_reaches_organization_pages(client, org):
    admin = make_member(org, Role.ADMIN)
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    assert client.get(_courses(org)).status_code == 200
    assert client.get(reverse("accounts:member_list", args=[org.slug])).status_code == 200


def test_staff_role_is_not_forced(client, org):
    client.force_login(make_member(org, Role.STAFF))
    assert client.get(_courses(org)).status_code == 200


def test_admin_is_not_forced_when_organization_does_not_require_it(client):
    org = make_org("relaxed", require_staff_2fa=False)
    client.force_login(make_member(org, Role.ADMIN))
    assert client.get(_courses(org)).status_code == 200


def test_requirement_applies_only_to_the_organization_that_set_it(client, org):
    relaxed = make_org("relaxed")
    admin = make_member(relaxed, Role.ADMIN)
    Membership.objects.create(organization=org, user=admin, role=Role.REVIEWER)
    client.force_login(admin)
    assert client.get(_courses(relaxed)).status_code == 200
    assert client.get(_courses(org))["Location"] == SETUP


def test_locker_stays_reachable_without_totp(client, org):
    client.force_login(make_member(org, Role.ADMIN))
    assert client.get(reverse("credits:locker")).status_code == 200


def test_turning_the_requirement_on_takes_effect_at_once(client):
    org = make_org("switching")
    admin = make_member(org, Role.ADMIN)
    client.force_login(admin)
    url = reverse("accounts:org_settings", args=[org.slug])
    data = {
        "name": org.name,
        "slug": org.slug,
        "time_zone": org.time_zone,
        "course_id_prefix": org.course_id_prefix,
        "date_format": org.date_format,
        "require_staff_2fa": "on",
    }
    assert client.post(url, data).status_code == 302
    assert client.get(url)["Location"] == SETUP


def test_account_security_link_in_header(client):
    org = make_org("plain")
    client.force_login(make_member(org, Role.STAFF))
    page = client.get(_courses(org)).content.decode()
    assert f'href="{reverse("mfa_index")}">Account security' in page
