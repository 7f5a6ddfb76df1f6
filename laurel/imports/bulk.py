"""Set-based SQL for imports: COPY on PostgreSQL, multi-row statements on SQLite.

The ORM's ``bulk_create`` costs ~20 µs a row in Python; an import writes several rows per
data row (its preview row, the credit, its components, an audit event), so the hot paths
use one statement per chunk instead. Everything here runs inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from laurel.lib import dbstats

SQLITE_BATCH_PARAMS = 30000  # SQLite's default limit is 32766 bound parameters


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def relax_durability() -> None:
    """Inside a chunk's transaction on PostgreSQL: don't wait for the WAL flush at commit.

    A chunk stays atomic (credits, outcomes and the job's cursor commit together or not at
    all); only a crash of the database server itself could lose the last fraction of a
    second of chunks, and the job then resumes from the cursor that survived. Waiting for
    each flush costs more than the chunk's own work on a busy disk.
    """
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def analyze(*tables: str) -> None:
    """PostgreSQL: refresh the planner's statistics of ``tables`` after a bulk write, before
    autovacuum gets to them (SQLite plans these queries well without)."""
    if is_postgres():
        dbstats.analyze(*tables)


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


def _temp_table(cursor, name: str, columns: Sequence[str], pg_types: Sequence[str]) -> str:
    """A session temp table for staging one chunk (emptied at commit)."""
    tmp = f"laurel_stage_{name}"
    cols = ", ".join(f"{c} {t}" for c, t in zip(columns, pg_types, strict=True))
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} ({cols}) ON COMMIT DELETE ROWS")
    cursor.execute(f"DELETE FROM {tmp}")  # noqa: S608 (a second use in one transaction)
    return tmp


def stage(cursor, name, columns, pg_types, rows) -> str:
    """COPY ``rows`` into a temp table: Django's psycopg cursor binds parameters client-side
    (as SQL literals, in Python), which is far slower than COPY for thousands of values."""
    tmp = _temp_table(cursor, name, columns, pg_types)
    with cursor.copy(f"COPY {tmp} ({', '.join(columns)}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)
    return tmp


def insert_returning(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    returning: Sequence[str],
    pg_types: Sequence[str],
) -> list[tuple]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the rows that a unique constraint let in."""
    if not rows:
        return []
    cols = ", ".join(columns)
    ret = ", ".join(returning)
    with connection.cursor() as cursor:
        if is_postgres():
            tmp = stage(cursor, table, columns, pg_types, rows)
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING {ret}"
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
            tmp = stage(cursor, "outcomes", ("n", "o", "c"), ("integer", "text", "bigint"), items)
            # The bounds keep the plan to an index range scan of this chunk's rows: without
            # them (no statistics on the temp table) PostgreSQL hashes all of the job's rows
            # for every chunk, 1 s a chunk at a million rows instead of 50 ms.
            numbers = [item[0] for item in items]
            cursor.execute(
                f"UPDATE imports_importrow AS r SET outcome = v.o, credit_id = v.c "  # noqa: S608
                f"FROM {tmp} AS v WHERE r.job_id = %s AND r.number = v.n "
                f"AND r.number BETWEEN %s AND %s",
                [job_id, min(numbers), max(numbers)],
            )
            return
        cursor.executemany(
            "UPDATE imports_importrow SET outcome = %s, credit_id = %s "
            "WHERE job_id = %s AND number = %s",
            [(outcome, credit_id, job_id, number) for number, outcome, credit_id in items],
        )


def verified_holders(emails: Iterable[str]) -> dict[str, int]:
    """E-mail → user id for the verified addresses among ``emails``.

    On PostgreSQL one array parameter (``= ANY``) instead of the ORM's ``IN (%s, …)`` with
    ten thousand placeholders, which Django compiles and psycopg binds one by one.
    """
    emails = list(emails)
    if not emails:
        return {}
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT email, user_id FROM account_emailaddress "
                "WHERE verified AND email = ANY(%s::text[])",
                [emails],
            )
            return dict(cursor.fetchall())
    from allauth.account.models import EmailAddress

    return dict(
        EmailAddress.objects.filter(email__in=emails, verified=True).values_list("email", "user_id")
    )


def existing_keys(table: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already some row's ``dedupe_key`` in ``table`` (unique index)."""
    if not keys:
        return set()
    found: set[str] = set()
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                f"SELECT dedupe_key FROM {table} WHERE dedupe_key = ANY(%s::text[])",  # noqa: S608
                [list(keys)],
            )
            return {key for (key,) in cursor.fetchall()}
        for start in range(0, len(keys), SQLITE_BATCH_PARAMS):
            part = keys[start : start + SQLITE_BATCH_PARAMS]
            cursor.execute(
                f"SELECT dedupe_key FROM {table} WHERE dedupe_key IN "  # noqa: S608
                f"({', '.join(['%s'] * len(part))})",
                list(part),
            )
            found.update(key for (key,) in cursor.fetchall())
    return found


def insert_objects(model, objs: Sequence, *, batch_size: int = 2000) -> None:
    """``bulk_create`` of unsaved ``objs`` that sets their primary keys, through COPY on
    PostgreSQL: the ids are drawn from the table's sequence first, then the rows are copied
    in, so Django neither compiles a statement per batch nor binds every value client-side
    (10× faster for thousands of rows). SQLite uses ``bulk_create``."""
    objs = list(objs)
    if not objs:
        return
    if not is_postgres():
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{meta.db_table}', '{pk.column}')) "  # noqa: S608
            "FROM generate_series(1, %s)",
            [len(objs)],
        )
        for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
            setattr(obj, pk.attname, value)
            obj._state.adding = False
            obj._state.db = connection.alias
    fields = [f for f in meta.concrete_fields]
    for f in fields:  # defaults that are callables are already applied by __init__
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{model.__name__}.{f.name}: auto_now is not supported here")
    # COPY takes Python values as they are; only JSON needs writing out (and the field's
    # own get_db_prep_save costs ~20 µs a value through the connection proxy).
    from django.db.models import JSONField

    names = [f.attname for f in fields]
    json_at = {i for i, f in enumerate(fields) if isinstance(f, JSONField)}

    def row(obj):
        values = [getattr(obj, name) for name in names]
        for i in json_at:
            if values[i] is not None:
                values[i] = json.dumps(values[i], cls=DjangoJSONEncoder)
        return values

    copy_insert(meta.db_table, [f.column for f in fields], (row(obj) for obj in objs))
