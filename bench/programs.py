"""Benchmark certification programs on PostgreSQL: the program page's four trackers over a
million enrollments, the daily deadline sweep, and the by-enrollee page of a busy person.

    python bench/programs.py               # 1,000,000 enrollments
    python bench/programs.py --scale 0.1   # 100,000

Enrollments are generated set-based (one INSERT … SELECT generate_series). Figures:
``tracker_ms`` p95 of the trackers as the page reads them (counters) and its ratio to four
plain ``COUNT(*) … WHERE status`` queries; ``sweep_s`` of one sweep where 10 % of the
enrollments change state (with audit events and queued notices) and its ratio to a
per-enrollment ORM loop timed on a 10,000 sample in the same run, scaled to the same size;
``enrollee_queries`` of the by-enrollee page of a person in 50 programs. The last line printed
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DB = os.environ.get("BENCH_PG_DB", "laurel_bench_programs")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup_database() -> None:
    import psycopg

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    if not DB.isidentifier():
        raise SystemExit("BENCH_PG_DB must be a plain identifier")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    os.environ["DATABASE_URL"] = f"{base}/{DB}"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def generate(program, n: int, today) -> None:
    """``n`` enrollments in one statement: 60 % enrolled, 15 % grace, 15 % earned, 10 %
    expired; 5 % of all are past their grace start and 5 % past expiry (10 % change)."""
    from django.db import connection

    version = program.current_version
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO programs_enrollment (organization_id, program_id, version_id, email,
                name, cycle, status, enrolled_on, grace_starts_on, expires_on, created_at)
            SELECT %(org)s, %(program)s, %(version)s, 'p' || g || '@bench.example', '', 1,
                CASE WHEN g %% 20 < 12 THEN 'enrolled' WHEN g %% 20 < 15 THEN 'grace'
                     WHEN g %% 20 < 18 THEN 'earned' ELSE 'expired' END,
                %(today)s - 200,
                CASE WHEN g %% 20 = 0 THEN %(today)s - 1 ELSE %(today)s + 30 + g %% 300 END,
                CASE WHEN g %% 20 = 12 THEN %(today)s - 1 ELSE %(today)s + 400 + g %% 300 END,
                now()
            FROM generate_series(1, %(n)s) g
            """,
            {
                "org": program.organization_id,
                "program": program.pk,
                "version": version.pk,
                "today": today,
                "n": n,
            },
        )
        cur.execute(
            """
            UPDATE programs_tracker t SET count = coalesce(c.n, 0)
            FROM programs_tracker t2 LEFT JOIN (
                SELECT status, count(*) n FROM programs_enrollment WHERE program_id = %s
                GROUP BY status) c ON c.status = t2.status
            WHERE t.id = t2.id AND t.program_id = %s
            """,
            [program.pk, program.pk],
        )
        cur.execute("ANALYZE programs_enrollment")


def plain_counts(program) -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        out = []
        for status in ("earned", "enrolled", "grace", "expired"):
            cur.execute(
                "SELECT count(*) FROM programs_enrollment WHERE program_id = %s AND status = %s",
                [program.pk, status],
            )
            out.append(cur.fetchone()[0])
    return out


def orm_loop(program, today) -> float:
    """The sweep as a per-enrollment loop: load, decide, save, audit, notify."""
    from django.db import transaction

    from laurel.audit.services import Actor, audit_record
    from laurel.programs.models import Enrollment
    from laurel.programs.services import _notify

    started = time.perf_counter()
    with transaction.atomic():
        for e in Enrollment.objects.filter(
            program=program, status__in=Enrollment.OPEN
        ).select_related("organization", "version"):
            new = None
            if e.expires_on and e.expires_on <= today:
                new = "expired"
            elif e.status == "enrolled" and e.grace_starts_on and e.grace_starts_on <= today:
                new = "grace"
            if new is None:
                continue
            e.status = new
            e.save(update_fields=["status"])
            audit_record(
                actor=Actor.system("loop"),
                action=f"enrollment.{new}",
                obj=e,
                organization=e.organization,
            )
            _notify(e, new, dedupe_key=f"loop:{e.pk}:{new}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1,000,000 enrollments")
    parser.add_argument("--sample", type=int, default=10_000, help="rows of the ORM loop")
    parser.add_argument("--profile", help="write a cProfile of the sweep to this file")
    args = parser.parse_args()
    n = int(1_000_000 * args.scale)

    setup_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from laurel.accounts.models import Membership, Organization, Role, User
    from laurel.audit.services import Actor
    from laurel.programs import selectors
    from laurel.programs.services import (
        Definition,
        RequirementSpec,
        deadlines_sweep,
        enrollments_create,
        program_create,
        program_set_status,
    )

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(slug="bench", name="Bench", course_id_prefix="BEN")
    today = org.today()
    staff = Actor.system("bench")

    def program(code: str):
        p = program_create(
            actor=staff,
            organization=org,
            code=code,
            definition=Definition(
                name=f"Program {code}",
                window_months=12,
                grace_days=30,
                requirements=(
                    RequirementSpec(
                        kind="credit_hours", title="12 CE", credit_type_code="CE", hours=12
                    ),
                    RequirementSpec(kind="manual", title="Exam", needs_grade=True),
                ),
            ),
        )
        return program_set_status(actor=staff, program=p, status="active")

    big = program("BIG")
    started = time.perf_counter()
    generate(big, n, today)
    log(f"generated {n:,} enrollments in {time.perf_counter() - started:.1f} s")

    tracker_samples, count_samples = [], []
    for _ in range(100):
        t = time.perf_counter()
        figures = selectors.trackers(big)
        tracker_samples.append((time.perf_counter() - t) * 1000)
    for _ in range(20):
        t = time.perf_counter()
        counts = plain_counts(big)
        count_samples.append((time.perf_counter() - t) * 1000)
    assert [figures[k] for k in ("earned", "enrolled", "grace", "expired")] == counts
    tracker_ms, counts_ms = p95(tracker_samples), p95(count_samples)
    log(f"trackers p95 {tracker_ms:.2f} ms; four COUNTs p95 {counts_ms:.1f} ms")

    t = time.perf_counter()
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            moved = deadlines_sweep(today=today)
        profile.dump_stats(args.profile)
    else:
        moved = deadlines_sweep(today=today)
    sweep_s = time.perf_counter() - t
    changed = sum(v for k, v in moved.items() if "->" in k)
    log(f"sweep moved {changed:,} in {sweep_s:.1f} s ({moved})")
    assert selectors.trackers(big) == selectors.trackers_recount(big)

    small = program("LOOP")
    generate(small, args.sample, today)
    loop_s = orm_loop(small, today)
    loop_scaled_s = loop_s * n / args.sample
    log(f"ORM loop over {args.sample:,}: {loop_s:.1f} s (scaled to {n:,}: {loop_scaled_s:.0f} s)")

    holder = User.objects.create_user(email="busy@bench.example", password="x")
    admin = User.objects.create_user(email="admin@bench.example", password="x")
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    for i in range(50):
        enrollments_create(
            actor=staff, program=program(f"E{i:02d}"), people=[(holder.email, "")], notify=False
        )
    client = Client()
    client.force_login(admin)
    from django.conf import settings
    from django.test import override_settings

    storages = {**settings.STORAGES}
    # No collected static files here: the page's CSS link needs no manifest to be counted.
    storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES=storages), CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("programs:by_enrollee", args=[org.slug]), {"email": holder.email}
        )
    assert response.status_code == 200
    log(f"by-enrollee page, 50 programs: {len(queries)} queries")

    print(
        json.dumps(
            {
                "db": "postgresql",
                "enrollments": n,
                "tracker_ms_p95": round(tracker_ms, 3),
                "plain_counts_ms_p95": round(counts_ms, 2),
                "tracker_ratio": round(counts_ms / tracker_ms, 1),
                "sweep_s": round(sweep_s, 2),
                "sweep_changed": changed,
                "orm_loop_sample": args.sample,
                "orm_loop_s": round(loop_s, 2),
                "sweep_ratio": round(loop_scaled_s / sweep_s, 1),
                "enrollee_queries": len(queries),
                "today": str(today),
            }
        )
    )


if __name__ == "__main__":
    main()
