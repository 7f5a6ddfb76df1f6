"""JSON API v1: the key's organization is the tenant; other tenants' objects are 404s."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from ninja import Query
from ninja.pagination import paginate

from laurel.accounts.services import ServiceError
from laurel.api.auth import ApiKeyAuth
from laurel.api.contract import LaurelApi, LinkPagination, ObjectId
from laurel.api.docs import OperationList
from laurel.api.errors import ErrorOut, install_error_handlers
from laurel.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent_response
from laurel.api.schemas import (
    CourseOut,
    CreditDetailOut,
    CreditFilters,
    CreditIn,
    CreditOut,
    CreditRevokeIn,
    HistoryOut,
)
from laurel.audit.services import Actor, client_ip
from laurel.catalog.api import router as submissions_router
from laurel.catalog.models import Course, CourseComponent
from laurel.certificates.api import router as certificates_router
from laurel.credits import selectors, services
from laurel.credits.models import Credit, CreditComponent
from laurel.events.api import router as events_router
from laurel.imports.api import build_router as build_imports_router
from laurel.integrations.api import router as webhooks_router
from laurel.programs.api import router as programs_router
from laurel.recognition.api import router as recognition_router

api = LaurelApi(
    title="Laurel API",
    version="1",
    description="Courses and credits of the organization that owns the API key.",
    urls_namespace="api:v1",
    auth=ApiKeyAuth(),
    docs=OperationList(),
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/certificates", certificates_router)
api.add_router("/imports", build_imports_router())
api.add_router("", submissions_router)
api.add_router("/recognition", recognition_router)
api.add_router("/webhooks", webhooks_router)
api.add_router("/programs", programs_router)
api.add_router("/events", events_router)

ERRORS = {401: ErrorOut, 422: ErrorOut}
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _actor(request) -> Actor:
    return Actor(label=request.auth.actor_label, ip=client_ip(request))


def _org(request):
    return request.auth.organization


def _credits(request):
    components = CreditComponent.objects.select_related("credit_type")
    return (
        Credit.objects.for_org(_org(request))
        .with_delivery()
        .select_related("course")
        .prefetch_related(Prefetch("components", queryset=components))
        .order_by("-completion_date", "-id")
    )


def _detail(credit: Credit) -> dict:
    credit.history = [
        HistoryOut(
            at=e.at,
            action=e.action,
            actor=e.who,
            status=(e.after or {}).get("status"),
            reason=(e.after or {}).get("reason"),
        )
        for e in selectors.credit_history(credit)
    ]
    return CreditDetailOut.from_orm(credit).model_dump()


@api.get(
    "/courses",
    response={200: list[CourseOut], **ERRORS},
    tags=["courses"],
    summary="List courses",
)
@paginate(LinkPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def course_list(request):
    """The organization's courses, by course ID, with the credit each one offers.

    Example: `GET /api/v1/courses?page=2&page_size=100`."""
    components = CourseComponent.objects.select_related("credit_type")
    return (
        Course.objects.for_org(_org(request))
        .prefetch_related(Prefetch("components", queryset=components))
        .order_by("course_id")
    )


@api.get(
    "/credits",
    response={200: list[CreditOut], **ERRORS},
    tags=["credits"],
    summary="List credits",
)
@paginate(LinkPagination, page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
def credit_list(request, filters: Query[CreditFilters]):
    """Credits entered by the organization, newest completion first (then by id).

    Example: `GET /api/v1/credits?status=held&completed_from=2026-01-01`."""
    return selectors.ledger_filter(
        _credits(request),
        status=filters.status or "",
        course=filters.course_id or "",
        email=filters.email or "",
        date_from=filters.completed_from,
        date_to=filters.completed_to,
        delivery="undeliverable" if filters.undeliverable else "",
    )


@api.get(
    "/credits/{int:credit_id}",
    response={200: CreditDetailOut, 404: ErrorOut, **ERRORS},
    tags=["credits"],
    summary="Get a credit",
)
def credit_detail(request, credit_id: ObjectId):
    """One credit with its components and status history.

    Example: `GET /api/v1/credits/42`."""
    credit = get_object_or_404(_credits(request), pk=credit_id)
    return api.create_response(request, _detail(credit), status=200)


@api.post(
    "/credits",
    response={201: CreditDetailOut, 409: ErrorOut, **ERRORS},
    tags=["credits"],
    summary="Enter a credit",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def credit_create(request, payload: CreditIn):
    """Enter a credit and deliver it (offered to the verified owner of the e-mail, or held).

    An unknown `course_id` is a 422; the same person and course on the same day again is a
    409 naming the existing credit. Example body: see the request example."""
    org = _org(request)

    def work():
        course = (
            Course.objects.for_org(org).filter(course_id__iexact=payload.course_id.strip()).first()
        )
        if course is None:
            raise ServiceError("No course with that ID in this organization.", field="course_id")
        credit = services.credit_enter(
            actor=_actor(request),
            organization=org,
            entry=services.CreditEntry(
                course=course,
                email=payload.email,
                completion_date=payload.completion_date,
                amount_earned=payload.amount_earned,
                credit_type_code=payload.credit_type,
                name=payload.name,
                note=payload.note,
            ),
            source=Credit.Source.API,
            notify=payload.notify,
        )
        return _detail(_credits(request).get(pk=credit.pk))

    return idempotent_response(
        request, path="/credits", payload=payload.model_dump(mode="json"), work=work
    )


@api.post(
    "/credits/{int:credit_id}/revoke",
    response={200: CreditDetailOut, 404: ErrorOut, 409: ErrorOut, **ERRORS},
    tags=["credits"],
    summary="Revoke a credit",
)
def credit_revoke(request, credit_id: ObjectId, payload: CreditRevokeIn):
    """Revoke a credit with a reason the recipient sees; an already revoked one is a 409.

    Example body: `{"reason": "Entered in error."}`."""
    credit = get_object_or_404(_credits(request), pk=credit_id)
    services.credit_revoke(actor=_actor(request), credit=credit, reason=payload.reason)
    return api.create_response(request, _detail(_credits(request).get(pk=credit.pk)), status=200)
