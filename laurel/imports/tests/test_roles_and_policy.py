"""Who imports what (seed 001: certifications administrators import certificates), and
imported credits following their course's certificate policy as single entry does."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates.models import Certificate, CertificatePolicy
from laurel.certificates.services import policy_set
from laurel.credits.models import Credit
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import make_member

CERTS = "Email,Name,Certification,Awarded\nmaria@example.com,Maria Schmidt,BLS,2025-03-05\n"
CREDITS = (
    "Course ID,Email,Completion date,Name\n"
    "NNA-26-00001,ann@example.org,2025-03-01,Ann Lee\n"
    "NNA-26-00001,bo@example.org,2025-03-01,Bo Ray\n"
    "NNA-26-00002,cy@example.org,2025-03-01,Cy Dee\n"
)


def _upload_page(client, org, kind, content):
    return client.post(
        reverse("imports:upload", args=[org.slug]),
        {"kind": kind, "file": SimpleUploadedFile(f"{kind}.csv", content.encode())},
    )


def test_certificate_manager_imports_certificates_but_not_credits(client, org, committed):
    manager = make_member(org, Role.CERT_MANAGER, "cm@northwind.test")
    client.force_login(manager)
    page = client.get(reverse("imports:upload", args=[org.slug])).content.decode()
    assert '<option value="certificates"' in page
    assert '<option value="credits"' not in page
    with committed():
        response = _upload_page(client, org, "certificates", CERTS)
    job = ImportJob.objects.get(organization=org)
    assert response.status_code == 302 and job.kind == "certificates"
    assert client.get(reverse("imports:detail", args=[org.slug, job.pk])).status_code == 200
    # A credits file is not theirs to import.
    response = _upload_page(client, org, "credits", CREDITS)
    assert response.status_code == 200 and ImportJob.objects.count() == 1


def test_staff_imports_credits_and_cannot_open_a_certificates_import(client, org, admin, committed):
    staff = make_member(org, Role.STAFF, "staff@northwind.test")
    with committed():
        job, _ = services.import_create(
            actor=Actor(user=admin),
            organization=org,
            kind="certificates",
            upload=SimpleUploadedFile("c.csv", CERTS.encode()),
            file_name="c.csv",
        )
    client.force_login(staff)
    page = client.get(reverse("imports:upload", args=[org.slug])).content.decode()
    assert '<option value="credits"' in page and '<option value="certificates"' not in page
    assert client.get(reverse("imports:detail", args=[org.slug, job.pk])).status_code == 404
    assert "c.csv" not in client.get(reverse("imports:list", args=[org.slug])).content.decode()


@pytest.mark.parametrize("role", [Role.REVIEWER])
def test_reviewers_cannot_import(client, org, role):
    client.force_login(make_member(org, role))
    assert client.get(reverse("imports:upload", args=[org.slug])).status_code == 404


def test_imported_credits_follow_the_certificate_policy_like_single_entry(
    org, admin, courses, validated, commit
):
    one, two = courses
    policy_set(actor=Actor(user=admin), course=one, issue_on=CertificatePolicy.IssueOn.ENTRY)
    job = commit(validated(org, CREDITS, user=admin), admin)
    assert job.status == ImportJob.Status.COMMITTED
    certs = Certificate.objects.filter(organization=org)
    # Course one issues on entry: a certificate per credit, named as in the file; course two
    # keeps the default (on acceptance): none yet.
    assert sorted(certs.values_list("recipient_name", flat=True)) == ["Ann Lee", "Bo Ray"]
    assert set(certs.values_list("course", flat=True)) == {one.pk}
    for cert in certs:
        assert cert.credit.course_id == one.pk and cert.credit.source == Credit.Source.IMPORT
    assert job.count("certificates") == 2
    linked = ImportRow.objects.filter(job=job, certificate_id__isnull=False)
    assert set(linked.values_list("certificate_id", flat=True)) == set(
        certs.values_list("pk", flat=True)
    )


def test_import_without_entry_policies_issues_none(org, admin, courses, validated, commit):
    job = commit(validated(org, CREDITS, user=admin), admin)
    assert job.status == ImportJob.Status.COMMITTED
    assert not Certificate.objects.filter(organization=org).exists()
    assert job.count("certificates") == 0


def test_running_the_policy_step_twice_issues_nothing_twice(org, admin, courses, validated, commit):
    one, _ = courses
    policy_set(actor=Actor(user=admin), course=one, issue_on=CertificatePolicy.IssueOn.ENTRY)
    job = commit(validated(org, CREDITS, user=admin), admin)
    token = "again"
    ImportJob.objects.filter(pk=job.pk).update(worker_token=token)
    assert services._certificates_by_policy(job, token) == 0
    assert Certificate.objects.filter(organization=org).count() == 2


def test_undoing_the_import_revokes_the_certificates_of_revoked_credits_quietly(
    org, admin, courses, validated, commit, committed
):
    one, _ = courses
    policy_set(actor=Actor(user=admin), course=one, issue_on=CertificatePolicy.IssueOn.ENTRY)
    job = commit(validated(org, CREDITS, user=admin), admin)
    mail.outbox.clear()
    with committed():
        services.import_undo_start(actor=Actor(user=admin), job=job, reason="wrong file")
    statuses = set(Certificate.objects.filter(organization=org).values_list("status", flat=True))
    assert statuses == {Certificate.Status.REVOKED}
    # The undo notice tells each recipient; no separate certificate e-mail.
    assert not [m for m in mail.outbox if "revoked your certificate" in m.subject]
