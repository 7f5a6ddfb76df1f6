import re
import time
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.storage import default_storage

from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.certificates import rendering, services
from laurel.certificates.models import Certificate, CertificatePolicy
from laurel.certificates.tests.conftest import issue, pdf_pages
from laurel.credits.services import credit_accept, dashboard_create
from tests.factories import enter_credit, make_course, make_user

pytestmark = pytest.mark.django_db


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def test_issued_certificate_has_serial_code_signed_credential_and_audit_event(org, committed):
    with committed():
        first = issue(org)
        second = issue(org, recipient_email="Other@Example.com")

    assert first.serial_number == "NNA-C-000001"
    assert second.serial_number == "NNA-C-000002"
    assert len(first.verification_code) >= 22
    assert first.verification_code != second.verification_code
    assert first.status_list_index != second.status_list_index
    assert first.issue_date == org.today()
    assert second.recipient_email == "other@example.com"
    assert first.credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 2
    assert [m.to for m in mail.outbox] == [["maria@example.com"], ["other@example.com"]]
    assert first.verification_url in mail.outbox[0].body


def test_pdf_carries_name_title_credit_and_verification_code(org):
    cert = issue(org)
    text = pdf_pages(rendering.certificate_pdf(cert))
    assert len(text) == 1
    page = squeeze(text[0])
    for expected in ("Maria Schmidt", "Wound Care Essentials", cert.verification_code, "2.5"):
        assert squeeze(expected) in page


@pytest.mark.parametrize("name", ["山田 花子", "Zoë Bra\u0301n\u0303a Nguyễn"])
def test_japanese_and_combining_accent_names_come_out_of_the_pdf(org, name):
    cert = issue(org, recipient_name=name)
    page = pdf_pages(rendering.certificate_pdf(cert))[0]
    assert squeeze(name) in squeeze(page)


def test_template_edit_does_not_change_an_issued_certificates_pdf(org, admin):
    cert = issue(org)
    before = rendering.certificate_pdf(cert)
    template = cert.template_version.template

    version = services.template_update(
        actor=Actor(user=admin),
        template=template,
        accent_color="#aa0000",
        signatory_name="Dr. New Signer",
        design="modern",
    )
    default_storage.delete(rendering.cache_path(cert))  # the cache is derived: rebuild it
    cert.refresh_from_db()
    time.sleep(1.1)  # anything clock-dependent in the file would now differ
    after = rendering.certificate_pdf(cert)
    newer = issue(org)

    assert version.number == 2
    assert after == before
    assert newer.template_version == version
    assert "Dr. New Signer" in pdf_pages(rendering.certificate_pdf(newer))[0]
    assert "Dr. New Signer" not in pdf_pages(after)[0]


def test_template_update_without_visible_change_keeps_the_version(org, admin):
    template = services.default_template(org)
    v1 = template.current_version()
    v = services.template_update(actor=Actor(user=admin), template=template, name="Renamed")
    assert v == v1


def test_revoke_requires_reason_and_is_final(org, admin):
    cert = issue(org)
    with pytest.raises(ServiceError):
        services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="  ")
    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Fraud")
    assert cert.status == Certificate.Status.REVOKED
    with pytest.raises(ServiceError):
        services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Again")
    assert AuditEvent.objects.filter(action="certificate.revoked", object_id=str(cert.pk)).exists()


def test_replace_supersedes_with_a_new_certificate(org, admin):
    cert = issue(org, recipient_name="Maria Shmidt")
    new = services.certificate_replace(
        actor=Actor(user=admin),
        certificate=cert,
        reason="Name misspelt",
        recipient_name="Maria Schmidt",
    )
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.REPLACED
    assert cert.replaced_by == new
    assert cert.revoke_reason == "Name misspelt"
    assert new.status == Certificate.Status.VALID
    assert new.recipient_name == "Maria Schmidt"
    assert new.serial_number != cert.serial_number
    assert new.components == cert.components


def test_expiry_must_be_in_the_future(org):
    with pytest.raises(ServiceError) as exc:
        issue(org, expires_on=org.today())
    assert exc.value.field == "expires_on"


def _credit(org, course, email="nurse@example.com"):
    return enter_credit(org, course, email, name="Nadia Nurse")


def test_credit_policy_entry_issues_on_entry_with_the_credits_data(org):
    course = make_course(org, components={"CE": "3", "ETH": "1"}, title="Ethics at the bedside")
    CertificatePolicy.objects.create(course=course, issue_on="entry", expires_after_days=365)
    credit = _credit(org, course)

    cert = services.certificate_issue_for_credit(credit)
    again = services.certificate_issue_for_credit(credit)

    assert cert == again
    assert cert.credit == credit
    assert cert.recipient_name == "Nadia Nurse"
    assert cert.title == credit.title
    assert cert.completion_date == credit.completion_date
    assert {c["code"]: c["amount"] for c in cert.components} == {"CE": "3", "ETH": "1"}
    assert cert.expires_on == org.today() + timedelta(days=365)


def test_credit_policy_acceptance_waits_for_the_holder(org):
    course = make_course(org)
    holder = make_user("holder@example.com")
    credit = _credit(org, course, "holder@example.com")

    assert services.certificate_issue_for_credit(credit) is None

    dashboard = dashboard_create(holder=holder, name="License")
    credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    cert = services.certificate_issue_for_credit(credit)
    assert cert is not None and cert.recipient_email == "holder@example.com"


def test_credit_policy_never_issues_nothing(org):
    course = make_course(org)
    CertificatePolicy.objects.create(course=course, issue_on="never")
    assert services.certificate_issue_for_credit(_credit(org, course)) is None


def test_revoking_for_a_withdrawn_credit_revokes_its_certificate(org):
    course = make_course(org)
    CertificatePolicy.objects.create(course=course, issue_on="entry")
    credit = _credit(org, course)
    cert = services.certificate_issue_for_credit(credit)
    assert services.certificate_revoke_for_credit(credit, actor=Actor.system("t"), reason="") == 1
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.REVOKED


def test_expiry_reminders_go_at_60_30_and_7_days_once_each(org, committed):
    cert = issue(org, expires_on=org.today() + timedelta(days=90), notify=False)
    start = cert.expires_on - timedelta(days=61)
    sent_days = []
    with committed():
        for offset in range(62):
            day = start + timedelta(days=offset)
            for _ in range(2):  # twice a day: idempotent
                if services.expiry_reminders_send(today=day):
                    sent_days.append((cert.expires_on - day).days)
    assert sent_days == [60, 30, 7]
    assert len(mail.outbox) == 3
    assert "expires in 7 days" in mail.outbox[-1].subject


def test_a_missed_day_is_caught_up_once(org, committed):
    cert = issue(org, expires_on=org.today() + timedelta(days=90), notify=False)
    with committed():
        assert services.expiry_reminders_send(today=cert.expires_on - timedelta(days=25)) == 1
        assert services.expiry_reminders_send(today=cert.expires_on - timedelta(days=24)) == 0
    assert len(mail.outbox) == 1


def test_serials_are_per_organization(org, outsider_org):
    a = issue(org)
    b = issue(outsider_org)
    assert a.serial_number == "NNA-C-000001"
    assert b.serial_number == "SWA-C-000001"
    assert a.completion_date == date(2025, 3, 1)
    assert Decimal(a.components[0]["amount"]) == Decimal("2.5")
