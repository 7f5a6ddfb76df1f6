from decimal import Decimal

import pytest
from django.core import mail

from laurel.accounts.models import Connection
from laurel.accounts.services import ServiceError
from laurel.certificates.models import Certificate
from laurel.credits.models import Credit
from laurel.events.models import Attendance, Registration
from laurel.events.services import attendance_set, attendance_undo, check_in
from laurel.events.tests.helpers import STAFF, make_event, register
from laurel.integrations.models import WebhookEndpoint, WebhookMessage
from laurel.notifications.models import OutboxMessage
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db
S = Registration.Status


@pytest.fixture
def org():
    return make_org("rea", name="Lakes Realtors", course_id_prefix="LRA")


@pytest.fixture
def hook(org):
    return WebhookEndpoint.objects.create(
        organization=org,
        url="https://hooks.example.com/laurel",
        event_types=[
            "attendance.marked", "attendance.unmarked", "registration.created",
            "registration.cancelled", "credit.held", "credit.offered", "certificate.issued",
        ],
    )  # fmt: skip


def live_credits(event):
    return Credit.objects.filter(source=Credit.Source.ATTENDANCE).exclude(
        status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED]
    )


def test_marking_attended_awards_the_track_credit_certificate_one_email_and_webhook(
    org, hook, django_capture_on_commit_callbacks
):
    agent = make_user("agent@example.com", full_name="Ann Agent")
    event = make_event(org, tracks={"COEC 3.0": {"COEC": "3"}, "COEN 3.0": {"COEN": "3"}})
    [ann] = register(event, agent.email, track="COEC 3.0")
    [bob] = register(event, "bob@example.com", track="COEN 3.0", name="Bob Broker")

    with django_capture_on_commit_callbacks(execute=True):
        result = attendance_set(actor=STAFF, registrations=[ann, bob], state=S.ATTENDED)

    assert result.changed == 2 and result.credits == 2 and result.certificates == 2
    ann_credit = Credit.objects.get(recipient_email=agent.email)
    assert ann_credit.status == Credit.Status.OFFERED  # a verified account: offered
    assert [(c.credit_type.code, c.amount_earned) for c in ann_credit.components.all()] == [
        ("COEC", Decimal("3.00"))
    ]
    assert ann_credit.source_ref == f"registration:{ann.pk}"
    bob_credit = Credit.objects.get(recipient_email="bob@example.com")
    assert bob_credit.status == Credit.Status.HELD
    assert bob_credit.components.get().credit_type.code == "COEN"
    certs = Certificate.objects.filter(organization=org, status=Certificate.Status.VALID)
    assert sorted(c.recipient_email for c in certs) == ["agent@example.com", "bob@example.com"]
    assert Certificate.objects.get(credit=bob_credit).components[0]["code"] == "COEN"
    messages = OutboxMessage.objects.filter(kind="attendance_marked")
    assert sorted(m.to_email for m in messages) == ["agent@example.com", "bob@example.com"]
    marked = WebhookMessage.objects.filter(event_type="attendance.marked")
    assert marked.count() == 2
    payload = marked.get(payload__registration__id=ann.pk).payload
    assert payload["registration"]["credit_ids"] == [ann_credit.pk]
    assert len(mail.outbox) == 2  # sent after commit
    assert "COEC" in mail.outbox[0].body + mail.outbox[1].body


def test_marking_twice_changes_nothing_and_unmarking_revokes_with_reason(org, hook):
    event = make_event(org, components={"FAIRH": "2"})
    [reg] = register(event, "cara@example.com")
    attendance_set(actor=STAFF, registrations=[reg], state=S.ATTENDED)
    again = attendance_set(actor=STAFF, registrations=[reg], state=S.ATTENDED)
    assert again.changed == 0 and again.unchanged == 1
    assert live_credits(event).count() == 1
    assert OutboxMessage.objects.filter(kind="attendance_marked").count() == 1
    assert WebhookMessage.objects.filter(event_type="attendance.marked").count() == 1

    attendance_set(actor=STAFF, registrations=[reg], state=S.NO_SHOW)

    credit = Credit.objects.get(recipient_email="cara@example.com")
    assert credit.status == Credit.Status.REVOKED
    assert credit.revoke_reason == "attendance corrected"
    cert = Certificate.objects.get(credit=credit)
    assert (
        cert.status == Certificate.Status.REVOKED and cert.revoke_reason == "attendance corrected"
    )
    assert WebhookMessage.objects.filter(event_type="attendance.unmarked").count() == 1
    assert not Attendance.objects.filter(revoked_at__isnull=True).exists()

    attendance_set(actor=STAFF, registrations=[reg], state=S.ATTENDED)
    assert live_credits(event).count() == 1
    assert Certificate.objects.filter(status=Certificate.Status.VALID).count() == 1


def test_sessions_award_credit_per_session(org):
    event = make_event(
        org, title="Conference", sessions=[("Ethics", {"COEC": "1.5"}), ("Law", {"LAW": "1"})]
    )
    [reg] = register(event, "dee@example.com")
    attendance_set(actor=STAFF, registrations=[reg], state=S.ATTENDED)
    keys = sorted(live_credits(event).values_list("activity_key", flat=True))
    assert keys == sorted(f"session:{s.pk}" for s in event.sessions.all())
    assert Certificate.objects.filter(status="valid").count() == 2


def test_undo_puts_back_the_last_change(org):
    event = make_event(org, components={"CE": "1"})
    regs = register(event, "a@example.com", "b@example.com", "c@example.com")
    attendance_set(actor=STAFF, registrations=regs[:1], state=S.NO_SHOW)
    attendance_set(actor=STAFF, registrations=regs, state=S.ATTENDED)
    assert live_credits(event).count() == 3

    attendance_undo(actor=STAFF, event=event)

    statuses = dict(Registration.objects.values_list("email", "status"))
    assert statuses == {"a@example.com": "no_show", "b@example.com": "registered",
                        "c@example.com": "registered"}  # fmt: skip
    assert live_credits(event).count() == 0
    attendance_undo(actor=STAFF, event=event)  # then the change before it
    assert Registration.objects.get(email="a@example.com").status == "registered"
    with pytest.raises(ServiceError, match="no change to undo"):
        attendance_undo(actor=STAFF, event=event)


def test_check_in_by_code_and_its_clear_refusals(org):
    event = make_event(org, components={"CE": "1"}, title="Spring class")
    other = make_event(org, title="Autumn class")
    [reg] = register(event, "eve@example.com", name="Eve Early")
    [elsewhere] = register(other, "fay@example.com", name="Fay Far")

    first = check_in(actor=STAFF, event=event, code=reg.check_in_code.lower())
    assert first.ok and "Eve Early is checked in" in first.message
    twice = check_in(actor=STAFF, event=event, code=reg.check_in_code)
    assert not twice.ok and "already checked in" in twice.message
    wrong = check_in(actor=STAFF, event=event, code=elsewhere.check_in_code)
    assert not wrong.ok and "another event" in wrong.message and "Autumn class" in wrong.message
    assert not check_in(actor=STAFF, event=event, code="ZZZZZZ").ok
    assert live_credits(event).count() == 1


def test_full_event_waitlists_and_promotes_in_order(org, hook):
    event = make_event(org, days_ago=-10, capacity=1)
    [first, second, third] = register(event, "1@example.com", "2@example.com", "3@example.com")
    assert [first.status, second.status, third.status] == [S.REGISTERED, S.WAITLISTED, S.WAITLISTED]

    attendance_set(actor=STAFF, registrations=[first], state=S.CANCELLED)

    second.refresh_from_db()
    third.refresh_from_db()
    assert (second.status, third.status) == (S.REGISTERED, S.WAITLISTED)
    assert WebhookMessage.objects.filter(event_type="registration.cancelled").count() == 1


def test_cancelled_event_refuses_registration(org):
    from laurel.events.services import event_cancel

    event = make_event(org, days_ago=-3)
    event_cancel(actor=STAFF, event=event)
    with pytest.raises(ServiceError, match="cancelled"):
        register(event, "late@example.com")


def test_member_id_is_kept_on_the_connection(org):
    event = make_event(org, days_ago=-3)
    register(event, "gus@example.com", member_id="NRDS 123456")
    conn = Connection.objects.get(organization=org, email="gus@example.com")
    assert conn.member_id == "NRDS 123456"


def test_attendance_before_the_event_starts_is_refused(org):
    event = make_event(org, days_ago=-3, components={"CE": "1"})
    [reg] = register(event, "hal@example.com")
    with pytest.raises(ServiceError, match="from the day the event starts"):
        attendance_set(actor=STAFF, registrations=[reg], state=S.ATTENDED)
    reg.refresh_from_db()
    assert reg.status == S.REGISTERED
