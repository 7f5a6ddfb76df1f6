"""Set-based SQL for imports: COPY on PostgreSQL, multi-row statements on SQLite.

The ORM's ``bulk_create`` costs ~20 µs a row in Python; an import writes several rows per
data row (its preview row, the credit, its components, an audit event), so the hot paths
use one statement per chunk instead. Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection

SQLITE_BATCH_PARAMS = 30000  # SQLite's default limit is 32766 bound parameters


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def copy_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; return how many."""
    cols = ", ".join(columns)
    count = 0
    with connection.cursor() as cursor:
        if is_postgres():
            with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # noqa: S608
                write = copy.write_row
                for row in rows:
                    write(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        rows = list(rows)
        cursor.executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )
        return len(rows)


def insert_returning(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    returning: Sequence[str],
    pg_types: Sequence[str],
) -> list[tuple]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the rows that a unique constraint let in.

    On PostgreSQL the values travel as one array per column (``unnest``), one round trip.
    """
    if not rows:
        return []
    cols = ", ".join(columns)
    ret = ", ".join(returning)
    with connection.cursor() as cursor:
        if is_postgres():
            arrays = [list(col) for col in zip(*rows, strict=True)]
            unnest = ", ".join(f"%s::{t}[]" for t in pg_types)
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({unnest}) "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING {ret}",
                arrays,
            )
            return cursor.fetchall()
        out: list[tuple] = []
        per = max(1, SQLITE_BATCH_PARAMS // len(columns))
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), per):
            batch = rows[start : start + per]
            values = ", ".join([one] * len(batch))
            params = [v for row in batch for v in row]
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING {ret}",
                params,
            )
            out.extend(cursor.fetchall())
        return out


def update_outcomes(job_id: int, items: Sequence[tuple[int, str, int | None]]) -> None:
    """Set (row number → outcome, credit id) for one job's preview rows."""
    if not items:
        return
    with connection.cursor() as cursor:
        if is_postgres():
            numbers, outcomes, credit_ids = (list(c) for c in zip(*items, strict=True))
            cursor.execute(
                "UPDATE imports_importrow AS r SET outcome = v.o, credit_id = v.c "
                "FROM unnest(%s::int[], %s::text[], %s::bigint[]) AS v(n, o, c) "
                "WHERE r.job_id = %s AND r.number = v.n",
                [numbers, outcomes, credit_ids, job_id],
            )
            return
        cursor.executemany(
            "UPDATE imports_importrow SET outcome = %s, credit_id = %s "
            "WHERE job_id = %s AND number = %s",
            [(outcome, credit_id, job_id, number) for number, outcome, credit_id in items],
        )
