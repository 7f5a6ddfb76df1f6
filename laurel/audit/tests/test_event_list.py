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


def test_admin_sees_changes_as_a_compact_diff_with_ip(client, org, admin):
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
    assert re.search(
        r"<code>title</code>: <del[^>]*>&quot;Old&quot;</del> → <ins[^>]*>&quot;New", page
    )
    assert re.search(
        r"<code>components</code>: <ins[^>]*>{&quot;CE&quot;:&quot;2.00&quot;}</ins>", page
    )
    assert "<code>delivery_format</code>" not in page  # unchanged fields are left out


def test_filters_by_action_prefix_actor_type_and_date(client, org, admin):
    other_admin = make_member(org, Role.ADMIN, "other@northwind.test")
    jan = dt.datetime(2026, 1, 10, 15, tzinfo=dt.UTC)
    feb = dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC)
    _event(org, action="course.created", user=admin, at=jan, after={"title": "Jan course"})
    _event(org, action="credit.offered", user=other_admin, at=feb, after={"title": "Feb credit"})
    audit_record(actor=Actor(user=admin), action="organization.updated", obj=org, organization=org)
    client.force_login(admin)

    def shown(**params):
        page = client.get(_url(org), params).content.decode()
        return {label for label in ("Jan course", "Feb credit") if label in page}

    assert shown() == {"Jan course", "Feb credit"}
    assert shown(action="course.") == {"Jan course"}
    assert shown(actor="other@") == {"Feb credit"}
    assert shown(date_from="2026-02-01") == {"Feb credit"}
    assert shown(date_to="2026-01-31") == {"Jan course"}
    assert shown(date_from="2026-01-10", date_to="2026-01-10") == {"Jan course"}
    assert shown(object_type="catalog.course") == {"Jan course", "Feb credit"}
    assert shown(object_type="accounts.organization") == set()


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
    # Session, user, 2FA check, membership, object types, count, page, session save: fixed.
    with django_assert_max_num_queries(12):
        page = client.get(_url(org)).content.decode()
    assert page.count("<code>n</code>") == 100
    assert "Page 1 of 2" in page
