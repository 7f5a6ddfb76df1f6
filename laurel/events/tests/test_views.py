import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from laurel.events.models import Event, Registration
from laurel.events.tests.helpers import make_event, register
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("lakes", name="Lakes Realtors", course_id_prefix="LKR")


@pytest.fixture
def staff(org):
    return make_member(org, Role.STAFF, "staff@lakes.example")


def test_staff_create_an_event_in_its_own_time_zone(client, org, staff):
    client.force_login(staff)
    response = client.post(
        reverse("events:new", args=[org.slug]),
        {
            "title": "Ethics class",
            "starts_at": "2026-03-05T09:00",
            "ends_at": "2026-03-05T12:00",
            "time_zone": "America/Chicago",
            "format": "in_person",
            "venue": "Main office",
            "visibility": "public",
            "registration_open": "on",
            "certificate_issue": "attendance",
        },
    )
    event = Event.objects.get(title="Ethics class")
    assert response.status_code == 302
    assert event.starts_at.isoformat() == "2026-03-05T15:00:00+00:00"  # 09:00 in Chicago
    page = client.get(reverse("events:detail", args=[org.slug, event.pk]))
    assert "Laurel does no invoicing" in page.content.decode()


def test_online_event_without_a_join_link_is_refused_next_to_the_field(client, org, staff):
    client.force_login(staff)
    response = client.post(
        reverse("events:new", args=[org.slug]),
        {"title": "Webinar", "starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T10:00",
         "time_zone": "UTC", "format": "online", "visibility": "public",
         "certificate_issue": "never"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "needs its join link" in response.content.decode()
    assert not Event.objects.exists()


def test_all_registered_to_attended_then_undo_from_the_attendee_list(client, org, staff):
    event = make_event(org, components={"COEC": "3"})
    register(event, "a@example.com", "b@example.com")
    [c] = register(event, "c@example.com")
    client.force_login(staff)
    url = reverse("events:attendance", args=[org.slug, event.pk])
    client.post(url, {"state": "no_show", "scope": "selected", "registration": [c.pk]})

    response = client.post(url, {"state": "attended", "scope": "all_registered"}, follow=True)

    assert "2 marked Attended" in response.content.decode()
    statuses = sorted(Registration.objects.values_list("status", flat=True))
    assert statuses == ["attended", "attended", "no_show"]
    assert Credit.objects.filter(source="attendance", status="held").count() == 2
    response = client.post(reverse("events:undo", args=[org.slug, event.pk]), follow=True)
    assert "Undone: 2" in response.content.decode()
    assert Credit.objects.filter(status="revoked").count() == 2


def test_check_in_page_says_what_happened(client, org, staff):
    event = make_event(org, components={"CE": "1"})
    [reg] = register(event, "door@example.com", name="Dora Door")
    client.force_login(staff)
    url = reverse("events:check_in", args=[org.slug, event.pk])
    first = client.post(url, {"code": f" {reg.check_in_code.lower()} "}).content.decode()
    again = client.post(url, {"code": reg.check_in_code}).content.decode()
    assert "Dora Door is checked in" in first
    assert "already checked in" in again


def test_holder_registers_on_the_public_page_and_waits_when_full(client, org):
    event = make_event(org, days_ago=-7, visibility="public", capacity=1)
    register(event, "first@example.com")
    holder = make_user("late@example.com", full_name="Lee Late")
    client.force_login(holder)
    response = client.post(reverse("events:public", args=[event.pk]), follow=True)
    assert "waitlist (number 1)" in response.content.decode()
    assert Registration.objects.get(holder=holder).status == "waitlisted"


def test_back_office_event_has_no_public_page(client, org):
    event = make_event(org, days_ago=-7)
    assert client.get(reverse("events:public", args=[event.pk])).status_code == 404


def test_ics_file_describes_the_event(client, org, staff):
    event = make_event(org, days_ago=-7, title="Fair, Housing; Update", venue="Hall A")
    client.force_login(staff)
    response = client.get(reverse("events:ics", args=[org.slug, event.pk]))
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "SUMMARY:Fair\\, Housing\\; Update" in body
    assert f"DTSTART:{event.starts_at.strftime('%Y%m%dT%H%M%SZ')}" in body
    assert body.endswith("END:VCALENDAR\r\n")


def test_attendee_list_query_count_does_not_grow_with_people(
    client, org, staff, django_assert_max_num_queries
):
    event = make_event(org, tracks={"A": {"CE": "1"}})
    register(event, *[f"p{n}@example.com" for n in range(30)], track="A")
    client.force_login(staff)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("events:attendees", args=[org.slug, event.pk])).status_code == 200
