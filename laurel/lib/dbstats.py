"""Planner statistics after bulk writes.

PostgreSQL's autovacuum analyzes a table only after ~10 % of it changed *and* it gets to it,
minutes later; until then the planner believes a table that just grew from 1,000 to
1,000,000 rows still has 1,000, and picks nested loops that take minutes (issue 12). So a
bulk writer (an import's commit, its undo) calls ``analyze_after_bulk_write`` with what it
wrote; a table is analyzed when the write is at least ``SHARE`` of what the planner thinks
it holds. SQLite: ``PRAGMA optimize`` (bounded by ``analysis_limit``), which re-analyzes only
tables whose statistics it considers stale, in milliseconds.
"""

from __future__ import annotations

from django.db import connection

SHARE = 0.10
SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index: milliseconds, not seconds


def analyze(*tables: str) -> None:
    """Refresh the statistics of ``tables`` now (PostgreSQL ``ANALYZE``; SQLite: the cheap,
    bounded ``PRAGMA optimize``)."""
    if not tables:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")  # noqa: S608 (table names, not data)
        elif connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            cursor.execute("PRAGMA optimize")


def planner_rows(table: str) -> float:
    """How many rows the planner believes ``table`` has (PostgreSQL), -1 when never analyzed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    return float(row[0]) if row else -1.0


def analyze_after_bulk_write(written: dict[str, int]) -> list[str]:
    """ANALYZE each table of ``written`` (table name → rows inserted or updated) whose write
    was at least ``SHARE`` of its size as the planner knows it; returns those analyzed."""
    written = {table: rows for table, rows in written.items() if rows > 0}
    if not written:
        return []
    if connection.vendor != "postgresql":
        analyze(*written)
        return sorted(written)
    stale = []
    for table, rows in written.items():
        known = planner_rows(table)
        if known < 0 or rows >= SHARE * known:
            stale.append(table)
    analyze(*stale)
    return stale
