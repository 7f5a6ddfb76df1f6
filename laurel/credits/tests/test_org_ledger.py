"""The organization's side: ledger filters and export, pending claims, corrections."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3"}, title="Wound care")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.example")


@pytest.fixture
def client(admin):
    client = Client()
    client.force_login(admin)
    return client


def url(name, org, *args):
    return reverse(f"credits:{name}", args=[org.slug, *args])


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode())))


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"status": "held"}, {"held@example.com", "other@example.com"}),
        ({"status": "offered"}, {"nurse@example.com"}),
        ({"email": "NURSE"}, {"nurse@example.com"}),
        ({"course": "other"}, {"other@example.com"}),
        ({"date_from": "2025-03-02"}, {"other@example.com"}),
        ({"date_to": "2025-03-01", "status": "held"}, {"held@example.com"}),
    ],
)
def test_ledger_filters_with_and_without_htmx(org, course, client, query, expected):
    make_user("nurse@example.com")
    enter_credit(org, course, "nurse@example.com")
    enter_credit(org, course, "held@example.com")
    other = make_course(org, title="Other topic")
    enter_credit(org, other, "other@example.com", completion_date=date(2025, 3, 5))
    everyone = {"nurse@example.com", "held@example.com", "other@example.com"}

    full = client.get(url("org_ledger", org), query).content.decode()
    partial = client.get(url("org_ledger", org), query, headers={"HX-Request": "true"})
    partial = partial.content.decode()
    assert "<html" in full and "<html" not in partial
    for page in (full.split('id="ledger-rows"')[1], partial):
        shown = {e for e in everyone if f">{e}</a>" in page}
        assert shown == expected


def test_bad_date_filter_is_reported_next_to_its_field_and_others_still_apply(org, course, client):
    enter_credit(org, course, "a@example.com")
    enter_credit(org, course, "b@example.com")
    page = client.get(url("org_ledger", org), {"date_from": "yesterday", "email": "a@"})
    html = page.content.decode()
    assert 'id="id_date_from_error"' in html
    assert ">a@example.com</a>" in html and ">b@example.com</a>" not in html


def test_ledger_export_is_the_filtered_ledger_formula_safe(org, client):
    course = make_course(org, components={"CE": "2"}, title='=HYPERLINK("x")')
    enter_credit(org, course, "a@example.com", name="@admin")
    enter_credit(org, course, "b@example.com", completion_date=date(2025, 4, 1))
    response = client.get(url("org_ledger_export", org), {"date_to": "2025-03-31"})
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    header, *rows = rows_of(response)
    assert header[:6] == [
        "Credit",
        "Recipient e-mail",
        "Recipient name",
        "Course ID",
        "Title",
        "Completion date",
    ]
    assert [r[1] for r in rows] == ["a@example.com"]
    assert rows[0][2] == "'@admin" and rows[0][4] == '\'=HYPERLINK("x")'
    assert rows[0][6] == "2 CE" and rows[0][8] == "Held"


def test_ledger_links_to_the_export_of_the_current_filter(org, course, client):
    partial = client.get(
        url("org_ledger", org), {"status": "held", "page": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert url("org_ledger_export", org) + "?status=held" in partial
    assert "page=1" not in partial.split('id="ledger-export"')[1].split(">")[0]


def test_ledger_queries_do_not_grow_with_credits(org, client, django_assert_max_num_queries):
    courses = [make_course(org, components={"CE": "1", "ETH": "1"}) for _ in range(5)]
    day = iter(range(1000))

    def add(n):
        for i in range(n):
            completed = date(2024, 1, 1) + timedelta(days=next(day))
            enter_credit(org, courses[i % 5], f"p{i}@example.com", completion_date=completed)

    add(3)
    with django_assert_max_num_queries(20) as small:
        client.get(url("org_ledger", org))
    with django_assert_max_num_queries(20) as small_claims:
        client.get(url("org_claims", org))
    add(50)
    with django_assert_max_num_queries(len(small_claims.captured_queries)):
        client.get(url("org_claims", org))
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(url("org_ledger", org))
    assert page.content.decode().count('class="badge held"') == 50  # a full first page
    with django_assert_max_num_queries(len(small.captured_queries)):
        rows_of(client.get(url("org_ledger_export", org)))


def test_pending_claims_are_grouped_by_age_with_counts(org, course, client):
    make_user("nurse@example.com")
    now = timezone.now()
    ages = {"fresh": 1, "week2": 10, "month2": 45, "ancient": 200, "offered": 3}
    for name, days in ages.items():
        email = "nurse@example.com" if name == "offered" else f"{name}@example.com"
        credit = enter_credit(org, course, email)
        Credit.objects.filter(pk=credit.pk).update(created_at=now - timedelta(days=days))
    answered = enter_credit(org, course, "nurse@example.com", completion_date=date(2025, 2, 1))
    Credit.objects.filter(pk=answered.pk).update(status=Credit.Status.REJECTED)

    html = client.get(url("org_claims", org)).content.decode()
    summary = html.split('id="claims-summary"')[1].split("</table>")[0]
    assert "Under 7 days" in summary
    # Under 7 days: 1 held + 1 offered; the rejected one is not waiting.
    assert "<td>1</td><td>1</td><td>2</td>" in summary
    for key, email in (("month", "week2"), ("quarter", "month2"), ("older", "ancient")):
        group = html.split(f'id="group-{key}"')[1].split("</section>")[0]
        assert f"{email}@example.com" in group
    held_only = client.get(url("org_claims", org), {"status": "held", "age": "week"})
    held_only = held_only.content.decode()
    group = held_only.split('id="group-week"')[1]
    assert "fresh@example.com" in group and "nurse@example.com" not in group


def test_resend_sends_the_notification_again(org, course, client, committed):
    credit = enter_credit(org, course, "held@example.com")
    with committed():
        response = client.post(url("org_credit_resend", org, credit.pk), follow=True)
    assert "Notification sent again to held@example.com" in response.content.decode()
    assert [m.to for m in mail.outbox] == [["held@example.com"]]
    claims = client.get(url("org_claims", org)).content.decode()
    assert "Send again" in claims
    with committed():
        response = client.post(url("org_credit_resend", org, credit.pk), {"back": "claims"})
    assert response["Location"] == url("org_claims", org)
    assert len(mail.outbox) == 2


def test_resend_is_limited_per_credit_with_a_429(org, course, client, committed, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "credit_resend": "2/3600"}
    credit = enter_credit(org, course, "held@example.com")
    other = enter_credit(org, course, "other@example.com")
    with committed():
        codes = [
            client.post(url("org_credit_resend", org, credit.pk)).status_code for _ in range(3)
        ]
        elsewhere = client.post(url("org_credit_resend", org, other.pk)).status_code
    assert codes == [302, 302, 429]
    assert elsewhere == 302  # the limit is per credit, not per person sending
    assert sorted(m.to[0] for m in mail.outbox) == ["held@example.com"] * 2 + ["other@example.com"]


def test_revoke_requires_a_reason(org, course, client):
    make_user("nurse@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    response = client.post(url("org_credit_revoke", org, credit.pk), {"reason": " "}, follow=True)
    assert "Give a reason" in response.content.decode()
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED
    client.post(url("org_credit_revoke", org, credit.pk), {"reason": "Wrong course"})
    credit.refresh_from_db()
    assert (credit.status, credit.revoke_reason) == (Credit.Status.REVOKED, "Wrong course")


def test_void_is_only_for_unanswered_credits(org, course, client):
    holder = make_user("nurse@example.com")
    from laurel.credits import services

    credit = enter_credit(org, course, "nurse@example.com")
    dashboard = services.dashboard_create(holder=holder, name="D")
    services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    page = client.get(url("org_credit_detail", org, credit.pk)).content.decode()
    assert "Void: sent to a wrong address" not in page
    response = client.post(url("org_credit_void", org, credit.pk), follow=True)
    assert "Only credits nobody has answered can be voided." in response.content.decode()
    credit.refresh_from_db()
    assert credit.status == Credit.Status.ACCEPTED
    orphan = enter_credit(org, course, "typo@example.con")
    client.post(url("org_credit_void", org, orphan.pk))
    orphan.refresh_from_db()
    assert orphan.status == Credit.Status.VOIDED


def test_member_of_another_organization_gets_404_on_ledger_pages(org, course):
    credit = enter_credit(org, course, "held@example.com")
    other = make_org("southwind")
    stranger = make_member(other, Role.ADMIN, "admin@southwind.example")
    client = Client()
    client.force_login(stranger)
    for name, args in (
        ("org_ledger", ()),
        ("org_ledger_export", ()),
        ("org_claims", ()),
        ("org_credit_detail", (credit.pk,)),
    ):
        assert client.get(url(name, org, *args)).status_code == 404, name
    for name in ("org_credit_revoke", "org_credit_void", "org_credit_resend"):
        response = client.post(url(name, org, credit.pk), {"reason": "x"})
        assert response.status_code == 404, name
    # Nor can they reach it through their own organization's URLs.
    assert client.get(url("org_credit_detail", other, credit.pk)).status_code == 404
    credit.refresh_from_db()
    assert credit.status == Credit.Status.HELD


def test_reviewer_can_read_the_ledger_but_not_revoke(org, course):
    credit = enter_credit(org, course, "held@example.com")
    reviewer = make_member(org, Role.REVIEWER, "reviewer@northwind.example")
    client = Client()
    client.force_login(reviewer)
    assert client.get(url("org_ledger", org)).status_code == 200
    assert client.post(url("org_credit_revoke", org, credit.pk), {"reason": "x"}).status_code == 404


def test_credit_history_is_shown_in_the_organizations_time_zone(course, client):
    from datetime import UTC, datetime

    from laurel.audit.models import AuditEvent

    org = course.organization
    org.time_zone = "Asia/Tokyo"
    org.save()
    credit = enter_credit(org, course, "held@example.com")
    AuditEvent.objects.filter(action="credit.entered").update(
        at=datetime(2025, 3, 1, 20, 30, tzinfo=UTC)
    )
    html = client.get(url("org_credit_detail", org, credit.pk)).content.decode()
    assert "(times in Asia/Tokyo)" in html
    assert "2025-03-02 05:30" in html.split('id="org-credit-history"')[1]


def test_reversed_date_range_is_reported(org, course, client):
    html = client.get(
        url("org_ledger", org), {"date_from": "2025-03-05", "date_to": "2025-03-01"}
    ).content.decode()
    assert 'id="id_date_to_error"' in html and "before the start date" in html
