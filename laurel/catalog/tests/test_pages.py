"""Credit types and courses: admins define them; every member can look courses up."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.catalog.models import Course, CreditType
from tests.factories import make_course, make_credit_type, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind", course_id_prefix="NNA")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


@pytest.fixture
def ce(org):
    return make_credit_type(org, "CE")


@pytest.fixture
def ethics(org):
    return make_credit_type(org, "ETH")


def _at(year, month, day, hour=12):
    """Freeze the clock ``Organization.today()`` reads (only that one: sessions keep theirs)."""
    clock = mock.Mock(
        now=mock.Mock(return_value=dt.datetime(year, month, day, hour, tzinfo=dt.UTC))
    )
    return mock.patch("laurel.accounts.models.timezone", clock)


def _course_data(rows, **overrides):
    data = {
        "title": "Wound care basics",
        "description": "Dressings and debridement.",
        "delivery_format": Course.Format.LIVE_ONLINE,
        "active_from": "2026-01-01",
        "active_until": "",
        "components-TOTAL_FORMS": str(len(rows)),
        "components-INITIAL_FORMS": "0",
        "components-MIN_NUM_FORMS": "0",
        "components-MAX_NUM_FORMS": "20",
    }
    for i, (credit_type, amount) in enumerate(rows):
        data[f"components-{i}-credit_type"] = str(credit_type.pk) if credit_type else ""
        data[f"components-{i}-amount"] = amount
    data.update(overrides)
    return data


# --- Credit types ---------------------------------------------------------------------------


def test_admin_creates_and_edits_a_credit_type(client, org, admin):
    client.force_login(admin)
    response = client.post(
        reverse("catalog:credit_type_new", args=[org.slug]),
        {"code": "coec", "name": "Continuing education", "unit": "hours"},
        follow=True,
    )
    page = response.content.decode()
    assert "Credit type COEC created." in page and "Continuing education" in page
    ct = CreditType.objects.get(organization=org, code="COEC")
    client.post(
        reverse("catalog:credit_type_edit", args=[org.slug, ct.pk]),
        {"code": "HACK", "name": "CE contact hours", "unit": "contact hours"},
    )
    ct.refresh_from_db()
    assert (ct.code, ct.name, ct.unit) == ("COEC", "CE contact hours", "contact hours")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"code": "CE", "name": "Again", "unit": "hours"}, "Credit type CE already exists."),
        ({"code": "9X", "name": "Bad", "unit": "hours"}, "Capital letters, digits, _."),
        ({"code": "NEW", "name": "", "unit": "hours"}, "This field is required."),
    ],
)
def test_credit_type_form_errors_appear_next_to_fields(client, org, admin, ce, data, error):
    client.force_login(admin)
    response = client.post(reverse("catalog:credit_type_new", args=[org.slug]), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert CreditType.objects.filter(organization=org).count() == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.REVIEWER, Role.CERT_MANAGER])
def test_credit_type_pages_are_404_for_non_admins(client, org, ce, role):
    client.force_login(make_member(org, role))
    for url in (
        reverse("catalog:credit_type_list", args=[org.slug]),
        reverse("catalog:credit_type_new", args=[org.slug]),
        reverse("catalog:credit_type_edit", args=[org.slug, ce.pk]),
    ):
        assert client.get(url).status_code == 404


def test_another_organizations_credit_type_is_404(client, org, admin):
    foreign = make_credit_type(make_org("other"), "CE")
    client.force_login(admin)
    url = reverse("catalog:credit_type_edit", args=[org.slug, foreign.pk])
    assert client.get(url).status_code == 404
    client.post(url, {"code": "CE", "name": "Hijacked", "unit": "x"})
    foreign.refresh_from_db()
    assert foreign.name == "CE"


# --- Course IDs -----------------------------------------------------------------------------


def test_new_courses_get_the_next_course_id_of_the_year(client, org, admin, ce):
    client.force_login(admin)
    url = reverse("catalog:course_new", args=[org.slug])
    with _at(2026, 3, 1):
        first = client.post(url, _course_data([(ce, "2")]))
        second = client.post(url, _course_data([(ce, "1.5")], title="Sepsis update"))
    one, two = Course.objects.order_by("pk")
    assert (one.course_id, two.course_id) == ("NNA-26-00001", "NNA-26-00002")
    assert first["Location"] == reverse("catalog:course_detail", args=[org.slug, one.pk])
    assert "Course NNA-26-00002 created." in client.get(second["Location"]).content.decode()


def test_course_id_year_is_the_organizations_local_year(client, admin, org, ce):
    org.time_zone = "Pacific/Auckland"
    org.save()
    client.force_login(admin)
    # 31 December 20:00 UTC is already 1 January 2027 in Auckland.
    with _at(2026, 12, 31, hour=20):
        client.post(reverse("catalog:course_new", args=[org.slug]), _course_data([(ce, "2")]))
    assert Course.objects.get().course_id == "NNA-27-00001"


# --- Course create and edit -----------------------------------------------------------------


def test_course_with_several_components_and_blank_rows_ignored(client, org, admin, ce, ethics):
    client.force_login(admin)
    client.post(
        reverse("catalog:course_new", args=[org.slug]),
        _course_data([(ce, "2.5"), (None, ""), (ethics, "1"), (None, "")]),
    )
    course = Course.objects.get()
    assert {c.credit_type.code: c.amount for c in course.components.all()} == {
        "CE": Decimal("2.5"),
        "ETH": Decimal("1"),
    }
    assert course.delivery_format == Course.Format.LIVE_ONLINE


@pytest.mark.parametrize(
    ("rows", "overrides", "error"),
    [
        ([(None, "")], {}, "A course grants at least one credit type."),
        ([("ce", "0")], {}, "Ensure this value is greater than or equal to 0.01."),
        ([("ce", "")], {}, "Enter the amount of this credit type."),
        ([("ce", "1"), ("ce", "2")], {}, "CE is listed twice."),
        ([("ce", "1")], {"title": ""}, "This field is required."),
        (
            [("ce", "1")],
            {"active_from": "2026-05-01", "active_until": "2026-04-01"},
            "Must be on or after the first completion date.",
        ),
    ],
)
def test_course_form_errors_appear_next_to_fields(client, org, admin, ce, rows, overrides, error):
    client.force_login(admin)
    rows = [(ce if t == "ce" else None, amount) for t, amount in rows]
    response = client.post(
        reverse("catalog:course_new", args=[org.slug]), _course_data(rows, **overrides)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Course.objects.exists()


def test_course_form_cannot_use_another_organizations_credit_type(client, org, admin, ce):
    foreign = make_credit_type(make_org("other"), "CE")
    client.force_login(admin)
    response = client.post(
        reverse("catalog:course_new", args=[org.slug]), _course_data([(foreign, "1")])
    )
    assert "Select a valid choice." in response.content.decode()
    assert not Course.objects.exists()


def test_admin_edits_a_course_and_its_components(client, org, admin, ce, ethics):
    course = make_course(org, components={"CE": "2"}, title="Old title")
    client.force_login(admin)
    url = reverse("catalog:course_edit", args=[org.slug, course.pk])
    page = client.get(url).content.decode()
    assert 'value="Old title"' in page and 'value="2.00"' in page
    response = client.post(
        url,
        _course_data([(ce, "3"), (ethics, "0.5")], title="New title", active_until="2026-12-31"),
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title == "New title" and course.active_until == dt.date(2026, 12, 31)
    assert {c.credit_type.code: c.amount for c in course.components.all()} == {
        "CE": Decimal("3"),
        "ETH": Decimal("0.5"),
    }


# --- Viewing --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.REVIEWER, Role.CERT_MANAGER])
def test_other_members_view_courses_but_cannot_edit(client, org, role):
    course = make_course(org, title="Infection control")
    client.force_login(make_member(org, role))
    listing = client.get(reverse("catalog:course_list", args=[org.slug])).content.decode()
    assert "Infection control" in listing and "New course" not in listing
    detail = client.get(reverse("catalog:course_detail", args=[org.slug, course.pk]))
    assert detail.status_code == 200 and "Edit course" not in detail.content.decode()
    assert client.get(reverse("catalog:course_new", args=[org.slug])).status_code == 404
    edit = reverse("catalog:course_edit", args=[org.slug, course.pk])
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"title": "Changed"}).status_code == 404


def test_course_pages_are_404_for_another_organizations_member(client, org):
    course = make_course(org)
    client.force_login(make_member(make_org("other"), Role.ADMIN))
    assert client.get(reverse("catalog:course_list", args=[org.slug])).status_code == 404
    assert (
        client.get(reverse("catalog:course_detail", args=[org.slug, course.pk])).status_code == 404
    )
    assert client.get(reverse("catalog:course_detail", args=["other", course.pk])).status_code == (
        404
    )


def test_course_detail_shows_components_and_links_to_its_ledger(client, org, admin):
    course = make_course(org, components={"CE": "2", "ETH": "0.5"}, title="Ethics in practice")
    client.force_login(admin)
    page = client.get(reverse("catalog:course_detail", args=[org.slug, course.pk])).content.decode()
    assert "Ethics in practice" in page
    assert "2 hours" in page and "0.5 hours" in page
    ledger = reverse("credits:org_ledger", args=[org.slug])
    assert f'href="{ledger}?course={course.course_id}"' in page


def test_course_list_searches_by_id_or_title(client, org, admin):
    wound = make_course(org, title="Wound care")
    sepsis = make_course(org, title="Sepsis update")
    client.force_login(admin)
    url = reverse("catalog:course_list", args=[org.slug])
    page = client.get(url, {"q": "wound"}).content.decode()
    assert wound.course_id in page and sepsis.course_id not in page
    page = client.get(url, {"q": sepsis.course_id.lower()}).content.decode()
    assert sepsis.course_id in page and wound.course_id not in page
    assert "No course matches “nothing”." in client.get(url, {"q": "nothing"}).content.decode()


def test_course_list_is_paginated_without_n_plus_one(
    client, org, admin, django_assert_max_num_queries
):
    for i in range(30):
        make_course(org, components={"CE": "1", "ETH": "1"}, title=f"Course {i:02d}")
    client.force_login(admin)
    url = reverse("catalog:course_list", args=[org.slug])
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert "Page 1 of 2 (30 in all)" in page
    assert "Page 2 of 2" in client.get(url, {"page": 2}).content.decode()


def test_course_list_htmx_request_gets_only_the_rows(client, org, admin):
    make_course(org, title="Wound care")
    client.force_login(admin)
    response = client.get(
        reverse("catalog:course_list", args=[org.slug]), {"q": "wound"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "Wound care" in page and "<html" not in page


def test_course_create_without_csrf_token_is_refused(org, admin, ce):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(
        reverse("catalog:course_new", args=[org.slug]), _course_data([(ce, "2")])
    )
    assert response.status_code == 403
    assert not Course.objects.exists()
