"""The health checks behind ``laurel doctor``, the Operations page and ``/readyz``.

Each check returns one ``Check``: ok, warning or error, what was found, and how to fix it.
They read; none of them changes anything but a probe file in storage.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

OK, WARNING, ERROR = "ok", "warning", "error"
WORKER_ALIVE_SECONDS = 60
OUTBOX_LATE_MINUTES = 15


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warning | error
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def configuration() -> Check:
    problems, fixes = [], []
    if not settings.PRODUCTION:
        problems.append(f"LAUREL_ENV is {settings.LAUREL_ENV!r}")
        fixes.append("set LAUREL_ENV=production on a server")
    if settings.DEBUG:
        problems.append("DEBUG is on")
        fixes.append("unset DEBUG")
    url = urlsplit(settings.SITE_URL)
    if url.scheme not in {"http", "https"} or not url.netloc or url.path not in {"", "/"}:
        return Check(
            "configuration",
            ERROR,
            f"SITE_URL {settings.SITE_URL!r} is not of the form https://host[:port]",
            "set SITE_URL to the address people open, e.g. https://credits.example.org",
        )
    if settings.PRODUCTION and url.scheme != "https":
        problems.append("SITE_URL is not https")
        fixes.append("serve Laurel over TLS and set SITE_URL=https://…")
    if len(settings.SECRET_KEY) < 50:
        return Check(
            "configuration",
            ERROR,
            f"SECRET_KEY has {len(settings.SECRET_KEY)} characters (50 or more needed)",
            "generate one: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
        )
    if problems:
        status = ERROR if settings.PRODUCTION else WARNING
        return Check("configuration", status, "; ".join(problems), "; ".join(fixes))
    return Check("configuration", OK, f"production settings, SITE_URL {settings.SITE_URL}")


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return Check("database", ERROR, f"cannot connect: {exc}", "check DATABASE_URL")
    return Check("database", OK, f"connected ({connection.vendor})")


def migrations() -> Check:
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return Check("migrations", ERROR, f"cannot read migrations: {exc}", "check DATABASE_URL")
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        return Check(
            "migrations",
            ERROR,
            f"{len(plan)} pending: {names}{more}",
            "run: laurel migrate (after a backup, see docs/operations.md)",
        )
    return Check("migrations", OK, "none pending")


def storage() -> Check:
    name = f"health/probe-{timezone.now():%Y%m%d%H%M%S%f}"
    try:
        saved = default_storage.save(name, ContentFile(b"laurel"))
        with default_storage.open(saved, "rb") as handle:
            data = handle.read()
        default_storage.delete(saved)
    except Exception as exc:
        return Check(
            "storage",
            ERROR,
            f"cannot write and read a file: {exc}",
            "check MEDIA_ROOT permissions, or the S3_* settings",
        )
    if data != b"laurel":
        return Check("storage", ERROR, "a file read back differs from what was written")
    return Check("storage", OK, f"read and write ({type(default_storage).__name__})")


def smtp() -> Check:
    from django.core.mail import get_connection

    backend = settings.EMAIL_BACKEND
    if not backend.endswith("smtp.EmailBackend"):
        status = ERROR if settings.PRODUCTION else WARNING
        return Check(
            "smtp",
            status,
            f"mail is not sent over SMTP ({backend.rsplit('.', 2)[-2]})",
            "set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD)",
        )
    mail = get_connection(timeout=10)
    try:
        mail.open()  # connects, starts TLS and logs in as configured; sends nothing
    except Exception as exc:
        return Check(
            "smtp",
            ERROR,
            f"cannot connect or log in to {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {exc}",
            "check EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS/SSL and the login",
        )
    finally:
        with contextlib.suppress(Exception):  # a half-open connection: nothing more to do
            mail.close()
    login = " and logged in" if settings.EMAIL_HOST_USER else ""
    return Check("smtp", OK, f"connected to {settings.EMAIL_HOST}:{settings.EMAIL_PORT}{login}")


def workers() -> Check:
    from laurel.operations.models import WorkerHeartbeat

    since = timezone.now() - timedelta(seconds=WORKER_ALIVE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(beat_at__gte=since).count()
    if not alive:
        last = WorkerHeartbeat.objects.order_by("-beat_at").first()
        seen = f"; last beat {last.beat_at:%Y-%m-%d %H:%M:%S} UTC" if last else ""
        return Check(
            "workers",
            ERROR,
            f"no worker has beaten in the last {WORKER_ALIVE_SECONDS} s{seen}",
            "start one: laurel worker (systemd: laurel-worker@1, see deploy/)",
        )
    return Check("workers", OK, f"{alive} alive")


def jobs() -> Check:
    from laurel.operations.services import job_kinds

    stale, failed = [], []
    day = timezone.now() - timedelta(days=1)
    for kind, model in job_kinds().items():
        running = model.objects.filter(status__in=model.RUNNING)
        if n := running.filter(model.stale_q()).count():
            stale.append(f"{n} {kind}")
        recent = model.objects.filter(status=model.Status.FAILED, heartbeat_at__gte=day)
        if n := recent.count():
            failed.append(f"{n} {kind}")
    if stale:
        return Check(
            "jobs",
            WARNING,
            f"stale (no heartbeat): {', '.join(stale)}",
            "a worker resumes them within 30 s; if they stay, check that workers run",
        )
    if failed:
        return Check(
            "jobs",
            WARNING,
            f"failed in the last day: {', '.join(failed)}",
            "see the Operations page; retry once the cause is fixed",
        )
    return Check("jobs", OK, "none stale or recently failed")


def outbox() -> Check:
    from laurel.notifications.models import OutboxMessage

    queued = OutboxMessage.objects.filter(status=OutboxMessage.Status.QUEUED)
    late = queued.filter(created_at__lt=timezone.now() - timedelta(minutes=OUTBOX_LATE_MINUTES))
    failed = OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED).count()
    count, late_count = queued.count(), late.count()
    if late_count:
        return Check(
            "outbox",
            WARNING,
            f"{late_count} of {count} queued e-mails waiting over {OUTBOX_LATE_MINUTES} min",
            "check that a worker takes the email queue and the smtp check",
        )
    if failed:
        return Check("outbox", WARNING, f"{count} queued, {failed} failed", "see last_error")
    return Check("outbox", OK, f"{count} queued, none late")


def signing_keys() -> Check:
    """Every active key must decrypt with SECRET_KEY (or a fallback): else no certificate of
    that organization can be signed. An organization without a key gets one on first use."""
    from laurel.certificates.models import OrganizationSigningKey
    from laurel.certificates.openbadges import decrypt_private_key

    broken = []
    active = OrganizationSigningKey.objects.filter(retired_at=None).select_related("organization")
    for key in active.iterator():
        try:
            decrypt_private_key(key)
        except Exception:
            broken.append(key.organization.slug)
    if broken:
        return Check(
            "signing_keys",
            ERROR,
            f"cannot decrypt the signing key of: {', '.join(broken[:20])}",
            "put the old SECRET_KEY in SECRET_KEY_FALLBACKS, or rotate those organizations' keys",
        )
    return Check("signing_keys", OK, f"{active.count()} active keys decrypt")


def disk() -> Check:
    # Before the first run the data directory may not exist yet: measure the disk it will be
    # created on (its nearest existing parent) rather than fail.
    where = Path(settings.DATA_DIR)
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = shutil.disk_usage(where)
    free_gb, share = usage.free / 1e9, usage.free / usage.total
    message = f"{free_gb:.1f} GB free ({share:.0%}) in {settings.DATA_DIR}"
    if usage.free < 500e6 or share < 0.02:
        return Check("disk", ERROR, message, "free space or grow the disk")
    if usage.free < 5e9 or share < 0.10:
        return Check("disk", WARNING, message, "free space or grow the disk soon")
    if where != Path(settings.DATA_DIR):
        return Check(
            "disk",
            WARNING,
            f"{settings.DATA_DIR} does not exist yet; {message}",
            "create it (laurel migrate does on first run) or set LAUREL_DATA_DIR",
        )
    return Check("disk", OK, message)


ALL: tuple[Callable[[], Check], ...] = (
    configuration,
    database,
    migrations,
    storage,
    smtp,
    workers,
    jobs,
    outbox,
    signing_keys,
    disk,
)


def run_all() -> list[Check]:
    results = []
    for check in ALL:
        try:
            results.append(check())
        except Exception as exc:  # one broken check must not hide the others
            results.append(Check(check.__name__, ERROR, f"the check itself failed: {exc}"))
    return results
