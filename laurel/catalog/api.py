"""JSON API for course applications, submissions and decisions. A provider's key reads and
writes its applications and what it submitted (never an organization's internal comments);
an accrediting organization's key reads what it received and decides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, client_ip
from laurel.catalog import selectors, services
from laurel.catalog.models import CourseApplication, Submission

router = Router(tags=["submissions"])


class Session(Schema):
    date: date
    location: str = ""


class AgendaPart(Schema):
    part: str
    minutes: int


class Instructor(Schema):
    name: str
    credentials: str = ""
    bio: str = ""


class ApplicationIn(Schema):
    title: str
    description: str = ""
    objectives: str = ""
    delivery_format: Literal["in_person", "live_online", "self_paced", "hybrid"] = "self_paced"
    sessions: list[Session] = []
    agenda: list[AgendaPart] = []
    instructors: list[Instructor] = []
    target_audience: str = ""
    requested_credit: dict[str, str] = {}


class ApplicationOut(ApplicationIn):
    id: int
    updated_at: datetime
    missing: dict[str, str]

    @staticmethod
    def resolve_missing(obj) -> dict[str, str]:
        return services.application_problems(obj)


class SubmitIn(Schema):
    organizations: list[str]  # slugs
    # {"northwind": {"<question id>": "answer"}}; file questions are answered on the web.
    answers: dict[str, dict[str, str]] = {}


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
    kind: str
    status: str
    title: str
    organization: str
    provider: str
    round: int
    submitted_at: datetime
    decided_at: datetime | None
    decision_reason: str
    approved_credit: dict
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
    reason: str = ""
    credit: dict[str, str] = {}
    active_from: date | None = None
    active_until: date | None = None


class CommentIn(Schema):
    body: str
    internal: bool = True


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


@router.get("/applications", response=list[ApplicationOut])
def application_list(request):
    """The key's provider's applications, most recently edited first."""
    return list(_applications(request))


@router.post("/applications", response={201: ApplicationOut})
def application_create(request, payload: ApplicationIn):
    """Write a draft application (a provider's key)."""
    app = services.application_save(
        actor=_actor(request), provider=_org(request), **_fields(payload)
    )
    return Status(201, app)


@router.get("/applications/{application_id}", response=ApplicationOut)
def application_detail(request, application_id: int):
    return get_object_or_404(_applications(request), pk=application_id)


@router.put("/applications/{application_id}", response=ApplicationOut)
def application_update(request, application_id: int, payload: ApplicationIn):
    """Edit the draft; what was submitted already does not change."""
    app = get_object_or_404(_applications(request), pk=application_id)
    return services.application_save(
        actor=_actor(request), provider=_org(request), application=app, **_fields(payload)
    )


@router.post("/applications/{application_id}/submit", response={201: list[SubmissionOut]})
def application_submit(request, application_id: int, payload: SubmitIn):
    """Submit to one or more accrediting organizations (by slug): one submission each."""
    app = get_object_or_404(_applications(request), pk=application_id)
    orgs = {o.slug: o for o in selectors.accrediting_organizations()}
    unknown = [s for s in payload.organizations if s not in orgs]
    if unknown:
        raise ServiceError(
            f"No accrediting organization {', '.join(unknown)}.", field="organizations"
        )
    chosen = [orgs[s] for s in payload.organizations]
    subs = services.application_submit(
        actor=_actor(request),
        application=app,
        organizations=chosen,
        answers={
            orgs[slug].pk: answers for slug, answers in payload.answers.items() if slug in orgs
        },
    )
    return Status(201, subs)


@router.get("/submissions", response=list[SubmissionOut])
def submission_list(request, status: str = ""):
    """What the key's provider submitted, or what the key's organization received."""
    qs = _submissions(request).order_by("-last_submitted_at", "-id")
    if status:
        qs = qs.filter(status=status)
    return list(qs[:500])


@router.get("/submissions/{submission_id}", response=SubmissionDetailOut)
def submission_detail(request, submission_id: int):
    """One submission with each round's snapshot and its comments (a provider's key never
    sees the organization's internal comments)."""
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    return sub


@router.post("/submissions/{submission_id}/comments", response={201: SubmissionDetailOut})
def submission_comment(request, submission_id: int, payload: CommentIn):
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    services.submission_comment(
        actor=_actor(request),
        submission=sub,
        body=payload.body,
        internal=payload.internal,
        from_provider=_is_provider(request),
    )
    return Status(201, sub)


@router.post("/submissions/{submission_id}/resubmit", response=SubmissionDetailOut)
def submission_resubmit(request, submission_id: int):
    """Send the application again after changes were requested (a provider's key)."""
    if not _is_provider(request):
        raise ServiceError("Only the provider sends a submission again.", code="not_found")
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    sub = services.submission_resubmit(actor=_actor(request), submission=sub)
    return sub


@router.post("/submissions/{submission_id}/decision", response=SubmissionDetailOut)
def submission_decide(request, submission_id: int, payload: DecisionIn):
    """Approve (creates the course), request changes, or deny (final). A submission decided
    already answers 409."""
    if _is_provider(request):
        raise ServiceError("Only the accrediting organization decides.", code="not_found")
    sub = get_object_or_404(_submissions(request), pk=submission_id)
    sub = services.submission_decide(actor=_actor(request), submission=sub, **payload.model_dump())
    return sub
