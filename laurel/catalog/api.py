"""JSON API for course applications, submissions and decisions. A provider's key reads and
writes its applications and what it submitted (never an organization's internal comments);
an accrediting organization's key reads what it received and decides."""

from datetime import date, datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.api.contract import LinkPagination, ObjectId
from laurel.api.errors import ErrorOut
from laurel.api.schemas import AmountIn, AmountOut
from laurel.audit.services import Actor, client_ip
from laurel.catalog import selectors, services
from laurel.catalog.models import CourseApplication, Submission

router = Router(tags=["submissions"])
NOT_FOUND = {404: ErrorOut}
STATE = {404: ErrorOut, 409: ErrorOut}
Text = Field("", max_length=5000)


class Session(Schema):
    date: date
    location: str = Field("", max_length=300)


class AgendaPart(Schema):
    part: str = Field(..., min_length=1, max_length=300)
    minutes: int = Field(..., ge=1, le=100_000)


class Instructor(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    credentials: str = Field("", max_length=200)
    bio: str = Field("", max_length=2000)


Format = Literal["in_person", "live_online", "self_paced", "hybrid"]


class ApplicationIn(Schema):
    title: str = Field(..., min_length=1, max_length=300, examples=["Safe Medication Handoffs"])
    description: str = Text
    objectives: str = Text
    delivery_format: Format = "self_paced"
    sessions: list[Session] = Field([], max_length=100)
    agenda: list[AgendaPart] = Field([], max_length=100)
    instructors: list[Instructor] = Field([], max_length=50)
    target_audience: str = Field("", max_length=300)
    # Credit type code → amount, e.g. {"CE": "1.50"}.
    requested_credit: dict[str, AmountIn] = Field({}, max_length=20)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Safe Medication Handoffs",
                    "objectives": "Use a closed-loop read-back.",
                    "delivery_format": "self_paced",
                    "agenda": [{"part": "Lecture", "minutes": 60}],
                    "instructors": [{"name": "Dana Reyes", "credentials": "RN"}],
                    "target_audience": "Registered nurses",
                    "requested_credit": {"CE": "1.00"},
                }
            ]
        }
    }


class ApplicationOut(Schema):
    id: int
    title: str
    description: str
    objectives: str
    delivery_format: Format
    sessions: list[Session]
    agenda: list[AgendaPart]
    instructors: list[Instructor]
    target_audience: str
    requested_credit: dict[str, AmountOut]
    updated_at: datetime
    missing: dict[str, str]

    @staticmethod
    def resolve_missing(obj) -> dict[str, str]:
        return services.application_problems(obj)


class SubmitIn(Schema):
    organizations: list[str] = Field(..., min_length=1, max_length=50)  # slugs
    # {"northwind": {"<question id>": "answer"}}; file questions are answered on the web.
    answers: dict[str, dict[str, str]] = {}

    model_config = {
        "json_schema_extra": {
            "examples": [{"organizations": ["northwind"], "answers": {"northwind": {"3": "no"}}}]
        }
    }


class CommentOut(Schema):
    author: str
    body: str
    internal: bool
    round: int
    created_at: datetime


class RoundOut(Schema):
    number: int
    submitted_at: datetime
    snapshot: dict
    answers: dict


class SubmissionOut(Schema):
    id: int
    reference: str
    kind: Literal[tuple(Submission.Kind.values)]  # type: ignore[valid-type]
    status: Literal[tuple(Submission.Status.values)]  # type: ignore[valid-type]
    title: str
    organization: str
    provider: str
    round: int
    submitted_at: datetime
    decided_at: datetime | None
    decision_reason: str
    approved_credit: dict[str, AmountOut]
    course_id: str | None
    previous_id: int | None

    @staticmethod
    def resolve_organization(obj) -> str:
        return obj.organization.slug

    @staticmethod
    def resolve_provider(obj) -> str:
        return obj.provider.slug

    @staticmethod
    def resolve_course_id(obj) -> str | None:
        return obj.course.course_id if obj.course_id else None


class SubmissionDetailOut(SubmissionOut):
    rounds: list[RoundOut]
    comments: list[CommentOut]

    @staticmethod
    def resolve_rounds(obj) -> list:
        return list(obj.rounds.all())

    @staticmethod
    def resolve_comments(obj, context) -> list[dict]:
        comments = obj.comments.all()
        if _is_provider(context["request"]):
            comments = comments.filter(internal=False)  # never the organization's own notes
        return [
            {
                "author": c.author_label,
                "body": c.body,
                "internal": c.internal,
                "round": c.round,
                "created_at": c.created_at,
            }
            for c in comments
        ]


class DecisionIn(Schema):
    decision: Literal["approve", "request_changes", "deny"]
    reason: str = Field("", max_length=5000)
    credit: dict[str, AmountIn] = Field({}, max_length=20)
    active_from: date | None = None
    active_until: date | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"decision": "approve", "credit": {"CE": "1.50"}, "active_from": "2026-09-01"},
                {"decision": "deny", "reason": "Outside the scope we accredit."},
            ]
        }
    }


class CommentIn(Schema):
    body: str = Field(..., min_length=1, max_length=5000)
    internal: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [{"body": "Please attach the slides.", "internal": False}]
        }
    }


def _actor(request) -> Actor:
    return Actor(label=request.auth.actor_label, ip=client_ip(request))


def _org(request) -> Organization:
    return request.auth.organization


def _is_provider(request) -> bool:
    return _org(request).kind == Organization.Kind.PROVIDER


def _applications(request):
    # Another provider's (or a non-provider's) applications are simply not there: a 404.
    return CourseApplication.objects.for_provider(_org(request))


def _submissions(request):
    org = _org(request)
    qs = Submission.objects.select_related("organization", "provider", "course")
    return qs.for_provider(org) if _is_provider(request) else qs.for_org(org)


def _fields(payload: ApplicationIn) -> dict:
    return payload.model_dump(mode="json")


@router.get("/applications", response=list[ApplicationOut], summary="List applications")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def application_list(request):
    """The key's provider's draft applications, most recently edited first (none for an
    organization that is not a provider).

    Example: `GET /api/v1/applications?page=1`."""
    return _applications(request)


@router.post("/applications", response={201: ApplicationOut}, summary="Write an application")
def application_create(request, payload: ApplicationIn):
    """Write a draft application (a provider's key); `missing` says what it still lacks."""
    app = services.application_save(
        actor=_actor(request), provider=_org(request), **_fields(payload)
    )
    return Status(201, app)


@router.get(
    "/applications/{int:application_id}",
    response={200: ApplicationOut, **NOT_FOUND},
    summary="Get an application",
)
def application_detail(request, application_id: ObjectId):
    """One draft application. Example: `GET /api/v1/applications/12`."""
    return get_object_or_404(_applications(request), pk=application_id)


@router.put(
    "/applications/{int:application_id}",
    response={200: ApplicationOut, **NOT_FOUND},
    summary="Edit an application",
)
def application_update(request, application_id: ObjectId, payload: ApplicationIn):
    """Replace the draft; what was submitted already does not change."""
    app = get_object_or_404(_applications(request), pk=application_id)
    return services.application_save(
        actor=_actor(request), provider=_org(request), application=app, **_fields(payload)
    )


@router.post(
    "/applications/{int:application_id}/submit",
    response={201: list[SubmissionOut], **STATE},
    summary="Submit an application",
)
def application_submit(request, application_id: ObjectId, payload: SubmitIn):
    """Submit to one or more accrediting organizations (by slug): one submission each, with
    a snapshot of the application as it is now."""
    app = get_object_or_404(_applications(request), pk=application_id)
    orgs = {o.slug: o for o in selectors.accrediting_organizations()}
    unknown = [s for s in payload.organizations if s not in orgs]
    if unknown:
        raise ServiceError(
            f"No accrediting organization {', '.join(unknown)}.", field="organizations"
        )
    subs = services.application_submit(
        actor=_actor(request),
        application=app,
        organizations=[orgs[s] for s in dict.fromkeys(payload.organizations)],
        answers={orgs[slug].pk: a for slug, a in payload.answers.items() if slug in orgs},
    )
    return Status(201, subs)


class SubmissionFilters(Schema):
    status: Literal[tuple(Submission.Status.values)] | None = None  # type: ignore[valid-type]


@router.get("/submissions", response=list[SubmissionOut], summary="List submissions")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def submission_list(request, filters: Query[SubmissionFilters]):
    """What the key's provider submitted, or what the key's organization received, newest
    first.

    Example: `GET /api/v1/submissions?status=submitted`."""
    qs = _submissions(request).order_by("-last_submitted_at", "-id")
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.get(
    "/submissions/{int:submission_id}",
    response={200: SubmissionDetailOut, **NOT_FOUND},
    summary="Get a submission",
)
def submission_detail(request, submission_id: ObjectId):
    """One submission with each round's snapshot and its comments (a provider's key never
    sees the organization's internal comments). Example: `GET /api/v1/submissions/5`."""
    return get_object_or_404(_submissions(request), pk=submission_id)


@router.post(
    "/submissions/{int:submission_id}/comments",
    response={201: SubmissionDetailOut, **NOT_FOUND},
    summary="Comment on a submission",
)
def submission_comment(request, submission_id: ObjectId, payload: CommentIn):
    """Add a comment; an organization's are internal unless `internal` is false (then the
    provider is e-mailed); a provider's are never internal."""
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    services.submission_comment(
        actor=_actor(request),
        submission=sub,
        body=payload.body,
        internal=payload.internal,
        from_provider=_is_provider(request),
    )
    return Status(201, sub)


@router.post(
    "/submissions/{int:submission_id}/resubmit",
    response={200: SubmissionDetailOut, **STATE},
    summary="Send a submission again",
)
def submission_resubmit(request, submission_id: ObjectId):
    """Send the application again after changes were requested (a provider's key); its
    current state becomes the next round. 409 when no changes were requested.

    Example: `POST /api/v1/submissions/5/resubmit`."""
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    if not _is_provider(request):
        raise ServiceError("Only the provider sends a submission again.", code="not_found")
    return services.submission_resubmit(actor=_actor(request), submission=sub)


@router.post(
    "/submissions/{int:submission_id}/decision",
    response={200: SubmissionDetailOut, **STATE},
    summary="Decide a submission",
)
def submission_decide(request, submission_id: ObjectId, payload: DecisionIn):
    """Approve (creates the course with its course ID), request changes, or deny (final),
    by the organization that received it. A submission decided already answers 409."""
    if _is_provider(request):
        raise ServiceError("Only the accrediting organization decides.", code="not_found")
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    return services.submission_decide(actor=_actor(request), submission=sub, **payload.model_dump())
