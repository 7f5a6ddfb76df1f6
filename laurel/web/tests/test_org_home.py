"""An organization's home page: counts that matter, recent activity, quick actions; the
navigation shows each role only the pages it can open; times in the organization's zone."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Role
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.certificates.services import certificate_issue
from laurel.credits.models import Credit
from laurel.web import selectors
from laurel.web.navigation import ORG_PAGES
from tests.factories import PASSWORD, enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind", time_zone="America/Los_Angeles")


def _figure(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', page).group(1)


def test_login_lands_on_the_organizations_home_not_a_table(client, org):
    make_member(org, Role.STAFF, "staff@northwind.test")
    response = client.post(
        reverse("account_login"), {"login": "staff@northwind.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    landing = client.get(response["Location"], follow=True)
    assert landing.redirect_chain[-1][0] == reverse("org_home", args=[org.slug])
    assert "<h1>Northwind</h1>" in landing.content.decode()


def test_home_counts_what_needs_attention(client, org):
    admin = make_member(org, Role.ADMIN, "admin@northwind.test")
    course = make_course(org)
    make_user("ann@example.org")  # has an account: her credit is offered
    enter_credit(org, course, "ann@example.org")
    old = enter_credit(org, course, "old@example.org")  # held, entered 40 days ago
    Credit.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    enter_credit(org, course, "new@example.org")  # held, today
    certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Ann Lee",
        recipient_email="ann@example.org",
        title="Course",
        completion_date=date(2025, 3, 1),
        expires_on=org.today() + timedelta(days=20),
        notify=False,
    )
    client.force_login(admin)
    page = client.get(reverse("org_home", args=[org.slug])).content.decode()
    assert _figure(page, "count-offered") == "1"
    assert _figure(page, "count-certificates-month") == "1"
    assert _figure(page, "count-expiring") == "1"
    assert _figure(page, "count-imports-ready") == "0"
    held = re.search(r'id="held-by-age">(.*?)</ul>', page, re.S).group(1)
    assert re.search(r'<span class="figure">1</span> <a [^>]*age=week">Under 7 days', held)
    assert re.search(r'<span class="figure">1</span> <a [^>]*age=quarter">30–90 days', held)
    # Recent activity reads as sentences.
    assert "test entered new@example.org&#x27;s credit for" in page


def test_counts_are_bounded_and_read_1000_plus(org):
    course = make_course(org)
    Credit.objects.bulk_create(
        Credit(
            organization=org,
            course=course,
            activity_key=f"course:{course.pk}",
            title="x",
            recipient_email=f"p{i}@example.org",
            completion_date=date(2025, 3, 1),
            status=Credit.Status.OFFERED,
        )
        for i in range(selectors.CAP + 5)
    )
    count = selectors.home_counts(org)["offered"]
    assert count.capped and str(count) == "1,000+"


def test_home_queries_stay_few(client, org, django_assert_max_num_queries):
    admin = make_member(org, Role.ADMIN)
    course = make_course(org)
    for i in range(5):
        enter_credit(org, course, f"p{i}@example.org", actor=Actor(user=admin))
    client.force_login(admin)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("org_home", args=[org.slug])).status_code == 200


NAV_EXPECTED = {
    Role.STAFF: {"Credits", "Imports", "Home"},
    Role.CERT_MANAGER: {"Certificates", "Imports", "Home"},
    Role.REVIEWER: {"Review", "Home"},
    Role.ADMIN: {label for _, label in ORG_PAGES},
}
NAV_HIDDEN = {
    Role.STAFF: {"Certificates", "Review", "Members", "Audit"},
    Role.CERT_MANAGER: {"Review", "Members", "Audit"},
    Role.REVIEWER: {"Certificates", "Imports", "Members", "Audit"},
    Role.ADMIN: set(),
}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF, Role.CERT_MANAGER, Role.REVIEWER])
def test_navigation_shows_only_pages_the_role_can_open(client, org, role):
    client.force_login(make_member(org, role))
    page = client.get(reverse("org_home", args=[org.slug])).content.decode()
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    links = dict(
        (label, href)
        for href, label in re.findall(r'<a href="(/o/northwind/[^"]*)"[^>]*>([^<]+)</a>', nav)
    )
    assert NAV_EXPECTED[role] <= links.keys()
    assert not (NAV_HIDDEN[role] & links.keys())
    for label, href in links.items():
        assert client.get(href).status_code == 200, f"{role} sees {label} but cannot open it"


@pytest.mark.parametrize(
    "role,shown,hidden",
    [
        (Role.STAFF, "Enter course ID : e-mail pairs", "Issue a certificate"),
        (Role.CERT_MANAGER, "Issue a certificate", "Enter a credit"),
        (Role.REVIEWER, "Review course applications", "Upload an import"),
    ],
)
def test_quick_actions_follow_the_role(client, org, role, shown, hidden):
    client.force_login(make_member(org, role))
    page = client.get(reverse("org_home", args=[org.slug])).content.decode()
    quick = re.search(r'id="quick-actions".*?</section>', page, re.S).group(0)
    assert shown in quick and hidden not in quick


def test_staff_pages_show_times_in_the_organizations_zone_and_say_so(client, org):
    admin = make_member(org, Role.ADMIN)
    course = make_course(org)
    credit = enter_credit(org, course, "ann@example.org")
    # 03:30 UTC on 2 March is 19:30 on 1 March in Los Angeles.
    AuditEvent.objects.filter(object_id=str(credit.pk)).update(
        at=dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)
    )
    client.force_login(admin)
    page = client.get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    html = page.content.decode()
    assert "2026-03-01 19:30" in html and "2026-03-02 03:30" not in html
    assert "in Northwind's time zone, America/Los_Angeles" in html
    home = client.get(reverse("org_home", args=[org.slug])).content.decode()
    assert "Mar 1, 19:30" in home
