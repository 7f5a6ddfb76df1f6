"""One way to export: a small export streams in the response, a big one (over
``LAUREL_EXPORT_STREAM_MAX_ROWS``) is written by a worker and e-mailed as a link. Rows are
always set-based and formula-safe. A stream that cannot finish (an error, or it runs past
``LAUREL_EXPORT_STREAM_SECONDS``, before the web server's timeout would cut it) never ends
looking complete: its last line says it is incomplete, and the same export is handed to a
background job."""

from __future__ import annotations

import csv
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from laurel.audit.services import Actor, audit_record
from laurel.exports.kinds import KINDS, ExportKind
from laurel.exports.models import ExportJob
from laurel.lib.csvfile import Echo, formula_safe
from laurel.lib.paging import bounded_count
from laurel.notifications.services import outbox_enqueue

log = logging.getLogger(__name__)
BEAT_EVERY = 50_000  # rows between heartbeats (and progress) of a background export


class _Line:
    """A csv writer whose rows come back as text (for streaming)."""

    def __init__(self):
        self.writer = csv.writer(Echo(), lineterminator="\r\n")

    def __call__(self, row) -> str:
        return self.writer.writerow([formula_safe(cell) for cell in row])


def _params(query) -> dict:
    """A request's query string as plain ``{name: value}`` (what a job row stores)."""
    return {key: query.get(key) for key in query if key != "page"} if query else {}


def export_respond(request, *, kind: str, params=None) -> HttpResponse:
    """The export as a streamed CSV when small, else a background job and its page.
    ``params`` is the request's query string or a dict of what narrows the export."""
    export = KINDS[kind]
    params = params if isinstance(params, dict) else _params(params)
    limit = settings.LAUREL_EXPORT_STREAM_MAX_ROWS
    rows, more = bounded_count(export.count_queryset(request.org, params), lookahead=limit)
    if more:
        job = export_request(
            actor=Actor.from_request(request), organization=request.org, kind=kind, params=params
        )
        messages.info(
            request,
            f"More than {limit:,} rows: the file is being written in the background. "
            "We e-mail you a link when it is ready.",
        )
        return redirect("exports:job", org_slug=request.org.slug, pk=job.pk)
    actor = Actor.from_request(request)
    stream = export_stream(export, organization=request.org, params=params, actor=actor)
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    name = export.file_name(request.org, params)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Export-Rows"] = str(rows)  # what a complete file holds (a client can check)
    return response


def export_stream(
    export: ExportKind, *, organization, params: dict, actor: Actor, started: float | None = None
) -> Iterator[str]:
    """The CSV lines; if the rows cannot all be written, the last line says so (never a
    short file that looks whole) and the export continues as a background job."""
    line = _Line()
    started = time.monotonic() if started is None else started
    budget = settings.LAUREL_EXPORT_STREAM_SECONDS
    yield line(export.header(organization, params))
    written = 0
    try:
        for row in export.rows(organization, params):
            if written % 1000 == 0 and time.monotonic() - started > budget:
                raise TimeoutError(f"it took longer than {budget} seconds")
            yield line(row)
            written += 1
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the file must say so
        log.exception("export %s of %s stopped after %s rows", export.name, organization, written)
        reason = str(exc) if isinstance(exc, TimeoutError) else "an error on the server"
        job = export_request(
            actor=actor, organization=organization, kind=export.name, params=params
        )
        link = settings.SITE_URL + job.job_link()
        yield line([
            f"# INCOMPLETE EXPORT: stopped after {written} rows because {reason}. "
            f"The complete file is being written in the background: {link}"
        ])  # fmt: skip


@transaction.atomic
def export_request(*, actor: Actor, organization, kind: str, params: dict) -> ExportJob:
    """Queue a background export; the requester is e-mailed a link when it is ready."""
    export = KINDS[kind]
    job = ExportJob.objects.create(
        organization=organization,
        requested_by=actor.user,
        kind=kind,
        params=params,
        total=bounded_count(export.count_queryset(organization, params), lookahead=10**9)[0],
    )
    audit_record(
        actor=actor,
        action="export.requested",
        obj=job,
        organization=organization,
        after={"kind": kind, "params": params, "rows": job.total},
    )
    from laurel.exports.tasks import export_run

    transaction.on_commit(lambda: export_run.enqueue(job.pk))
    return job


def write_rows(rows: Iterable, header, out, *, progress=None) -> int:
    """Write formula-safe CSV rows to ``out``; call ``progress(n)`` every ``BEAT_EVERY``."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([formula_safe(c) for c in header])
    written = 0
    for row in rows:
        writer.writerow([formula_safe(c) for c in row])
        written += 1
        if progress is not None and written % BEAT_EVERY == 0:
            progress(written)
    return written


# The session settings of a COPY export: the query's text output of dates and times is
# ISO and in UTC (``ledger_copy_sql`` cuts them to minutes); no JIT (EXPLAIN ANALYZE of the
# million-row ledger showed 16 s of JIT compilation, more than the query's own work); no
# parallel workers (each re-ran the components aggregate, and on two cores the worker
# writing the file needs the other one); enough memory for its hashes and its sort to stay
# off disk (a million ledger rows: ~150 MB of hash, ~200 MB of sort).
COPY_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "jit": "off",
    "max_parallel_workers_per_gather": "0",
}
COPY_FLUSH_BYTES = 1 << 20


def copy_rows(sql: str, params: list, header, out, *, progress=None) -> int:
    """Write the header, then the rows of ``sql`` as PostgreSQL's ``COPY … TO STDOUT`` makes
    them (CSV, every value formed by the query); return how many rows COPY wrote.

    Line ends are CRLF, as ``write_rows`` and the streamed response write them. Each COPY
    message from the server is exactly one row ending in ``\\n`` (the protocol says so), so
    only that last byte becomes ``\\r\\n``: a line break inside a quoted cell (a note, a
    reason, a name) is written as it is."""
    out.write(_Line()(header).encode())
    session = {**COPY_SETTINGS, "work_mem": settings.LAUREL_EXPORT_COPY_WORK_MEM}
    sent = beaten = 0
    pending = bytearray()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's has no COPY
        before = {}
        for name, value in session.items():
            raw.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
            before[name] = raw.fetchone()[0]
        with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for data in copy:
                if data[-1:] != b"\n":  # never, unless the protocol changed
                    raise ValueError("a COPY message that is not one whole row")
                pending += data[:-1]
                pending += b"\r\n"
                sent += 1
                if len(pending) >= COPY_FLUSH_BYTES:
                    out.write(pending)
                    pending.clear()
                    if progress is not None and sent - beaten >= BEAT_EVERY:
                        progress(sent)
                        beaten = sent
        out.write(pending)
        written = raw.rowcount
        for name, value in before.items():  # an outer transaction keeps its own settings
            raw.execute("SELECT set_config(%s, %s, true)", [name, value])
    return written


def _beat(pk: int, token: str, done: int) -> None:
    ExportJob.beat(pk, token, done=done)


def export_file(export: ExportKind, organization, params: dict, path, *, progress=None) -> int:
    """Write the whole export to the file at ``path``: on PostgreSQL by ``COPY`` when the
    kind has ``copy_sql``, else the Python rows. What the background job runs, and what
    ``bench/web.py`` and ``bench/exports.py`` time."""
    header = export.header(organization, params)
    if export.copy_sql is not None and connection.vendor == "postgresql":
        sql, sql_params = export.copy_sql(organization, params)
        with open(path, "wb") as out:
            return copy_rows(sql, sql_params, header, out, progress=progress)
    with open(path, "w", newline="", encoding="utf-8") as out:
        rows = export.rows(organization, params)
        return write_rows(rows, header, out, progress=progress)


def export_write(*, job_id: int) -> str:
    """The background half: write the whole file, keep it, tell the requester."""
    token = ExportJob.claim(
        job_id, statuses=[ExportJob.Status.QUEUED], status=ExportJob.Status.RUNNING
    )
    if token is None:
        return "skipped"
    job = ExportJob.objects.select_related("organization", "requested_by").get(pk=job_id)
    export = KINDS[job.kind]
    fd, path = tempfile.mkstemp(suffix=".csv", prefix="laurel-export-")
    os.close(fd)
    progress = partial(_beat, job.pk, token)
    try:
        written = export_file(export, job.organization, job.params, path, progress=progress)
        name = f"exports/{job.organization_id}/{job.pk}-{secrets.token_hex(8)}.csv"
        with open(path, "rb") as fh:
            name = default_storage.save(name, File(fh))
        size = os.path.getsize(path)
    except Exception:
        ExportJob.objects.filter(pk=job.pk, worker_token=token).update(
            error="The file could not be written; it will be tried again automatically."
        )
        raise
    finally:
        os.unlink(path)
    _complete(
        job,
        token,
        name=name,
        size=size,
        rows=written,
        file_name=export.file_name(job.organization, job.params),
    )
    return "done"


def _complete(job: ExportJob, token: str, *, name: str, size: int, rows: int, file_name: str):
    with transaction.atomic():
        updated = ExportJob.objects.filter(pk=job.pk, worker_token=token).update(
            status=ExportJob.Status.DONE,
            file=name,
            file_name=file_name,
            file_size=size,
            done=rows,
            total=rows,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            worker_token="",
            error="",
        )
        if not updated:  # another worker took it over meanwhile: its file wins
            transaction.on_commit(lambda: default_storage.delete(name))
            return
        # Only the requester's last file of each kind is kept.
        older = ExportJob.objects.filter(
            organization=job.organization,
            requested_by=job.requested_by,
            kind=job.kind,
            status=ExportJob.Status.DONE,
        ).exclude(pk=job.pk)
        for old in older.exclude(file=""):
            transaction.on_commit(lambda f=old.file: default_storage.delete(f))
        older.update(status=ExportJob.Status.SUPERSEDED, file="")
        if job.requested_by is not None and job.requested_by.email:
            outbox_enqueue(
                to=job.requested_by.email,
                template="export_file_ready",
                context={
                    "title": job.title,
                    "rows": rows,
                    "link": reverse("exports:download", args=[job.organization.slug, job.pk]),
                },
                organization=job.organization,
                dedupe_key=f"export-job:{job.pk}",
            )


def export_resume_stale() -> int:
    """Hand exports whose worker stopped beating to a new attempt (housekeeping duty)."""
    return len(ExportJob.resume_stale())
