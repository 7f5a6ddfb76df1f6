"""Benchmark the ledger export: the set-based writer against the old per-row ORM path.

    python bench/exports.py --db postgres --rows 1000000
    python bench/exports.py --db sqlite --rows 100000 --old-rows 20000   # scaled down

Creates its own database (PostgreSQL ``laurel_bench_exports``, or a temporary SQLite file)
with an organization, 500 courses and N credits (one component each, 1 % on bounced
addresses) written by one ``INSERT … SELECT``. Times the background export's writer on all N
rows: on PostgreSQL ``export_file`` as the job runs it, ``COPY (ledger_copy_sql) TO STDOUT``
(the database forms every cell), and everywhere the Python writer (``write_rows`` over
``ledger_rows``: tuples from two streamed queries merged in order), and the path the export
used before (a model object per credit, its components prefetched, the same columns) on the
first ``--old-rows`` rows of the same ledger as the baseline. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import log, setup_database  # noqa: E402


def seed(rows: int):
    import datetime as dt

    from django.db import connection

    from laurel.accounts.models import Organization
    from laurel.catalog.models import Course, CreditType
    from laurel.notifications.models import Suppression

    org = Organization.objects.create(name="Bench", slug="bench", course_id_prefix="BEN")
    ce = CreditType.objects.create(organization=org, code="CE", name="CE")
    courses = Course.objects.bulk_create(
        Course(organization=org, course_id=f"BEN-26-{i:05d}", title=f"Course {i}",
               active_from=dt.date(2024, 1, 1))
        for i in range(500)
    )  # fmt: skip
    first = courses[0].pk
    pg = connection.vendor == "postgresql"
    day = "DATE '2024-01-01' + (n %% 700)"
    if not pg:
        day = "date('2024-01-01', '+' || (n %% 700) || ' days')"
    now = "now()" if pg else "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
            INSERT INTO credits_credit (
                organization_id, course_id, activity_key, title, recipient_email, recipient_name,
                completion_date, status, source, source_ref, note, created_at, offered_at,
                reject_reason, revoke_reason)
            SELECT %s, {first} + n %% 500, 'course:' || ({first} + n %% 500),
                   'Course ' || (n %% 500),
                   'person' || n || '@example' || (n %% 97) || '.org', 'Person ' || n, {day},
                   CASE WHEN n %% 3 = 0 THEN 'held' ELSE 'offered' END, 'import', '', '',
                   {now}, {now}, '', ''
            FROM g
            """,
            [rows, org.pk],
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO credits_creditcomponent (credit_id, credit_type_id, amount_offered, "
            "amount_earned) SELECT id, %s, 1.5, 1.5 FROM credits_credit",
            [ce.pk],
        )
        if pg:
            cursor.execute("ANALYZE")
    Suppression.objects.bulk_create(
        Suppression(email=f"person{n}@example{n % 97}.org", reason="hard_bounce",
                    status_text="5.1.1 user unknown")
        for n in range(100, rows, 100)
    )  # fmt: skip
    log(f"seeded {rows:,} credits in {time.perf_counter() - started:.1f} s")
    return org


def old_ledger_rows(credits):
    """The export as it was: a model object per credit, its components prefetched."""
    from laurel.credits.selectors import _undeliverable, _utc

    for credit in credits:
        components = list(credit.components.all())
        yield [
            credit.pk,
            credit.recipient_email,
            credit.recipient_name,
            credit.course.course_id if credit.course_id else "",
            credit.title,
            credit.completion_date.isoformat(),
            "; ".join(f"{c.amount_earned.normalize():f} {c.credit_type.code}" for c in components),
            "; ".join(f"{c.amount_offered.normalize():f} {c.credit_type.code}" for c in components),
            credit.get_status_display(),
            credit.get_source_display(),
            _utc(credit.created_at),
            _utc(credit.answered_at),
            credit.revoke_reason or credit.reject_reason,
            _undeliverable(
                getattr(credit, "undeliverable_reason", None),
                getattr(credit, "undeliverable_status", None),
            ),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--old-rows", type=int, default=50_000, help="rows of the old path")
    args = parser.parse_args()

    sqlite_path = setup_database(args.db, "laurel_bench_exports")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Prefetch

    fd, out_path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        call_command("migrate", verbosity=0)
        from laurel.credits.models import Credit, CreditComponent
        from laurel.credits.selectors import LEDGER_HEADER, ledger_rows
        from laurel.exports.kinds import KINDS
        from laurel.exports.services import export_file, write_rows
        from laurel.lib.csvfile import write_csv

        org = seed(args.rows)
        credits = Credit.objects.for_org(org)

        started, cpu = time.perf_counter(), time.process_time()
        with open(out_path, "w", newline="", encoding="utf-8") as out:
            written = write_rows(ledger_rows(credits), LEDGER_HEADER, out)
        py_s, py_cpu = time.perf_counter() - started, time.process_time() - cpu
        size_mb = os.path.getsize(out_path) / 1e6
        log(f"set-based, Python: {written:,} rows ({size_mb:.0f} MB) in {py_s:.1f} s")
        new_s = py_s
        if args.db == "postgres":  # what the background job runs there: COPY
            started = time.perf_counter()
            written = export_file(KINDS["ledger"], org, {}, out_path)
            new_s = time.perf_counter() - started
            log(f"set-based, COPY (export_file): {written:,} rows in {new_s:.1f} s")
        with open(out_path, newline="", encoding="utf-8") as fh:
            lines = sum(1 for _ in csv.reader(fh))
        assert written == args.rows and lines == args.rows + 1, (written, lines)

        components = Prefetch(
            "components", queryset=CreditComponent.objects.select_related("credit_type")
        )
        old = (
            credits.with_delivery(reason=True)
            .select_related("course")
            .prefetch_related(components)
            .order_by("-completion_date", "-id")[: args.old_rows]
        )
        started = time.perf_counter()
        with open(out_path, "w", newline="", encoding="utf-8") as out:
            write_csv([LEDGER_HEADER], out=out)
            write_csv(old_ledger_rows(old.iterator(500)), out=out)
        old_s = time.perf_counter() - started
        old_n = min(args.old_rows, args.rows)
        log(f"old per-row path: {old_n:,} rows in {old_s:.1f} s")
    finally:
        os.unlink(out_path)
        if sqlite_path:
            os.unlink(sqlite_path)
    rate, old_rate = written / new_s, old_n / old_s
    print(json.dumps({
        "db": args.db,
        "rows": written,
        "export_rows_per_s": round(rate),  # COPY on PostgreSQL, Python rows on SQLite
        "python_rows_per_s": round(written / py_s),
        "python_rows_per_python_cpu_s": round(written / py_cpu),
        "baseline_rows": old_n,
        "baseline_rows_per_s": round(old_rate),
        "ratio_vs_baseline": round(rate / old_rate, 1),
        "file_mb": round(size_mb, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
