"""The holder's side of certificates: the locker's Certificates section and the credit's tab,
the announcing e-mail, names (never an e-mail's local part, "needs a name" until given),
the transcript, and times in the holder's own zone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates import services as certificates
from laurel.certificates.models import Certificate, CertificateNameWait, CertificatePolicy
from laurel.credits import services
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://laurel.test"


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    course = make_course(org, components={"CE": "2"}, title="Wound care basics")
    certificates.policy_set(
        actor=Actor.system("test"), course=course, issue_on=CertificatePolicy.IssueOn.ENTRY
    )
    return course


@pytest.fixture
def holder():
    return make_user("nurse@example.com", full_name="Nora Nurse")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_locker_lists_certificates_of_every_verified_address_across_organizations(org, course):
    holder = make_user("nurse@example.com", full_name="Nora Nurse")
    EmailAddress.objects.create(user=holder, email="nora@work.example", verified=True)
    EmailAddress.objects.create(user=holder, email="nora@old.example", verified=False)
    other = make_org("southwind", name="Southwind Board", course_id_prefix="SWB")
    system = Actor.system("test")
    manual = certificates.certificate_issue(
        actor=system,
        organization=other,
        recipient_name="Nora Nurse",
        recipient_email="nora@work.example",
        title="Infection control",
        completion_date=date(2025, 3, 1),
    )
    by_policy = enter_credit(org, course, "nurse@example.com")
    unverified = certificates.certificate_issue(
        actor=system,
        organization=other,
        recipient_name="Nora Nurse",
        recipient_email="nora@old.example",
        title="Not yours until verified",
        completion_date=date(2025, 3, 1),
    )
    page = client_for(holder).get(reverse("credits:locker_certificates")).content.decode()
    assert "Certificates (2)" in page
    assert "Infection control" in page and "Southwind Board" in page
    assert "Wound care basics" in page and "Northwind Nursing Association" in page
    assert unverified.title not in page
    cert = Certificate.objects.get(credit=by_policy)
    code = cert.verification_code
    assert reverse("certificates:verify_pdf", args=[code]) in page
    assert reverse("certificates:verify_credential", args=[code]) in page
    assert reverse("certificates:verify", args=[code]) in page
    assert f'data-copy="{cert.verification_url}"' in page
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in page
    assert "linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Flaurel.test%2Fv%2F" in page
    assert manual.serial_number in page


def test_certificate_states_read_as_a_holder_expects(org, holder):
    system = Actor.system("test")

    def issue(title, **kw):
        return certificates.certificate_issue(
            actor=system,
            organization=org,
            recipient_name="Nora Nurse",
            recipient_email=holder.email,
            title=title,
            completion_date=date(2025, 3, 1),
            **kw,
        )

    revoked = issue("Revoked one")
    certificates.certificate_revoke(actor=system, certificate=revoked, reason="Wrong course")
    old = issue("Corrected one")
    new = certificates.certificate_replace(
        actor=system, certificate=old, reason="Name misspelt", recipient_name="Nora Nurse"
    )
    expiring = issue("Expiring one", expires_on=org.today() + timedelta(days=1))
    Certificate.objects.filter(pk=expiring.pk).update(expires_on=date(2025, 1, 1))
    page = client_for(holder).get(reverse("credits:locker_certificates")).content.decode()

    def card(cert):
        return page.split(f'id="certificate-{cert.pk}"')[1].split("</article>")[0]

    assert "Revoked" in card(revoked) and "Wrong course" in card(revoked)
    assert "Copy link" not in card(revoked)  # nothing to share about a revoked certificate
    replaced = card(old)
    assert "Replaced" in replaced and new.serial_number in replaced
    assert new.verification_url in replaced
    assert "Valid" in card(new) and "Copy link" in card(new)
    assert "Expired" in card(expiring) and "2025-01-01" in card(expiring)


def test_credit_issued_with_its_certificate_sends_one_mail_naming_both(org, course):
    credit = enter_credit(org, course, "casey@example.com", name="Casey Rivera")
    cert = Certificate.objects.get(credit=credit)
    mails = OutboxMessage.objects.filter(to_email="casey@example.com")
    assert [m.kind for m in mails] == ["credit_held"]
    [mail] = mails
    assert "and a certificate" in mail.subject
    assert cert.verification_url in mail.body_text and cert.serial_number in mail.body_text


def test_certificate_issued_on_acceptance_is_mailed(
    org, holder, django_capture_on_commit_callbacks
):
    course = make_course(org, components={"CE": "2"}, title="Acceptance course")
    credit = enter_credit(org, course, holder.email)
    assert not Certificate.objects.filter(credit=credit).exists()
    # Signed by a background task once the answer commits.
    with django_capture_on_commit_callbacks(execute=True):
        client_for(holder).post(reverse("credits:locker_answer"), {"accept_one": credit.pk})
    cert = Certificate.objects.get(credit=credit)
    assert cert.recipient_name == "Nora Nurse"
    mail = OutboxMessage.objects.get(to_email=holder.email, kind="certificate_issued")
    assert cert.verification_url in mail.body_text
    # ...and the credit's page has a Certificate tab leading to it.
    page = client_for(holder).get(reverse("credits:locker_credit_detail", args=[credit.pk]))
    body = page.content.decode()
    assert 'href="#certificate"' in body
    assert cert.serial_number in body.split('id="certificate"')[1]


def test_no_name_anywhere_waits_as_needs_a_name_until_the_holder_gives_one(org, course):
    nameless = make_user("sam.noname@example.com")
    credit = enter_credit(org, course, "sam.noname@example.com")
    assert not Certificate.objects.filter(credit=credit).exists()
    assert CertificateNameWait.objects.open().filter(credit=credit).exists()
    # Staff see the count, and the credit says why it has no certificate.
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    staff_page = client_for(admin).get(reverse("certificates:list", args=[org.slug]))
    assert "1 certificate waits for the recipient's name" in staff_page.content.decode()
    detail = client_for(admin).get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    assert 'id="certificate-needs-name"' in detail.content.decode()
    # The holder is asked for it when they open it.
    client = client_for(nameless)
    tab = client.get(reverse("credits:locker_credit_detail", args=[credit.pk])).content.decode()
    assert "waits for your name" in tab
    page = client.get(reverse("credits:locker_certificates")).content.decode()
    assert "Waiting for your name (1)" in page and 'name="full_name"' in page
    refused = client.post(reverse("credits:locker_give_name"), {"full_name": "sam@x.org"})
    assert refused.status_code == 302 and not Certificate.objects.filter(credit=credit).exists()
    client.post(reverse("credits:locker_give_name"), {"full_name": "Sam  Noname"})
    cert = Certificate.objects.get(credit=credit)
    assert cert.recipient_name == "Sam Noname"
    nameless.refresh_from_db()
    assert nameless.full_name == "Sam Noname"
    assert not CertificateNameWait.objects.open().exists()
    assert OutboxMessage.objects.filter(kind="certificate_issued", to_email=nameless.email)
    assert "sam.noname" not in cert.credential["credentialSubject"].get("name", "")


def test_a_held_certificate_without_a_name_is_issued_when_the_person_signs_up_with_one(org, course):
    credit = enter_credit(org, course, "jo.new@example.com")
    assert CertificateNameWait.objects.open().filter(credit=credit).exists()
    client = Client()
    client.post(
        reverse("account_signup"),
        {
            "full_name": "Jo Newhire",
            "email": "jo.new@example.com",
            "password1": "a-long-holder-passphrase",
            "password2": "a-long-holder-passphrase",
        },
    )
    user = EmailAddress.objects.get(email="jo.new@example.com").user
    assert user.full_name == "Jo Newhire"
    address = EmailAddress.objects.get(email="jo.new@example.com")
    address.verified = True
    address.save()
    from allauth.account.signals import email_confirmed

    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)
    assert Certificate.objects.get(credit=credit).recipient_name == "Jo Newhire"


def test_sign_up_asks_the_name_and_the_profile_edits_name_and_time_zone(client):
    form = client.get(reverse("account_signup")).content.decode()
    assert 'name="full_name"' in form and 'autocomplete="name"' in form
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-holder-passphrase",
            "password2": "a-long-holder-passphrase",
        },
    )
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert not EmailAddress.objects.filter(email="new@example.com").exists()
    client.post(
        reverse("account_signup"),
        {
            "full_name": "Robin  Example",
            "time_zone": "Europe/Paris",
            "email": "new@example.com",
            "password1": "a-long-holder-passphrase",
            "password2": "a-long-holder-passphrase",
        },
    )
    user = EmailAddress.objects.get(email="new@example.com").user
    assert (user.full_name, user.time_zone) == ("Robin Example", "Europe/Paris")
    holder = make_user("p@example.com", full_name="Pat")
    c = client_for(holder)
    assert 'value="Pat"' in c.get(reverse("accounts:profile")).content.decode()
    c.post(reverse("accounts:profile"), {"full_name": "Pat Example", "time_zone": "Asia/Tokyo"})
    holder.refresh_from_db()
    assert (holder.full_name, holder.time_zone) == ("Pat Example", "Asia/Tokyo")
    bad = c.post(reverse("accounts:profile"), {"full_name": "", "time_zone": "Mars/Base"})
    assert 'id="id_full_name_error"' in bad.content.decode()
    assert 'id="id_time_zone_error"' in bad.content.decode()


def test_holder_pages_show_times_in_the_holders_time_zone(org, course):
    holder = make_user("tz@example.com", full_name="Tia Zone", time_zone="Asia/Tokyo")
    credit = enter_credit(org, course, holder.email)
    moment = timezone.now().astimezone(holder.tz)
    page = client_for(holder).get(reverse("credits:locker_credit_detail", args=[credit.pk]))
    body = page.content.decode()
    assert "times in Asia/Tokyo" in body
    assert moment.strftime("%Y-%m-%d %H:") in body and "JST" in body
    # Organization pages keep the organization's zone (not the viewer's).
    utc_holder = make_user("utc@example.com", full_name="Uma")
    body = client_for(utc_holder).get(reverse("credits:locker")).content.decode()
    assert "set your time zone" not in body  # only on pages that show times


def test_transcript_shows_name_addresses_and_certificates_and_prints(org, course):
    holder = make_user("nurse@example.com", full_name="Nora Nurse")
    EmailAddress.objects.create(user=holder, email="nora@work.example", verified=True)
    credit = enter_credit(org, course, holder.email)
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    cert = Certificate.objects.get(credit=credit)
    page = client_for(holder).get(reverse("credits:transcript")).content.decode()
    assert "Nora Nurse" in page.split('id="transcript-holder"')[1].split("</dd>")[0]
    addresses = page.split('id="transcript-addresses"')[1].split("</dd>")[0]
    assert "nurse@example.com" in addresses and "nora@work.example" in addresses
    certs = page.split('id="transcript-certificates"')[1]
    assert cert.serial_number in certs and cert.verification_url in certs and "Valid" in certs
    assert "data-print" in page


def test_another_holders_certificate_never_shows(org, course, holder):
    enter_credit(org, course, "someone@example.com", name="Some One")
    page = client_for(holder).get(reverse("credits:locker_certificates")).content.decode()
    assert "Certificates (0)" in page and "Some One" not in page


def test_locker_certificates_queries_do_not_grow(org, holder, django_assert_max_num_queries):
    for i in range(6):
        cert = certificates.certificate_issue(
            actor=Actor.system("test"),
            organization=org,
            recipient_name="Nora Nurse",
            recipient_email=holder.email,
            title=f"Course {i}",
            completion_date=date(2025, 3, 1),
        )
        if i % 2:
            certificates.certificate_replace(
                actor=Actor.system("test"), certificate=cert, reason="fix"
            )
    client = client_for(holder)
    with django_assert_max_num_queries(12):
        client.get(reverse("credits:locker_certificates"))


def test_a_withdrawn_credit_no_longer_waits_for_a_name(org, course):
    nameless = make_user("sam.noname@example.com")
    credit = enter_credit(org, course, nameless.email)
    assert CertificateNameWait.objects.for_org(org).open().count() == 1
    services.credit_revoke(actor=Actor.system("test"), credit=credit, reason="Wrong person")
    assert CertificateNameWait.objects.for_org(org).open().count() == 0
    from laurel.accounts.services import profile_update

    assert profile_update(user=nameless, full_name="Sam Noname") == []
    assert not Certificate.objects.filter(credit=credit).exists()
