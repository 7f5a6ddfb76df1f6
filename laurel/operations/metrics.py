"""Prometheus metrics for ``/metrics`` (prometheus_client).

Two sources, so that every gunicorn process answers with the same numbers:

- per-request counters and histograms live in the process that served the request; with
  ``PROMETHEUS_MULTIPROC_DIR`` set (``deploy/`` sets it) the client's multiprocess mode
  writes them to files there and any process adds them all up;
- everything else (task queues, jobs, the outbox, totals) is a gauge read from the database
  when scraped, so it needs no sharing at all. Totals over big tables are cached a minute.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
TOTALS_CACHE_SECONDS = 60
# Webhook gauges are labelled by endpoint id; only endpoints with pending deliveries or a
# failing streak are reported, the most backed-up first, at most this many.
WEBHOOK_ENDPOINTS_MAX = 100

# In multiprocess mode the values go to files, whatever registry they name; this one is
# only read in single-process mode (``laurel serve`` without the variable, tests).
REQUEST_REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "laurel_http_requests",
    "HTTP requests by view name, method and status.",
    ["view", "method", "status"],
    registry=REQUEST_REGISTRY,
)
LATENCY = Histogram(
    "laurel_http_request_duration_seconds",
    "Time to answer an HTTP request, by view name.",
    ["view", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REQUEST_REGISTRY,
)
QUERIES = Histogram(
    "laurel_http_request_queries",
    "Database queries per HTTP request, by view name.",
    ["view"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
    registry=REQUEST_REGISTRY,
)


def observe(*, view: str, method: str, status: int, seconds: float, queries: int) -> None:
    method = method if method in METHODS else "OTHER"
    REQUESTS.labels(view, method, str(status)).inc()
    LATENCY.labels(view, method).observe(seconds)
    QUERIES.labels(view).observe(queries)


def render() -> tuple[bytes, str]:
    """The exposition: request metrics (this process, or all processes) + database gauges."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    data = generate_latest(registry)
    if not MULTIPROCESS:
        data = generate_latest(REQUEST_REGISTRY) + data
    return data, CONTENT_TYPE_LATEST


# --- gauges read from the database -----------------------------------------------------------


def outbox_counts() -> dict[str, int]:
    from laurel.notifications.models import OutboxMessage

    counts = dict.fromkeys(OutboxMessage.Status.values, 0)
    for row in OutboxMessage.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def outbox_oldest_queued():
    from laurel.notifications.models import OutboxMessage

    queued = OutboxMessage.objects.filter(status=OutboxMessage.Status.QUEUED)
    return queued.aggregate(oldest=Min("created_at"))["oldest"]


def _task_queues():
    from django_tasks_db.models import DBTaskResult

    ready = DBTaskResult.objects.filter(status="READY")
    return ready.values("queue_name").annotate(n=Count("id"), oldest=Min("enqueued_at")).order_by()


def webhook_backlog() -> list[dict]:
    """Per endpoint with work outstanding: pending deliveries, those of them that already
    failed at least once (waiting for a retry), and since when the endpoint has been failing.
    Reads the pending-queue index only (never the delivered log)."""
    from laurel.integrations.models import WebhookDelivery, WebhookEndpoint

    pending = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .values("endpoint_id")
        .annotate(pending=Count("id"), failing=Count("id", filter=Q(attempts__gt=0)))
        .order_by("-pending")[:WEBHOOK_ENDPOINTS_MAX]
    )
    rows = {row["endpoint_id"]: {**row, "failing_since": None} for row in pending}
    streaks = WebhookEndpoint.objects.exclude(failing_since=None).values_list("pk", "failing_since")
    for pk, since in streaks.order_by("failing_since")[:WEBHOOK_ENDPOINTS_MAX]:
        row = rows.setdefault(pk, {"endpoint_id": pk, "pending": 0, "failing": 0})
        row["failing_since"] = since
    return sorted(rows.values(), key=lambda row: -row["pending"])[:WEBHOOK_ENDPOINTS_MAX]


def _totals() -> dict[str, int]:
    def compute():
        from laurel.certificates.models import Certificate
        from laurel.credits.models import Credit

        return {
            "credits": Credit.objects.count(),
            "holders": Credit.objects.exclude(holder=None).values("holder").distinct().count(),
            "certificates": Certificate.objects.count(),
        }

    return cache.get_or_set("laurel:metrics:totals", compute, TOTALS_CACHE_SECONDS)


class DatabaseCollector:
    """Gauges computed from the database at scrape time (one consistent view)."""

    def collect(self):
        from laurel.operations.models import WorkerHeartbeat
        from laurel.operations.services import job_kinds

        now = timezone.now()
        depth = GaugeMetricFamily(
            "laurel_task_queue_depth", "Tasks waiting to run, per queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "laurel_task_queue_oldest_age_seconds",
            "Age of the oldest task waiting to run, per queue.",
            labels=["queue"],
        )
        seen = set()
        for row in _task_queues():
            seen.add(row["queue_name"])
            depth.add_metric([row["queue_name"]], row["n"])
            age.add_metric([row["queue_name"]], (now - row["oldest"]).total_seconds())
        for queue in settings.TASKS["default"].get("QUEUES", []):
            if queue not in seen:
                depth.add_metric([queue], 0)
                age.add_metric([queue], 0)
        yield depth
        yield age

        jobs = GaugeMetricFamily(
            "laurel_jobs", "Background jobs by kind and state.", labels=["kind", "state"]
        )
        for kind, model in job_kinds().items():
            running = model.objects.filter(status__in=model.RUNNING)
            jobs.add_metric([kind, "running"], running.count())
            jobs.add_metric([kind, "stale"], running.filter(model.stale_q(now)).count())
            failed = model.objects.filter(status=model.Status.FAILED).count()
            jobs.add_metric([kind, "failed"], failed)
        yield jobs

        outbox = GaugeMetricFamily(
            "laurel_outbox_messages", "E-mails in the outbox by status.", labels=["status"]
        )
        for status, n in outbox_counts().items():
            outbox.add_metric([status], n)
        yield outbox
        oldest = outbox_oldest_queued()
        yield GaugeMetricFamily(
            "laurel_outbox_oldest_queued_age_seconds",
            "Age of the oldest e-mail still queued (0 when none).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        hooks = {
            name: GaugeMetricFamily(f"laurel_webhook_{name}", text, labels=["endpoint"])
            for name, text in (
                ("deliveries_pending", "Webhook deliveries waiting to be sent, per endpoint."),
                (
                    "deliveries_failing",
                    "Pending webhook deliveries that failed at least once, per endpoint.",
                ),
                (
                    "endpoint_failing_seconds",
                    "How long every delivery to the endpoint has failed (0 when not).",
                ),
            )
        }
        for row in webhook_backlog():
            endpoint = [str(row["endpoint_id"])]
            since = row["failing_since"]
            hooks["deliveries_pending"].add_metric(endpoint, row["pending"])
            hooks["deliveries_failing"].add_metric(endpoint, row["failing"])
            streak = (now - since).total_seconds() if since else 0
            hooks["endpoint_failing_seconds"].add_metric(endpoint, streak)
        yield from hooks.values()

        alive = WorkerHeartbeat.objects.filter(beat_at__gte=now - timedelta(seconds=60)).count()
        yield GaugeMetricFamily(
            "laurel_workers_alive", "Workers that beat in the last minute.", value=alive
        )

        totals = _totals()
        for name, value in totals.items():
            yield GaugeMetricFamily(
                f"laurel_{name}", f"{name.capitalize()} on this Laurel (cached).", value=value
            )
        yield GaugeMetricFamily(
            "laurel_metrics_scrape_timestamp_seconds", "When this was computed.", value=time.time()
        )
