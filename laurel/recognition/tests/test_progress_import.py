"""The "progress" import kind: the pipeline's preview, commit and repeat, through the one
progress service."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.audit.services import Actor
from laurel.imports import services
from laurel.imports.models import ImportRow
from laurel.recognition.models import CourseTaker
from laurel.recognition.tests.factories import feed, make_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    cast = make_cast()
    feed(cast.issuer, cast.river_cohort, [("old@river.edu", 100, date(2026, 1, 2), True)])
    return cast


def upload(cast, content, committed):
    with committed():
        job, _ = services.import_create(
            actor=Actor(user=cast.issuer_admin),
            organization=cast.issuer,
            kind="progress",
            upload=SimpleUploadedFile("progress.csv", content.encode()),
            file_name="progress.csv",
        )
    job.refresh_from_db()
    return job


def commit(job, cast, committed):
    with committed():
        services.import_commit_start(actor=Actor(user=cast.issuer_admin), job=job)
    job.refresh_from_db()
    return job


def test_preview_commit_and_a_repeat_that_changes_nothing(cast, committed):
    future = (date.today() + timedelta(days=5)).isoformat()
    content = (
        "Email,Cohort,Percent,Completed,Certified,Name\n"
        "ann@river.edu,1001,45,,no,Ann Arbor\n"
        f"bo@river.edu,{cast.hill_cohort.pk},100%,2026-02-01,yes,Bo Beam\n"
        "cy@river.edu,9999,10,,,Cy\n"
        "dee@river.edu,1001,140,,,Dee\n"
        f"eve@river.edu,1001,10,{future},,Eve\n"
        "old@river.edu,1001,100,2026-01-02,yes,\n"
        "ann@river.edu,1001,50,,no,Ann again\n"
    )
    job = upload(cast, content, committed)
    assert job.status == "validated", job.error
    rows = {r.number: r for r in ImportRow.objects.filter(job=job)}
    assert [rows[n].category for n in range(2, 9)] == [
        "deliverable",
        "deliverable",
        "unknown_course",
        "invalid",
        "invalid",
        "duplicate_existing",
        "duplicate_in_file",
    ]
    assert "between 0 and 100" in rows[5].reason
    job = commit(job, cast, committed)
    assert job.status == "committed" and job.counts["recorded"] == 2
    bo = CourseTaker.objects.get(email="bo@river.edu")
    assert (bo.cohort, bo.percent, bo.completed_on, bo.certified) == (
        cast.hill_cohort,
        100,
        date(2026, 2, 1),
        True,
    )
    assert not job.can_undo()
    again = upload(cast, content.replace("Ann again", "Ann Arbor") + "\n", committed)
    again_rows = {r.number: r.category for r in ImportRow.objects.filter(job=again)}
    assert again_rows[2] == "duplicate_existing" and again_rows[3] == "duplicate_existing"
