"""Revoking a certificate: confirmed first with the consequence and a required reason; the
holder is e-mailed; the PDF is served marked REVOKED (the valid bytes stay as they were);
the public page leads with the status."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates import rendering, services
from laurel.certificates.models import Certificate
from laurel.certificates.tests.conftest import issue, pdf_pages
from tests.factories import make_member


def _revoke_url(org, cert):
    return reverse("certificates:revoke", args=[org.slug, cert.pk])


def test_revoke_asks_first_and_states_the_consequence(client, org, admin):
    cert = issue(org, notify=False)
    client.force_login(admin)
    detail = client.get(reverse("certificates:detail", args=[org.slug, cert.pk])).content.decode()
    assert f'href="{_revoke_url(org, cert)}"' in detail  # a link to the confirmation, no form
    page = client.get(_revoke_url(org, cert)).content.decode()
    assert "Revoke certificate NNA-C-" in page
    assert "maria@example.com is e-mailed" in page and "marked REVOKED" in page
    assert 'name="reason"' in page and "required" in page
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.VALID  # looking changes nothing


def test_revoke_without_a_reason_stays_on_the_confirmation_with_the_error(client, org, admin):
    cert = issue(org, notify=False)
    client.force_login(admin)
    response = client.post(_revoke_url(org, cert), {"reason": "  "})
    assert response.status_code == 400
    assert 'id="confirm-reason-error"' in response.content.decode()
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.VALID


def test_revoking_emails_the_holder_with_the_reason(
    client, org, admin, django_capture_on_commit_callbacks
):
    cert = issue(org, notify=False)
    mail.outbox.clear()
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_revoke_url(org, cert), {"reason": "Exam irregularity"})
    assert response.status_code == 302
    [message] = [m for m in mail.outbox if m.to == ["maria@example.com"]]
    assert "revoked your certificate" in message.subject
    assert "Exam irregularity" in message.body and cert.verification_url in message.body


def test_revoked_pdf_is_marked_and_the_valid_bytes_stay_the_same(client, org, admin):
    cert = issue(org, notify=False)
    valid_pdf = rendering.certificate_pdf(cert)
    valid_path = rendering.cache_path(cert)
    assert "REVOKED" not in "".join(pdf_pages(valid_pdf)).replace(" ", "")
    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Fraud")
    cert.refresh_from_db()
    response = client.get(reverse("certificates:verify_pdf", args=[cert.verification_code]))
    text = "".join(pdf_pages(response.content))
    assert "REVOKED" in text.replace(" ", "") and cert.recipient_name in text
    assert rendering.cache_path(cert) != valid_path
    from django.core.files.storage import default_storage

    with default_storage.open(valid_path, "rb") as handle:
        assert handle.read() == valid_pdf  # the issued rendering is untouched


def test_public_page_leads_with_the_status(client, org, admin):
    cert = issue(org, notify=False)
    page = client.get(reverse("certificates:verify", args=[cert.verification_code])).content
    assert re.search(rb'<h1 id="certificate-status"[^>]*>Verified<[^>]*>: certificate', page)
    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Fraud")
    page = client.get(reverse("certificates:verify", args=[cert.verification_code])).content
    assert re.search(rb'<h1 id="certificate-status"[^>]*>Revoked<[^>]*>: certificate', page)


def test_a_revoked_credit_does_not_send_a_second_certificate_email(
    org, admin, django_capture_on_commit_callbacks
):
    from laurel.certificates.models import CertificatePolicy
    from laurel.credits.services import credit_revoke
    from tests.factories import enter_credit, make_course, make_user

    course = make_course(org)
    services.policy_set(
        actor=Actor(user=admin), course=course, issue_on=CertificatePolicy.IssueOn.ENTRY
    )
    make_user("ann@example.org")
    credit = enter_credit(org, course, "ann@example.org", name="Ann Lee")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        credit_revoke(actor=Actor(user=admin), credit=credit, reason="Wrong course")
    assert Certificate.objects.get(credit=credit).status == Certificate.Status.REVOKED
    subjects = [m.subject for m in mail.outbox if m.to == ["ann@example.org"]]
    assert len(subjects) == 1 and "revoked a credit" in subjects[0]


def test_staff_cannot_revoke_certificates(client, org):
    cert = issue(org, notify=False)
    client.force_login(make_member(org, Role.STAFF))
    assert client.get(_revoke_url(org, cert)).status_code == 404
    assert client.post(_revoke_url(org, cert), {"reason": "x"}).status_code == 404
