"""What bench/exports.py, bench/imports.py and bench/locker.py share: a timestamped log line
on stderr (imports.py keeps its own, with the peak RSS), and a fresh database of their own
(PostgreSQL ``BENCH_PG_DB``, else a temporary SQLite file)."""

from __future__ import annotations

import os
import sys
import tempfile
import time


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr)


def setup_database(kind: str, default_name: str) -> str | None:
    """Point ``DATABASE_URL`` at an empty database; returns the SQLite file's path, if any."""
    if kind == "postgres":
        import psycopg

        base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
        name = os.environ.get("BENCH_PG_DB", default_name)
        if not name.isidentifier():
            raise SystemExit("BENCH_PG_DB must be a plain identifier")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"{base}/{name}"
        return None
    fd, path = tempfile.mkstemp(suffix=".sqlite3")
    os.close(fd)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return path
