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

from concurrent.futures import ThreadPoolExecutor

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


def analyze_after_bulk_write(written: dict[str, int], *, connections: int = 1) -> list[str]:
    """ANALYZE each table of ``written`` (table name → rows inserted or updated) whose write
    was at least ``SHARE`` of its size as the planner knows it; returns those analyzed.

    With ``connections`` > 1 (PostgreSQL, outside a transaction, whose uncommitted rows other
    connections would not see) the tables are shared out over that many connections side by
    side, the biggest first: each ANALYZE is one backend's CPU, so two cores halve it."""
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
    if connections > 1 and len(stale) > 1 and not connection.in_atomic_block:
        _analyze_side_by_side(stale, min(connections, len(stale)))
    else:
        analyze(*stale)
    return stale


def _analyze_side_by_side(tables: list[str], connections: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relpages FROM pg_class WHERE relname = ANY(%s)", [tables])
        pages = dict(cursor.fetchall())
    shares = [[] for _ in range(connections)]
    loads = [0] * connections
    for table in sorted(tables, key=lambda t: (-pages.get(t, 0), t)):
        least = loads.index(min(loads))
        shares[least].append(table)
        loads[least] += max(pages.get(table, 0), 1)

    def run(share):
        try:
            analyze(*share)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="analyze") as pool:
        for future in [pool.submit(run, share) for share in shares]:
            future.result()
