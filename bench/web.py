"""Benchmark the web pages at a million credits under a fixed request rate.

    python bench/web.py                    # 1,000,000 credits, 50 req/s for 20 s a page
    python bench/web.py --scale 0.01       # 10,000 credits: a quick run
    python bench/web.py --scale 0.01 --seconds 5 --rate 20
    python bench/web.py --reuse --rate 10        # the last run's data again, no rebuild

Creates its own PostgreSQL database (``laurel_bench_web``, or ``BENCH_PG_DB``) and builds,
set-based (``INSERT … SELECT``), an organization with 500 courses and N credits (one
component and one audit event each), one holder owning 2,000 accepted credits in 5
dashboards plus 46 offers, a certificate and an API key; ANALYZEs, then starts
``laurel serve`` (gthread workers, web statement timeout) and drives each page in turn at a
fixed rate from 127.0.0.1, open-loop (a request is sent on schedule whether or not earlier
ones finished; latency counts from the scheduled instant). The login page runs at the same
rate in the same run as the baseline. Afterwards, in this process: the ledger export's
writer over all N credits (``export_file``, what the background job runs: COPY on
PostgreSQL) and a bulk accept of 2,000 offers (``credit_accept_many``). The last line printed
is one JSON object. ``--reuse --export-only`` times only the export, on the data as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COURSES = 500
PEOPLE = 200_000
HOLDER_ACCEPTED = 2_000
HOLDER_OFFERED = 46
DASHBOARDS = 5
BULK_ACCEPT = 2_000
SECRET_KEY = "bench-web-not-secret-" + "x" * 40


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def setup_database() -> str:
    import psycopg

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    name = os.environ.get("BENCH_PG_DB", "laurel_bench_web")
    if not name.isidentifier():
        raise SystemExit("BENCH_PG_DB must be a plain identifier")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


# --- Building the data ----------------------------------------------------------------------


def build(credits: int) -> dict:
    """Everything the pages read, set-based; returns what the load needs (ids, keys)."""
    from allauth.account.models import EmailAddress
    from django.db import connection

    from laurel.accounts.models import Membership, Organization, Role, User
    from laurel.api.services import api_key_create
    from laurel.audit.services import Actor
    from laurel.catalog.models import Course, CourseComponent, CreditType
    from laurel.credits.models import Dashboard

    org = Organization.objects.create(name="Bench Board", slug="bench", course_id_prefix="BEN")
    admin = User.objects.create_user(email="admin@bench.test", password="bench-pass-1234")
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    people = {}
    for who in ("holder", "bulk"):
        user = User.objects.create_user(email=f"{who}@bench.test", password="bench-pass-1234")
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        people[who] = user
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
        Dashboard.objects.create(holder=people["holder"], name=f"License {i + 1}")
        for i in range(DASHBOARDS)
    ]
    bulk_dashboard = Dashboard.objects.create(holder=people["bulk"], name="Everything")
    course_ids = [c.pk for c in courses]
    holder_accepted = min(HOLDER_ACCEPTED, max(50, credits // 10))
    bulk_offered = min(BULK_ACCEPT, max(50, credits // 10))
    insert = """
        INSERT INTO credits_credit (organization_id, course_id, activity_key, title,
            recipient_email, recipient_name, holder_id, completion_date, status, source,
            source_ref, note, dashboard_id, created_at, offered_at, answered_at,
            reject_reason, revoke_reason)
        SELECT %(org)s, c.id, 'course:' || c.id, 'Course ' || c.i || ' on topic ' || c.i %% 37,
            {email}, '', {holder}, {day}, {status}, 'import', 'bench', '', {dashboard},
            now() - n * interval '1 second', {offered}, {answered}, '', ''
        FROM generate_series(1, %(n)s) AS n
        JOIN LATERAL (SELECT (%(courses)s::bigint[])[1 + n %% 500] AS id, n %% 500 AS i) c
            ON true
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The ledger: 200,000 people, each up to 5 credits on distinct dates.
        cursor.execute(
            insert.format(
                email="'person' || n %% 200000 || '@example' || n %% 97 || '.org'",
                holder="NULL",
                day="DATE '2022-01-01' + (n / 200000) * 200 + n %% 150",
                status="(ARRAY['held','held','offered','rejected','revoked'])[1 + n %% 5]",
                dashboard="NULL",
                offered="NULL",
                answered="NULL",
            ),
            {"org": org.pk, "n": credits, "courses": course_ids},
        )
        # The holder: accepted credits over 5 dashboards, and offers waiting for an answer.
        for email, user, n, status, dashboard, first_day in (
            ("holder@bench.test", people["holder"], holder_accepted, "accepted", "dash", 0),
            ("holder@bench.test", people["holder"], HOLDER_OFFERED, "offered", "NULL", 10),
            ("bulk@bench.test", people["bulk"], bulk_offered, "offered", "NULL", 0),
        ):
            cursor.execute(
                insert.format(
                    email=f"'{email}'",
                    holder=str(user.pk),
                    day=f"DATE '2025-01-01' + {first_day} + n / 500",
                    status=f"'{status}'",
                    dashboard=(
                        f"(ARRAY{[d.pk for d in dashboards]}::bigint[])[1 + n %% {DASHBOARDS}]"
                        if dashboard == "dash"
                        else "NULL"
                    ),
                    offered="now()",
                    answered="now()" if status == "accepted" else "NULL",
                ),
                {"org": org.pk, "n": n, "courses": course_ids},
            )
        cursor.execute(
            "INSERT INTO credits_creditcomponent (credit_id, credit_type_id, amount_offered, "
            "amount_earned) SELECT id, %s, 1.5, 1.5 FROM credits_credit",
            [ce.pk],
        )
        cursor.execute(
            """
            INSERT INTO audit_auditevent (organization_id, actor_id, actor_label, action,
                object_type, object_id, object_repr, before, after, ip, at)
            SELECT organization_id, NULL, 'import', 'credit.entered', 'credits.credit',
                id::text, left(title || ' → ' || recipient_email, 200), NULL,
                jsonb_build_object('status', status, 'email', recipient_email), NULL,
                created_at
            FROM credits_credit
            """
        )
        cursor.execute("ANALYZE")
    build_s = time.perf_counter() - started
    key = api_key_create(actor=Actor.system("bench"), organization=org, name="bench").full_key
    code = None
    try:
        from laurel.certificates.services import certificate_issue

        code = certificate_issue(
            actor=Actor.system("bench"),
            organization=org,
            recipient_name="Ada Holder",
            recipient_email="holder@bench.test",
            title="Course 1",
            completion_date=dt.date(2025, 1, 1),
            notify=False,
        ).verification_code
    except Exception as exc:  # the verification page is then left out
        log(f"no certificate: {exc!r}")
    return {
        "org": org,
        "admin": admin,
        "holder": people["holder"],
        "bulk": people["bulk"],
        "bulk_dashboard": bulk_dashboard,
        "dashboard": dashboards[0],
        "api_key": key,
        "verification_code": code,
        "build_s": build_s,
        "holder_accepted": holder_accepted,
    }


def existing() -> dict:
    """The data a previous run built (``--reuse``): a new API key, the same rows."""
    from laurel.accounts.models import Organization, User
    from laurel.api.services import api_key_create
    from laurel.audit.services import Actor
    from laurel.certificates.models import Certificate
    from laurel.credits.models import Credit, Dashboard

    org = Organization.objects.get(slug="bench")
    holder = User.objects.get(email="holder@bench.test")
    bulk = User.objects.get(email="bulk@bench.test")
    cert = Certificate.objects.filter(organization=org).first()
    return {
        "org": org,
        "admin": User.objects.get(email="admin@bench.test"),
        "holder": holder,
        "bulk": bulk,
        "bulk_dashboard": Dashboard.objects.get(holder=bulk),
        "dashboard": Dashboard.objects.for_holder(holder).order_by("pk").first(),
        "api_key": api_key_create(
            actor=Actor.system("bench"), organization=org, name="bench again"
        ).full_key,
        "verification_code": cert.verification_code if cert else None,
        "build_s": 0.0,
        "holder_accepted": Credit.objects.filter(holder=holder, status="accepted").count(),
    }


def session_cookie(user) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- The server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int) -> subprocess.Popen:
    laurel = [sys.executable, "-m", "laurel.cli"]
    subprocess.run([*laurel, "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True)
    server = subprocess.Popen(
        [*laurel, "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("laurel serve did not answer /healthz within 90 s")


# --- The load -------------------------------------------------------------------------------


class Target:
    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def get(self, path: str, headers: dict) -> tuple[int, int]:
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30
                )
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                return response.status, len(body)
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    return 0, 0
        return 0, 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def drive(target: Target, path: str, headers: dict, *, rate: float, seconds: float) -> dict:
    """Send ``rate`` requests a second for ``seconds`` on a fixed schedule (open loop)."""
    for _ in range(5):  # warm the code paths and the connection pool
        target.get(path, headers)
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    lock = threading.Lock()

    def one(scheduled: float) -> None:
        status, size = target.get(path, headers)
        elapsed = time.perf_counter() - scheduled
        with lock:
            latencies.append(elapsed * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            sizes.append(size)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=128) as pool:
        for i in range(total):
            scheduled = started + i / rate
            pause = scheduled - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, scheduled)
    wall = time.perf_counter() - started
    ok = statuses.get(200, 0)
    return {
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
        "ok": ok,
        "errors": total - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "kb": round(sum(sizes) / max(1, len(sizes)) / 1024, 1),
        "achieved_per_s": round(total / wall, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# --- Bulk figures (the other half of issue 12), when their code is there ---------------------


def export_rate(org) -> float | None:
    """The background export's writer (``export_file``, what ``export_write`` runs: COPY over
    ``ledger_copy_sql`` on PostgreSQL) over the whole ledger of ``org``."""
    try:
        from laurel.exports.kinds import KINDS
        from laurel.exports.services import export_file  # the background export (issue 12, 2)
    except ImportError:
        log("no laurel.exports: export_rows_per_s is null")
        return None
    fd, path = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        written = export_file(KINDS["ledger"], org, {}, path)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        size_mb = os.path.getsize(path) / 1e6
    finally:
        os.unlink(path)
    log(
        f"export: {written:,} rows ({size_mb:.0f} MB) in {seconds:.1f} s, {cpu:.1f} s of it "
        f"Python CPU, load {os.getloadavg()[0]:.2f}"
    )
    return written / seconds


def bulk_accept_rate(holder, dashboard) -> tuple[float | None, int]:
    try:
        from laurel.credits.models import Credit
        from laurel.credits.services import credit_accept_many
    except ImportError:
        return None, 0
    credits = list(Credit.objects.pending_for(holder).order_by("pk"))
    started = time.perf_counter()
    credit_accept_many(credits=credits, holder=holder, dashboard=dashboard)
    seconds = time.perf_counter() - started
    log(f"bulk accept: {len(credits):,} credits in {seconds:.1f} s")
    return len(credits) / seconds, len(credits)


# --- Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of 1,000,000 credits")
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second per page")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each page runs")
    parser.add_argument("--threads", default=os.environ.get("WEB_THREADS", "4"))
    parser.add_argument("--workers", default=os.environ.get("WEB_CONCURRENCY", "2"))
    parser.add_argument("--skip-bulk", action="store_true", help="no export / bulk accept")
    parser.add_argument(
        "--export-only", action="store_true", help="only the export figure (no pages, no bulk)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database the last run built (no build)"
    )
    args = parser.parse_args()
    credits = max(1000, int(1_000_000 * args.scale))

    if args.reuse:
        base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
        database_url = f"{base}/{os.environ.get('BENCH_PG_DB', 'laurel_bench_web')}"
    else:
        database_url = setup_database()
    data_dir = tempfile.mkdtemp(prefix="laurel-bench-web-")
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "laurel.settings",
            "LAUREL_ENV": "local",
            "LAUREL_DATA_DIR": data_dir,
            "SECRET_KEY": SECRET_KEY,
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.urls import reverse

    if args.export_only:  # the writer over the whole ledger; with --reuse nothing is written
        from laurel.accounts.models import Organization
        from laurel.credits.models import Credit

        if not args.reuse:
            call_command("migrate", verbosity=0)
            build(credits)
        org = Organization.objects.get(slug="bench")
        export_per_s = export_rate(org)
        print(json.dumps({
            "db": "postgres",
            "credits": Credit.objects.for_org(org).count(),
            "export_rows_per_s": round(export_per_s) if export_per_s else None,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }))  # fmt: skip
        return
    if args.reuse:
        world = existing()
        from laurel.credits.models import Credit

        credits = Credit.objects.for_org(world["org"]).count()
        log(f"reusing the {credits:,} credits of the last run")
    else:
        call_command("migrate", verbosity=0)
        log(f"building {credits:,} credits")
        world = build(credits)
        log(f"built in {world['build_s']:.0f} s (set-based, with ANALYZE)")
    org = world["org"]
    admin_cookie = session_cookie(world["admin"])
    holder_cookie = session_cookie(world["holder"])

    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "WEB_THREADS": str(args.threads),
        "WEB_CONCURRENCY": str(args.workers),
        # The load comes from one address and one key: the limits would answer 429.
        "LAUREL_RATE_VERIFY": "1000000/60",
        "LAUREL_RATE_API": "1000000/60",
    }
    env.pop("LAUREL_PROCESS", None)
    server = start_server(env, port)
    log(f"laurel serve on port {port}: {args.workers} workers × {args.threads} threads")
    target = Target(port)
    ledger = reverse("credits:org_ledger", args=[org.slug])
    admin = {"Cookie": admin_cookie}
    holder = {"Cookie": holder_cookie}
    pages = {
        "login": (reverse("account_login"), {}),
        "ledger": (ledger, admin),
        "ledger_by_course": (f"{ledger}?course=BEN-26-00042", admin),
        "ledger_by_email": (f"{ledger}?email=person1234", admin),
        "audit": (reverse("audit:event_list", args=[org.slug]), admin),
        "api_credits": ("/api/v1/credits", {"Authorization": f"Bearer {world['api_key']}"}),
        "locker": (reverse("credits:locker"), holder),
        "dashboard": (reverse("credits:dashboard_detail", args=[world["dashboard"].pk]), holder),
    }
    if world["verification_code"]:
        pages["verification"] = (f"/v/{world['verification_code']}", {})
    results = {}
    try:
        for name, (path, headers) in pages.items():
            results[name] = drive(target, path, headers, rate=args.rate, seconds=args.seconds)
            r = results[name]
            log(
                f"{name:18} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                f"errors {r['errors']}  {r['kb']} KB  load {r['load_avg_1m']}"
            )
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)

    export_per_s = bulk_per_s = None
    if not args.skip_bulk:
        export_per_s = export_rate(org)
        bulk_per_s, _ = bulk_accept_rate(world["bulk"], world["bulk_dashboard"])

    login_p95 = results["login"]["p95_ms"]
    page_names = [n for n in results if n != "login"]
    for name in page_names:
        results[name]["vs_login"] = round(results[name]["p95_ms"] / login_p95, 2)
    worst = max(page_names, key=lambda n: results[n]["p95_ms"])
    summary = {
        "db": "postgres",
        "credits": credits,
        "audit_events": credits + world["holder_accepted"] + HOLDER_OFFERED,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "server": f"gunicorn gthread {args.workers}x{args.threads}",
        "build_s": round(world["build_s"], 1),
        "p95_ms": {n: results[n]["p95_ms"] for n in page_names},
        "login_p95_ms": login_p95,
        "worst_page": worst,
        "worst_p95_ms": results[worst]["p95_ms"],
        "ratio_vs_baseline": round(results[worst]["p95_ms"] / login_p95, 2),
        "errors": sum(results[n]["errors"] for n in results),
        "load_avg_max": max(results[n]["load_avg_1m"] for n in results),
        "goals_met": all(
            results[n]["p95_ms"] <= 50 and results[n]["p95_ms"] <= 3 * login_p95 for n in page_names
        ),
        "export_rows_per_s": round(export_per_s) if export_per_s else None,
        "bulk_accept_per_s": round(bulk_per_s, 1) if bulk_per_s else None,
        "pages": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
