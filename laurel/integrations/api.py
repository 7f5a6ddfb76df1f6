"""JSON API for webhooks: endpoints (create, rotate the secret, disable, enable), their
deliveries (list, resend) and a test event. POSTs take an ``Idempotency-Key``."""

from datetime import datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from laurel.api.contract import LinkPagination, ObjectId
from laurel.api.errors import ErrorOut
from laurel.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent_response
from laurel.api.schemas import EmailIn, EmailOut
from laurel.audit.services import Actor, client_ip
from laurel.integrations import services
from laurel.integrations.events import EVENT_TYPES, TEST_EVENT
from laurel.integrations.models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])
IDEMPOTENT = {"parameters": [IDEMPOTENCY_PARAMETER]}
NOT_FOUND = {404: ErrorOut}
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
DeliveryStatus = Literal[tuple(WebhookDelivery.Status.values)]  # type: ignore[valid-type]


class EndpointIn(Schema):
    url: str = Field(..., max_length=2000, examples=["https://members.example.org/laurel"])
    description: str = Field("", max_length=200, examples=["Member database"])
    event_types: list[EventType] = Field(
        list(EVENT_TYPES), min_length=1, examples=[["credit.accepted", "certificate.issued"]]
    )


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str
    created_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str
    previous_secret_valid_until: datetime | None


class AttemptOut(Schema):
    number: int
    at: datetime
    status_code: int | None
    response_body: str
    duration_ms: int
    error: str


class DeliveryOut(Schema):
    id: int
    webhook_id: str
    event_type: Literal[EVENT_TYPES + (TEST_EVENT,)]  # type: ignore[valid-type]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    tries: list[AttemptOut]

    @staticmethod
    def resolve_webhook_id(obj) -> str:
        return obj.message.webhook_id

    @staticmethod
    def resolve_event_type(obj) -> str:
        return obj.message.event_type

    @staticmethod
    def resolve_next_attempt_at(obj):
        return obj.next_attempt_at if obj.status == "pending" else None

    @staticmethod
    def resolve_tries(obj) -> list:
        return list(obj.tries.all())


def _org(request):
    return request.auth.organization


def _actor(request) -> Actor:
    return Actor(label=getattr(request.auth, "actor_label", "api"), ip=client_ip(request))


def _endpoints(request):
    return WebhookEndpoint.objects.for_org(_org(request))


def _with_secret(endpoint: WebhookEndpoint) -> dict:
    out = EndpointOut.from_orm(endpoint).model_dump()
    out["secret"] = endpoint.secret
    out["previous_secret_valid_until"] = endpoint.previous_secret_until
    return EndpointWithSecretOut(**out).model_dump(mode="json")


@router.get("/endpoints", response=list[EndpointOut], summary="List webhook endpoints")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def endpoint_list(request):
    """The organization's webhook endpoints, oldest first.

    Example: `GET /api/v1/webhooks/endpoints`."""
    return _endpoints(request)


@router.post(
    "/endpoints",
    response={201: EndpointWithSecretOut},
    summary="Register a webhook endpoint",
    openapi_extra=IDEMPOTENT,
)
def endpoint_create(request, payload: EndpointIn):
    """Register an https endpoint for the event types chosen; the answer carries its
    signing secret (`whsec_…`).

    Example body: `{"url": "https://members.example.org/laurel",
    "event_types": ["credit.accepted"]}`."""

    def work():
        endpoint = services.endpoint_create(
            actor=_actor(request),
            organization=_org(request),
            url=payload.url,
            description=payload.description,
            event_types=payload.event_types,
        )
        return _with_secret(endpoint)

    return idempotent_response(
        request, path="/webhooks/endpoints", payload=payload.model_dump(mode="json"), work=work
    )


@router.get(
    "/endpoints/{int:endpoint_id}",
    response={200: EndpointWithSecretOut, **NOT_FOUND},
    summary="Get a webhook endpoint",
)
def endpoint_get(request, endpoint_id: ObjectId):
    """One endpoint with its signing secret. Example: `GET /api/v1/webhooks/endpoints/3`."""
    return _with_secret(get_object_or_404(_endpoints(request), pk=endpoint_id))


@router.post(
    "/endpoints/{int:endpoint_id}/rotate-secret",
    response={200: EndpointWithSecretOut, **NOT_FOUND},
    summary="Rotate an endpoint's secret",
    openapi_extra=IDEMPOTENT,
)
def endpoint_rotate(request, endpoint_id: ObjectId):
    """A new secret; the old one keeps signing beside it for 24 hours.

    Example: `POST /api/v1/webhooks/endpoints/3/rotate-secret`."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return idempotent_response(
        request,
        path=f"/webhooks/endpoints/{endpoint.pk}/rotate-secret",
        payload={},
        work=lambda: _with_secret(
            services.endpoint_rotate_secret(actor=_actor(request), endpoint=endpoint)
        ),
        status=200,
    )


@router.post(
    "/endpoints/{int:endpoint_id}/disable",
    response={200: EndpointOut, **NOT_FOUND},
    summary="Disable an endpoint",
)
def endpoint_disable(request, endpoint_id: ObjectId):
    """Stop sending; events meanwhile are kept and sent, oldest first, once enabled.

    Example: `POST /api/v1/webhooks/endpoints/3/disable`."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return services.endpoint_set_enabled(
        actor=_actor(request), endpoint=endpoint, enabled=False, reason="Disabled through the API."
    )


@router.post(
    "/endpoints/{int:endpoint_id}/enable",
    response={200: EndpointOut, **NOT_FOUND},
    summary="Enable an endpoint",
)
def endpoint_enable(request, endpoint_id: ObjectId):
    """Send again, starting with what waited.

    Example: `POST /api/v1/webhooks/endpoints/3/enable`."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return services.endpoint_set_enabled(actor=_actor(request), endpoint=endpoint, enabled=True)


@router.post(
    "/endpoints/{int:endpoint_id}/test",
    response={202: DeliveryOut, **NOT_FOUND},
    summary="Send a test event",
    openapi_extra=IDEMPOTENT,
)
def endpoint_test(request, endpoint_id: ObjectId):
    """Queue a `webhook.test` event to this endpoint alone.

    Example: `POST /api/v1/webhooks/endpoints/3/test`."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)

    def work():
        delivery = services.endpoint_send_test(actor=_actor(request), endpoint=endpoint)
        return DeliveryOut.from_orm(delivery).model_dump(mode="json")

    return idempotent_response(
        request, path=f"/webhooks/endpoints/{endpoint.pk}/test", payload={}, work=work, status=202
    )


@router.get(
    "/endpoints/{int:endpoint_id}/deliveries",
    response={200: list[DeliveryOut], **NOT_FOUND},
    summary="List an endpoint's deliveries",
)
@paginate(LinkPagination, page_size=50, max_page_size=200)
def delivery_list(request, endpoint_id: ObjectId):
    """The endpoint's deliveries, newest first, each with its tries.

    Example: `GET /api/v1/webhooks/endpoints/3/deliveries?page=2`."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("message")
        .prefetch_related("tries")
        .order_by("-id")
    )


@router.post(
    "/deliveries/{int:delivery_id}/resend",
    response={202: DeliveryOut, **NOT_FOUND},
    summary="Resend a delivery",
    openapi_extra=IDEMPOTENT,
)
def delivery_resend(request, delivery_id: ObjectId):
    """Send the same event (same `webhook-id`) again, after what is queued.

    Example: `POST /api/v1/webhooks/deliveries/91/resend`."""
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_org(_org(request)).select_related("endpoint", "message"),
        pk=delivery_id,
    )

    def work():
        new = services.delivery_resend(actor=_actor(request), delivery=delivery)
        return DeliveryOut.from_orm(new).model_dump(mode="json")

    return idempotent_response(
        request,
        path=f"/webhooks/deliveries/{delivery.pk}/resend",
        payload={},
        work=work,
        status=202,
    )


class MemberIdIn(Schema):
    email: EmailIn
    member_id: str = Field(..., max_length=64, examples=["NRDS-0012345"])


class MemberIdOut(Schema):
    email: EmailOut
    status: Literal["invited", "connected"]
    member_id: str


@router.post(
    "/member-ids", response={200: MemberIdOut, **NOT_FOUND}, summary="Set a person's member ID"
)
def member_id_set(request, payload: MemberIdIn):
    """Record a connected person's ID in your member system; webhooks carry it as
    `person.member_id`. An empty `member_id` clears it; an e-mail not connected to you is
    a 404.

    Example body: `{"email": "jane.doe@example.org", "member_id": "NRDS-0012345"}`."""
    from laurel.accounts.services import connection_set_member_id

    return connection_set_member_id(
        actor=_actor(request),
        organization=_org(request),
        email=payload.email,
        member_id=payload.member_id,
    )
