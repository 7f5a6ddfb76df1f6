"""A member of several organizations switches between them; / returns to the last one."""

import pytest
from django.urls import reverse

from laurel.accounts.models import Membership, Role
from tests.factories import make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    alpha = make_org("alpha", name="Alpha Board")
    beta = make_org("beta", name="Beta Society")
    person = make_member(alpha, Role.ADMIN)
    Membership.objects.create(organization=beta, user=person, role=Role.STAFF)
    return alpha, beta, person


def test_header_switcher_lists_each_organization(client, two_orgs):
    alpha, beta, person = two_orgs
    client.force_login(person)
    page = client.get(reverse("catalog:course_list", args=["alpha"])).content.decode()
    assert 'class="org-switcher"' in page
    assert f'href="{reverse("org_home", args=["beta"])}">Beta Society' in page
    assert 'aria-current="true">Alpha Board' in page


def test_home_takes_member_to_last_used_organization(client, two_orgs):
    alpha, beta, person = two_orgs
    client.force_login(person)
    client.get(reverse("credits:org_ledger", args=["beta"]))
    assert client.get("/")["Location"] == reverse("org_home", args=["beta"])
    client.get(reverse("catalog:course_list", args=["alpha"]))
    assert client.get("/")["Location"] == reverse("org_home", args=["alpha"])


def test_home_ignores_a_remembered_organization_the_member_has_left(client, two_orgs):
    alpha, beta, person = two_orgs
    client.force_login(person)
    client.get(reverse("credits:org_ledger", args=["beta"]))
    Membership.objects.filter(organization=beta, user=person).delete()
    assert client.get("/")["Location"] == reverse("org_home", args=["alpha"])


def test_visiting_another_organizations_page_does_not_change_the_remembered_one(client, two_orgs):
    alpha, beta, person = two_orgs
    make_org("gamma")
    client.force_login(person)
    client.get(reverse("credits:org_ledger", args=["beta"]))
    assert client.get(reverse("credits:org_ledger", args=["gamma"])).status_code == 404
    assert client.get("/")["Location"] == reverse("org_home", args=["beta"])


def test_admin_links_are_shown_to_admins_only(client, two_orgs):
    alpha, beta, person = two_orgs
    client.force_login(person)
    admin_page = client.get(reverse("catalog:course_list", args=["alpha"])).content.decode()
    staff_page = client.get(reverse("catalog:course_list", args=["beta"])).content.decode()
    assert reverse("accounts:member_list", args=["alpha"]) in admin_page
    assert reverse("accounts:member_list", args=["beta"]) not in staff_page
