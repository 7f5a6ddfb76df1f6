"""The import pipeline: upload → validate (preview) → commit in chunks → report, undo.

Validation and commit run as background tasks (``tasks``) and synchronously from the
command line; both own the job through ``worker_token`` and prove they are alive through
``heartbeat_at``. A commit chunk is one transaction that writes the credits, their
components, audit events, the rows' outcomes and the job's ``cursor`` together, so a
worker killed at any moment leaves either the whole chunk or none of it, and the next
worker continues after ``cursor``. The unique constraint on live credits backs this up.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from itertools import groupby

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, audit_record
from laurel.catalog.models import Course
from laurel.credits.models import Credit
from laurel.imports import bulk
from laurel.imports.digest import DigestRenderer, outbox_insert
from laurel.imports.kinds import ROW_COLUMNS, kind_for
from laurel.imports.models import ImportJob, ImportMapping, ImportRow
from laurel.integrations.events import import_data
from laurel.integrations.services import webhooks_emit, webhooks_emit_credits
from laurel.lib import dbstats
from laurel.lib.csvfile import write_csv
from laurel.lib.jobs import LostClaim
from laurel.lib.tabular import FileProblem, MappingProblem
from laurel.notifications.services import outbox_enqueue

log = logging.getLogger(__name__)
VALIDATE_CHUNK = 5000
WRITER_SWITCH_INTERVAL = 0.0002  # seconds; see _RowWriter
COMMIT_CHUNK = 10000
DIGEST_CHUNK = 2000
ATTACHMENT_MAX_ROWS = 20000
S = ImportJob.Status
C = ImportRow.Category


# --- upload --------------------------------------------------------------------------------


def _hash_file(upload) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    while chunk := upload.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return digest.hexdigest(), size


@transaction.atomic
def import_create(
    *,
    actor: Actor,
    organization: Organization,
    kind: str,
    upload,
    file_name: str,
    verify_only: bool = False,
    suppress_notifications: bool = False,
    start: bool = True,
    submitted_by_provider: Organization | None = None,
    source: str = "",
    options: dict | None = None,
) -> tuple[ImportJob, bool]:
    """Store an upload and (with ``start``) queue its validation.

    Returns ``(job, False)``, or ``(earlier job, True)`` when the same file (same content
    hash) was already imported as this kind for this organization. A course provider's
    roster (``submitted_by_provider``) waits for the organization's staff to commit it.
    """
    if submitted_by_provider is not None and kind != ImportJob.Kind.CREDITS:
        raise ServiceError("A provider sends attendance rosters (credits) only.", field="kind")
    try:
        kind_options = kind_for(kind).check_options(organization, options or {})
    except KeyError:
        raise ServiceError("Choose what the file contains.", field="kind")
    size = getattr(upload, "size", None)
    limit = settings.LAUREL_IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ServiceError(
            f"The file is {size / 1e6:.1f} MB; the largest accepted is {limit / 1e6:.0f} MB.",
            field="file",
        )
    sha256, size = _hash_file(upload)
    if size > limit:
        raise ServiceError(f"The largest file accepted is {limit / 1e6:.0f} MB.", field="file")
    if size == 0:
        raise ServiceError("The file is empty.", field="file")
    # The same file for another event (an attendee report) is another import.
    earlier = next(
        (
            job
            for job in ImportJob.objects.for_org(organization)
            .filter(kind=kind, sha256=sha256)
            .exclude(status__in=[S.FAILED, S.UNDONE])
            .order_by("created_at")
            if all(job.options.get(k) == v for k, v in kind_options.items())
        ),
        None,
    )
    if earlier:
        return earlier, True
    saved = ImportMapping.objects.filter(organization=organization, kind=kind).first()
    job = ImportJob(
        organization=organization,
        kind=kind,
        submitted_by_provider=submitted_by_provider,
        uploaded_by=actor.user,
        actor_label="" if actor.user else actor.label,
        file_name=(file_name or "upload")[:255],
        file_size=size,
        sha256=sha256,
        options={
            "verify_only": bool(verify_only),
            "suppress_notifications": bool(suppress_notifications),
            "mapping": saved.mapping if saved else {},
            # "pairs": typed as "course ID : e-mail" lines (the preview numbers pairs, not rows).
            "source": source,
            **kind_options,
        },
        heartbeat_at=timezone.now(),
    )
    job.file.save("upload", File(upload), save=False)
    job.full_clean()
    job.save()
    audit_record(
        actor=actor,
        action="import.uploaded",
        obj=job,
        organization=organization,
        after={
            "kind": kind,
            "file_name": job.file_name,
            "size": size,
            "sha256": sha256,
            "provider": submitted_by_provider.name if submitted_by_provider else None,
        },
    )
    if start:
        _enqueue_validate(job.pk)
    return job, False


def _enqueue_validate(job_id: int) -> None:
    from laurel.imports.tasks import import_validate_task

    transaction.on_commit(lambda: import_validate_task.enqueue(job_id))


def _enqueue_commit(job_id: int) -> None:
    from laurel.imports.tasks import import_commit_task

    transaction.on_commit(lambda: import_commit_task.enqueue(job_id))


# --- owning a running job ------------------------------------------------------------------
# The claim token, heartbeat and stale detection are the shared job contract
# (``laurel.lib.jobs``, ``docs/jobs.md``): ``ImportJob.claim``, ``.beat``, ``.locked``.


def _actor_of(job: ImportJob) -> tuple[int | None, str]:
    """(user id, label) for the rows an import writes: its uploader, or what it came from."""
    actor_user = job.uploaded_by_id
    return actor_user, "" if actor_user else (job.actor_label or "import")


class _CountingReader(io.RawIOBase):
    """The stored file, counting bytes read so validation can show progress."""

    def __init__(self, raw, size: int) -> None:
        self._raw = raw
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = self._raw.seek(offset, whence)
        return self.position

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- validation ----------------------------------------------------------------------------


def import_validate(*, job_id: int, on_progress=None) -> ImportJob | None:
    """Classify every row of the file into the preview; restartable from scratch."""
    token = ImportJob.claim(
        job_id, statuses=[S.UPLOADED, S.VALIDATING, S.RESUMING], status=S.VALIDATING
    )
    if token is None:
        return None
    job = ImportJob.objects.select_related("organization").get(pk=job_id)
    try:
        _validate(job, token, on_progress)
    except LostClaim:
        return None
    except FileProblem as exc:
        _finish_validation_problem(job, token, exc)
    except Exception:
        log.exception("import %s: validation failed", job.pk)
        ImportJob.beat(job.pk, token, status=S.FAILED, error="Validation stopped unexpectedly.")
        raise
    job.refresh_from_db()
    if job.status == S.VALIDATED and job.verify_only:
        import_report_send(job=job, verified=True)
    return job


def _finish_validation_problem(job: ImportJob, token: str, exc: FileProblem) -> None:
    with transaction.atomic():
        ImportRow.objects.filter(job=job).delete()
        if isinstance(exc, MappingProblem):
            ImportJob.beat(
                job.pk,
                token,
                status=S.NEEDS_MAPPING,
                headings=[h for h in exc.mapping.headings if h],
                error=exc.message,
                worker_token="",
            )
        else:
            ImportJob.beat(job.pk, token, status=S.FAILED, error=exc.message, worker_token="")
            audit_record(
                actor=Actor.system("import"),
                action="import.failed",
                obj=job,
                organization=job.organization,
                after={"error": exc.message},
            )


def _validate(job: ImportJob, token: str, on_progress=None) -> None:
    kind = kind_for(job.kind)
    org = job.organization
    ImportRow.objects.filter(job=job).delete()  # a restarted validation starts over
    counts = dict.fromkeys(C.values, 0)
    with job.file.open("rb") as stored:
        reader = _CountingReader(stored, job.file_size)
        table = kind.open_table(
            job,
            reader,
            max_bytes=settings.LAUREL_IMPORT_MAX_BYTES,
            overrides=job.options.get("mapping") or None,
        )
        with table:
            ImportJob.beat(job.pk, token, headings=[h for h in table.headings if h])
            records = table.records(kind.converters(org))
            buffer: list[tuple] = []
            done = 0
            columns = kind.row_columns
            with _RowWriter(job, token, columns) as writer:
                for row in kind.classify(job, records):
                    buffer.append(row)
                    counts[row[2]] += 1
                    if len(buffer) >= VALIDATE_CHUNK:
                        done += len(buffer)
                        estimate = int(done * job.file_size / max(reader.position, 1))
                        writer.write(buffer, rows_done=done, rows_total=max(estimate, done))
                        buffer = []
                        if on_progress:
                            on_progress(done, max(estimate, done))
                done += len(buffer)
                writer.write(buffer, rows_done=done, rows_total=done)
            if on_progress:
                on_progress(done, done)
    if done == 0:
        raise FileProblem("The file has headings but no data rows.")
    with transaction.atomic():
        ImportJob.beat(
            job.pk,
            token,
            status=S.VALIDATED,
            counts={**counts, "rows": done, "excluded": 0},
            rows_total=done,
            rows_done=done,
            validated_at=timezone.now(),
            worker_token="",
        )
        audit_record(
            actor=Actor.system("import"),
            action="import.validated",
            obj=job,
            organization=org,
            after={**counts, "rows": done},
        )


class _RowWriter:
    """Writes validated chunks of preview rows, each with the job's progress, in order.

    On PostgreSQL with ``LAUREL_IMPORT_CONNECTIONS`` > 1 a thread writes them on its own
    connection while this one goes on reading the file: the database inserts a chunk while
    Python classifies the next (at most two chunks wait in between). Otherwise inline.
    """

    def __init__(self, job: ImportJob, token: str, columns) -> None:
        self.job, self.token, self.columns = job, token, columns
        # Not inside a caller's transaction: the job row it may hold would block the thread.
        self.threaded = (
            bulk.is_postgres()
            and settings.LAUREL_IMPORT_CONNECTIONS > 1
            and not connection.in_atomic_block
        )
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _RowWriter:
        if self.threaded:
            # The writer needs the GIL back after every send to the database; with the
            # default 5 ms switch interval it waited for the busy reader about half of the
            # time (a million rows: 8 s of 17). At 0.2 ms neither thread waits.
            self.switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self.switch_interval, WRITER_SWITCH_INTERVAL))
            self.thread = threading.Thread(target=self._run, name="import-rows", daemon=True)
            self.thread.start()
        return self

    def write(self, rows: list[tuple], **progress) -> None:
        if not self.threaded:
            _write_rows(self.job, self.token, rows, self.columns, **progress)
            return
        if self.error is not None:
            raise self.error
        self.queue.put((rows, progress))

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                rows, progress = item
                _write_rows(self.job, self.token, rows, self.columns, **progress)
        except BaseException as exc:  # handed to the reading thread
            self.error = exc
            while self.queue.get() is not None:  # drain, so the reader never blocks
                pass
        finally:
            connection.close()  # this thread's own connection

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.thread is None:
            return
        self.queue.put(None)
        self.thread.join()
        sys.setswitchinterval(self.switch_interval)
        if exc_type is None and self.error is not None:
            raise self.error


def _write_rows(
    job: ImportJob, token: str, rows: list[tuple], columns=ROW_COLUMNS, **progress
) -> None:
    with transaction.atomic():
        bulk.relax_durability()
        ImportJob.beat(job.pk, token, **progress)
        bulk.copy_insert("imports_importrow", [f'"{c}"' for c in columns], rows)


# --- mapping and the preview's choices -----------------------------------------------------


@transaction.atomic
def import_mapping_set(
    *, actor: Actor, job: ImportJob, mapping: dict[str, str | None], save: bool
) -> ImportJob:
    """Apply the user's column mapping (heading → field) and validate again."""
    if job.status not in (S.NEEDS_MAPPING, S.VALIDATED, S.FAILED):
        raise ServiceError("This import can no longer be changed.", code="state")
    kind = kind_for(job.kind)
    names = {f.name for f in kind.fields}
    clean = {h: (f if f in names else None) for h, f in mapping.items()}
    chosen = [f for f in clean.values() if f]
    if len(chosen) != len(set(chosen)):
        raise ServiceError("Each field can come from one column only.", field="mapping")
    missing = [f.label for f in kind.fields if f.required and f.name not in chosen]
    if missing:
        raise ServiceError(f"Choose a column for {', '.join(missing)}.", field="mapping")
    job.options = {**job.options, "mapping": clean}
    job.status = S.UPLOADED
    job.error = ""
    job.worker_token = ""
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["options", "status", "error", "worker_token", "heartbeat_at"])
    if save:
        ImportMapping.objects.update_or_create(
            organization=job.organization,
            kind=job.kind,
            defaults={"mapping": clean, "updated_at": timezone.now()},
        )
    audit_record(
        actor=actor,
        action="import.mapped",
        obj=job,
        organization=job.organization,
        after={"mapping": clean, "saved": save},
    )
    _enqueue_validate(job.pk)
    return job


@transaction.atomic
def import_rows_include(*, actor: Actor, job: ImportJob, numbers: list[int], included: bool) -> int:
    """Check or uncheck deliverable rows before the commit; returns rows changed."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != S.VALIDATED:
        raise ServiceError("Rows can only be chosen before the import is committed.", code="state")
    changed = (
        ImportRow.objects.filter(job=job, number__in=numbers, category__in=ImportRow.COMMITTABLE)
        .exclude(included=included)
        .update(included=included)
    )
    if changed:
        excluded = ImportRow.objects.filter(
            job=job, category__in=ImportRow.COMMITTABLE, included=False
        ).count()
        job.counts = {**job.counts, "excluded": excluded}
        job.save(update_fields=["counts"])
        audit_record(
            actor=actor,
            action="import.rows_included" if included else "import.rows_excluded",
            obj=job,
            organization=job.organization,
            after={"rows": sorted(numbers)[:1000], "changed": changed},
        )
    return changed


# --- commit --------------------------------------------------------------------------------


@transaction.atomic
def import_commit_start(*, actor: Actor, job: ImportJob, enqueue: bool = True) -> ImportJob:
    """Queue the commit of the checked rows (a background job)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != S.VALIDATED:
        raise ServiceError("Only a validated import can be committed.", code="state")
    if job.to_commit <= 0:
        raise ServiceError("No rows are checked for delivery.", code="empty")
    job.status = S.COMMITTING
    job.rows_total = job.to_commit
    job.rows_done = 0
    job.commit_requested_at = timezone.now()
    job.heartbeat_at = timezone.now()
    job.worker_token = ""
    job.save()
    audit_record(
        actor=actor,
        action="import.commit_requested",
        obj=job,
        organization=job.organization,
        after={"rows": job.to_commit, "suppress_notifications": job.suppress_notifications},
    )
    if enqueue:
        _enqueue_commit(job.pk)
    return job


@transaction.atomic
def import_return(*, actor: Actor, job: ImportJob, reason: str) -> ImportJob:
    """Send a provider's roster back uncommitted, with a reason the provider reads."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the roster goes back.", field="reason")
    if job.submitted_by_provider_id is None:
        raise ServiceError("Only a provider's roster can be returned.", code="state")
    returnable = [S.VALIDATED, S.NEEDS_MAPPING, S.FAILED]
    if not ImportJob.objects.filter(pk=job.pk, status__in=returnable).update(
        status=S.RETURNED, return_reason=reason, finished_at=timezone.now()
    ):
        raise ServiceError("Only a roster not yet committed can be returned.", code="state")
    job.refresh_from_db()
    audit_record(
        actor=actor,
        action="import.returned",
        obj=job,
        organization=job.organization,
        after={"reason": reason, "provider": job.submitted_by_provider.name},
    )
    if job.uploaded_by_id:
        outbox_enqueue(
            to=job.uploaded_by.email,
            template="roster_returned",
            organization=job.organization,
            context={"job": job},
        )
    return job


def import_commit_run(
    *, job_id: int, chunk_size: int = COMMIT_CHUNK, on_progress=None
) -> ImportJob | None:
    """Commit the checked rows after ``cursor`` chunk by chunk, then queue the digests."""
    token = ImportJob.claim(job_id, statuses=[S.COMMITTING, S.RESUMING], status=S.COMMITTING)
    if token is None:
        return None
    try:
        job = ImportJob.objects.select_related("organization", "uploaded_by").get(pk=job_id)
        ImportRow.objects.filter(
            job=job, category__in=ImportRow.COMMITTABLE, included=False, outcome=""
        ).update(outcome=ImportRow.Outcome.EXCLUDED)
        started = time.monotonic()
        if bulk.is_postgres() and kind_for(job.kind).commit_range is not None:
            _commit_ranges(job, token, chunk_size, on_progress)
        else:
            while _commit_chunk(job, token, chunk_size):
                if on_progress:
                    on_progress(job.rows_done, job.rows_total)
        rows_s = time.monotonic() - started
        if job.kind == ImportJob.Kind.CREDITS:
            _certificates_by_policy(job, token)
        if not job.suppress_notifications and kind_for(job.kind).digests:
            _digests_create(job, token)
        _commit_finish(job, token)
        log.info(
            "import %s: committed %s rows in %.1f s, digests in %.1f s",
            job_id,
            job.rows_done,
            rows_s,
            time.monotonic() - started - rows_s,
        )
    except LostClaim:
        return None
    except Exception:
        _stopped(job_id, token, "commit")
        raise
    return ImportJob.objects.get(pk=job_id)


CERTIFICATE_CHUNK = 200


def _certificates_by_policy(job: ImportJob, token: str) -> int:
    """Issue the certificates the courses' policies call for on entry, as ``credit_enter``
    does for one credit, in chunks with a heartbeat. One query when no course of the
    organization issues on entry (the common case: the default is on acceptance), and
    idempotent: a credit that has its certificate is skipped, so a resumed job goes on."""
    from laurel.certificates.models import Certificate, CertificatePolicy
    from laurel.certificates.services import certificate_issue_for_credit

    on_entry = list(
        CertificatePolicy.objects.filter(
            course__organization_id=job.organization_id,
            issue_on=CertificatePolicy.IssueOn.ENTRY,
        ).values_list("course_id", flat=True)
    )
    if not on_entry:
        return 0
    actor = Actor(user=job.uploaded_by) if job.uploaded_by else Actor.system("import")
    pending = (
        _credits_of(job)
        .filter(course_id__in=on_entry, status__in=[Credit.Status.HELD, Credit.Status.OFFERED])
        .exclude(Exists(Certificate.objects.filter(credit=OuterRef("pk"))))
        .select_related("course", "holder", "organization")
        .order_by("pk")
    )
    issued, last = 0, 0
    while True:
        with transaction.atomic():
            locked = ImportJob.locked(job.pk, token)
            credits = list(pending.filter(pk__gt=last)[:CERTIFICATE_CHUNK])
            if not credits:
                return issued
            last = credits[-1].pk
            here = 0
            for credit in credits:
                cert = certificate_issue_for_credit(credit, actor=actor)
                if cert is not None:
                    ImportRow.objects.filter(job_id=job.pk, credit_id=credit.pk).update(
                        certificate_id=cert.pk
                    )
                    here += 1
            issued += here
            counts = {**locked.counts, "certificates": locked.count("certificates") + here}
            ImportJob.beat(job.pk, token, counts=counts)
            job.counts = counts


def _stopped(job_id: int, token: str, what: str) -> None:
    """Log a failed commit or undo and say so on the job. The job is left running on
    purpose: the chunks so far are durable, and once the heartbeat goes stale
    ``import_resume_stale`` hands it to a new attempt."""
    log.exception("import %s: %s stopped", job_id, what)
    ImportJob.objects.filter(pk=job_id, worker_token=token).update(
        error=f"The {what} stopped unexpectedly; it will resume automatically."
    )


PENDING_RANGES_SQL = """
SELECT min(number) - 1, max(number)
FROM (
    SELECT number, (row_number() OVER (ORDER BY number) - 1) / %s AS chunk
    FROM imports_importrow
    WHERE job_id = %s AND included AND outcome = '' AND category IN ('deliverable', 'invite')
) AS pending
GROUP BY chunk ORDER BY chunk
"""


def _commit_ranges(job: ImportJob, token: str, chunk_size: int, on_progress=None) -> None:
    """PostgreSQL: commit the rows still pending, ``chunk_size`` to a range of row numbers,
    on ``LAUREL_IMPORT_CONNECTIONS`` connections at once.

    Each range is one transaction (its credits, components, audit events, invitations and
    its rows' outcomes, then the job's counts), and only rows with no outcome are read, so
    ranges are independent of each other: a resumed commit simply takes what is left.
    The database does nearly all of the work, so a second connection uses the second core.
    """
    with connection.cursor() as cursor:
        cursor.execute(PENDING_RANGES_SQL, [chunk_size, job.pk])
        ranges = cursor.fetchall()
    kind = kind_for(job.kind)
    kind.prepare_commit(job)  # shared, read-only caches, filled before any thread starts
    if ranges and kind.invite_part is not None:
        parts = max(1, settings.LAUREL_IMPORT_CONNECTIONS)
        _side_by_side(lambda part: _invite_part(job, token, part, parts), list(range(parts)))

    def progress():
        if on_progress:
            on_progress(job.rows_done, job.rows_total)

    _side_by_side(lambda bounds: _commit_range(job, token, *bounds), ranges, progress)


def _side_by_side(work, items, done=None) -> None:
    """Run ``work(item)`` for every item, on ``LAUREL_IMPORT_CONNECTIONS`` threads (each
    with its own database connection); the first failure cancels what has not started."""
    threads = max(1, settings.LAUREL_IMPORT_CONNECTIONS)
    if threads == 1 or len(items) < 2:
        for item in items:
            work(item)
            if done:
                done()
        return

    def run(item):
        try:
            return work(item)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="import") as pool:
        futures = [pool.submit(run, item) for item in items]
        try:
            for future in as_completed(futures):
                future.result()
                if done:
                    done()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _invite_part(job: ImportJob, token: str, part: int, parts: int) -> None:
    actor_user, label = _actor_of(job)
    with transaction.atomic():
        bulk.relax_durability()
        invited = kind_for(job.kind).invite_part(
            job, part, parts, actor_user_id=actor_user, actor_label=label
        )
        locked = ImportJob.locked(job.pk, token)
        _advance(job, locked, {"invited": invited}, cursor=locked.cursor, rows=0)


def _commit_range(job: ImportJob, token: str, after: int, upto: int) -> None:
    actor_user, label = _actor_of(job)
    with transaction.atomic():
        bulk.relax_durability()
        done = kind_for(job.kind).commit_range(
            job, after, upto, actor_user_id=actor_user, actor_label=label
        )
        rows = done.pop("rows")
        # The job row is locked last and only until this transaction commits, so ranges
        # running side by side wait for each other only here (another worker owning the
        # job rolls this range back).
        locked = ImportJob.locked(job.pk, token)
        _advance(job, locked, done, cursor=max(locked.cursor, upto), rows=rows)


def _commit_chunk(job: ImportJob, token: str, chunk_size: int) -> bool:
    kind = kind_for(job.kind)
    with transaction.atomic():
        bulk.relax_durability()
        locked = ImportJob.locked(job.pk, token)
        actor_user, label = _actor_of(job)
        rows = list(
            ImportRow.objects.filter(
                job_id=job.pk,
                category__in=ImportRow.COMMITTABLE,
                included=True,
                number__gt=locked.cursor,
            )
            .order_by("number")
            .values_list(*kind.commit_columns)[:chunk_size]
        )
        if not rows:
            return False
        done = kind.commit_chunk(job, rows, actor_user_id=actor_user, actor_label=label)
        _advance(job, locked, done, cursor=rows[-1][0], rows=len(rows))
    return True


def _advance(job: ImportJob, locked: ImportJob, done: dict, *, cursor: int, rows: int) -> None:
    """Record a chunk's counts and the new cursor, in the chunk's transaction."""
    counts = dict(locked.counts)
    for key, value in done.items():
        counts[key] = counts.get(key, 0) + value
    locked.counts = counts
    locked.cursor = cursor
    locked.rows_done = locked.rows_done + rows
    locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["counts", "cursor", "rows_done", "heartbeat_at"])
    job.counts, job.cursor, job.rows_done = counts, locked.cursor, locked.rows_done


def _digests_create(job: ImportJob, token: str) -> None:
    """One digest e-mail per recipient ("3 new credits from Northwind"), idempotent by key."""
    org = job.organization
    renderer = DigestRenderer("import_digest", organization=org)
    if bulk.is_postgres():
        from laurel.imports import credits_sql

        titles = list(Course.objects.filter(organization=org).values_list("pk", "title"))
        renderer.subjects()  # rendered once, before the threads start
        parts = max(1, settings.LAUREL_IMPORT_CONNECTIONS)
        now = timezone.now()

        def part(number):
            with transaction.atomic():
                bulk.relax_durability()  # a lost part is queued again on resume (by key)
                credits_sql.digests_insert(
                    job, renderer, titles=titles, now=now, part=number, parts=parts
                )
                # Last: the job row stays locked until the part commits, and the parts
                # running side by side would otherwise wait for each other from the start.
                ImportJob.beat(job.pk, token)

        _side_by_side(part, list(range(parts)))
        return
    invited = set(
        ImportRow.objects.filter(job=job, category=C.INVITE)
        .exclude(outcome__in=["", "skipped_duplicate", "excluded", "failed"])
        .values_list("email", flat=True)
    )
    credits = (
        _credits_of(job)
        .exclude(status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED])
        .order_by("recipient_email", "completion_date", "id")
        .values_list("recipient_email", "title", "completion_date", "status")
        .iterator(chunk_size=10000)
    )
    _queue_digests(job, token, renderer, credits, prefix="import", invited=invited)


def _queue_digests(job, token, renderer, credits, *, prefix: str, invited=frozenset()) -> None:
    """One message per recipient of ``credits`` (email, title, date, status; sorted by
    e-mail), queued in batches that each beat the heartbeat; idempotent by key."""
    batch = []
    for email, items in groupby(credits, key=lambda c: c[0]):
        items = [(title, day, status) for _, title, day, status in items]
        batch.append(
            renderer.message(
                to=email,
                items=items,
                invite=email in invited,
                dedupe_key=f"{prefix}:{job.pk}:{email}",
            )
        )
        if len(batch) >= DIGEST_CHUNK:
            with transaction.atomic():
                bulk.relax_durability()  # a lost batch is queued again on resume (by key)
                ImportJob.beat(job.pk, token)
                outbox_insert(batch)
            batch = []
    with transaction.atomic():
        bulk.relax_durability()
        ImportJob.beat(job.pk, token)
        outbox_insert(batch)


def _credits_of(job: ImportJob):
    """The credits this import created (through its rows: the ledger has no index on
    ``source_ref``)."""
    created = ImportRow.objects.filter(job_id=job.pk, credit_id__isnull=False)
    return Credit.objects.filter(
        organization_id=job.organization_id, pk__in=created.values("credit_id")
    )


def _analyze_written(job: ImportJob, rows: int, *, preview: bool = False) -> None:
    """Fresh planner statistics for the tables a commit or undo of ``rows`` rows wrote (the
    ledger, its components, the audit trail, the outbox; with ``preview`` the preview rows,
    written by validation and given their outcomes by the commit), when that is a tenth of
    them or more (``laurel.lib.dbstats``): pages stay on their indexes right after a big
    import. On PostgreSQL the tables are analyzed on ``LAUREL_IMPORT_CONNECTIONS``
    connections side by side."""
    from laurel.audit.models import AuditEvent
    from laurel.certificates.models import Certificate
    from laurel.credits.models import CreditComponent
    from laurel.notifications.models import OutboxMessage

    models = [AuditEvent, OutboxMessage]
    if job.kind == ImportJob.Kind.CREDITS:
        models += [Credit, CreditComponent]
    elif job.kind == ImportJob.Kind.CERTIFICATES:
        models += [Certificate]
    written = {m._meta.db_table: rows for m in models}
    if preview:
        written[ImportRow._meta.db_table] = rows
    dbstats.analyze_after_bulk_write(written, connections=settings.LAUREL_IMPORT_CONNECTIONS)


def _commit_finish(job: ImportJob, token: str) -> None:
    from laurel.imports.tasks import import_send_digests_task

    _analyze_written(job, job.rows_done, preview=True)
    with transaction.atomic():
        job.refresh_from_db()
        ImportJob.finish(job.pk, token, status=S.COMMITTED)
        job.refresh_from_db()
        audit_record(
            actor=Actor(user=job.uploaded_by) if job.uploaded_by else Actor.system("import"),
            action="import.committed",
            obj=job,
            organization=job.organization,
            after={k: job.count(k) for k in ("offered", "held", "skipped_duplicate", "invited")},
        )
        import_report_send(job=job, verified=False)
        webhooks_emit(
            organization=job.organization, type="import.completed", payload=import_data(job)
        )
        if not job.suppress_notifications and kind_for(job.kind).digests:
            transaction.on_commit(lambda: import_send_digests_task.enqueue(job.pk))


def import_send_digests(*, job_id: int, prefix: str = "import") -> int:
    """Send this import's queued digests or undo notices (each send is idempotent)."""
    from laurel.notifications.models import OutboxMessage
    from laurel.notifications.tasks import outbox_send

    ids = list(
        OutboxMessage.objects.filter(
            dedupe_key__startswith=f"{prefix}:{job_id}:", status=OutboxMessage.Status.QUEUED
        ).values_list("pk", flat=True)
    )
    for message_id in ids:
        outbox_send.call(message_id)
    return len(ids)


# --- recovery ------------------------------------------------------------------------------


def import_resume_stale() -> list[int]:
    """Hand every running import whose worker stopped beating to a new task (at most
    ``LAUREL_JOB_MAX_RESUMES`` times, then fail it and tell the uploader); return the ids
    resumed. Called periodically by the worker (``laurel.web.housekeeping``)."""
    return ImportJob.resume_stale()


def import_resume(job: ImportJob) -> None:
    """Set a stale (or retried) import up for its next attempt (``ImportJob.job_resume``):
    an undo goes on undoing, a checked file goes on committing, else validation restarts."""
    if job.options.get("undo"):
        # Stays "undoing": only its own task takes it up again.
        ImportJob.objects.filter(pk=job.pk).update(status=S.UNDOING)
        transaction.on_commit(lambda job_id=job.pk: _enqueue_undo(job_id))
        return
    ImportJob.objects.filter(pk=job.pk).update(status=S.RESUMING)
    if job.validated_at is None:
        _enqueue_validate(job.pk)
    else:
        _enqueue_commit(job.pk)


# --- undo ----------------------------------------------------------------------------------


def import_undo(*, actor: Actor, job: ImportJob, reason: str = "") -> int:
    """Undo now, in this process (command line, tests): returns how many were revoked."""
    import_undo_start(actor=actor, job=job, reason=reason, enqueue=False)
    import_undo_run(job_id=job.pk)
    job.refresh_from_db()
    return job.count("revoked")


def import_undo_start(
    *, actor: Actor, job: ImportJob, reason: str = "", enqueue: bool = True
) -> ImportJob:
    """Queue the undo: revoke every credit the import created that nobody has accepted.

    A background job like the commit (a million revocations do not fit in a web request),
    in chunks with a heartbeat, resumed by ``import_resume_stale`` if its worker dies."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("organization").get(pk=job.pk)
        if not job.can_undo():
            raise ServiceError(
                f"Only a committed import can be undone, within "
                f"{settings.LAUREL_IMPORT_UNDO_DAYS} days.",
                code="state",
            )
        if job.kind == ImportJob.Kind.CERTIFICATES:
            reason = "Import undone"
        reason = (reason or "").strip()[:500] or f"Import {job.pk} ({job.file_name}) was undone."
        job.options = {
            **job.options,
            "undo": {
                "reason": reason,
                "user": actor.user.pk if actor.user else None,
                "label": actor.label,
                "ip": actor.ip,
                "at": timezone.now().isoformat(),
            },
        }
        job.status = S.UNDOING
        job.cursor = 0
        job.rows_done = 0
        job.rows_total = ImportRow.objects.filter(
            Q(credit_id__isnull=False)
            | Q(certificate_id__isnull=False)
            | Q(registration_id__isnull=False),
            job_id=job.pk,
        ).count()
        job.heartbeat_at = timezone.now()
        job.worker_token = ""
        job.save()
        audit_record(
            actor=actor,
            action="import.undo_requested",
            obj=job,
            organization=job.organization,
            after={"reason": reason},
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue_undo(job.pk))
    return job


def _enqueue_undo(job_id: int) -> None:
    from laurel.imports.tasks import import_undo_task

    import_undo_task.enqueue(job_id)


def _undo_actor(spec: dict) -> Actor:
    from django.contrib.auth import get_user_model

    user = (
        get_user_model().objects.filter(pk=spec.get("user")).first() if spec.get("user") else None
    )
    return Actor(user=user, label=spec.get("label") or "", ip=spec.get("ip"))


def import_undo_run(*, job_id: int) -> ImportJob | None:
    """Revoke the import's open credits chunk by chunk after ``cursor``, then tell the
    recipients (one notice each) and mark the import undone."""
    token = ImportJob.claim(job_id, statuses=[S.UNDOING], status=S.UNDOING)
    if token is None:
        return None
    try:
        job = ImportJob.objects.select_related("organization", "uploaded_by").get(pk=job_id)
        spec = job.options["undo"]
        actor = _undo_actor(spec)
        at = datetime.fromisoformat(spec["at"])
        kind = kind_for(job.kind)
        if job.kind == ImportJob.Kind.CERTIFICATES:
            with transaction.atomic():
                ImportJob.beat(job.pk, token)
                revoked = _undo_certificates(actor=actor, job=job)
                job.counts = {**job.counts, "revoked": revoked}
        elif kind.undo is not None:
            # Attendance goes back through its own service (credits, certificates, webhooks),
            # in one transaction: an interrupted undo leaves nothing half done.
            with transaction.atomic():
                ImportJob.beat(job.pk, token)
                job.counts = {**job.counts, **kind.undo(actor=actor, job=job)}
        else:
            while _undo_chunk(job, token, actor, spec["reason"], at):
                pass
            with transaction.atomic():
                ImportJob.beat(job.pk, token)
                _undo_credit_certificates(actor=actor, job=job, reason=spec["reason"])
        _analyze_written(job, job.count("revoked"))
        notify = (
            job.kind not in (ImportJob.Kind.CERTIFICATES, ImportJob.Kind.ATTENDEES)
            and not job.suppress_notifications
        )
        if notify:
            _undo_notices(job, token, at)
        with transaction.atomic():
            # finished_at stays the commit's: the undo window and the report count from it.
            ImportJob.finish(
                job.pk,
                token,
                status=S.UNDONE,
                undone_at=at,
                counts=job.counts,
                finished_at=job.finished_at,
            )
            audit_record(
                actor=actor,
                action="import.undone",
                obj=job,
                organization=job.organization,
                after={"revoked": job.count("revoked"), "reason": spec["reason"]},
            )
            job.refresh_from_db()
            webhooks_emit(
                organization=job.organization, type="import.undone", payload=import_data(job)
            )
            if notify and job.count("revoked"):
                from laurel.imports.tasks import import_send_undo_notices_task

                transaction.on_commit(lambda: import_send_undo_notices_task.enqueue(job_id))
    except LostClaim:
        return None
    except Exception:
        _stopped(job_id, token, "undo")
        raise
    return ImportJob.objects.get(pk=job_id)


def _undo_chunk(job: ImportJob, token: str, actor: Actor, reason: str, at) -> bool:
    """Revoke the open credits of the next ``COMMIT_CHUNK`` rows after ``cursor``."""
    org = job.organization
    open_statuses = [Credit.Status.HELD, Credit.Status.OFFERED]
    with transaction.atomic():
        locked = ImportJob.locked(job.pk, token)
        rows = list(
            ImportRow.objects.filter(
                job_id=job.pk, credit_id__isnull=False, number__gt=locked.cursor
            )
            .order_by("number")
            .values_list("number", "credit_id")[:COMMIT_CHUNK]
        )
        if not rows:
            return False
        part = list(
            Credit.objects.select_for_update()
            .filter(organization=org, pk__in=[c for _, c in rows], status__in=open_statuses)
            .order_by("pk")
            .values_list("pk", "recipient_email", "title", "completion_date", "status")
        )
        revoked = Credit.objects.filter(
            pk__in=[t[0] for t in part], status__in=open_statuses
        ).update(status=Credit.Status.REVOKED, revoked_at=at, revoke_reason=reason)
        bulk.copy_insert(
            "audit_auditevent",
            (
                "organization_id", "actor_id", "actor_label", "action", "object_type",
                "object_id", "object_repr", "before", "after", "ip", "at",
            ),
            [
                (
                    org.pk, actor.user.pk if actor.user else None, actor.label if not actor.user
                    else "", "credit.revoked", "credits.credit", str(pk),
                    f"{title} → {email} ({day:%Y-%m-%d})"[:200],
                    json.dumps({"status": status}),
                    json.dumps({"status": "revoked", "reason": reason}), actor.ip, at,
                )
                for pk, email, title, day, status in part
            ],
        )  # fmt: skip
        webhooks_emit_credits(organization=org, events=[("credit.revoked", t[0]) for t in part])
        _advance(job, locked, {"revoked": revoked}, cursor=rows[-1][0], rows=len(rows))
    return True


def _undo_notices(job: ImportJob, token: str, at) -> None:
    """Queue one notice per recipient of the credits this undo revoked, in batches that each
    beat the heartbeat (a batch queued twice is skipped by its keys)."""
    renderer = DigestRenderer("import_undone", organization=job.organization)
    # A million credits just revoked look like none to stale statistics, and the planner
    # then loops over the import's rows once per credit (minutes instead of seconds).
    bulk.analyze("credits_credit", "imports_importrow")
    withdrawn = (
        _credits_of(job)
        .filter(status=Credit.Status.REVOKED, revoked_at=at)
        .order_by("recipient_email", "id")
        .values_list("recipient_email", "title", "completion_date", "status")
        .iterator(chunk_size=10000)
    )
    _queue_digests(job, token, renderer, withdrawn, prefix="import-undo")


def _undo_certificates(*, actor: Actor, job: ImportJob) -> int:
    """Revoke the certificates the import issued that are still valid ("Import undone").

    Nobody is e-mailed: the verification page shows each one as revoked with the reason."""
    from laurel.certificates.models import Certificate
    from laurel.certificates.services import certificate_revoke

    issued = ImportRow.objects.filter(job=job, certificate_id__isnull=False).values_list(
        "certificate_id", flat=True
    )
    revoked = 0
    for cert in Certificate.objects.filter(
        organization=job.organization, pk__in=issued, status=Certificate.Status.VALID
    ).order_by("pk"):
        certificate_revoke(actor=actor, certificate=cert, reason="Import undone", notify=False)
        revoked += 1
    return revoked


def _undo_credit_certificates(*, actor: Actor, job: ImportJob, reason: str) -> int:
    """The certificates a credits import issued by policy go with the credits it revoked
    (an accepted credit stays, and so does its certificate)."""
    from laurel.certificates.models import Certificate
    from laurel.certificates.services import certificate_revoke

    if not job.count("certificates"):
        return 0  # the usual case: no row to look through
    issued = ImportRow.objects.filter(job=job, certificate_id__isnull=False).values_list(
        "certificate_id", flat=True
    )
    revoked = 0
    for cert in Certificate.objects.filter(
        organization=job.organization,
        pk__in=issued,
        status=Certificate.Status.VALID,
        credit__status=Credit.Status.REVOKED,
    ).order_by("pk"):
        certificate_revoke(
            actor=actor, certificate=cert, reason=reason or "Import undone", notify=False
        )
        revoked += 1
    return revoked


# --- reports -------------------------------------------------------------------------------

PROBLEM_HEADER = ["Row", "Problem", "Column", "Value", "Reason", "Course ID", "Email", "Date"]
REPORT_HEADER = ["Row", "Status", "Course ID", "Email", "Completion date", "Reason", "Credit"]
CERTIFICATE_REPORT_HEADER = [
    "Row", "Status", "Certification", "Email", "Awarded", "Reason", "Certificate",
]  # fmt: skip


def problem_rows(job: ImportJob, *, limit: int | None = None):
    """Problem rows as CSV cells (header first); formula-safety is the writer's job."""
    yield PROBLEM_HEADER
    labels = dict(C.choices)
    rows = (
        ImportRow.objects.filter(job=job, category__in=ImportRow.PROBLEMS)
        .order_by("number")
        .values_list(
            "number", "category", "column", "value", "reason", "course_ref", "email",
            "completion_date",
        )
    )  # fmt: skip
    if limit:
        rows = rows[:limit]
    for number, category, column, value, reason, course, email, day in rows.iterator(10000):
        yield [number, labels[category], column, value, reason, course, email, day or ""]


def report_header(job: ImportJob) -> list[str]:
    return CERTIFICATE_REPORT_HEADER if job.kind == ImportJob.Kind.CERTIFICATES else REPORT_HEADER


def report_rows(job: ImportJob, *, header: bool = True):
    """The per-row report as CSV rows (tuples from one streamed query)."""
    certificates = job.kind == ImportJob.Kind.CERTIFICATES
    if header:
        yield report_header(job)
    labels = {**dict(C.choices), **dict(ImportRow.Outcome.choices)}
    rows = (
        ImportRow.objects.filter(job=job)
        .order_by("number")
        .values_list(
            "number", "category", "outcome", "note" if certificates else "course_ref", "email",
            "completion_date", "reason", "certificate_id" if certificates else "credit_id",
        )
    )  # fmt: skip
    for number, category, outcome, course, email, day, reason, credit in rows.iterator(10000):
        yield [number, labels[outcome or category], course, email, day or "", reason, credit or ""]


def import_report_send(*, job: ImportJob, verified: bool) -> None:
    """E-mail the uploader: the verify-only report (problems attached) or the commit report."""
    user = job.uploaded_by
    if user is None:
        return
    org = job.organization
    if verified:
        url = reverse("imports:detail", args=[org.slug, job.pk])
        csv_text = write_csv(problem_rows(job, limit=ATTACHMENT_MAX_ROWS))
        attachments = []
        if sum(job.count(c) for c in ImportRow.PROBLEMS):
            attachments = [(f"import-{job.pk}-problems.csv", "text/csv", csv_text.encode())]
        template, key = "import_verified", f"import-verified:{job.pk}"
    else:
        url = reverse("imports:report", args=[org.slug, job.pk])
        attachments, template, key = [], "import_committed", f"import-committed:{job.pk}"
    outbox_enqueue(
        to=user.email,
        template=template,
        organization=org,
        context={
            "job": job,
            "url": url,
            "problems": sum(job.count(c) for c in ImportRow.PROBLEMS),
            "attachment_capped": ATTACHMENT_MAX_ROWS,
        },
        dedupe_key=key,
        attachments=attachments,
    )
