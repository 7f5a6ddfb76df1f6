"""JSON API for imports (django-ninja): upload, status, rows by outcome, commit.

Mount on the main API with ``api.add_router("/imports", build_router())``. The API's auth
must set ``request.auth`` to an object with ``.organization`` (and optionally ``.user`` and
a ``str()`` naming the key for the audit trail); every lookup is scoped to that organization.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.imports import selectors, services
from laurel.imports.models import ImportJob, ImportRow

ROWS_MAX = 500


class ErrorBody(Schema):
    code: str
    message: str
    details: dict | None = None


class ErrorOut(Schema):
    error: ErrorBody


class ImportCreated(Schema):
    id: int
    status: str
    existing: bool


class Progress(Schema):
    rows_done: int
    rows_total: int
    percent: int


class ImportOut(Schema):
    id: int
    kind: str
    file_name: str
    status: str
    verify_only: bool
    suppress_notifications: bool
    counts: dict[str, int]
    progress: Progress
    error: str
    created_at: datetime
    finished_at: datetime | None


class RowOut(Schema):
    number: int
    category: str
    outcome: str
    included: bool
    course_id: str
    email: str
    completion_date: date | None
    column: str
    value: str
    reason: str
    credit_id: int | None


class RowsOut(Schema):
    count: int
    offset: int
    rows: list[RowOut]


def _error(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def _actor(request) -> Actor:
    auth = request.auth
    user = getattr(auth, "user", None)
    return Actor(user=user, label="" if user else f"API: {auth}"[:200])


def _job_out(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "file_name": job.file_name,
        "status": job.status,
        "verify_only": job.verify_only,
        "suppress_notifications": job.suppress_notifications,
        "counts": {k: int(v) for k, v in job.counts.items()},
        "progress": {
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "percent": job.percent,
        },
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


def _job(request, import_id: int) -> ImportJob | None:
    return (
        ImportJob.objects.for_org(request.auth.organization)
        .select_related("organization")
        .filter(pk=import_id)
        .first()
    )


NOT_FOUND = "No import with that id in this organization."


def build_router() -> Router:
    """A fresh router (a ninja Router can be mounted on one API only)."""
    router = Router(tags=["imports"])

    @router.post("", response={201: ImportCreated, 200: ImportCreated, 400: ErrorOut})
    def import_upload(
        request,
        file: UploadedFile = File(...),  # noqa: B008 (ninja's declaration style)
        kind: str = Form("credits"),
        verify_only: bool = Form(False),
        suppress_notifications: bool = Form(False),
    ):
        """Upload a CSV, TSV or XLSX file; validation starts in the background."""
        if file.size > settings.LAUREL_IMPORT_MAX_BYTES:
            return Status(
                400,
                _error(
                    "too_large",
                    f"The largest file accepted is {settings.LAUREL_IMPORT_MAX_BYTES // 10**6} MB.",
                ),
            )
        try:
            job, earlier = services.import_create(
                actor=_actor(request),
                organization=request.auth.organization,
                kind=kind,
                upload=file,
                file_name=file.name or "upload",
                verify_only=verify_only,
                suppress_notifications=suppress_notifications,
            )
        except ServiceError as exc:
            return Status(400, _error(exc.code or "invalid", exc.message, {"field": exc.field}))
        return Status(
            (200 if earlier else 201), {"id": job.pk, "status": job.status, "existing": earlier}
        )

    @router.get("/{import_id}", response={200: ImportOut, 404: ErrorOut})
    def import_status(request, import_id: int):
        """Status, counts per category and outcome, and progress."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        return Status(200, _job_out(job))

    @router.get("/{import_id}/rows", response={200: RowsOut, 404: ErrorOut, 400: ErrorOut})
    def import_rows(
        request,
        import_id: int,
        outcome: str = "",
        category: str = "",
        q: str = "",
        offset: int = 0,
        limit: int = 100,
    ):
        """Rows filtered by outcome (offered, held, skipped_duplicate, excluded, failed) or
        preview category; ``limit`` at most 500."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        if outcome and outcome not in ImportRow.Outcome.values:
            return Status(400, _error("invalid", f"Unknown outcome {outcome!r}."))
        if category and category not in ImportRow.Category.values:
            return Status(400, _error("invalid", f"Unknown category {category!r}."))
        rows = selectors.rows_for(job, category=category, outcome=outcome, q=q)
        offset, limit = max(offset, 0), min(max(limit, 1), ROWS_MAX)
        page = rows[offset : offset + limit]
        return Status(
            200,
            {
                "count": rows.count(),
                "offset": offset,
                "rows": [
                    {
                        "number": r.number,
                        "category": r.category,
                        "outcome": r.outcome,
                        "included": r.included,
                        "course_id": r.course_ref,
                        "email": r.email,
                        "completion_date": r.completion_date,
                        "column": r.column,
                        "value": r.value,
                        "reason": r.reason,
                        "credit_id": r.credit_id,
                    }
                    for r in page
                ],
            },
        )

    @router.post("/{import_id}/commit", response={202: ImportOut, 404: ErrorOut, 409: ErrorOut})
    def import_commit(request, import_id: int):
        """Commit the checked rows in the background; poll the status for progress."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        try:
            job = services.import_commit_start(actor=_actor(request), job=job)
        except ServiceError as exc:
            return Status(409, _error(exc.code or "state", exc.message))
        return Status(202, _job_out(job))

    return router
