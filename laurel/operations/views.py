"""Readiness, metrics and the platform admin's Operations page."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from laurel.audit.services import Actor
from laurel.operations import checks, metrics, services
from laurel.operations.models import WorkerHeartbeat


def _ready_checks() -> dict[str, str]:
    """Cheap checks a load balancer may call every few seconds: no writes."""
    results = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        results["database"] = "ok"
    except Exception as exc:
        results["database"] = f"error: {type(exc).__name__}"
        return {**results, "storage": "not checked", "worker": "not checked"}
    try:
        default_storage.exists("health/ready")
        results["storage"] = "ok"
    except Exception as exc:
        results["storage"] = f"error: {type(exc).__name__}"
    since = timezone.now() - timedelta(seconds=checks.WORKER_ALIVE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(beat_at__gte=since).exists()
    results["worker"] = "ok" if alive else "error: no worker heartbeat in the last minute"
    return results


@never_cache
def readyz(request):
    """200 when the database, storage and at least one worker are alive, else 503 naming
    the failing checks. ``/healthz`` stays the cheap liveness check."""
    results = _ready_checks()
    failing = [name for name, result in results.items() if result.startswith("error")]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
def metrics_view(request):
    """Prometheus text format; only when METRICS_TOKEN is set, only to a bearer of it."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("No such page")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    data, content_type = metrics.render()
    return HttpResponse(data, content_type=content_type)


def _superuser(request):
    if not request.user.is_superuser:
        raise Http404("No such page")


@login_required
def operations_page(request):
    """What ``laurel doctor`` says, failed jobs with "retry", and the e-mail backlog."""
    _superuser(request)
    context = {
        "checks": checks.run_all(),
        "failed_jobs": _failed_jobs(),
        "outbox": metrics.outbox_counts(),
        "oldest_queued": metrics.outbox_oldest_queued(),
        "workers": WorkerHeartbeat.objects.all()[:50],
    }
    return render(request, "operations/operations.html", context)


def _failed_jobs(limit: int = 50) -> list[dict]:
    rows = []
    for kind, model in services.job_kinds().items():
        failed = model.objects.filter(status=model.Status.FAILED).select_related("organization")
        for job in failed.order_by("-heartbeat_at")[:limit]:
            rows.append({"kind": kind, "job": job, "at": job.heartbeat_at or job.created_at})
    return sorted(rows, key=lambda r: r["at"], reverse=True)[:limit]


@login_required
@require_POST
def job_retry(request, kind: str, pk: int):
    _superuser(request)
    job = services.job_retry(actor=Actor.from_request(request), kind=kind, pk=pk)
    if job is None:
        messages.error(request, "That job is not failed any more (or does not exist).")
    else:
        messages.success(request, f"{job.job_title()} will be tried again.")
    return redirect("operations:page")
