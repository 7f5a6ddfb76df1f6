"""The certificates kind: certifications earned elsewhere, imported as verifiable certificates."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.audit.services import Actor
from laurel.certificates.models import Certificate
from laurel.certificates.services import certificate_issue
from laurel.imports import certificates_kind, services
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import make_credit_type

S = ImportJob.Status
FILE = (
    "Email,Full Name,Credential,Date Awarded,Expiry Date,Hours,Credit Type\n"
    "maria@example.com,Maria Schmidt,Certified Wound Care Nurse,2025-03-05,2030-03-05,10,CE\n"
    "ann@example.org,Ann Lee,Basic Life Support,2025-04-01,,,\n"
    "bob@example.org,Bob Ray,Basic Life Support,2025-13-45,,,\n"
    "cy@example.org,Cy Dee,Infection Control,2025-01-01,,3,XYZ\n"
    "Ann@Example.org,Ann Lee,basic life  support,2025-04-01,,,\n"
    "dora@example.org,Dora Fox,Advanced Cardiac Life Support,2024-06-01,,,\n"
)


@pytest.fixture
def setup(org, admin):
    """CE exists; Dora already holds her ACLS certificate from an earlier import."""
    make_credit_type(org, "CE")
    certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Dora Fox",
        recipient_email="dora@example.org",
        title="Advanced Cardiac Life Support",
        completion_date=date(2024, 6, 1),
        notify=False,
    )
    mail.outbox.clear()


@pytest.fixture
def validated_certs(committed):
    def run(org, user, content=FILE, **options):
        with committed():
            job, _ = services.import_create(
                actor=Actor(user=user),
                organization=org,
                kind="certificates",
                upload=SimpleUploadedFile("certs.csv", content.encode()),
                file_name="certs.csv",
                **options,
            )
        job.refresh_from_db()
        return job

    return run


def rows_by_number(job):
    return {r.number: r for r in ImportRow.objects.filter(job=job)}


def mails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_preview_sorts_good_rows_from_each_kind_of_problem(org, admin, setup, validated_certs):
    job = validated_certs(org, admin)
    assert job.status == S.VALIDATED
    assert job.counts["rows"] == 6
    assert job.counts["deliverable"] == 2
    assert job.counts["invalid"] == 2
    assert job.counts["duplicate_in_file"] == 1
    assert job.counts["duplicate_existing"] == 1
    rows = rows_by_number(job)
    assert rows[2].category == "deliverable" and rows[3].category == "deliverable"
    assert rows[2].expires_on == date(2030, 3, 5)
    assert rows[2].note == "Certified Wound Care Nurse"
    assert (rows[4].category, rows[4].column, rows[4].value) == (
        "invalid",
        "Date Awarded",
        "2025-13-45",
    )
    assert rows[5].category == "invalid"
    assert rows[5].column == "Credit type" and rows[5].value == "XYZ"
    assert "No credit type XYZ" in rows[5].reason
    assert rows[6].category == "duplicate_in_file" and "row 3" in rows[6].reason
    assert rows[7].category == "duplicate_existing"


def test_verify_only_emails_the_report_and_issues_nothing(org, admin, setup, validated_certs):
    job = validated_certs(org, admin, verify_only=True)
    assert job.status == S.VALIDATED
    [report] = mails_to("admin@northwind.test")
    [(name, content, _)] = report.attachments
    assert name == f"import-{job.pk}-problems.csv"
    assert "2025-13-45" in content and "No credit type XYZ" in content
    assert Certificate.objects.count() == 1  # Dora's, from before
    assert mails_to("maria@example.com") == []


def test_commit_issues_verifiable_certificates_and_emails_recipients(
    client, org, admin, setup, validated_certs, commit
):
    job = validated_certs(org, admin)
    job = commit(job, admin)
    assert job.status == S.COMMITTED
    assert job.counts["issued"] == 2
    maria = Certificate.objects.get(recipient_email="maria@example.com")
    assert maria.title == "Certified Wound Care Nurse"
    assert maria.completion_date == date(2025, 3, 5)
    assert maria.expires_on == date(2030, 3, 5)
    assert maria.components == [{"code": "CE", "name": "CE", "unit": "hours", "amount": "10"}]
    ann = Certificate.objects.get(recipient_email="ann@example.org")
    assert ann.components == []
    rows = rows_by_number(job)
    assert rows[2].outcome == "issued" and rows[2].certificate_id == maria.pk
    assert rows[3].certificate_id == ann.pk
    page = client.get(f"/v/{maria.verification_code}").content.decode()
    assert "Valid" in page and "Maria Schmidt" in page and "Certified Wound Care Nurse" in page
    assert "10 hours of CE" in page
    [maria_mail] = mails_to("maria@example.com")
    assert "Certified Wound Care Nurse" in maria_mail.subject
    assert len(mails_to("ann@example.org")) == 1
    [report] = mails_to("admin@northwind.test")
    assert "Certificates issued: 2" in report.body
    assert mails_to("bob@example.org") == [] and mails_to("dora@example.org") == []


def test_suppressed_notifications_issue_without_emailing_recipients(
    org, admin, setup, validated_certs, commit
):
    job = commit(validated_certs(org, admin, suppress_notifications=True), admin)
    assert job.counts["issued"] == 2
    assert Certificate.objects.filter(recipient_email="maria@example.com").exists()
    assert mails_to("maria@example.com") == [] and mails_to("ann@example.org") == []
    assert len(mails_to("admin@northwind.test")) == 1  # the uploader's report still comes


def test_running_the_commit_again_issues_nothing_new(org, admin, setup, validated_certs, commit):
    job = commit(validated_certs(org, admin), admin)
    assert Certificate.objects.count() == 3
    ImportJob.objects.filter(pk=job.pk).update(status=S.COMMITTING, cursor=0, worker_token="")
    services.import_commit_run(job_id=job.pk)
    assert Certificate.objects.count() == 3
    rows = rows_by_number(job)
    assert rows[2].outcome == "issued" and rows[2].certificate_id is not None


def test_a_chunk_that_fails_midway_issues_nothing_and_resumes_cleanly(
    org, admin, setup, validated_certs
):
    job = validated_certs(org, admin, suppress_notifications=True)
    services.import_commit_start(actor=Actor(user=admin), job=job, enqueue=False)
    real = certificates_kind.certificate_issue
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["recipient_email"])
        if len(calls) == 2:
            raise RuntimeError("worker died")
        return real(**kwargs)

    with (
        mock.patch.object(certificates_kind, "certificate_issue", flaky),
        pytest.raises(RuntimeError),
    ):
        services.import_commit_run(job_id=job.pk)
    assert Certificate.objects.count() == 1  # the first row's certificate rolled back too
    ImportJob.objects.filter(pk=job.pk).update(worker_token="")
    job = services.import_commit_run(job_id=job.pk)
    assert job.status == S.COMMITTED
    assert Certificate.objects.count() == 3
    assert Certificate.objects.filter(recipient_email="maria@example.com").count() == 1


def test_undo_revokes_the_imported_certificates(client, org, admin, setup, validated_certs, commit):
    job = commit(validated_certs(org, admin, suppress_notifications=True), admin)
    assert services.import_undo(actor=Actor(user=admin), job=job) == 2
    maria = Certificate.objects.get(recipient_email="maria@example.com")
    assert maria.status == "revoked" and maria.revoke_reason == "Import undone"
    assert Certificate.objects.get(recipient_email="dora@example.org").status == "valid"
    page = client.get(f"/v/{maria.verification_code}").content.decode()
    assert "Import undone" in page


def test_template_download_and_upload_page_offer_the_kind(client, org, admin):
    client.force_login(admin)
    response = client.get(f"/o/{org.slug}/imports/template.csv?kind=certificates")
    assert response.status_code == 200
    first = response.content.decode("utf-8-sig").splitlines()[0]
    assert first == "Email,Name,Certification,Awarded,Expires,Credits,Credit type,Program"
    xlsx = client.get(f"/o/{org.slug}/imports/template.xlsx?kind=certificates")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    page = client.get(f"/o/{org.slug}/imports/new/").content.decode()
    assert 'value="certificates"' in page and "Certificates earned elsewhere" in page


def test_upload_page_creates_a_certificates_import(client, org, admin, setup, committed):
    client.force_login(admin)
    with committed():
        response = client.post(
            f"/o/{org.slug}/imports/new/",
            {"kind": "certificates", "file": SimpleUploadedFile("certs.csv", FILE.encode())},
        )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.kind == "certificates" and job.counts["deliverable"] == 2
    rows = client.get(f"/o/{org.slug}/imports/{job.pk}/rows/?category=deliverable")
    body = rows.content.decode()
    assert "Certification" in body and "Certified Wound Care Nurse" in body
    assert "Course ID" not in body


def test_another_organizations_admin_gets_404_on_the_job(
    client, org, admin, setup, outsider, validated_certs
):
    job = validated_certs(org, admin)
    client.force_login(outsider)
    for path in ("", "report/", "problems.csv"):
        assert client.get(f"/o/{org.slug}/imports/{job.pk}/{path}").status_code == 404
    other = outsider.memberships.first().organization.slug
    assert client.get(f"/o/{other}/imports/{job.pk}/").status_code == 404
    assert client.post(f"/o/{org.slug}/imports/{job.pk}/commit/").status_code == 404
    assert Certificate.objects.count() == 1


def test_command_line_imports_certificates_and_reports_rejected_rows(org, setup, tmp_path):
    import io
    import json

    from django.core.management import call_command

    path = tmp_path / "certs.csv"
    path.write_text(FILE)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "import", "certificates", str(path), "--org", org.slug, "--yes", "--json",
            "--suppress-notifications", stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert exit_.value.code == 1  # some rows were rejected
    summary = json.loads(out.getvalue())
    assert summary["issued"] == 2 and summary["invalid"] == 2 and summary["committed"]
    assert Certificate.objects.filter(recipient_email="ann@example.org").count() == 1


def test_an_address_that_bounced_is_known_undeliverable_and_gets_no_certificate(
    client, org, admin, setup, validated_certs, commit
):
    from laurel.notifications.bounces import BounceReport
    from laurel.notifications.services import bounce_record

    bounce_record(
        report=BounceReport("maria@example.com", "hard", "550 5.1.1 User unknown"), source="file"
    )
    # A complaint stops non-essential mail only: the address is still deliverable.
    bounce_record(report=BounceReport("ann@example.org", "complaint", "ARF"), source="file")
    job = validated_certs(org, admin)
    rows = rows_by_number(job)
    assert rows[2].category == "undeliverable" and not rows[2].included
    assert "550 5.1.1 User unknown" in rows[2].reason
    assert rows[3].category == "deliverable"
    assert job.counts["undeliverable"] == 1 and job.counts["deliverable"] == 1
    client.force_login(admin)
    page = client.get(f"/o/{org.slug}/imports/{job.pk}/").content.decode()
    assert '<dd id="undeliverable-count">1</dd>' in page
    listed = client.get(f"/o/{org.slug}/imports/{job.pk}/rows/?category=undeliverable")
    assert "maria@example.com" in listed.content.decode()
    commit(job, admin)
    assert not Certificate.objects.filter(recipient_email="maria@example.com").exists()
    assert Certificate.objects.filter(recipient_email="ann@example.org").count() == 1


def test_certificate_for_a_program_marks_the_enrollment_earned_on_the_awarded_date(
    org, admin, validated_certs, commit
):
    from laurel.programs import selectors
    from laurel.programs.models import Enrollment
    from laurel.programs.services import enrollments_create
    from laurel.programs.tests.helpers import STAFF, make_program

    program = make_program(org, code="RN-CERT", window_months=24)
    [open_one] = enrollments_create(
        actor=STAFF,
        program=program,
        people=[("maria@example.com", "")],
        enrolled_on=date(2025, 1, 1),
    )
    content = (
        "Email,Full Name,Credential,Date Awarded,Program\n"
        "maria@example.com,Maria Schmidt,RN Certification,2025-03-05,RN-CERT\n"
        "ann@example.org,Ann Lee,RN Certification,2024-11-20,rn-cert\n"
        "cy@example.org,Cy Dee,RN Certification,2025-01-01,NOPE\n"
    )
    job = validated_certs(org, admin, content=content)
    rows = rows_by_number(job)
    assert (rows[4].category, rows[4].column, rows[4].value) == ("invalid", "Program", "NOPE")
    assert rows[2].program_id == rows[3].program_id == program.pk
    commit(job, admin)
    open_one.refresh_from_db()
    assert (open_one.status, open_one.earned_on) == ("earned", date(2025, 3, 5))
    assert open_one.certificate.title == "RN Certification"
    ann = Enrollment.objects.get(email="ann@example.org")
    assert (ann.status, ann.earned_on, ann.enrolled_on) == (
        "earned",
        date(2024, 11, 20),
        date(2024, 11, 20),
    )
    assert ann.certificate.recipient_email == "ann@example.org"
    assert Certificate.objects.filter(recipient_email="ann@example.org").count() == 1  # not twice
    assert selectors.trackers(program) == selectors.trackers_recount(program)
    assert selectors.trackers(program)["earned"] == 2
    # The same certificates again: already issued, so nothing is left to commit.
    again = validated_certs(org, admin, content=content.replace("Program\n", "Program \n"))
    assert again.counts.get("deliverable", 0) == 0
    assert again.counts["duplicate_existing"] == 2
    assert Enrollment.objects.filter(program=program).count() == 2
