"""CPU milliseconds and queries per request of the pages bench/web.py drives, in-process.

    python bench/render.py                      # SQLite, 5,000 credits, 50 requests a page
    python bench/render.py --pg                 # the same on PostgreSQL (its own database)
    python bench/render.py --scale 0.2          # 1,000 credits, 20 requests a page: quick
    python bench/render.py --profile ledger     # and cProfile's top functions for one page

No server and no network: Django's test client (DEBUG off, so the cached template loader)
calls the whole middleware stack, the view and the templates. The data (an organization with
50 courses, N credits with one component and one audit event each, a holder with 200
accepted credits in 5 dashboards and 20 offers) is built with the ORM in a fresh database
(a temporary SQLite file, or ``laurel_bench_render`` on ``BENCH_PG``). Per page: the median
CPU time of the process per request (``time.process_time``, which excludes time spent
waiting for the database server), the median wall time, and the number of queries. The login
page is the baseline, measured in the same run. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COURSES = 50
DASHBOARDS = 5
PROFILED = (
    r"/laurel/|context_processors|middleware|sessions|auth/|_fetch_all|execute_sql"
    r"|loader_tags.py.*render|defaulttags.py:\d+\(render|reverse|base.py.*render\)"
)
SECRET_KEY = "bench-render-not-secret-" + "x" * 40


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def database_url(pg: bool, data_dir: str) -> str:
    if not pg:
        return f"sqlite:///{data_dir}/bench.sqlite3"
    import psycopg

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_PG_DB", "laurel_bench_render")
    if not name.isidentifier():
        raise SystemExit("BENCH_PG_DB must be a plain identifier")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def build(credits: int) -> dict:
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from laurel.accounts.models import Membership, Organization, Role, User
    from laurel.audit.models import AuditEvent
    from laurel.catalog.models import Course, CourseComponent, CreditType
    from laurel.credits.models import Credit, CreditComponent, Dashboard

    org = Organization.objects.create(name="Bench Board", slug="bench", course_id_prefix="BEN")
    admin = User.objects.create_user(email="admin@bench.test", password="bench-pass-1234")
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    holder = User.objects.create_user(email="holder@bench.test", password="bench-pass-1234")
    EmailAddress.objects.create(user=holder, email=holder.email, verified=True, primary=True)
    ce = CreditType.objects.create(organization=org, code="CE", name="Continuing education")
    courses = Course.objects.bulk_create(
        Course(
            organization=org,
            course_id=f"BEN-26-{i:05d}",
            title=f"Course {i} on topic {i % 37}",
            active_from=dt.date(2020, 1, 1),
        )
        for i in range(COURSES)
    )
    CourseComponent.objects.bulk_create(
        CourseComponent(course=c, credit_type=ce, amount="1.5") for c in courses
    )
    dashboards = [
        Dashboard.objects.create(holder=holder, name=f"License {i + 1}") for i in range(DASHBOARDS)
    ]
    now = timezone.now()
    statuses = ["held", "held", "offered", "rejected", "revoked"]
    rows = [
        Credit(
            organization=org,
            course=courses[n % COURSES],
            activity_key=f"course:{courses[n % COURSES].pk}",
            title=courses[n % COURSES].title,
            recipient_email=f"person{n % 2000}@example{n % 97}.org",
            completion_date=dt.date(2022, 1, 1) + dt.timedelta(days=n % 700),
            status=statuses[n % 5],
            source="import",
            source_ref="bench",
            created_at=now - dt.timedelta(seconds=n),
        )
        for n in range(credits)
    ]
    for n in range(200):
        rows.append(
            Credit(
                organization=org,
                course=courses[n % COURSES],
                activity_key=f"course:{courses[n % COURSES].pk}",
                title=courses[n % COURSES].title,
                recipient_email=holder.email,
                holder=holder,
                completion_date=dt.date(2025, 1, 1) + dt.timedelta(days=n % 300),
                status="accepted",
                dashboard=dashboards[n % DASHBOARDS],
                source="import",
                source_ref="bench",
                offered_at=now,
                answered_at=now,
            )
        )
    for n in range(20):
        rows.append(
            Credit(
                organization=org,
                course=courses[n % COURSES],
                activity_key=f"course:{courses[n % COURSES].pk}",
                title=courses[n % COURSES].title,
                recipient_email=holder.email,
                holder=holder,
                completion_date=dt.date(2025, 6, 1) + dt.timedelta(days=n),
                status="offered",
                source="import",
                source_ref="bench",
                offered_at=now,
            )
        )
    made = Credit.objects.bulk_create(rows, batch_size=500)
    CreditComponent.objects.bulk_create(
        (
            CreditComponent(credit=c, credit_type=ce, amount_offered="1.5", amount_earned="1.5")
            for c in made
        ),
        batch_size=500,
    )
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                organization=org,
                actor_label="import",
                action="credit.entered",
                object_type="credits.credit",
                object_id=str(c.pk),
                object_repr=f"{c.title} → {c.recipient_email}"[:200],
                after={"status": c.status},
            )
            for c in made
        ),
        batch_size=500,
    )
    from laurel.audit.services import Actor
    from laurel.certificates.services import certificate_issue

    code = certificate_issue(
        actor=Actor.system("bench"),
        organization=org,
        recipient_name="Ada Holder",
        recipient_email=holder.email,
        title="Course 1",
        completion_date=dt.date(2025, 1, 1),
        notify=False,
    ).verification_code
    return {"org": org, "admin": admin, "holder": holder, "dashboard": dashboards[0], "code": code}


def measure(client, path: str, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm: templates compiled, connections open
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    cpu, wall = [], []
    for _ in range(requests):
        c0, w0 = time.process_time(), time.perf_counter()
        response = client.get(path)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return {
        "cpu_ms": round(statistics.median(cpu), 2),
        "cpu_min_ms": round(min(cpu), 2),  # the least disturbed by a busy machine
        "wall_ms": round(statistics.median(wall), 2),
        "queries": len(queries),
        "kb": round(len(response.content) / 1024, 1),
    }


def profile(client, path: str) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        client.get(path)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    # Laurel's own code, the middleware, the queries and the template nodes that loop.
    stats.print_stats(PROFILED, 60)
    out.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue(), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of 5,000 credits")
    parser.add_argument("--requests", type=int, default=0, help="per page (default 50 × scale)")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--profile", metavar="PAGE", help="print cProfile's figures for PAGE")
    parser.add_argument("--dump", metavar="DIR", help="write each page's body to DIR/<page>.html")
    args = parser.parse_args()
    credits = max(500, int(5_000 * args.scale))
    requests = args.requests or max(10, int(50 * min(1.0, args.scale)))

    data_dir = tempfile.mkdtemp(prefix="laurel-bench-render-")
    os.environ.update(
        {
            "DATABASE_URL": database_url(args.pg, data_dir),
            "DJANGO_SETTINGS_MODULE": "laurel.settings",
            "LAUREL_ENV": "local",
            "LAUREL_DATA_DIR": data_dir,
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "false",
            "LAUREL_RATE_VERIFY": "1000000/60",
            "LAUREL_RATE_API": "1000000/60",
        }
    )
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)  # one log line per request is not what is measured
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from laurel.api.services import api_key_create
    from laurel.audit.services import Actor

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest, as served
    started = time.perf_counter()
    world = build(credits)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    seconds = time.perf_counter() - started
    log(f"built {credits:,} credits in {seconds:.1f} s on {connection.vendor}")
    org = world["org"]
    key = api_key_create(actor=Actor.system("bench"), organization=org, name="bench").full_key

    anonymous = Client()
    admin = Client()
    admin.force_login(world["admin"])
    holder = Client()
    holder.force_login(world["holder"])
    api = Client(headers={"Authorization": f"Bearer {key}"})
    ledger = reverse("credits:org_ledger", args=[org.slug])
    pages = {
        "login": (anonymous, reverse("account_login")),
        "ledger": (admin, ledger),
        "ledger_by_course": (admin, f"{ledger}?course=BEN-26-00042"),
        "ledger_by_email": (admin, f"{ledger}?email=person123"),
        "audit": (admin, reverse("audit:event_list", args=[org.slug])),
        "api_credits": (api, "/api/v1/credits"),
        "locker": (holder, reverse("credits:locker")),
        "dashboard": (holder, reverse("credits:dashboard_detail", args=[world["dashboard"].pk])),
        "verification": (anonymous, f"/v/{world['code']}"),
    }
    results = {}
    for name, (client, path) in pages.items():
        results[name] = measure(client, path, requests)
        r = results[name]
        log(
            f"{name:18} cpu {r['cpu_ms']:6.2f} ms  wall {r['wall_ms']:6.2f} ms  "
            f"{r['queries']:3} queries  {r['kb']} KB"
        )
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        for name, (client, path) in pages.items():
            Path(args.dump, f"{name}.html").write_bytes(client.get(path).content)
    if args.profile:
        client, path = pages[args.profile]
        profile(client, path)

    login = results["login"]["cpu_ms"]
    names = [n for n in results if n != "login"]
    for name in names:
        results[name]["cpu_vs_login"] = round(results[name]["cpu_ms"] / login, 2)
    worst = max(names, key=lambda n: results[n]["cpu_ms"])
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "credits": credits,
                "requests_per_page": requests,
                "cpu_ms": {n: results[n]["cpu_ms"] for n in names},
                "cpu_min_ms": {n: results[n]["cpu_min_ms"] for n in names},
                "login_cpu_min_ms": results["login"]["cpu_min_ms"],
                "queries": {n: results[n]["queries"] for n in names},
                "login_cpu_ms": login,
                "worst_page": worst,
                "ratio_vs_baseline": round(results[worst]["cpu_ms"] / login, 2),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "pages": results,
            }
        )
    )


if __name__ == "__main__":
    main()
