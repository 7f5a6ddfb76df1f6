"""PostgreSQL commits a range whose credits are all new with a plain INSERT (ids drawn up
front, no ``ON CONFLICT``), and falls back to ``ON CONFLICT DO NOTHING`` when a credit of the
range exists after all, even one another connection is inserting at that very moment: every
credit once, the duplicate row ``skipped_duplicate``, the same rows as the other path."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.credits.models import Credit, CreditComponent
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow
from laurel.imports.tests.conftest import upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEAD = "Course ID,Email,Date Completed\n"


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite commits row by row)")


ROWS = (
    HEAD
    + "NNA-26-00001,ann@example.org,2025-02-01\n"
    + "NNA-26-00002,bob@example.org,2025-02-01\n"
    + "NNA-26-00001,cy@example.org,2025-02-03\n"
)


def validated(org, admin):
    job, _ = upload(org, ROWS, user=admin, start=False)
    services.import_validate(job_id=job.pk)
    job.refresh_from_db()
    assert job.count("invite") == 3
    services.import_commit_start(actor=Actor(user=admin), job=job, enqueue=False)
    return job


def credit_statements(queries) -> list[str]:
    return [q["sql"] for q in queries if "INSERT INTO credits_credit" in q["sql"]]


def test_new_credits_are_inserted_without_on_conflict_and_match_their_rows(org, admin, courses):
    job = validated(org, admin)
    with CaptureQueriesContext(connection) as queries:
        services.import_commit_run(job_id=job.pk)
    [statement] = credit_statements(queries.captured_queries)
    assert "ON CONFLICT" not in statement.split("comp AS")[0]

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportJob.Status.COMMITTED
    assert job.count("held") == 3 and job.count("skipped_duplicate") == 0
    rows = ImportRow.objects.filter(job=job).order_by("number")
    credits = {c.pk: c for c in Credit.objects.filter(organization=org)}
    assert len(credits) == 3
    # Ids in row order, each row linked to the credit of its own e-mail, course and date.
    assert [r.credit_id for r in rows] == sorted(credits)
    for row in rows:
        credit = credits[row.credit_id]
        assert (credit.recipient_email, credit.course_id, credit.completion_date) == (
            row.email,
            row.course_pk,
            row.completion_date,
        )
        assert row.outcome == "held"
    # Course two has two components (CE and ETH), course one one.
    assert CreditComponent.objects.filter(credit__organization=org).count() == 4
    entered = AuditEvent.objects.filter(action="credit.entered")
    assert sorted(int(e.object_id) for e in entered) == sorted(credits)
    assert {e.after["status"] for e in entered} == {"held"}


def test_a_duplicate_committed_by_another_connection_mid_range_falls_back_to_skipping_it(
    org, admin, courses
):
    job = validated(org, admin)
    one, _ = courses
    inserted, release = threading.Event(), threading.Event()

    def other_connection():
        # Inserts ann's credit of row 2 (just the ledger row, so that the import's
        # invitations do not wait for it) and holds its transaction open until the import's
        # range waits for it in the unique index, then commits.
        try:
            with transaction.atomic():
                Credit.objects.create(
                    organization=org,
                    course=one,
                    activity_key=f"course:{one.pk}",
                    title=one.title,
                    recipient_email="ann@example.org",
                    completion_date=date(2025, 2, 1),
                    status=Credit.Status.HELD,
                )
                inserted.set()
                assert release.wait(30)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_connection)
    other.start()
    assert inserted.wait(30)
    result = {}

    def run_commit():
        try:
            with CaptureQueriesContext(connection) as queries:
                services.import_commit_run(job_id=job.pk)
            result["statements"] = credit_statements(queries.captured_queries)
        finally:
            connections.close_all()

    committing = threading.Thread(target=run_commit)
    committing.start()
    with connection.cursor() as cursor:  # wait until the range waits for the other insert
        for _ in range(300):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%%INSERT INTO credits_credit%%'"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the range never waited for the other connection's credit")
    release.set()
    other.join(30)
    committing.join(60)

    # First the plain INSERT (refused once the other credit committed), then ON CONFLICT.
    first, second = result["statements"]
    assert "ON CONFLICT" not in first.split("comp AS")[0]
    assert "ON CONFLICT DO NOTHING" in second
    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportJob.Status.COMMITTED
    assert job.count("held") == 2 and job.count("skipped_duplicate") == 1
    assert ImportRow.objects.get(job=job, number=2).outcome == "skipped_duplicate"
    assert ImportRow.objects.get(job=job, number=2).credit_id is None
    assert Credit.objects.filter(organization=org).count() == 3  # ann's, bob's and cy's
    assert Credit.objects.filter(recipient_email="ann@example.org").count() == 1
    assert CreditComponent.objects.filter(credit__organization=org).count() == 2 + 1
    assert AuditEvent.objects.filter(action="credit.entered").count() == 2
