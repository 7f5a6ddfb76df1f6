"""/metrics: only with METRICS_TOKEN and its bearer; parsed by prometheus_client's parser."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from laurel.certificates.models import CertificateJob
from laurel.notifications.models import OutboxMessage
from laurel.operations.services import worker_beat
from tests.factories import make_org, make_user

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db
TOKEN = "s3cret-metrics-token"


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} from the exposition, via the client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def scrape(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


def test_metrics_do_not_exist_without_a_token_and_refuse_a_wrong_bearer(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert b"laurel_" not in wrong.content


def test_metrics_count_requests_by_view_and_read_queues_jobs_and_outbox_from_the_database(
    client, settings
):
    settings.METRICS_TOKEN = TOKEN
    org, owner = make_org("metrics"), make_user()
    worker_beat()
    before = scrape(client)
    healthz = ("laurel_http_requests_total", frozenset({"view": "healthz", "method": "GET",
                                                       "status": "200"}.items()))  # fmt: skip
    client.get("/healthz")
    client.get("/healthz")
    OutboxMessage.objects.create(kind="t", to_email="a@example.org", subject="s", body_text="b")
    CertificateJob.objects.create(
        organization=org, requested_by=owner, kind="pdf", status="failed", total=1
    )
    CertificateJob.objects.create(
        organization=org,
        requested_by=owner,
        kind="pdf",
        status="running",
        total=1,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    from django_tasks_db.models import DBTaskResult

    for minutes in (10, 1):  # two tasks waiting on the pdf queue, the oldest for 10 min
        task = DBTaskResult.objects.create(
            status="READY",
            args_kwargs={"args": [], "kwargs": {}},
            priority=0,
            task_path="laurel.certificates.tasks.job_start",
            queue_name="pdf",
            backend_name="default",
        )
        enqueued_at = timezone.now() - timedelta(minutes=minutes)  # the field is auto_now_add
        DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=enqueued_at)
    after = scrape(client)
    assert after[healthz] == before.get(healthz, 0) + 2

    def value(name, **labels):
        return after[(name, frozenset(labels.items()))]

    assert value("laurel_http_request_duration_seconds_count", view="healthz", method="GET") >= 2
    assert value("laurel_http_request_queries_count", view="healthz") >= 2
    assert value("laurel_outbox_messages", status="queued") == 1
    assert value("laurel_outbox_messages", status="sent") == 0
    assert value("laurel_outbox_messages", status="suppressed") == 0
    assert value("laurel_jobs", kind="certificate_file", state="failed") == 1
    assert value("laurel_jobs", kind="certificate_file", state="stale") == 1
    assert value("laurel_jobs", kind="certificate_file", state="running") == 1
    assert value("laurel_jobs", kind="import", state="running") == 0
    assert value("laurel_workers_alive") == 1
    assert value("laurel_task_queue_depth", queue="pdf") == 2
    assert 599 < value("laurel_task_queue_oldest_age_seconds", queue="pdf") < 700
    assert value("laurel_task_queue_depth", queue="email") == 0
    for total in ("laurel_credits", "laurel_holders", "laurel_certificates"):
        assert (total, frozenset()) in after


def test_webhook_deliveries_pending_and_failing_are_reported_per_endpoint(client, settings):
    from laurel.integrations.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

    settings.METRICS_TOKEN = TOKEN
    org = make_org("hooks")
    healthy, failing, quiet = (
        WebhookEndpoint.objects.create(organization=org, url=f"https://{n}.example.org/hook")
        for n in ("healthy", "failing", "quiet")
    )
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        failing_since=timezone.now() - timedelta(hours=2)
    )
    message = WebhookMessage.objects.create(organization=org, event_type="credit.issued")

    def deliveries(endpoint, n, **fields):
        for _ in range(n):
            WebhookDelivery.objects.create(endpoint=endpoint, message=message, **fields)

    deliveries(healthy, 2)
    deliveries(healthy, 5, status=WebhookDelivery.Status.DELIVERED, attempts=1)
    deliveries(failing, 1, attempts=3)  # the head, waiting for its retry
    deliveries(failing, 3)
    deliveries(quiet, 4, status=WebhookDelivery.Status.DELIVERED, attempts=1)
    after = scrape(client)

    def value(name, endpoint):
        return after.get((name, frozenset({"endpoint": str(endpoint.pk)}.items())))

    assert value("laurel_webhook_deliveries_pending", healthy) == 2
    assert value("laurel_webhook_deliveries_failing", healthy) == 0
    assert value("laurel_webhook_endpoint_failing_seconds", healthy) == 0
    assert value("laurel_webhook_deliveries_pending", failing) == 4
    assert value("laurel_webhook_deliveries_failing", failing) == 1
    assert 7190 < value("laurel_webhook_endpoint_failing_seconds", failing) < 7300
    # An endpoint with nothing outstanding is not a series at all (bounded cardinality).
    assert value("laurel_webhook_deliveries_pending", quiet) is None


def test_several_processes_report_one_view_in_multiprocess_mode(tmp_path):
    """What gunicorn's workers do: each counts its own requests into PROMETHEUS_MULTIPROC_DIR;
    a scrape answered by any process sums them all."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    count = (
        "from laurel.operations import metrics; assert metrics.MULTIPROCESS; "
        "metrics.observe(view='healthz', method='GET', status=200, seconds=0.01, queries=1)"
    )
    for _ in range(3):  # three separate processes
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True, timeout=60)
    read = (
        "from prometheus_client import CollectorRegistry, generate_latest; "
        "from prometheus_client.multiprocess import MultiProcessCollector; "
        "r = CollectorRegistry(); MultiProcessCollector(r); print(generate_latest(r).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, cwd=ROOT, check=True, capture_output=True,
        text=True, timeout=60,
    ).stdout  # fmt: skip
    found = samples(out)
    key = frozenset({"view": "healthz", "method": "GET", "status": "200"}.items())
    assert found[("laurel_http_requests_total", key)] == 3
