"""Admins browse and filter their organization's audit trail."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor, audit_record
from tests.factories import make_course, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind", time_zone="America/New_York")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


def _url(org):
    return reverse("audit:event_list", args=[org.slug])


def _event(org, *, action="course.updated", user=None, at=None, before=None, after=None, ip=None):
    course = make_course(org)
    event = audit_record(
        actor=Actor(user=user, label="" if user else "importer", ip=ip),
        action=action,
        obj=course,
        organization=org,
        before=before,
        after=after,
    )
    if at:
        AuditEvent.objects.filter(pk=event.pk).update(at=at)
    return event


def test_admin_sees_changes_as_a_readable_list_with_ip(client, org, admin):
    _event(
        org,
        user=admin,
        ip="203.0.113.7",
        before={"title": "Old", "delivery_format": "in_person"},
        after={"title": "New", "delivery_format": "in_person", "components": {"CE": "2.00"}},
    )
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    assert "203.0.113.7" in page
    assert re.search(r"<dt>Title</dt><dd><del>Old</del> → <ins>New</ins></dd>", page)
    assert re.search(r"<dt>Components</dt><dd><ins>CE: 2.00</ins></dd>", page)
    assert "Delivery format" not in page  # unchanged fields are left out
    assert "&quot;" not in page.split('id="audit-events"')[1]  # no JSON quoting


def test_filters_by_action_person_object_and_date(client, org, admin):
    other_admin = make_member(org, Role.ADMIN, "other@northwind.test")
    jan = dt.datetime(2026, 1, 10, 15, tzinfo=dt.UTC)
    feb = dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC)
    _event(org, action="course.created", user=admin, at=jan, after={"title": "Jan course"})
    feb_event = _event(
        org, action="credit.offered", user=other_admin, at=feb, after={"title": "Feb credit"}
    )
    audit_record(actor=Actor(user=admin), action="organization.updated", obj=org, organization=org)
    client.force_login(admin)

    def shown(**params):
        page = client.get(_url(org), params).content.decode()
        return {label for label in ("Jan course", "Feb credit") if label in page}

    assert shown() == {"Jan course", "Feb credit"}
    assert shown(action="course.created") == {"Jan course"}
    assert shown(person=str(other_admin.pk)) == {"Feb credit"}
    assert shown(date_from="2026-02-01") == {"Feb credit"}
    assert shown(date_to="2026-01-31") == {"Jan course"}
    assert shown(date_from="2026-01-10", date_to="2026-01-10") == {"Jan course"}
    assert shown(object_type="catalog.course") == {"Jan course", "Feb credit"}
    assert shown(object_type="catalog.course", object_id=feb_event.object_id) == {"Feb credit"}
    assert shown(object_type="accounts.organization") == set()


def test_filter_choices_come_from_fixed_lists_not_the_audit_table(client, org, admin):
    _event(org, action="custom.thing_done", user=admin)
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    assert '<option value="credit.revoked">Credit revoked</option>' in page
    assert 'value="custom.thing_done"' not in page  # not read back from the events
    assert f'<option value="{admin.pk}">admin@northwind.test</option>' in page


def test_lines_read_as_sentences_with_names_not_object_ids(client, org, admin):
    from laurel.accounts.models import Connection
    from laurel.credits.services import credit_revoke
    from tests.factories import enter_credit

    admin.full_name = "Avery Northwind"
    admin.save()
    course = make_course(org)
    credit = enter_credit(org, course, "jo@example.org", name="Jo Newhire")
    credit_revoke(actor=Actor(user=admin), credit=credit, reason="wrong course")
    connection = Connection.objects.get(organization=org, email="jo@example.org")
    AuditEvent.objects.create(
        organization=org,
        action="connection.connected",
        object_type="accounts.connection",
        object_id=str(connection.pk),
        object_repr=f"Connection object ({connection.pk})",  # as older events were written
    )
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    assert (
        f"Avery Northwind revoked Jo Newhire&#x27;s credit for {course.course_id}: wrong course"
        in page
    )
    assert "the connection with jo@example.org" in page
    assert "Connection object" not in page


def test_date_range_uses_the_organizations_time_zone(client, org, admin):
    # 02:00 UTC on 11 January is still 10 January in New York.
    _event(org, at=dt.datetime(2026, 1, 11, 2, tzinfo=dt.UTC), after={"title": "Late night"})
    client.force_login(admin)
    page = client.get(_url(org), {"date_from": "2026-01-10", "date_to": "2026-01-10"})
    assert "Late night" in page.content.decode()
    page = client.get(_url(org), {"date_from": "2026-01-11"})
    assert "Late night" not in page.content.decode()


def test_bad_filter_shows_error_next_to_field(client, org, admin):
    client.force_login(admin)
    page = client.get(_url(org), {"date_from": "yesterday"}).content.decode()
    assert 'id="id_date_from_error"' in page and "Enter a valid date." in page


def test_only_this_organizations_events_are_listed(client, org, admin):
    other = make_org("other")
    _event(other, after={"title": "Secret of other org"})
    _event(org, after={"title": "Ours"})
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    assert "Ours" in page and "Secret of other org" not in page


@pytest.mark.parametrize("role", [Role.STAFF, Role.REVIEWER, Role.CERT_MANAGER])
def test_non_admins_get_404(client, org, role):
    client.force_login(make_member(org, role))
    assert client.get(_url(org)).status_code == 404


def test_admin_of_another_organization_gets_404(client, org):
    client.force_login(make_member(make_org("other"), Role.ADMIN))
    assert client.get(_url(org)).status_code == 404


def test_list_is_paginated_without_n_plus_one(client, org, admin, django_assert_max_num_queries):
    people = [make_member(org, Role.STAFF) for _ in range(5)]
    course = make_course(org)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organization=org,
            actor=people[i % 5],
            action="course.updated",
            object_type="catalog.course",
            object_id=str(course.pk),
            object_repr=str(course),
            before={"n": i},
            after={"n": i + 1},
        )
        for i in range(150)
    )
    client.force_login(admin)
    # Session, user, 2FA check, membership, people, count, page, session save: fixed.
    with django_assert_max_num_queries(12):
        page = client.get(_url(org)).content.decode()
    assert page.count("<dt>N</dt>") == 100
    assert "Page 1 of 2" in page


@pytest.mark.parametrize("microsecond", [0, 123456])
def test_times_show_in_the_organizations_zone_as_djangos_date_format_writes_them(
    client, org, admin, microsecond
):
    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    at = dt.datetime(2026, 1, 11, 2, 5, 9, microsecond, tzinfo=dt.UTC)  # 21:05 on the 10th in NY
    _event(org, at=at)
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    local = timezone.localtime(at, org.tz)
    assert date_format(local, "c") == local.isoformat()
    assert f'<time datetime="{date_format(local, "c")}">2026-01-10 21:05</time>' in page
    assert date_format(local, "Y-m-d H:i") == "2026-01-10 21:05"
