"""JSON API for imports (django-ninja): upload, status, rows by outcome, commit.

Mount on the main API with ``api.add_router("/imports", build_router())``. The API's auth
must set ``request.auth`` to an object with ``.organization`` (and optionally ``.user`` and
a ``str()`` naming the key for the audit trail); every lookup is scoped to that organization.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.conf import settings
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from laurel.accounts.services import ServiceError
from laurel.api.contract import MAX_PAGE, ObjectId, page_of
from laurel.api.errors import ErrorOut, error_body
from laurel.api.schemas import FormBool
from laurel.audit.services import Actor
from laurel.imports import selectors, services
from laurel.imports.models import ImportJob, ImportRow

ROWS_PAGE_SIZE = 100
ROWS_MAX = 500

ImportKind = Literal[tuple(ImportJob.Kind.values)]  # type: ignore[valid-type]
ImportStatus = Literal[tuple(ImportJob.Status.values)]  # type: ignore[valid-type]
RowCategory = Literal[tuple(ImportRow.Category.values)]  # type: ignore[valid-type]
# "" is a row not committed yet.
RowOutcome = Literal[tuple(ImportRow.Outcome.values)]  # type: ignore[valid-type]


class ImportCreated(Schema):
    id: int
    status: ImportStatus
    existing: bool = Field(..., description="True when this file was uploaded before.")


class Progress(Schema):
    rows_done: int
    rows_total: int
    percent: int


class ImportOut(Schema):
    id: int
    kind: ImportKind
    file_name: str
    status: ImportStatus
    verify_only: bool
    suppress_notifications: bool
    counts: dict[str, int]
    progress: Progress
    error: str
    created_at: datetime
    finished_at: datetime | None


class RowOut(Schema):
    number: int
    category: RowCategory
    outcome: RowOutcome
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
    next: str | None = Field(None, description="URL of the next page; null on the last.")
    previous: str | None = Field(None, description="URL of the previous page.")
    items: list[RowOut]


class RowFilters(Schema):
    outcome: Literal[tuple(v for v in ImportRow.Outcome.values if v)] | None = None  # type: ignore[misc]
    category: RowCategory | None = None
    q: str = Field("", description="A row number, or part of an e-mail, course ID or name.")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(ROWS_PAGE_SIZE, ge=1, le=ROWS_MAX)


def _error(code: str, message: str, details: dict | None = None) -> dict:
    return error_body(code, message, details)


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

    @router.post(
        "",
        response={201: ImportCreated, 200: ImportCreated, 413: ErrorOut, 422: ErrorOut},
        summary="Upload an import file",
    )
    def import_upload(
        request,
        file: UploadedFile = File(...),  # noqa: B008 (ninja's declaration style)
        kind: ImportKind = Form("credits"),  # noqa: B008
        verify_only: FormBool = Form(False),  # noqa: B008
        suppress_notifications: FormBool = Form(False),  # noqa: B008
        event: int | None = Form(  # noqa: B008
            None, ge=1, le=2**63 - 1, description="Attendees: the id of the event."
        ),
        status: str = Form(  # noqa: B008
            "",
            max_length=20,
            description="Attendees: one status for the whole file (Attended, Registered,"
            " No-show, Cancelled) when it has no status column.",
        ),
    ):
        """Upload a CSV, TSV or XLSX file (multipart, field `file`); validation starts in the
        background. The same file again answers 200 with the earlier import. An `attendees`
        file (a roster, or a Zoom or Teams attendance report as exported) names its `event`.

        Example: `curl -F file=@credits.csv -F kind=credits …/api/v1/imports`."""
        if file.size > settings.LAUREL_IMPORT_MAX_BYTES:
            return Status(
                413,
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
                options={"event": event, "status": status} if kind == "attendees" else None,
            )
        except ServiceError as exc:
            return Status(422, _error(exc.code or "invalid", exc.message, {"field": exc.field}))
        return Status(
            (200 if earlier else 201), {"id": job.pk, "status": job.status, "existing": earlier}
        )

    @router.get(
        "/{int:import_id}", response={200: ImportOut, 404: ErrorOut}, summary="Get an import"
    )
    def import_status(request, import_id: ObjectId):
        """Status, counts per category and outcome, and progress; poll it while it works.

        Example: `GET /api/v1/imports/12`."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        return Status(200, _job_out(job))

    @router.get(
        "/{int:import_id}/rows",
        response={200: RowsOut, 404: ErrorOut},
        summary="List an import's rows",
    )
    def import_rows(request, import_id: ObjectId, filters: Query[RowFilters]):
        """Rows by number, filtered by outcome once committed or by preview category before.

        Example: `GET /api/v1/imports/12/rows?category=unknown_course&page_size=500`."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        rows = selectors.rows_for(
            job, category=filters.category or "", outcome=filters.outcome or "", q=filters.q
        )
        page = page_of(request, rows, page=filters.page, size=filters.page_size)
        page["items"] = [
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
            for r in page["items"]
        ]
        return Status(200, page)

    @router.post(
        "/{int:import_id}/commit",
        response={202: ImportOut, 404: ErrorOut, 409: ErrorOut},
        summary="Commit an import",
    )
    def import_commit(request, import_id: ObjectId):
        """Commit the checked rows in the background; poll the status for progress. An
        import not ready to commit (still validating, already committed) is a 409.

        Example: `POST /api/v1/imports/12/commit` with no body."""
        job = _job(request, import_id)
        if job is None:
            return Status(404, _error("not_found", NOT_FOUND))
        try:
            job = services.import_commit_start(actor=_actor(request), job=job)
        except ServiceError as exc:
            return Status(409, _error(exc.code or "state", exc.message))
        return Status(202, _job_out(job))

    return router
