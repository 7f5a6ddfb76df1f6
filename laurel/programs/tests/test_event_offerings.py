"""An offering requirement may be satisfied by attending an event (issue 14, 1a): attendance
completes it as accepted course credit does, and leaving Attended undoes that."""

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.events.models import Event, Registration
from laurel.events.services import attendance_set
from laurel.events.tests.helpers import STAFF as EVENT_STAFF
from laurel.events.tests.helpers import make_event, register
from laurel.programs import selectors
from laurel.programs.models import Completion, Enrollment, Offering
from laurel.programs.services import completion_approve, completion_record, enrollments_create
from laurel.programs.tests.helpers import STAFF, make_program, manual, offering
from tests.factories import make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db
S = Registration.Status


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


def enroll(program, *emails, on):
    return enrollments_create(
        actor=STAFF, program=program, people=[(e, "") for e in emails], enrolled_on=on
    )


def statuses(enrollment):
    return [r.status for r in selectors.progress_for([enrollment])[enrollment.pk].rows]


def test_attending_an_offered_event_completes_the_requirement_and_earns(org):
    nurse = make_user("nurse@example.com", full_name="Ada Nurse")
    course = make_course(org, components={"CE": "3"})
    event = make_event(org, title="Wound care workshop", components={"CE": "3"})
    other = make_event(org, title="Another class", components={"CE": "1"})
    program = make_program(
        org,
        requirements=[
            offering("Wound care", course, event_ids=(event.pk,)),
        ],
    )
    [enrollment] = enroll(program, nurse.email, on=date.today() - timedelta(days=30))
    assert statuses(enrollment) == ["No status"]
    # Attending an event the requirement does not name changes nothing.
    attendance_set(actor=EVENT_STAFF, registrations=register(other, nurse.email), state=S.ATTENDED)
    assert statuses(enrollment) == ["No status"]

    [reg] = register(event, nurse.email)
    attendance_set(actor=EVENT_STAFF, registrations=[reg], state=S.ATTENDED)
    enrollment.refresh_from_db()
    assert statuses(enrollment) == ["Complete"]
    assert enrollment.status == Enrollment.Status.EARNED


def test_leaving_attended_undoes_the_completion_but_not_a_manual_one(org):
    event = make_event(org, components={"CE": "3"})
    program = make_program(
        org,
        requirements=[
            offering("Workshop", event_ids=(event.pk,)),
            manual("Exam", needs_approval=True),
        ],
    )
    start = date.today() - timedelta(days=30)
    [ann, bob] = enroll(program, "ann@example.com", "bob@example.com", on=start)
    regs = register(event, "ann@example.com", "bob@example.com")
    # Bulk: both in one change.
    attendance_set(actor=EVENT_STAFF, registrations=regs, state=S.ATTENDED)
    assert statuses(ann) == statuses(bob) == ["Complete", "No status"]
    # Bob's Workshop is also recorded and approved by staff: that one stays.
    workshop = program.current_version.requirements.get(title="Workshop")
    done = completion_record(
        actor=STAFF, enrollment=bob, requirement=workshop, completed_on=date.today()
    )
    if done.status == Completion.Status.AWAITING_APPROVAL:
        completion_approve(actor=STAFF, completion=done)
    attendance_set(actor=EVENT_STAFF, registrations=regs, state=S.REGISTERED)
    assert statuses(ann) == ["No status", "No status"]
    assert statuses(bob) == ["Complete", "No status"]


def test_attendance_before_the_enrollment_does_not_count(org):
    event = make_event(org, days_ago=40, components={"CE": "3"})
    program = make_program(org, requirements=[offering("Workshop", event_ids=(event.pk,))])
    attendance_set(
        actor=EVENT_STAFF, registrations=register(event, "ann@example.com"), state=S.ATTENDED
    )
    [ann] = enroll(program, "ann@example.com", on=date.today() - timedelta(days=10))
    assert statuses(ann) == ["No status"]


def test_staff_name_events_in_the_form_and_the_enrollee_sees_register(org):
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    upcoming = make_event(
        org, title="Spring workshop", days_ago=-10, visibility=Event.Visibility.PUBLIC
    )
    elsewhere = make_event(make_org("southwind"), title="Not ours")
    client = Client()
    client.force_login(admin)
    url = reverse("programs:new", args=[org.slug])
    body = {
        "code": "WC", "name": "Wound care", "window_months": "12", "grace_days": "0",
        "req-TOTAL_FORMS": "1", "req-INITIAL_FORMS": "0", "req-MIN_NUM_FORMS": "0",
        "req-MAX_NUM_FORMS": "30", "req-0-kind": "offering", "req-0-title": "Workshop",
        "req-0-event_ids": str(elsewhere.pk),
    }  # fmt: skip
    refused = client.post(url, body)
    assert f"No event {elsewhere.pk} in this organization" in refused.content.decode()
    body["req-0-event_ids"] = f"{upcoming.pk}"
    client.post(url, body)
    [o] = Offering.objects.filter(requirement__version__program__code="WC")
    assert (o.kind, o.event) == (Offering.Kind.EVENT, upcoming)

    from laurel.programs.models import Program
    from laurel.programs.services import program_set_status

    program = Program.objects.get(code="WC")
    program_set_status(actor=STAFF, program=program, status=Program.Status.ACTIVE)
    nurse = make_user("nurse@example.com", full_name="Ada Nurse")
    enroll(program, nurse.email, on=date.today())
    holder = Client()
    holder.force_login(nurse)
    page = holder.get(reverse("programs:my_programs")).content.decode()
    assert "Spring workshop" in page
    assert reverse("events:public", args=[upcoming.pk]) in page and "Register" in page
    # Once it has taken place there is nothing to register for.
    Event.objects.filter(pk=upcoming.pk).update(
        starts_at=upcoming.starts_at - timedelta(days=20),
        ends_at=upcoming.ends_at - timedelta(days=20),
    )
    page = holder.get(reverse("programs:my_programs")).content.decode()
    assert "Spring workshop" in page
    assert reverse("events:public", args=[upcoming.pk]) not in page


def test_api_defines_and_shows_event_offerings(client, org):
    from laurel.api.services import api_key_create
    from laurel.audit.services import Actor

    event = make_event(org, title="Wound care workshop")
    key = api_key_create(actor=Actor.system("t"), organization=org, name="LMS").full_key
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = {
        "code": "WC",
        "name": "Wound care",
        "window_months": 12,
        "requirements": [{"kind": "offering", "title": "Workshop", "event_ids": [event.pk]}],
    }
    made = client.post(
        "/api/v1/programs", json.dumps(body), content_type="application/json", **headers
    )
    assert made.status_code == 201, made.content
    [req] = made.json()["requirements"]
    assert req["event_ids"] == [event.pk] and req["course_ids"] == []
    body["code"] = "WC2"
    body["requirements"][0]["event_ids"] = [make_event(make_org("southwind")).pk]
    refused = client.post(
        "/api/v1/programs", json.dumps(body), content_type="application/json", **headers
    )
    assert refused.status_code == 422
