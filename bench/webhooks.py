"""Benchmark webhook dispatch and what webhooks add to a large credit import.

    python bench/webhooks.py                # PostgreSQL laurel_bench_webhooks
    python bench/webhooks.py --scale 0.1    # a tenth of the deliveries and import rows

1. Dispatch: a receiver on 127.0.0.1 (its own process, HTTP/1.1 keep-alive) and
   ``--endpoints`` endpoints on it; N credit events are queued, then sent by
   ``webhooks_dispatch_parallel`` with the default worker set-up (WEBHOOKS_DISPATCH_THREADS
   endpoints side by side, WEBHOOKS_BATCH deliveries per claim over one connection).
   The baseline sends the same signed bodies with a plain sequential loop of ``httpx.post``.
2. Import overhead: the same 200,000-row credits file imported (validate + commit) by an
   organization with no endpoint, one with an enabled endpoint subscribed to every event,
   and again with none; the ratio is "with one" over the mean of the two "with none" runs.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import imports as bench_imports  # noqa: E402  (bench/imports.py: database, seed, file)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text} (peak RSS {rss_mb():.0f} MB)", file=sys.stderr)


def serve(port_box) -> None:
    """A minimal HTTP/1.1 receiver (asyncio, keep-alive, 204 to every POST): the benchmark
    measures the sender, so the receiver must not be the bottleneck."""
    import asyncio

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_box.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(main())


def queue_events(org, count: int) -> None:
    from laurel.integrations.services import webhooks_emit_many

    for start in range(0, count, 5000):
        events = [
            (
                "credit.held",
                {
                    "organization": org.slug,
                    "credit": {
                        "id": n,
                        "status": "held",
                        "course_id": f"BEN-26-{n % 500:05d}",
                        "title": f"Course {n % 500}",
                        "completion_date": "2025-03-01",
                        "components": {"CE": "1.50"},
                        "source": "import",
                        "reason": "",
                    },
                    "person": {
                        "email": f"person{n}@example.org",
                        "name": f"Person {n}",
                        "member_id": None,
                    },
                },
            )
            for n in range(start, min(count, start + 5000))
        ]
        webhooks_emit_many(organization=org, events=events)


def run_sequential(count: int, client=None) -> float:
    """The same deliveries (bodies, signatures) with ``httpx.post`` one after another (or
    with one kept-alive ``httpx.Client``: how much of the gap is connection set-up)."""
    import httpx

    from laurel.integrations.models import WebhookDelivery
    from laurel.integrations.services import body_of
    from laurel.integrations.signing import signature_header

    rows = list(
        WebhookDelivery.objects.select_related("message", "endpoint").order_by("id")[:count]
    )
    started = time.perf_counter()
    for d in rows:
        body = body_of(d.message)
        stamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": d.message.webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature_header(
                [d.endpoint.secret], d.message.webhook_id, stamp, body
            ),
        }
        post = client.post if client else httpx.post
        response = post(d.endpoint.url, content=body, headers=headers, timeout=10)
        assert response.status_code == 204
    return count / (time.perf_counter() - started)


def run_dispatch(count: int) -> float:
    from laurel.integrations.models import WebhookDelivery
    from laurel.integrations.services import webhooks_dispatch_parallel

    started = time.perf_counter()
    sent = 0
    while sent < count:
        done = webhooks_dispatch_parallel()
        if not done:
            break
        sent += done
    elapsed = time.perf_counter() - started
    delivered = WebhookDelivery.objects.filter(status="delivered").count()
    assert delivered == count, (delivered, count)
    return count / elapsed


def import_once(org, admin, path: str) -> tuple[float, float]:
    from laurel.audit.services import Actor
    from laurel.imports import services

    actor = Actor(user=admin)
    started = time.perf_counter()
    with open(path, "rb") as fh:
        job, _ = services.import_create(
            actor=actor, organization=org, kind="credits", upload=fh, file_name="b.csv", start=False
        )
    services.import_validate(job_id=job.pk)
    validated = time.perf_counter()
    services.import_commit_start(actor=actor, job=job, enqueue=False)
    services.import_commit_run(job_id=job.pk)
    finished = time.perf_counter()
    job.refresh_from_db()
    assert job.status == "committed", job.error
    return finished - started, finished - validated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument(
        "--sequential", type=int, default=1_000, help="deliveries the httpx.post baseline sends"
    )
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--import-rows", type=int, default=200_000)
    args = parser.parse_args()
    deliveries = max(100, int(args.deliveries * args.scale))
    sequential = max(100, int(args.sequential * args.scale)) // args.endpoints * args.endpoints
    import_rows = max(1000, int(args.import_rows * args.scale))

    os.environ.setdefault("BENCH_PG_DB", "laurel_bench_webhooks")
    sqlite_path = bench_imports.setup_database(args.db)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"] = "true"  # the receiver is on 127.0.0.1
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from laurel.audit.services import Actor
    from laurel.integrations.events import EVENT_TYPES
    from laurel.integrations.models import WebhookDelivery
    from laurel.integrations.services import endpoint_create

    port = multiprocessing.Value("i", 0)
    receiver = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    receiver.start()
    while not port.value:
        time.sleep(0.05)
    paths = []
    try:
        call_command("migrate", verbosity=0)
        org, admin = bench_imports.seed()
        log("seeded 500 courses and 100,000 accounts")

        # 1. Dispatch.
        for n in range(args.endpoints):
            endpoint_create(
                actor=Actor(user=admin),
                organization=org,
                url=f"http://127.0.0.1:{port.value}/e{n}",
                event_types=["credit.held"],
            )
        # Each event goes to every endpoint: deliveries = events x endpoints.
        queue_events(org, sequential // args.endpoints)
        sequential_rate = run_sequential(sequential)
        import httpx

        with httpx.Client() as client:
            client_rate = run_sequential(sequential, client)
        WebhookDelivery.objects.all().delete()
        log(f"sequential httpx.post: {sequential_rate:.0f}/s, one httpx.Client {client_rate:.0f}/s")
        queue_events(org, deliveries // args.endpoints)
        deliveries = deliveries // args.endpoints * args.endpoints
        log(f"queued {deliveries} deliveries")
        rate = run_dispatch(deliveries)
        log(
            f"dispatched {deliveries} at {rate:.0f}/s "
            f"({settings.WEBHOOKS_DISPATCH_THREADS} threads, batch {settings.WEBHOOKS_BATCH})"
        )

        # 2. Import overhead.
        for n, (slug, prefix, hooks) in enumerate(
            [("none-a", "NOA", False), ("one", "ONE", True), ("none-b", "NOB", False)]
        ):
            other, other_admin = bench_imports.seed(slug, prefix=prefix, accounts=False)
            if hooks:
                endpoint_create(
                    actor=Actor(user=other_admin),
                    organization=other,
                    url=f"http://127.0.0.1:{port.value}/import",
                    event_types=list(EVENT_TYPES),
                )
            fd, path = tempfile.mkstemp(suffix=".csv")
            os.close(fd)
            paths.append(path)
            bench_imports.write_file(path, import_rows, seed=7 + n)
            Path(path).write_text(Path(path).read_text().replace("BEN-", f"{prefix}-"))
            total, commit = import_once(other, other_admin, path)
            log(f"import {slug}: {total:.1f} s (commit {commit:.1f} s)")
            if hooks:
                with_hooks = (total, commit)
                events = WebhookDelivery.objects.filter(endpoint__organization=other).count()
            elif n == 0:
                none_a = (total, commit)
            else:
                none_b = (total, commit)
    finally:
        receiver.terminate()
        for path in paths:
            os.unlink(path)
        if sqlite_path:
            os.unlink(sqlite_path)
    none_total = (none_a[0] + none_b[0]) / 2
    none_commit = (none_a[1] + none_b[1]) / 2
    result = {
        "db": args.db,
        "scale": args.scale,
        "deliveries": deliveries,
        "deliveries_per_s": round(rate),
        "sequential_httpx_post_per_s": round(sequential_rate),
        "ratio_vs_sequential": round(rate / sequential_rate, 2),
        "sequential_one_client_per_s": round(client_rate),
        "endpoints": args.endpoints,
        "import_rows": import_rows,
        "import_events": events,
        "import_s_none": [round(none_a[0], 2), round(none_b[0], 2)],
        "import_s_one_endpoint": round(with_hooks[0], 2),
        "import_overhead": round(with_hooks[0] / none_total, 3),
        "commit_overhead": round(with_hooks[1] / none_commit, 3),
        "peak_rss_mb": round(rss_mb(), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
