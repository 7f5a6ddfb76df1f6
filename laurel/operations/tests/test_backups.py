"""Backups that are known to restore (docs/operations.md): PostgreSQL's pg_dump -Fc into an
empty database with pg_restore, and SQLite's online backup. Each restored copy needs no
migration (`laurel migrate --check`) and has every Laurel table's rows."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from laurel.audit.services import Actor
from laurel.operations.services import worker_beat
from tests.factories import enter_credit, make_course, make_member, make_org

ROOT = Path(__file__).resolve().parents[3]


def fill() -> None:
    """A small organization's worth of rows in most tables (the demo takes minutes here)."""
    from laurel.certificates.services import signing_key_for
    from laurel.notifications.services import outbox_enqueue

    org = make_org("backup", name="Backup Board")
    admin = make_member(org)
    course = make_course(org)
    for n in range(5):
        enter_credit(org, course, f"p{n}@example.org", actor=Actor(user=admin))
    signing_key_for(org)
    outbox_enqueue(to="a@example.org", template="job_failed", context={"title": "T"})
    worker_beat()


def laurel_tables() -> list[str]:
    return sorted(connection.introspection.table_names())


def counts(cursor, tables) -> dict[str, int]:
    result = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (introspected names)
        result[table] = cursor.fetchone()[0]
    return result


def migrate_check(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LAUREL_ENV": "local",
        "LAUREL_DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "laurel.cli", "migrate", "--check"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


# Committed rows: a backup waits forever for a write transaction of its own connection.
@pytest.mark.django_db(transaction=True)
def test_sqlite_online_backup_restores_every_row_and_needs_no_migration(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's online backup")
    fill()
    tables = laurel_tables()
    with connection.cursor() as cursor:
        before = counts(cursor, tables)
    backup = tmp_path / "backup.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(backup) as target:
        # What `sqlite3 db ".backup file"` does: page by page, while the database is open.
        connection.connection.backup(target, pages=64)
    target.close()
    with sqlite3.connect(backup) as restored:
        after = counts(restored.cursor(), tables)
    assert after == before
    assert before["credits_credit"] == 5 and before["operations_workerheartbeat"] == 1
    check = migrate_check(f"sqlite:///{backup}", tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_restores_into_an_empty_database_with_every_row_and_no_migration(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    import psycopg

    fill()
    tables = laurel_tables()
    with connection.cursor() as cursor:
        before = counts(cursor, tables)
    db = connection.settings_dict
    base = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    dump = tmp_path / "laurel.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "-f", str(dump), f"{base}/{db['NAME']}"], check=True, timeout=300
    )
    restored = f"laurel_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", f"{base}/{restored}", str(dump)],
            check=True, timeout=300,
        )  # fmt: skip
        with psycopg.connect(f"{base}/{restored}") as conn:
            after = counts(conn.cursor(), tables)
        assert after == before
        assert before["credits_credit"] == 5
        check = migrate_check(f"{base}/{restored}", tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
