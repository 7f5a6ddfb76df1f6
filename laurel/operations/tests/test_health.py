"""/readyz, the worker heartbeat it relies on, and `laurel doctor`."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from laurel.operations.models import WorkerHeartbeat
from laurel.operations.services import worker_beat

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


def test_readyz_is_ok_with_database_storage_and_a_worker_that_beat_just_now(client):
    worker_beat()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {"database": "ok", "storage": "ok", "worker": "ok"},
    }


@pytest.mark.parametrize("last_beat", [None, timedelta(seconds=61), timedelta(hours=3)])
def test_readyz_is_503_naming_the_worker_when_no_worker_beat_in_the_last_minute(client, last_beat):
    if last_beat is not None:
        beat = worker_beat()
        WorkerHeartbeat.objects.filter(pk=beat.pk).update(beat_at=timezone.now() - last_beat)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker"]
    assert body["checks"]["database"] == "ok" and body["checks"]["storage"] == "ok"
    assert "no worker heartbeat" in body["checks"]["worker"]
    assert client.get("/healthz").status_code == 200  # liveness does not depend on workers


def test_readyz_is_503_naming_storage_when_storage_fails(client, monkeypatch):
    from django.core.files.storage import default_storage

    worker_beat()

    def broken(name):
        raise OSError("disk gone")

    monkeypatch.setattr(default_storage, "exists", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


def test_a_worker_beats_again_and_old_workers_are_forgotten():
    first = worker_beat()
    WorkerHeartbeat.objects.create(
        name="gone:1", hostname="gone", pid=1, beat_at=timezone.now() - timedelta(days=2)
    )
    again = worker_beat()
    assert again.pk == first.pk and again.beat_at > first.beat_at
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == [first.name]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_an_idle_laurel_worker_records_its_heartbeat(tmp_path):
    """No task at all: the housekeeping thread still beats, so /readyz sees the worker."""
    db = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        "LAUREL_ENV": "local",
        "LAUREL_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("EMAIL_HOST", None)
    laurel = [sys.executable, "-m", "laurel.cli"]
    subprocess.run([*laurel, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    worker = subprocess.Popen(
        [*laurel, "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        rows = []
        deadline = time.monotonic() + 60
        while not rows and time.monotonic() < deadline:
            time.sleep(0.5)
            with sqlite3.connect(db) as conn:
                rows = conn.execute(
                    "SELECT hostname, pid FROM operations_workerheartbeat"
                ).fetchall()
        assert rows == [(socket.gethostname(), worker.pid)]
    finally:
        worker.terminate()
        worker.wait(timeout=30)


# --- laurel doctor ---------------------------------------------------------------------------


def doctor(*args) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("doctor", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def by_name(output: str) -> dict:
    return {c["name"]: c for c in json.loads(output)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_doctor_reports_an_smtp_host_that_does_not_answer_as_an_error_and_exits_1(settings):
    worker_beat()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    code, out = doctor("--json")
    checks = by_name(out)
    assert code == 1
    assert checks["smtp"]["status"] == "error"
    assert f"127.0.0.1:{settings.EMAIL_PORT}" in checks["smtp"]["message"]
    assert "EMAIL_HOST" in checks["smtp"]["fix"]
    assert checks["database"]["status"] == "ok" and checks["migrations"]["status"] == "ok"


def test_doctor_logs_in_to_a_working_smtp_server_without_sending(settings, mailoutbox):
    from aiosmtpd.controller import Controller

    class Sink:
        received = []

        async def handle_DATA(self, server, session, envelope):
            self.received.append(envelope)
            return "250 OK"

    handler = Sink()
    port = free_port()
    smtpd = Controller(handler, hostname="127.0.0.1", port=port)
    smtpd.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        checks = by_name(doctor("--json")[1])
    finally:
        smtpd.stop()
    assert checks["smtp"]["status"] == "ok", checks["smtp"]
    assert handler.received == []


def test_doctor_reports_a_pending_migration_with_the_fix():
    worker_beat()
    MigrationRecorder(connection).record_unapplied("operations", "0001_worker_heartbeat")
    code, out = doctor()
    assert code == 1
    line = next(line for line in out.splitlines() if " migrations " in line)
    assert line.startswith("ERROR") and "operations.0001_worker_heartbeat" in line
    assert "fix: run: laurel migrate" in out


def test_doctor_reports_a_missing_worker_stale_jobs_and_a_late_outbox(settings):
    from laurel.notifications.models import OutboxMessage

    OutboxMessage.objects.create(
        kind="test",
        to_email="a@example.org",
        subject="s",
        body_text="b",
        created_at=timezone.now() - timedelta(hours=1),
    )
    checks = by_name(doctor("--json")[1])
    assert checks["workers"]["status"] == "error"
    assert checks["outbox"]["status"] == "warning"
    assert "1 of 1 queued" in checks["outbox"]["message"]
    assert checks["disk"]["status"] in {"ok", "warning"}
    assert checks["storage"]["status"] == "ok"
    assert checks["signing_keys"]["status"] == "ok"
    # Test settings are not production ones: said, but a warning, not an error.
    assert checks["configuration"]["status"] == "warning"


def test_doctor_calls_a_short_secret_key_an_error(settings):
    settings.SECRET_KEY = "short"
    checks = by_name(doctor("--json")[1])
    assert checks["configuration"]["status"] == "error"
    assert "SECRET_KEY" in checks["configuration"]["message"]
