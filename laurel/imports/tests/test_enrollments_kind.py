"""The enrollments kind: people enrolled in programs from a file, with optional completion
records; unknown addresses wait for a verified e-mail and are invited."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from laurel.accounts.models import Connection
from laurel.audit.services import Actor
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow
from laurel.programs import selectors
from laurel.programs.models import Completion, Enrollment
from laurel.programs.services import enrollments_create
from laurel.programs.tests.helpers import STAFF, hours, make_program, manual
from tests.factories import make_user

S = ImportJob.Status
FILE = (
    "Email,Program,Enrollment Date,Name,Requirement,Completed,Grade\n"
    "ann@example.org,RN-CERT,2025-01-10,Ann Lee,,,\n"
    "new@example.org,rn-cert,2025-01-10,New Person,Exam,2025-02-01,88\n"
    "bob@example.org,RN-CERT,2025-01-10,Bob Ray,Exam,2025-02-01,50\n"
    "cy@example.org,NOPE,2025-01-10,Cy Dee,,,\n"
    "dora@example.org,RN-CERT,,Dora Fox,,,\n"
    "ann@example.org,RN-CERT,2025-01-10,Ann Lee,,,\n"
    "eve@example.org,RN-CERT,2025-01-10,Eve,Essay,2025-02-01,\n"
    "fay@example.org,RN-CERT,2025-01-10,Fay,CE hours,2025-02-01,\n"
)


@pytest.fixture
def program(org):
    return make_program(
        org,
        code="RN-CERT",
        window_months=24,
        requirements=[
            manual("Exam", needs_grade=True, min_grade=Decimal("70")),
            hours("CE", "12", title="CE hours"),
        ],
    )


@pytest.fixture
def people(org, program):
    """Ann has an account and is connected; Dora is enrolled already."""
    ann = make_user("ann@example.org")
    Connection.objects.create(organization=org, email=ann.email, status="connected")
    enrollments_create(actor=STAFF, program=program, people=[("dora@example.org", "")])
    mail.outbox.clear()
    return ann


def validated(org, user, committed, content=FILE):
    with committed():
        job, _ = services.import_create(
            actor=Actor(user=user),
            organization=org,
            kind="enrollments",
            upload=SimpleUploadedFile("enrollments.csv", content.encode()),
            file_name="enrollments.csv",
        )
    job.refresh_from_db()
    return job


def test_preview_sorts_rows_and_commit_enrolls_invites_and_records_completions(
    org, admin, program, people, committed, commit
):
    job = validated(org, admin, committed)
    rows = {r.number: r for r in ImportRow.objects.filter(job=job)}
    assert job.status == S.VALIDATED
    assert rows[2].category == "deliverable"  # Ann: connected
    assert rows[3].category == "invite"  # no connection: will be invited
    assert (rows[4].category, rows[4].column) == ("invalid", "Grade")  # below 70
    assert rows[5].category == "unknown_course" and rows[5].value == "NOPE"
    assert rows[6].category == "duplicate_existing"  # Dora is enrolled already
    assert rows[7].category == "duplicate_in_file" and "row 2" in rows[7].reason
    assert rows[8].category == "invalid" and "no requirement" in rows[8].reason
    assert rows[9].category == "invalid" and "ledger" in rows[9].reason
    assert Enrollment.objects.filter(program=program).count() == 1  # nothing yet

    job = commit(job, admin)
    assert job.status == S.COMMITTED
    assert job.counts["enrolled"] == 2
    ann = Enrollment.objects.get(email="ann@example.org")
    assert (ann.enrolled_on, ann.holder.email) == (date(2025, 1, 10), "ann@example.org")
    new = Enrollment.objects.get(email="new@example.org")
    assert new.holder is None and new.name == "New Person"  # waits for a verified address
    exam = Completion.objects.get(enrollment=new)
    assert (exam.status, exam.grade) == ("complete", Decimal("88.00"))
    assert Connection.objects.get(organization=org, email="new@example.org").status == "invited"
    assert any(m.to == ["new@example.org"] for m in mail.outbox)
    assert selectors.trackers(program) == selectors.trackers_recount(program)
    assert selectors.trackers(program)["enrolled"] == 3

    # The person verifies the address: the enrollment reaches their account.
    user = make_user("someone@example.net")
    EmailAddress.objects.create(user=user, email="new@example.org", verified=False)
    from laurel.programs.services import enrollments_deliver_for_email

    enrollments_deliver_for_email(user=user, email="new@example.org")
    new.refresh_from_db()
    assert new.holder == user

    # The same file again: nobody is enrolled twice, no completion recorded twice.
    again = validated(org, admin, committed, FILE.replace("Grade\n", "Grade \n"))
    assert again.counts.get("deliverable", 0) + again.counts.get("invite", 0) == 0
    assert Completion.objects.count() == 1


def test_cli_imports_enrollments_like_the_other_kinds(org, program, people, tmp_path):
    path = tmp_path / "enrollments.csv"
    path.write_text("Email,Program\nzed@example.org,RN-CERT\n")
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import", "enrollments", str(path), "--org", "northwind", "--yes", "--json",
            stdout=out, stderr=err,
        )  # fmt: skip
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["invite"] == 1
    zed = Enrollment.objects.get(email="zed@example.org")
    assert zed.enrolled_on == org.today() and zed.status == "enrolled"


def test_upload_page_offers_the_kind_and_its_template(client, org, admin):
    client.force_login(admin)
    response = client.get(f"/o/{org.slug}/imports/template.csv?kind=enrollments")
    first = response.content.decode("utf-8-sig").splitlines()[0]
    assert first == "Email,Program,Enrolled,Name,Requirement,Completed,Grade"
    assert "Program enrollments" in client.get(f"/o/{org.slug}/imports/new/").content.decode()
