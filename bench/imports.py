"""Benchmark the credits import end to end through the real services.

    python bench/imports.py --rows 1000000 --db postgres
    python bench/imports.py --rows 100000 --db sqlite

Creates its own database (PostgreSQL ``laurel_bench``, or a temporary SQLite file), an
organization with 500 courses and 100,000 verified accounts, and a credits CSV of N rows over
200,000 distinct e-mails (half with accounts), 1 % invalid rows and 0.5 % duplicates. Times
validation (upload → preview rows) and commit (credits, components, audit events,
invitations, outcomes, digest outbox rows), then imports the first 20,000 rows of the same
file through django-import-export's ``ModelResource`` as the baseline. The last line printed
is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import benchdb  # noqa: E402

PEOPLE = 200_000
WITH_ACCOUNTS = 100_000
COURSES = 500
CPU: dict[str, float] = {}  # this process's CPU seconds per phase (not the database's)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text} (peak RSS {rss_mb():.0f} MB)", file=sys.stderr)


def email_of(person: int) -> str:
    return f"person{person}@example{person % 97}.org"


def write_file(path: str, rows: int, seed: int = 7) -> None:
    """Rows over 200,000 people and 500 courses; 1 % invalid, 0.5 % exact duplicates."""
    rng = random.Random(seed)
    start = dt.date(2025, 1, 1)
    dates = [(start + dt.timedelta(days=d)).strftime("%m/%d/%Y") for d in range(365)]
    recent: list[list[str]] = []
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["Course ID", "Email", "Date Completed", "Name"])
        for n in range(rows):
            if n % 200 == 199 and recent:  # 0.5 % repeat an earlier row
                writer.writerow(rng.choice(recent))
                continue
            person = rng.randrange(PEOPLE)
            row = [
                f"BEN-26-{rng.randrange(COURSES):05d}",
                email_of(person),
                rng.choice(dates),
                f"Person {person}",
            ]
            if n % 100 == 50:  # 1 % invalid: a bad e-mail or an impossible date
                if n % 200 == 50:
                    row[1] = "not-an-email"
                else:
                    row[2] = "13/45/2025"
            else:
                if len(recent) < 1000:
                    recent.append(row)
                else:
                    recent[rng.randrange(1000)] = row
            writer.writerow(row)


def setup_database(kind: str) -> str | None:
    return benchdb.setup_database(kind, "laurel_bench")  # parallel runs: BENCH_PG_DB each


def seed(org_slug: str = "bench", prefix: str = "BEN", accounts: bool = True):
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password

    from laurel.accounts.models import Membership, Organization, Role, User
    from laurel.catalog.models import Course, CourseComponent, CreditType

    org = Organization.objects.create(
        name=f"Bench {org_slug}", slug=org_slug, course_id_prefix=prefix, date_format="US"
    )
    admin = User.objects.create_user(email=f"admin@{org_slug}.test", password=None)
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    ce = CreditType.objects.create(organization=org, code="CE", name="CE")
    courses = Course.objects.bulk_create(
        Course(
            organization=org,
            course_id=f"{prefix}-26-{i:05d}",
            title=f"Course {i}",
            active_from=dt.date(2024, 1, 1),
        )
        for i in range(COURSES)
    )
    CourseComponent.objects.bulk_create(
        CourseComponent(course=c, credit_type=ce, amount="1.5") for c in courses
    )
    unusable = make_password(None)
    for start in range(0, WITH_ACCOUNTS if accounts else 0, 10_000):
        users = User.objects.bulk_create(
            User(email=email_of(p), password=unusable) for p in range(start, start + 10_000)
        )
        EmailAddress.objects.bulk_create(
            EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
        )
    return org, admin


def run_laurel(org, admin, path: str) -> tuple[float, float, dict, int]:
    from laurel.audit.services import Actor
    from laurel.imports import services

    actor = Actor(user=admin)
    cpu = time.process_time()
    started = time.perf_counter()
    with open(path, "rb") as fh:
        job, _ = services.import_create(
            actor=actor,
            organization=org,
            kind="credits",
            upload=fh,
            file_name="bench.csv",
            start=False,
        )
    services.import_validate(job_id=job.pk)
    validate_s = time.perf_counter() - started
    CPU["validate"] = time.process_time() - cpu
    job.refresh_from_db()
    assert job.status == "validated", job.error
    log(f"validated {job.counts} in {validate_s:.1f} s")
    cpu = time.process_time()
    started = time.perf_counter()
    services.import_commit_start(actor=actor, job=job, enqueue=False)
    services.import_commit_run(job_id=job.pk)
    commit_s = time.perf_counter() - started
    CPU["commit"] = time.process_time() - cpu
    job.refresh_from_db()
    assert job.status == "committed", job.error
    log(f"committed {job.counts} in {commit_s:.1f} s")
    return validate_s, commit_s, job.counts, job.pk


FLOOR_TABLES = {
    # staged copy ← the rows the commit wrote for this organization (filled before timing)
    "credits_credit": "SELECT c.* FROM credits_credit c WHERE c.organization_id = %(org)s",
    "credits_creditcomponent": (
        "SELECT p.* FROM credits_creditcomponent p JOIN credits_credit c ON c.id = p.credit_id "
        "WHERE c.organization_id = %(org)s"
    ),
    "audit_auditevent": (
        "SELECT e.* FROM audit_auditevent e WHERE e.organization_id = %(org)s "
        "AND e.action = 'credit.entered'"
    ),
    "imports_importrow": "SELECT r.* FROM imports_importrow r WHERE r.job_id = %(job)s",
}


def run_floor(org, job_id: int) -> tuple[float, int]:
    """The machine's floor for the commit (PostgreSQL): the same final rows (credits,
    components, ``credit.entered`` audit events, the rows with their outcomes) written by one
    bare ``INSERT … SELECT`` from already-staged tables into empty tables with the same
    indexes (``LIKE … INCLUDING ALL``; no foreign keys, no triggers). Returns its seconds
    and how many credits it wrote."""
    from django.db import connection

    params = {"org": org.pk, "job": job_id}
    with connection.cursor() as cursor:
        for table, select in FLOOR_TABLES.items():
            cursor.execute(f"CREATE UNLOGGED TABLE floor_stage_{table} AS {select}", params)
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            cursor.execute(f"ANALYZE floor_stage_{table}")
        cursor.execute("SELECT count(*) FROM floor_stage_credits_credit")
        [credits] = cursor.fetchone()
        writes = [
            f"w_{table} AS (INSERT INTO floor_{table} SELECT * FROM floor_stage_{table})"
            for table in FLOOR_TABLES
        ]
        started = time.perf_counter()
        cursor.execute(f"WITH {', '.join(writes)} SELECT 1")
        floor_s = time.perf_counter() - started
        for table in FLOOR_TABLES:
            cursor.execute(f"DROP TABLE floor_stage_{table}, floor_{table}")
    log(f"floor: {credits} credits with their components, audit events and rows in {floor_s:.1f} s")
    return floor_s, credits


def run_parse(rows: int) -> float:
    """bench/parse.py's parse-and-validate rate (rows/s) over a file of the same size."""
    sys.path.insert(0, str(ROOT / "bench"))
    import parse

    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        parse.write_file(path, rows)
        count, _, seconds, _ = parse.time_records(path, validate=True)
    finally:
        os.unlink(path)
    log(f"parse + validate (bench/parse.py): {count} rows in {seconds:.1f} s")
    return count / seconds


def run_baseline(org, path: str, rows: int) -> tuple[float, int]:
    """The first ``rows`` rows through a plain django-import-export ModelResource."""
    import tablib
    from import_export import fields, resources, widgets

    from laurel.catalog.models import Course
    from laurel.credits.models import Credit

    class CreditResource(resources.ModelResource):
        course = fields.Field(
            attribute="course",
            column_name="Course ID",
            widget=widgets.ForeignKeyWidget(Course, field="course_id"),
        )
        recipient_email = fields.Field(attribute="recipient_email", column_name="Email")
        completion_date = fields.Field(
            attribute="completion_date",
            column_name="Date Completed",
            widget=widgets.DateWidget(format="%m/%d/%Y"),
        )
        recipient_name = fields.Field(attribute="recipient_name", column_name="Name")

        class Meta:
            model = Credit
            fields = ("course", "recipient_email", "completion_date", "recipient_name")
            import_id_fields = ()
            skip_unchanged = False

        def before_save_instance(self, instance, row, **kwargs):
            instance.organization = org
            instance.activity_key = f"course:{instance.course_id}"
            instance.title = instance.course.title
            instance.status = Credit.Status.HELD
            instance.source = Credit.Source.IMPORT
            instance.source_ref = "baseline"

    dataset = tablib.Dataset()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        dataset.headers = next(reader)
        for n, row in enumerate(reader):
            if n >= rows:
                break
            # The same rows, for the baseline's own organization (its courses are BEB-…), so
            # they do not collide with the credits Laurel has just created.
            dataset.append([row[0].replace("BEN-", "BEB-", 1), *row[1:]])
    started = time.perf_counter()
    result = CreditResource().import_data(dataset, dry_run=False, raise_errors=False)
    elapsed = time.perf_counter() - started
    new = result.totals.get("new", 0)
    log(
        f"baseline: {len(dataset)} rows in {elapsed:.1f} s "
        f"({new} new, {len(result.invalid_rows)} invalid, {len(result.row_errors())} errors)"
    )
    return len(dataset) / elapsed, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument(
        "--baseline-only", action="store_true", help="only the django-import-export baseline"
    )
    parser.add_argument("--profile", help="write a cProfile of the Laurel import to this file")
    args = parser.parse_args()

    sqlite_path = setup_database(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        call_command("migrate", verbosity=0)
        org, admin = seed()
        log("seeded 500 courses and 100,000 accounts")
        write_file(path, args.rows)
        log(f"wrote {args.rows:,} rows ({os.path.getsize(path) / 1e6:.1f} MB)")
        if args.baseline_only:
            other, _ = seed("bench-baseline", prefix="BEB", accounts=False)
            rate, new = run_baseline(other, path, min(args.baseline_rows, args.rows))
            print(json.dumps({"db": args.db, "baseline_rows_per_s": round(rate, 1),
                              "baseline_credits_created": new}))  # fmt: skip
            return
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            validate_s, commit_s, counts, job_id = profiler.runcall(run_laurel, org, admin, path)
            profiler.dump_stats(args.profile)
        else:
            validate_s, commit_s, counts, job_id = run_laurel(org, admin, path)
        laurel_rss = rss_mb()
        to_commit = counts["deliverable"] + counts["invite"]
        floor_s = floor_credits = None
        if args.db == "postgres":
            floor_s, floor_credits = run_floor(org, job_id)
        parse_rate = run_parse(args.rows)
        other, _ = seed("bench-baseline", prefix="BEB", accounts=False)
        baseline, baseline_new = run_baseline(other, path, min(args.baseline_rows, args.rows))
    finally:
        os.unlink(path)
        if sqlite_path:
            os.unlink(sqlite_path)
    validate_rate = args.rows / validate_s
    commit_rate = to_commit / commit_s
    result = {
        "db": args.db,
        "rows": args.rows,
        "validate_rows_per_s": round(validate_rate),
        # bench/parse.py's parse-and-validate of a file of the same size, in the same run.
        "parse_validate_rows_per_s": round(parse_rate),
        "validate_vs_parse": round(validate_rate / parse_rate, 2),
        "commit_rows_per_s": round(commit_rate),
        # One bare INSERT … SELECT of the same final rows into empty indexed tables.
        "floor_rows_per_s": round(floor_credits / floor_s) if floor_s else None,
        "commit_vs_floor": round(commit_rate / (floor_credits / floor_s), 2) if floor_s else None,
        "end_to_end_rows_per_s": round(args.rows / (validate_s + commit_s)),
        "peak_rss_mb": round(laurel_rss, 1),
        "baseline_rows_per_s": round(baseline, 1),
        "ratio_vs_baseline": round((args.rows / (validate_s + commit_s)) / baseline, 1),
        "credits_created": counts.get("offered", 0) + counts.get("held", 0),
        "baseline_rows": min(args.baseline_rows, args.rows),
        "baseline_credits_created": baseline_new,
        # The machine may be shared: Python-side CPU time per phase and the load average
        # put the wall-clock rates in context.
        "validate_rows_per_python_cpu_s": round(args.rows / CPU["validate"]),
        "commit_rows_per_python_cpu_s": round(to_commit / CPU["commit"]),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
