"""An attendance certificate is printed in a name someone gave, never an e-mail's local
part: with no name anywhere it waits until the holder gives one (issue 11)."""

import pytest
from django.test import Client
from django.urls import reverse

from laurel.certificates.models import Certificate, CertificateNameWait
from laurel.events.models import Attendance, Registration
from laurel.events.services import attendance_set, session_attendance_set
from laurel.events.tests.helpers import STAFF, make_event, register
from laurel.notifications.deferred import render_body
from laurel.notifications.models import OutboxMessage
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db
S = Registration.Status


@pytest.fixture
def org():
    return make_org("rea", name="Lakes Realtors", course_id_prefix="LRA")


def test_bulk_issue_prints_the_registration_name_else_the_verified_accounts(org):
    make_user("ann.agent@example.com", full_name="Ann Agent")
    event = make_event(org, components={"COEC": "3"})
    regs = register(event, "ann.agent@example.com", name="")
    regs += register(event, "bob@example.com", name="Bob  Broker")
    result = attendance_set(actor=STAFF, registrations=regs, state=S.ATTENDED)
    assert result.certificates == 2 and result.waiting_for_name == 0
    names = dict(Certificate.objects.values_list("recipient_email", "recipient_name"))
    assert names == {"ann.agent@example.com": "Ann Agent", "bob@example.com": "Bob Broker"}


def test_no_name_anywhere_waits_and_the_holder_giving_one_issues_it(
    org, django_capture_on_commit_callbacks
):
    event = make_event(org, title="Fair Housing Update", components={"COEC": "3"})
    [sam] = register(event, "sam.noname@example.com", name="")
    [bob] = register(event, "bob@example.com", name="Bob Broker")
    with django_capture_on_commit_callbacks(execute=True):
        result = attendance_set(actor=STAFF, registrations=[sam, bob], state=S.ATTENDED)
    # Bob's certificate is issued; Sam's waits (never "sam.noname" on a certificate).
    assert result.certificates == 1 and result.waiting_for_name == 1
    assert list(Certificate.objects.values_list("recipient_email", flat=True)) == [
        "bob@example.com"
    ]
    assert not Certificate.objects.filter(recipient_name__icontains="noname").exists()
    wait = CertificateNameWait.objects.open().get()
    assert wait.recipient_email == "sam.noname@example.com"
    assert wait.attendance.registration == sam
    # Sam's attendance e-mail tells them how to get it.
    message = OutboxMessage.objects.get(kind="attendance_marked", to_email=sam.email)
    text, _ = render_body(message)
    assert "give your name" in text.lower()

    # Sam signs up, verifies the address, and gives a name: the certificate is issued.
    holder = make_user("sam.noname@example.com")
    client = Client()
    client.force_login(holder)
    page = client.get(reverse("credits:locker_certificates")).content.decode()
    assert "Waiting for your name (1)" in page and "Fair Housing Update" in page
    client.post(reverse("credits:locker_give_name"), {"full_name": "Sam Noname"})
    cert = Certificate.objects.get(recipient_email=sam.email)
    assert cert.recipient_name == "Sam Noname" and cert.title == "Fair Housing Update"
    assert [(c["code"], c["amount"]) for c in cert.components] == [("COEC", "3")]
    assert Attendance.objects.get(registration=sam).certificate_id == cert.pk
    assert not CertificateNameWait.objects.open().exists()
    assert OutboxMessage.objects.filter(kind="certificate_issued", to_email=sam.email).exists()
    # Correcting the attendance afterwards revokes that certificate too.
    attendance_set(actor=STAFF, registrations=[sam], state=S.REGISTERED)
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.REVOKED


def test_a_corrected_attendance_no_longer_waits_for_a_name(org):
    event = make_event(org, sessions=[("Ethics", {"COEC": "1.5"}), ("Law", {"LAW": "1"})])
    [sam] = register(event, "sam.noname@example.com", name="")
    ethics, law = event.sessions.order_by("starts_at")
    session_attendance_set(actor=STAFF, registrations=[sam], session=ethics, attended=True)
    session_attendance_set(actor=STAFF, registrations=[sam], session=law, attended=True)
    assert CertificateNameWait.objects.open().count() == 2
    session_attendance_set(actor=STAFF, registrations=[sam], session=law, attended=False)
    [wait] = CertificateNameWait.objects.open()
    assert wait.attendance.session == ethics
    # Giving the name now issues the one session still attended.
    holder = make_user("sam.noname@example.com")
    client = Client()
    client.force_login(holder)
    client.post(reverse("credits:locker_give_name"), {"full_name": "Sam Noname"})
    assert list(Certificate.objects.values_list("title", flat=True)) == [f"{event.title}: Ethics"]
