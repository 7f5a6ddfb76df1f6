"""A real worker killed with SIGKILL mid-commit: the next worker finishes with exactly the
credits the file should give, none twice. PostgreSQL only (real concurrent connections)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import make_course, make_org

ROOT = Path(__file__).resolve().parents[3]
ROWS = 60_000

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def subprocess_env() -> dict:
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {
        **os.environ,
        "DATABASE_URL": url,
        "LAUREL_ENV": "test",
        "LAUREL_TEST_DB_TASKS": "true",
        "PYTHONUNBUFFERED": "1",
    }


def manage(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def worker():
    return manage("db_worker", "--queue-name", "imports", "--interval", "0.2",
                  "--no-startup-delay", "--no-reload")  # fmt: skip


def test_sigkill_mid_commit_then_resume_gives_exact_credits_without_duplicates(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    org = make_org("killtest", course_id_prefix="KIL")
    course = make_course(org)
    lines = ["Course ID,Email,Date Completed"]
    lines += [f"{course.course_id},p{i}@example.org,2025-02-01" for i in range(ROWS)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    with open(path, "rb") as fh:
        job, _ = services.import_create(
            actor=Actor.system("test"),
            organization=org,
            kind="credits",
            upload=fh,
            file_name="big.csv",
            suppress_notifications=True,
            start=False,
        )
    services.import_validate(job_id=job.pk)
    job.refresh_from_db()
    assert job.count("invite") == ROWS
    services.import_commit_start(actor=Actor.system("test"), job=job, enqueue=False)

    # Queue the commit in the database, as the web process would, and start a worker.
    code = f"from laurel.imports.tasks import import_commit_task as t; t.enqueue({job.pk})"
    enqueue = manage("shell", "-c", code)
    assert enqueue.wait(timeout=60) == 0, enqueue.stderr.read().decode()
    first = worker()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.cursor > 0:
                break
            time.sleep(0.05)
        assert job.cursor > 0, "the worker never committed a chunk"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    job.refresh_from_db()
    partial = Credit.objects.filter(organization=org).count()
    assert job.status == ImportJob.Status.COMMITTING
    assert 0 < partial < ROWS, "kill the worker mid-commit (make the file bigger?)"
    # What survived is exactly what the cursor says: whole chunks, nothing half-written.
    assert partial == ImportRow.objects.filter(job=job, number__lte=job.cursor).count()
    assert partial == ImportRow.objects.filter(job=job).exclude(outcome="").count()

    # The heartbeat goes stale; the resume command hands the job to a new worker.
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    resume = manage("resume_stale_jobs")
    assert resume.wait(timeout=60) == 0, resume.stderr.read().decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RESUMING
    second = worker()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status == ImportJob.Status.COMMITTED:
                break
            time.sleep(0.2)
    finally:
        second.terminate()
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
    assert job.status == ImportJob.Status.COMMITTED, job.error
    credits = Credit.objects.filter(organization=org)
    assert credits.count() == ROWS
    repeated = (
        credits.values("recipient_email", "completion_date").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not repeated.exists()
    assert job.count("held") == ROWS
    assert not ImportRow.objects.filter(job=job, outcome="").exists()
