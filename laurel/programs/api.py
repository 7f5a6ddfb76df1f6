"""JSON API for programs: a ninja Router whose tenant is ``request.auth.organization``.

Mounted on the v1 API at ``/programs``. Services raise ``ServiceError``; the API's error
handlers turn it into the one error shape.
"""

from datetime import date
from typing import Annotated, Literal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from laurel.accounts.services import ServiceError
from laurel.api.contract import MAX_ID, LinkPagination, ObjectId
from laurel.api.errors import ErrorOut
from laurel.api.idempotency import HEADER, idempotency_key_from, idempotent_run, request_fingerprint
from laurel.api.schemas import AmountIn, AmountOut, EmailIn, EmailOut, IsoDate
from laurel.audit.services import Actor, client_ip
from laurel.programs import selectors, services
from laurel.programs.models import Completion, CreditReview, Enrollment, Program

router = Router(tags=["programs"])
NOT_FOUND = {404: ErrorOut}
StatusFilter = Literal["enrolled", "grace", "earned", "expired", "cancelled"] | None


IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Send the same key again to get the first response back instead of a "
    "second write (or a refusal).",
}


def _actor(request) -> Actor:
    return Actor(label=request.auth.actor_label, ip=client_ip(request))


def _org(request):
    return request.auth.organization


class ProgramRequirementOut(Schema):
    id: int
    position: int
    kind: str
    title: str
    credit_type_code: str
    hours: AmountOut | None
    needs_grade: bool
    min_grade: AmountOut | None
    needs_approval: bool
    needs_attachment: bool
    course_ids: list[str]
    event_ids: list[int]


class ProgramOut(Schema):
    id: int
    code: str
    name: str
    status: str
    version: int

    @staticmethod
    def resolve_name(obj) -> str:
        return obj["name"] if isinstance(obj, dict) else obj.current_version.name

    @staticmethod
    def resolve_version(obj) -> int:
        return obj["version"] if isinstance(obj, dict) else obj.current_version.number


class ProgramDetailOut(ProgramOut):
    description: str
    window_months: int | None
    window_fixed_date: date | None
    grace_days: int
    allow_self_enroll: bool
    allow_cancel: bool
    ordered: bool
    maintenance: bool
    requirements: list[ProgramRequirementOut]
    trackers: dict[str, int]


class EnrollmentOut(Schema):
    id: int
    program: str
    email: EmailOut
    name: str
    status: str
    cycle: int
    version: int
    enrolled_on: date
    deadline: date | None
    expires_on: date | None
    earned_on: date | None
    waiting_for_account: bool

    @staticmethod
    def resolve_program(obj) -> str:
        return obj["program"] if isinstance(obj, dict) else obj.program.code

    @staticmethod
    def resolve_version(obj) -> int:
        return obj["version"] if isinstance(obj, dict) else obj.version.number

    @staticmethod
    def resolve_waiting_for_account(obj) -> bool:
        return obj["waiting_for_account"] if isinstance(obj, dict) else obj.holder_id is None


class RequirementStatusOut(Schema):
    requirement_id: int
    title: str
    status: str
    locked: bool
    hours: AmountOut | None


class EnrollmentDetailOut(EnrollmentOut):
    requirements: list[RequirementStatusOut]


class EnrolleeIn(Schema):
    email: EmailIn
    name: str = Field("", max_length=200)


class EnrollmentsIn(Schema):
    people: list[EnrolleeIn] = Field(min_length=1, max_length=1000)
    enrolled_on: IsoDate | None = None
    notify: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"people": [{"email": "jane.doe@example.org"}], "enrolled_on": "2026-03-05"}
            ]
        }
    }


class ProgramCompletionIn(Schema):
    requirement_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    completed_on: IsoDate
    notes: str = Field("", max_length=2000)
    grade: AmountIn | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"requirement_id": 7, "completed_on": "2026-03-05", "grade": "88"}]
        }
    }


class ProgramCompletionOut(Schema):
    id: int
    enrollment_id: int
    email: EmailOut
    requirement: str
    status: str
    completed_on: date
    grade: AmountOut | None
    notes: str
    return_reason: str

    @staticmethod
    def resolve_email(obj) -> str:
        return obj["email"] if isinstance(obj, dict) else obj.enrollment.email

    @staticmethod
    def resolve_requirement(obj) -> str:
        return obj["requirement"] if isinstance(obj, dict) else obj.requirement.title


class CompletionReturnIn(Schema):
    reason: str = Field(min_length=1, max_length=500)

    model_config = {"json_schema_extra": {"examples": [{"reason": "Signature missing"}]}}


def _program_out(p: Program) -> dict:
    return {
        "id": p.pk,
        "code": p.code,
        "name": p.current_version.name,
        "status": p.status,
        "version": p.current_version.number,
    }


def _enrollment_out(e: Enrollment) -> dict:
    return {
        "id": e.pk,
        "program": e.program.code,
        "email": e.email,
        "name": e.name,
        "status": e.status,
        "cycle": e.cycle,
        "version": e.version.number,
        "enrolled_on": e.enrolled_on,
        "deadline": e.deadline,
        "expires_on": e.expires_on,
        "earned_on": e.earned_on,
        "waiting_for_account": e.holder_id is None,
    }


def _completion_out(c: Completion) -> dict:
    return {
        "id": c.pk,
        "enrollment_id": c.enrollment_id,
        "email": c.enrollment.email,
        "requirement": c.requirement.title,
        "status": c.status,
        "completed_on": c.completed_on,
        "grade": c.grade,
        "notes": c.notes,
        "return_reason": c.return_reason,
    }


def _programs(request):
    return Program.objects.for_org(_org(request)).select_related("current_version")


def _enrollments(request):
    return Enrollment.objects.for_org(_org(request)).select_related(
        "program", "version", "organization"
    )


@router.get("", response=list[ProgramOut], summary="List programs")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def program_list(request):
    """The organization's programs. Example: `GET /api/v1/programs`."""
    return _programs(request).order_by("code")


@router.get(
    "/{int:program_id}", response={200: ProgramDetailOut, **NOT_FOUND}, summary="One program"
)
def program_detail(request, program_id: ObjectId):
    """One program: its current version's rules, requirements and the four trackers.
    Example: `GET /api/v1/programs/3`."""
    return _program_detail(get_object_or_404(_programs(request), pk=program_id))


def _program_detail(p: Program) -> dict:
    v = p.current_version
    reqs = v.requirements.prefetch_related("offerings__course")
    return {
        **_program_out(p),
        **{
            f: getattr(v, f)
            for f in (
                "description",
                "window_months",
                "window_fixed_date",
                "grace_days",
                "allow_self_enroll",
                "allow_cancel",
                "ordered",
                "maintenance",
            )
        },
        "requirements": [
            {
                "id": r.pk,
                "position": r.position,
                "kind": r.kind,
                "title": r.title,
                "credit_type_code": r.credit_type_code,
                "hours": r.hours,
                "needs_grade": r.needs_grade,
                "min_grade": r.min_grade,
                "needs_approval": r.needs_approval,
                "needs_attachment": r.needs_attachment,
                "course_ids": [o.course.course_id for o in r.offerings.all() if o.course_id],
                "event_ids": [o.event_id for o in r.offerings.all() if o.event_id],
            }
            for r in reqs
        ],
        "trackers": selectors.trackers(p),
    }


@router.get(
    "/{int:program_id}/enrollments",
    response={200: list[EnrollmentOut], **NOT_FOUND},
    summary="A program's enrollees",
)
@paginate(LinkPagination, page_size=50, max_page_size=200)
def enrollment_list(request, program_id: ObjectId, status: StatusFilter = None):
    """A program's enrollees, filtered by ``status``. Example:
    `GET /api/v1/programs/3/enrollments?status=grace`."""
    p = get_object_or_404(_programs(request), pk=program_id)
    rows = _enrollments(request).filter(program=p).order_by("email", "-cycle")
    if status:
        rows = rows.filter(status=status)
    return rows


@router.post(
    "/{int:program_id}/enrollments",
    response={201: list[EnrollmentOut], 409: ErrorOut, **NOT_FOUND},
    summary="Enroll people (bulk)",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def enrollment_create(request, program_id: ObjectId, payload: EnrollmentsIn):
    """Enroll everyone listed, or nobody (someone enrolled already refuses the batch with
    409). Example: `POST /api/v1/programs/3/enrollments` with
    `{"people": [{"email": "jane.doe@example.org"}], "enrolled_on": "2026-03-05"}`."""
    p = get_object_or_404(_programs(request), pk=program_id)

    def work():
        created = services.enrollments_create(
            actor=_actor(request),
            program=p,
            people=[(person.email, person.name) for person in payload.people],
            enrolled_on=payload.enrolled_on,
            notify=payload.notify,
        )
        rows = _enrollments(request).filter(pk__in=[e.pk for e in created]).order_by("email")
        return [_enrollment_out(e) for e in rows]

    return _idempotent(request, f"/programs/{program_id}/enrollments", payload, work)


def _idempotent(request, path: str, payload, work) -> HttpResponse:
    """Run a creating POST once per ``Idempotency-Key``: ``work()`` returns the 201 body."""
    from laurel.api.v1 import api  # the API this router is mounted on (imports us)

    key = idempotency_key_from(request)
    fingerprint = request_fingerprint("POST", path, payload.model_dump(mode="json"))

    def run():
        return 201, api.renderer.render(request, work(), response_status=201)

    status, content, replayed = idempotent_run(
        organization=_org(request), key=key, fingerprint=fingerprint, work=run
    )
    response = HttpResponse(content, status=status, content_type=api.get_content_type())
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get(
    "/enrollments/{int:enrollment_id}",
    response={200: EnrollmentDetailOut, **NOT_FOUND},
    summary="One enrollment",
)
def enrollment_detail(request, enrollment_id: ObjectId):
    """One enrollment with each requirement's status. Example:
    `GET /api/v1/programs/enrollments/42`."""
    e = get_object_or_404(_enrollments(request), pk=enrollment_id)
    return _enrollment_detail(e)


def _enrollment_detail(e: Enrollment) -> dict:
    progress = selectors.progress_for([e])[e.pk]
    return {
        **_enrollment_out(e),
        "requirements": [
            {
                "requirement_id": r.requirement.pk,
                "title": r.requirement.title,
                "status": r.status,
                "locked": r.locked,
                "hours": r.hours,
            }
            for r in progress.rows
        ],
    }


@router.post(
    "/enrollments/{int:enrollment_id}/completions",
    response={201: EnrollmentDetailOut, 409: ErrorOut, **NOT_FOUND},
    summary="Record a completion",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def completion_create(request, enrollment_id: ObjectId, payload: ProgramCompletionIn):
    """Record a completion (no attachment through the API); a retry with the same
    `Idempotency-Key` does not record it twice. Example:
    `POST /api/v1/programs/enrollments/42/completions` with
    `{"requirement_id": 7, "completed_on": "2026-03-05", "grade": "88"}`."""
    e = get_object_or_404(_enrollments(request), pk=enrollment_id)
    requirement = get_object_or_404(e.version.requirements, pk=payload.requirement_id)

    def work():
        services.completion_record(
            actor=_actor(request),
            enrollment=e,
            requirement=requirement,
            completed_on=payload.completed_on,
            notes=payload.notes,
            grade=payload.grade,
        )
        return _enrollment_detail(_enrollments(request).get(pk=e.pk))

    return _idempotent(request, f"/programs/enrollments/{enrollment_id}/completions", payload, work)


def _queue(request):
    return Completion.objects.filter(enrollment__organization=_org(request)).select_related(
        "enrollment__organization", "enrollment__version", "requirement"
    )


@router.get("/approvals/queue", response=list[ProgramCompletionOut], summary="Awaiting approval")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def approval_list(request):
    """Completions awaiting approval, oldest first. Example:
    `GET /api/v1/programs/approvals/queue`."""
    rows = _queue(request).filter(status=Completion.Status.AWAITING_APPROVAL)
    return rows.order_by("created_at", "pk")


@router.post(
    "/approvals/{int:completion_id}/approve",
    response={200: ProgramCompletionOut, **NOT_FOUND},
    summary="Approve a completion",
)
def approval_approve(request, completion_id: ObjectId):
    """Approve a completion; the last requirement earns the enrollment. Example:
    `POST /api/v1/programs/approvals/9/approve`."""
    c = get_object_or_404(_queue(request), pk=completion_id)
    services.completion_approve(actor=_actor(request), completion=c)
    return _completion_out(c)


@router.post(
    "/approvals/{int:completion_id}/return",
    response={200: ProgramCompletionOut, **NOT_FOUND},
    summary="Return a completion",
)
def approval_return(request, completion_id: ObjectId, payload: CompletionReturnIn):
    """Return a completion with a reason the enrollee reads. Example:
    `POST /api/v1/programs/approvals/9/return` with `{"reason": "Signature missing"}`."""
    c = get_object_or_404(_queue(request), pk=completion_id)
    services.completion_return(actor=_actor(request), completion=c, reason=payload.reason)
    return _completion_out(c)


# --- Defining programs ------------------------------------------------------------------------


class RequirementIn(Schema):
    kind: Literal["offering", "credit_hours", "manual"]
    title: str = Field(min_length=1, max_length=200)
    course_ids: list[Annotated[str, Field(max_length=32)]] = Field(
        default=[], max_length=50, description="Course IDs, for an offering requirement."
    )
    event_ids: list[Annotated[int, Field(ge=1)]] = Field(
        default=[],
        max_length=50,
        description="Event ids, for an offering requirement: attending one counts, as does "
        "accepted credit for one of the courses.",
    )
    credit_type_code: str = Field("", max_length=16)
    hours: AmountIn | None = None
    needs_grade: bool = False
    min_grade: AmountIn | None = None
    needs_approval: bool = False
    needs_attachment: bool = False


class ProgramDefinitionIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    window_months: Annotated[int, Field(ge=1, le=600)] | None = None
    window_fixed_date: IsoDate | None = None
    grace_days: Annotated[int, Field(ge=0, le=3650)] = 0
    allow_self_enroll: bool = False
    allow_cancel: bool = False
    ordered: bool = False
    maintenance: bool = False
    issue_on_earn: bool = True
    requirements: list[RequirementIn] = Field(min_length=1, max_length=100)


class ProgramIn(ProgramDefinitionIn):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "RN-CERT",
                    "name": "Registered Nurse Certification",
                    "window_months": 12,
                    "grace_days": 30,
                    "ordered": True,
                    "requirements": [
                        {"kind": "credit_hours", "title": "12 CE hours", "credit_type_code": "CE",
                         "hours": "12"},
                        {"kind": "manual", "title": "Exam", "needs_grade": True,
                         "min_grade": "70", "needs_approval": True},
                    ],
                }
            ]
        }
    }  # fmt: skip


class ProgramStatusIn(Schema):
    status: Literal["draft", "active", "inactive"]


def _definition(request, payload: ProgramDefinitionIn) -> services.Definition:
    from laurel.catalog.models import Course
    from laurel.events.models import Event

    specs = []
    for r in payload.requirements:
        found = dict(
            Course.objects.for_org(_org(request))
            .filter(course_id__in=r.course_ids)
            .values_list("course_id", "pk")
        )
        missing = sorted(set(r.course_ids) - set(found))
        if missing:
            raise ServiceError(
                f"No course {', '.join(missing)} in this organization.", field="requirements"
            )
        events = set(
            Event.objects.for_org(_org(request))
            .filter(pk__in=r.event_ids)
            .values_list("pk", flat=True)
        )
        if missing := sorted(set(r.event_ids) - events):
            raise ServiceError(
                f"No event {', '.join(map(str, missing))} in this organization.",
                field="requirements",
            )
        specs.append(
            services.RequirementSpec(
                kind=r.kind,
                title=r.title,
                course_ids=tuple(found[c] for c in dict.fromkeys(r.course_ids)),
                event_ids=tuple(dict.fromkeys(r.event_ids)),
                credit_type_code=r.credit_type_code,
                hours=r.hours,
                needs_grade=r.needs_grade,
                min_grade=r.min_grade,
                needs_approval=r.needs_approval,
                needs_attachment=r.needs_attachment,
            )
        )
    return services.Definition(
        name=payload.name,
        description=payload.description,
        window_months=payload.window_months,
        window_fixed_date=payload.window_fixed_date,
        grace_days=payload.grace_days,
        allow_self_enroll=payload.allow_self_enroll,
        allow_cancel=payload.allow_cancel,
        ordered=payload.ordered,
        maintenance=payload.maintenance,
        issue_on_earn=payload.issue_on_earn,
        requirements=tuple(specs),
    )


@router.post(
    "",
    response={201: ProgramDetailOut, 409: ErrorOut},
    summary="Create a program",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def program_create(request, payload: ProgramIn):
    """A Draft program with its requirements (activate it with `/status`). Example:
    `POST /api/v1/programs` with `{"code": "RN-CERT", "name": "…", "window_months": 12,
    "requirements": [{"kind": "manual", "title": "Exam"}]}`."""

    def work():
        program = services.program_create(
            actor=_actor(request),
            organization=_org(request),
            code=payload.code,
            definition=_definition(request, payload),
        )
        return _program_detail(_programs(request).get(pk=program.pk))

    return _idempotent(request, "/programs", payload, work)


@router.put(
    "/{int:program_id}",
    response={200: ProgramDetailOut, **NOT_FOUND},
    summary="Change a program's rules",
)
def program_update(request, program_id: ObjectId, payload: ProgramDefinitionIn):
    """Replace the rules and requirements. A Draft without enrollees is edited in place; an
    Active program gets a new version and its enrollees stay on theirs. Example:
    `PUT /api/v1/programs/3` with the same body as the create, without `code`."""
    p = get_object_or_404(_programs(request), pk=program_id)
    services.program_update(
        actor=_actor(request), program=p, definition=_definition(request, payload)
    )
    return _program_detail(_programs(request).get(pk=p.pk))


@router.post(
    "/{int:program_id}/status",
    response={200: ProgramDetailOut, **NOT_FOUND},
    summary="Activate or deactivate a program",
)
def program_status(request, program_id: ObjectId, payload: ProgramStatusIn):
    """Draft, Active (takes enrollments) or Inactive. Example:
    `POST /api/v1/programs/3/status` with `{"status": "active"}`."""
    p = get_object_or_404(_programs(request), pk=program_id)
    services.program_set_status(actor=_actor(request), program=p, status=payload.status)
    return _program_detail(_programs(request).get(pk=p.pk))


@router.post(
    "/enrollments/{int:enrollment_id}/cancel",
    response={200: EnrollmentOut, 409: ErrorOut, **NOT_FOUND},
    summary="Cancel an enrollment",
)
def enrollment_cancel(request, enrollment_id: ObjectId):
    """Cancel an open enrollment (the person may be enrolled again later). Example:
    `POST /api/v1/programs/enrollments/42/cancel`."""
    e = get_object_or_404(_enrollments(request), pk=enrollment_id)
    services.enrollment_cancel(actor=_actor(request), enrollment=e)
    return _enrollment_out(_enrollments(request).get(pk=e.pk))


# --- Self-reported credit awaiting a program's approval ---------------------------------------


class SelfReportOut(Schema):
    id: int
    enrollment_id: int
    program: str
    email: EmailOut
    status: Literal["awaiting_approval", "approved", "returned"]
    title: str
    provider: str
    completion_date: date
    hours: dict[str, AmountOut]
    has_certificate: bool
    decided_at: str | None
    return_reason: str

    # The list pages a queryset of CreditReview; the decisions return ``_review_out`` dicts.
    @staticmethod
    def _of(obj, name):
        return obj[name] if isinstance(obj, dict) else _review_out(obj)[name]

    @staticmethod
    def resolve_program(obj):
        return SelfReportOut._of(obj, "program")

    @staticmethod
    def resolve_email(obj):
        return SelfReportOut._of(obj, "email")

    @staticmethod
    def resolve_title(obj):
        return SelfReportOut._of(obj, "title")

    @staticmethod
    def resolve_provider(obj):
        return SelfReportOut._of(obj, "provider")

    @staticmethod
    def resolve_completion_date(obj):
        return SelfReportOut._of(obj, "completion_date")

    @staticmethod
    def resolve_hours(obj):
        return SelfReportOut._of(obj, "hours")

    @staticmethod
    def resolve_has_certificate(obj):
        return SelfReportOut._of(obj, "has_certificate")

    @staticmethod
    def resolve_decided_at(obj):
        return SelfReportOut._of(obj, "decided_at")


def _reviews(request):
    return (
        CreditReview.objects.filter(enrollment__organization=_org(request))
        .select_related("enrollment__program", "credit__self_report")
        .prefetch_related("credit__components__credit_type")
    )


def _review_out(r: CreditReview) -> dict:
    return {
        "id": r.pk,
        "enrollment_id": r.enrollment_id,
        "program": r.enrollment.program.code,
        "email": r.enrollment.email,
        "status": r.status,
        "title": r.credit.title,
        "provider": r.credit.self_report.provider,
        "completion_date": r.credit.completion_date,
        "hours": {c.credit_type.code: c.amount_earned for c in r.credit.components.all()},
        "has_certificate": bool(r.credit.self_report.certificate),
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "return_reason": r.return_reason,
    }


@router.get("/self-reports", response=list[SelfReportOut], summary="Self-reported credit")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def self_report_list(
    request, status: Literal["awaiting_approval", "approved", "returned"] | None = None
):
    """Self-reported credit of enrollees, to count toward a program's credit hours once
    approved; oldest first, filtered by ``status``. Example:
    `GET /api/v1/programs/self-reports?status=awaiting_approval`."""
    rows = _reviews(request).order_by("created_at", "pk")
    if status:
        rows = rows.filter(status=status)
    return rows


@router.post(
    "/self-reports/{int:review_id}/approve",
    response={200: SelfReportOut, 409: ErrorOut, **NOT_FOUND},
    summary="Approve self-reported credit",
)
def self_report_approve(request, review_id: ObjectId):
    """Count it toward the enrollment's credit-hours requirements (which may earn it).
    Example: `POST /api/v1/programs/self-reports/5/approve`."""
    r = get_object_or_404(_reviews(request), pk=review_id)
    services.credit_review_approve(actor=_actor(request), review=r)
    return _review_out(r)


@router.post(
    "/self-reports/{int:review_id}/return",
    response={200: SelfReportOut, 409: ErrorOut, **NOT_FOUND},
    summary="Return self-reported credit",
)
def self_report_return(request, review_id: ObjectId, payload: CompletionReturnIn):
    """It does not count for this program; the holder reads the reason. Example:
    `POST /api/v1/programs/self-reports/5/return` with `{"reason": "Not accredited"}`."""
    r = get_object_or_404(_reviews(request), pk=review_id)
    services.credit_review_return(actor=_actor(request), review=r, reason=payload.reason)
    return _review_out(r)
