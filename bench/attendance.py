"""Benchmark bulk attendance: marking 5,000 registrations Attended in one action, end to end
(credits and their components, certificate records with signed credentials, audit events,
outbox rows, webhook messages and deliveries), against the same work done one registration
at a time through the same service on a 500-registration sample, in the same run.

    python bench/attendance.py                 # 5,000 on PostgreSQL and SQLite
    python bench/attendance.py --scale 0.1     # 500 (and a 50 sample)
    python bench/attendance.py --engine pg     # one engine only

Each engine runs in its own process (Django binds its database at start). Figures per
engine: ``mark_per_s``, ``one_by_one_per_s``, ``ratio_vs_one_by_one`` and ``peak_rss_mb``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DB = os.environ.get("BENCH_PG_DB", "laurel_bench_attendance")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup_database(engine: str) -> None:
    if engine == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="laurel-bench-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return
    import psycopg

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    if not DB.isidentifier():
        raise SystemExit("BENCH_PG_DB must be a plain identifier")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    os.environ["DATABASE_URL"] = f"{base}/{DB}"


def child(engine: str, n: int, sample: int, profile: str | None = None) -> dict:
    setup_database(engine)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from laurel.accounts.models import Organization
    from laurel.audit.services import Actor
    from laurel.catalog.models import CreditType
    from laurel.certificates.models import Certificate
    from laurel.credits.models import Credit
    from laurel.events.models import CODE_ALPHABET, Registration
    from laurel.events.services import (
        attendance_set,
        component_add,
        event_create,
        track_add,
    )
    from laurel.integrations.events import REGISTRATION_EVENTS
    from laurel.integrations.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
    from laurel.notifications.models import OutboxMessage

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(slug="bench", name="Bench", course_id_prefix="BEN")
    staff = Actor.system("bench")
    WebhookEndpoint.objects.create(
        organization=org,
        url="https://hooks.example.com/in",
        event_types=[*REGISTRATION_EVENTS, "credit.held", "credit.offered", "certificate.issued"],
    )
    types = {
        code: CreditType.objects.create(organization=org, code=code, name=code)
        for code in ("COEC", "COEN", "FAIRH")
    }

    def make(title: str, count: int, prefix: str):
        start = timezone.now() - timedelta(days=1)
        event = event_create(
            actor=staff, organization=org, title=title, starts_at=start,
            ends_at=start + timedelta(hours=3),
        )  # fmt: skip
        component_add(actor=staff, event=event, credit_type=types["FAIRH"], amount=Decimal(1))
        tracks = []
        for code in ("COEC", "COEN"):
            track = track_add(actor=staff, event=event, name=f"{code} 3.0")
            component_add(
                actor=staff, event=event, credit_type=types[code], amount=Decimal(3), track=track
            )
            tracks.append(track)
        codes = [
            "".join(CODE_ALPHABET[(i // len(CODE_ALPHABET) ** k) % len(CODE_ALPHABET)]
                    for k in range(6))
            for i in range(count)
        ]  # fmt: skip
        Registration.objects.bulk_create(
            [
                Registration(
                    event=event,
                    email=f"{prefix}{i}@example.com",
                    name=f"Agent {i}",
                    track=tracks[i % 2],
                    check_in_code=codes[i],
                )  # fmt: skip
                for i in range(count)
            ],
            batch_size=2000,
        )
        return event, list(Registration.objects.filter(event=event).values_list("pk", flat=True))

    event, ids = make("Bulk class", n, "bulk")
    log(f"{engine}: marking {n} registrations attended in one action")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    with transaction.atomic():
        result = attendance_set(actor=staff, registrations=ids, state=Registration.Status.ATTENDED)
    bulk_s = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    assert result.changed == n and result.credits == n and result.certificates == n
    counts = {
        "credits": Credit.objects.filter(source_ref__startswith="registration:").count(),
        "certificates": Certificate.objects.count(),
        "outbox": OutboxMessage.objects.filter(kind="attendance_marked").count(),
        "webhook_messages": WebhookMessage.objects.count(),
        "webhook_deliveries": WebhookDelivery.objects.count(),
    }
    assert counts["credits"] == n and counts["outbox"] == n
    log(f"{engine}: {bulk_s:.2f} s, {counts}")

    _, sample_ids = make("One by one", sample, "one")
    t0 = time.perf_counter()
    for pk in sample_ids:
        with transaction.atomic():
            attendance_set(actor=staff, registrations=[pk], state=Registration.Status.ATTENDED)
    one_s = time.perf_counter() - t0
    log(f"{engine}: one by one, {sample}: {one_s:.2f} s")
    mark_per_s = n / bulk_s
    one_per_s = sample / one_s
    return {
        "registrations": n,
        "mark_s": round(bulk_s, 2),
        "mark_per_s": round(mark_per_s, 1),
        "one_by_one_sample": sample,
        "one_by_one_per_s": round(one_per_s, 1),
        "ratio_vs_one_by_one": round(mark_per_s / one_per_s, 1),
        "rows": counts,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 5,000 registrations")
    parser.add_argument("--engine", choices=["pg", "sqlite", "both"], default="both")
    parser.add_argument("--profile", help="write a cProfile of the bulk mark to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = max(10, int(5000 * args.scale))
    sample = max(5, int(500 * args.scale))
    if args.child:
        print(json.dumps(child(args.engine, n, sample, args.profile)))
        return
    engines = ["pg", "sqlite"] if args.engine == "both" else [args.engine]
    out = {}
    for engine in engines:
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--engine", engine, "--scale", str(args.scale)]
            + (["--profile", f"{args.profile}.{engine}"] if args.profile else []),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        out[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    main_engine = out.get("pg") or out["sqlite"]
    print(
        json.dumps(
            {
                "registrations": n,
                "mark_per_s": main_engine["mark_per_s"],
                "ratio_vs_one_by_one": main_engine["ratio_vs_one_by_one"],
                "postgresql": out.get("pg"),
                "sqlite": out.get("sqlite"),
            }
        )
    )


if __name__ == "__main__":
    main()
