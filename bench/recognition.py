"""Benchmark recognition: the certificate-generation page data of a ceremony over many
cohorts, and a Canvas sync from the fake Canvas server on 127.0.0.1.

    python bench/recognition.py                # 200 cohorts / 10,000 takers; 20,000 enrollments
    python bench/recognition.py --scale 0.1    # a tenth of everything
    python bench/recognition.py --db postgres  # BENCH_PG, BENCH_PG_DB as bench/imports.py

The sync is compared with one progress request per student (``/courses/:id/users/:id/
progress``), the way a naive connector reads Canvas, over a slice of the same courses in the
same run. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from imports import setup_database  # noqa: E402


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def seed_generation(cohort_count: int, takers: int):
    from laurel.accounts.models import Organization
    from laurel.audit.services import Actor
    from laurel.recognition.models import Ceremony
    from laurel.recognition.services import (
        ProgressRecord,
        ceremony_select,
        cohort_create,
        partnership_create,
        progress_apply,
    )

    actor = Actor.system("bench")
    issuer = Organization.objects.create(
        name="Bench Issuer", slug="bench-issuer", course_id_prefix="BI"
    )
    partner = Organization.objects.create(
        name="Bench Partner", slug="bench-partner", course_id_prefix="BP", kind="partner"
    )
    partnership = partnership_create(actor=actor, issuer=issuer, partner=partner)
    today = issuer.today()
    cohorts = [
        cohort_create(
            actor=actor,
            partnership=partnership,
            name=f"Cohort {n}",
            course_name="Effective Teaching",
            start_date=today - timedelta(days=120),
            end_date=today - timedelta(days=n % 30),
            closes_on=today + timedelta(days=(n % 3) - 1),
            certificate_title="Certificate in Effective College Instruction",
        )
        for n in range(cohort_count)
    ]
    records = []
    for i in range(takers):
        cohort = cohorts[i % cohort_count]
        kind = i % 4
        done = today - timedelta(days=3) if kind < 2 else None
        records.append(
            ProgressRecord(cohort.pk, f"t{i}@faculty.example", 100 if done else 40 + i % 50,
                           done, kind == 0, f"Taker {i}")
        )  # fmt: skip
    progress_apply(actor=actor, organization=issuer, records=records)
    ceremony = ceremony_select(
        actor=actor,
        organization=partner,
        kind=Ceremony.Kind.CEREMONY,
        range_start=min(c.end_date for c in cohorts),
        range_end=max(c.end_date for c in cohorts),
        cohort_ids=[c.pk for c in cohorts],
    )
    Ceremony.objects.filter(pk=ceremony.pk).update(
        status=Ceremony.Status.SCHEDULED, starts_at=datetime.now(UTC) + timedelta(days=30)
    )
    return partner, ceremony


def measure_generation(partner, ceremony_pk: int, runs: int):
    """p95 ms and queries of what the page reads: the ceremony (owner-scoped) and its data."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from laurel.recognition import selectors
    from laurel.recognition.models import Ceremony

    times, cpu, queries, rows = [], [], 0, 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            start, start_cpu = time.perf_counter(), time.process_time()
            ceremony = (
                Ceremony.objects.for_org(partner)
                .select_related("partnership__issuer", "partnership__partner", "last_job")
                .get(pk=ceremony_pk)
            )
            data = selectors.generation_data(ceremony, ceremony.partnership.issuer.today())
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        queries = len(ctx.captured_queries)
        rows = len(data.completers) + len(data.approaching) + sum(data.left_out.values())
    return p95_of(times), queries, rows, p95_of(cpu)


def p95_of(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(round(0.95 * len(values))) - 1)]


def fake_canvas(courses: int, per_course: int):
    from laurel.recognition.tests.fake_canvas import FakeCanvas, Student

    data, uid = {}, 1
    for c in range(courses):
        students = []
        for _ in range(per_course):
            done = uid % 3 == 0
            students.append(
                Student(uid, f"Student {uid}", f"s{uid}@faculty.example", 88.0 if done else 41.0,
                        12, 12 if done else uid % 12, "2026-01-10T12:00:00Z" if done else None)
            )  # fmt: skip
            uid += 1
        data[str(7000 + c)] = students
    return FakeCanvas(courses=data).start()


def seed_sync_org(slug: str, prefix: str, courses: list[str]):
    from laurel.accounts.models import Organization
    from laurel.audit.services import Actor
    from laurel.recognition.services import cohort_create, partnership_create

    actor = Actor.system("bench")
    issuer = Organization.objects.create(name=slug, slug=slug, course_id_prefix=prefix)
    partner = Organization.objects.create(
        name=f"{slug} partner", slug=f"{slug}-p", course_id_prefix=prefix + "P", kind="partner"
    )
    partnership = partnership_create(actor=actor, issuer=issuer, partner=partner)
    today = issuer.today()
    for ref in courses:
        cohort_create(
            actor=actor, partnership=partnership, name=f"Course {ref}", course_name="Teaching",
            start_date=today - timedelta(days=60), end_date=today + timedelta(days=30),
            closes_on=today + timedelta(days=40), certificate_title="Certificate",
            lms_course_id=ref,
        )  # fmt: skip
    return issuer


def per_student_sync(issuer, canvas) -> tuple[int, float, int]:
    """The naive connector: enrollments, then one progress request per student."""
    from decimal import Decimal

    from laurel.audit.services import Actor
    from laurel.recognition.canvas import PER_PAGE, CanvasClient, _day
    from laurel.recognition.models import Cohort
    from laurel.recognition.services import ProgressRecord, progress_apply
    from laurel.recognition.tests.fake_canvas import TOKEN

    client = CanvasClient(canvas.base_url, TOKEN)
    start = time.perf_counter()
    total = 0
    for cohort in Cohort.objects.filter(partnership__issuer=issuer):
        records = []
        params = [("type[]", "StudentEnrollment"), ("per_page", PER_PAGE)]
        path = f"/api/v1/courses/{cohort.lms_course_id}/enrollments"
        for e in client.get_all(path, params):
            course = cohort.lms_course_id
            p, _ = client._get(
                f"{canvas.base_url}/api/v1/courses/{course}/users/{e['user_id']}/progress"
            )
            completed = _day(p.get("completed_at"))
            score = e["grades"]["final_score"]
            records.append(
                ProgressRecord(
                    cohort.pk, e["user"]["login_id"],
                    round(100 * p["requirement_completed_count"] / p["requirement_count"]),
                    completed,
                    completed is not None and Decimal(str(score)) >= cohort.passing_score,
                    e["user"]["name"], str(e["user_id"]),
                )
            )  # fmt: skip
        progress_apply(actor=Actor.system("bench"), organization=issuer, records=records,
                       cohorts={str(cohort.pk): cohort})  # fmt: skip
        total += len(records)
    seconds = time.perf_counter() - start
    client.close()
    return total, seconds, client.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    cohorts = max(2, int(200 * args.scale))
    takers = max(10, int(10_000 * args.scale))
    courses = max(2, int(400 * args.scale))
    per_course = 50
    naive_courses = max(1, courses // 10)

    sqlite_path = setup_database(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.core.management import call_command

    canvas = None
    try:
        call_command("migrate", verbosity=0)
        partner, ceremony = seed_generation(cohorts, takers)
        log(f"seeded {cohorts} cohorts with {takers:,} course-takers")
        p95, queries, rows, p95_cpu = measure_generation(partner, ceremony.pk, args.runs)
        log(f"generation page data: p95 {p95:.1f} ms, {queries} queries, {rows:,} rows")

        canvas = fake_canvas(courses, per_course)
        refs = sorted(canvas.courses)
        issuer = seed_sync_org("bench-sync", "BS", refs)
        from laurel.recognition.canvas import CanvasClient
        from laurel.recognition.services import canvas_sync
        from laurel.recognition.tests.fake_canvas import TOKEN

        client = CanvasClient(canvas.base_url, TOKEN)
        start = time.perf_counter()
        report = canvas_sync(organization=issuer, trigger="bench", client=client)
        sync_s = time.perf_counter() - start
        enrollments = report.added + report.changed
        log(f"sync: {enrollments:,} enrollments in {sync_s:.1f} s, {report.requests} requests")

        naive_org = seed_sync_org("bench-naive", "BN", refs[:naive_courses])
        naive_n, naive_s, naive_requests = per_student_sync(naive_org, canvas)
        log(f"one request per student: {naive_n:,} in {naive_s:.1f} s, {naive_requests} requests")
    finally:
        if canvas is not None:
            canvas.stop()
        if sqlite_path:
            os.unlink(sqlite_path)
    rate = enrollments / sync_s
    naive_rate = naive_n / naive_s
    print(
        json.dumps(
            {
                "db": args.db,
                "scale": args.scale,
                "cohorts": cohorts,
                "course_takers": takers,
                "generation_page_ms_p95": round(p95, 1),
                "generation_page_queries": queries,
                # The machine is shared: this process's CPU time puts the wall clock in context.
                "generation_page_python_cpu_ms_p95": round(p95_cpu, 1),
                "sync_courses": courses,
                "sync_enrollments": enrollments,
                "sync_status": report.status,
                "sync_seconds": round(sync_s, 2),
                "sync_enrollments_per_s": round(rate),
                "sync_requests": report.requests,
                "per_student_enrollments": naive_n,
                "per_student_enrollments_per_s": round(naive_rate),
                "per_student_requests": naive_requests,
                "ratio_vs_per_student": round(rate / naive_rate, 1),
                "requests_per_student_naive": round(naive_requests / naive_n, 2),
                "requests_per_student_sync": round(report.requests / enrollments, 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
