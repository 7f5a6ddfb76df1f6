import pytest

from laurel import demo
from laurel.certificates.models import Certificate
from laurel.credits.models import Credit
from laurel.events.models import Event, Registration

pytestmark = pytest.mark.django_db


def test_demo_events_show_marked_attendance_a_waitlist_and_a_conference():
    demo.load(holders=30, unclaimed=10)
    past = Event.objects.get(title__startswith="Wound care update")
    attended = past.registrations.filter(status=Registration.Status.ATTENDED)
    assert attended.count() == 15
    credits = Credit.objects.filter(
        source=Credit.Source.ATTENDANCE, activity_key=f"event:{past.pk}"
    )
    assert credits.count() == 15
    assert {c.status for c in credits} <= {"held", "offered"}
    assert Certificate.objects.filter(credit__in=credits, status="valid").count() == 15

    upcoming = Event.objects.get(title__startswith="Pressure injury")
    assert upcoming.visibility == "public"
    assert upcoming.registrations.filter(status="registered").count() == 12
    assert upcoming.registrations.filter(status="waitlisted").count() == 3

    conference = Event.objects.get(title__startswith="Spring nursing")
    assert conference.sessions.count() == 2 and conference.tracks.count() == 2
    per_session = Credit.objects.filter(activity_key__startswith="session:")
    assert per_session.count() == 16  # 8 attendees × 2 sessions
    codes = {c.credit_type.code for cr in per_session for c in cr.components.all()}
    assert codes == {"CE", "ETH"}
