"""JSON API for recognition (mounted at ``/api/v1/recognition``). The key's organization is
the tenant: an issuing organization sees all its partners' records, a partner its own."""

import json
from datetime import date, datetime
from typing import Literal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from laurel.api.contract import LinkPagination, ObjectId
from laurel.api.errors import ErrorOut, error_response
from laurel.api.idempotency import idempotency_key_from, idempotent_run, request_fingerprint
from laurel.audit.services import Actor, client_ip
from laurel.recognition import services
from laurel.recognition.models import Ceremony, Cohort, CourseTaker

router = Router(tags=["recognition"])
NOT_FOUND = {404: ErrorOut}
MAX_BATCH = 5000


def _org(request):
    return request.auth.organization


def _actor(request) -> Actor:
    return Actor(label=getattr(request.auth, "actor_label", "api"), ip=client_ip(request))


class CohortOut(Schema):
    id: int
    name: str
    partner: str
    course_name: str
    start_date: date
    end_date: date
    closes_on: date
    certificate_title: str
    lms_course_id: str
    last_synced_at: datetime | None

    @staticmethod
    def resolve_partner(obj) -> str:
        return obj.partnership.partner.slug


class TakerOut(Schema):
    id: int
    email: str
    name: str
    percent: int
    completed_on: date | None
    certified: bool
    updated_at: datetime


class ProgressIn(Schema):
    cohort: int | str = Field(description="The cohort's id or its LMS course reference.")
    email: str
    name: str = ""
    percent: float = Field(ge=0, le=100)
    completed_on: date | None = None
    certified: bool = False


class BatchIn(Schema):
    records: list[ProgressIn] = Field(max_length=MAX_BATCH)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "records": [
                        {"cohort": "12345", "email": "jane@example.edu", "percent": 60},
                        {
                            "cohort": 7,
                            "email": "sam@example.edu",
                            "percent": 100,
                            "completed_on": "2026-03-05",
                            "certified": True,
                        },
                    ]
                }
            ]
        }
    }


class BatchOut(Schema):
    added: int
    changed: int
    completed: int
    unchanged: int


class CeremonyOut(Schema):
    id: int
    kind: str
    name: str
    status: str
    status_label: str
    partner: str
    range_start: date
    range_end: date
    cohorts: list[int]
    starts_at: datetime | None
    time_zone: str
    format: str
    venue: str
    representative_requested: bool
    tracking_number: str

    @staticmethod
    def resolve_status_label(obj) -> str:
        return obj.display_status()

    @staticmethod
    def resolve_partner(obj) -> str:
        return obj.partnership.partner.slug

    @staticmethod
    def resolve_cohorts(obj) -> list[int]:
        return sorted(c.pk for c in obj.cohorts.all())


class CeremonyIn(Schema):
    kind: str = "ceremony"
    name: str = ""
    range_start: date
    range_end: date
    cohorts: list[int]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "request",
                    "range_start": "2026-05-01",
                    "range_end": "2026-05-31",
                    "cohorts": [7, 8],
                }
            ]
        }
    }


def _cohorts(request):
    return Cohort.objects.for_org(_org(request)).select_related("partnership__partner")


def _ceremonies(request):
    return (
        Ceremony.objects.for_org(_org(request))
        .select_related("partnership__partner")
        .prefetch_related("cohorts")
    )


@router.get("/cohorts", response=list[CohortOut], summary="List cohorts")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def cohort_list(request):
    """Cohorts the key's organization takes part in (a partner: its own). Example:
    `GET /api/v1/recognition/cohorts`."""
    return _cohorts(request)


@router.get(
    "/cohorts/{int:cohort_id}", response={200: CohortOut, **NOT_FOUND}, summary="Get a cohort"
)
def cohort_get(request, cohort_id: ObjectId):
    """One cohort with its dates and last sync. Example: `GET /api/v1/recognition/cohorts/7`."""
    return get_object_or_404(_cohorts(request), pk=cohort_id)


@router.get(
    "/cohorts/{int:cohort_id}/takers",
    response={200: list[TakerOut], **NOT_FOUND},
    summary="List a cohort's course-takers",
)
@paginate(LinkPagination, page_size=100, max_page_size=200)
def taker_list(request, cohort_id: ObjectId):
    """Course-takers and their progress. Example: `GET /api/v1/recognition/cohorts/7/takers`."""
    cohort = get_object_or_404(_cohorts(request), pk=cohort_id)
    return CourseTaker.objects.filter(cohort=cohort).order_by("pk")


@router.post("/progress", response={200: BatchOut}, summary="Record a batch of progress")
def progress_batch(request, payload: BatchIn):
    """Record a batch of progress (issuing organization keys). The batch is checked whole: a
    bad record refuses the batch with every problem listed, nothing applied. Sending the same
    batch again changes nothing; an ``Idempotency-Key`` replays the first answer."""
    org = _org(request)
    records = [services.ProgressRecord(**r.model_dump()) for r in payload.records]
    body = payload.model_dump(mode="json")
    key = idempotency_key_from(request)

    def work():
        result = services.progress_apply(
            actor=_actor(request), organization=org, records=records, all_or_nothing=True
        )
        data = result.as_dict()
        data.pop("errors")
        return 200, json.dumps(data)

    try:
        status, content, _ = idempotent_run(
            organization=org,
            key=key,
            fingerprint=request_fingerprint("POST", request.path, body),
            work=work,
        )
    except services.ProgressRejected as exc:
        details = [{"index": i, "message": m} for i, m in exc.errors]
        return error_response(422, "invalid", exc.message, details)
    return HttpResponse(content, status=status, content_type="application/json")


CeremonyStatus = Literal[tuple(Ceremony.Status.values)]  # type: ignore[valid-type]


class CeremonyFilters(Schema):
    status: CeremonyStatus | None = None


def _ceremony_list(request, kind, filters):
    qs = _ceremonies(request).filter(kind=kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.get("/ceremonies", response=list[CeremonyOut], summary="List ceremonies")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def ceremony_list(request, filters: Query[CeremonyFilters]):
    """Ceremonies, newest first. Example: `GET /api/v1/recognition/ceremonies?status=draft`."""
    return _ceremony_list(request, Ceremony.Kind.CEREMONY, filters)


@router.get(
    "/certificate-requests", response=list[CeremonyOut], summary="List certificate requests"
)
@paginate(LinkPagination, page_size=50, max_page_size=200)
def request_list(request, filters: Query[CeremonyFilters]):
    """Certificate requests (they never expire). Example:
    `GET /api/v1/recognition/certificate-requests`."""
    return _ceremony_list(request, Ceremony.Kind.REQUEST, filters)


@router.get(
    "/ceremonies/{int:ceremony_id}",
    response={200: CeremonyOut, **NOT_FOUND},
    summary="Get a ceremony or request",
)
def ceremony_get(request, ceremony_id: ObjectId):
    """A ceremony or a certificate request. Example: `GET /api/v1/recognition/ceremonies/3`."""
    return get_object_or_404(_ceremonies(request), pk=ceremony_id)


@router.post("/ceremonies", response={201: CeremonyOut}, summary="Draft a ceremony or request")
def ceremony_create(request, payload: CeremonyIn):
    """A draft ceremony (``kind`` "ceremony") or certificate request (``kind`` "request")
    over cohorts ending in the range."""
    if payload.kind not in Ceremony.Kind.values:
        return error_response(422, "invalid", "kind is 'ceremony' or 'request'.")
    ceremony = services.ceremony_select(
        actor=_actor(request),
        organization=_org(request),
        kind=payload.kind,
        range_start=payload.range_start,
        range_end=payload.range_end,
        cohort_ids=payload.cohorts,
        name=payload.name,
    )
    return Status(201, get_object_or_404(_ceremonies(request), pk=ceremony.pk))


@router.post(
    "/ceremonies/{int:ceremony_id}/submit",
    response={200: CeremonyOut, **NOT_FOUND},
    summary="Submit a draft",
)
def ceremony_submit(request, ceremony_id: ObjectId):
    """Draft → Scheduled / Pending (a ceremony: its details must be complete and its date 14
    days ahead) or Draft → Created (a request). Example:
    `POST /api/v1/recognition/ceremonies/3/submit`."""
    ceremony = get_object_or_404(_ceremonies(request), pk=ceremony_id)
    services.ceremony_submit(actor=_actor(request), organization=_org(request), ceremony=ceremony)
    return get_object_or_404(_ceremonies(request), pk=ceremony_id)
