"""JSON API for webhooks: endpoints (create, rotate the secret, disable, enable), their
deliveries (list, resend) and a test event. POSTs take an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from laurel.api.idempotency import (
    HEADER,
    idempotency_key_from,
    idempotent_run,
    request_fingerprint,
)
from laurel.audit.services import Actor, client_ip
from laurel.integrations import services
from laurel.integrations.events import EVENT_TYPES
from laurel.integrations.models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])
IDEMPOTENT = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Send the same key again to get the first response back "
            "instead of doing it twice.",
        }
    ]
}


class EndpointIn(Schema):
    url: str
    description: str = ""
    event_types: list[str] = list(EVENT_TYPES)


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
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
    event_type: str
    status: str
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


def _once(request, path: str, body: dict, work, status: int = 200) -> HttpResponse:
    """Run ``work() -> dict`` once per ``Idempotency-Key`` and answer with its JSON."""
    from laurel.api.v1 import api

    org = _org(request)
    key = idempotency_key_from(request)
    fingerprint = request_fingerprint("POST", path, body)

    def run():
        return status, api.renderer.render(request, work(), response_status=status)

    code, content, replayed = idempotent_run(
        organization=org, key=key, fingerprint=fingerprint, work=run
    )
    response = HttpResponse(content, status=code, content_type=api.get_content_type())
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get("/endpoints", response=list[EndpointOut])
@paginate(PageNumberPagination, page_size=50)
def endpoint_list(request):
    """The organization's endpoints, oldest first."""
    return _endpoints(request)


@router.post("/endpoints", response={201: EndpointWithSecretOut}, openapi_extra=IDEMPOTENT)
def endpoint_create(request, payload: EndpointIn):
    """Register an endpoint; the answer carries its signing secret."""

    def work():
        endpoint = services.endpoint_create(
            actor=_actor(request),
            organization=_org(request),
            url=payload.url,
            description=payload.description,
            event_types=payload.event_types,
        )
        return _with_secret(endpoint)

    return _once(request, "/webhooks/endpoints", payload.model_dump(), work, status=201)


@router.get("/endpoints/{int:endpoint_id}", response=EndpointWithSecretOut)
def endpoint_get(request, endpoint_id: int):
    """One endpoint with its signing secret."""
    return _with_secret(get_object_or_404(_endpoints(request), pk=endpoint_id))


@router.post(
    "/endpoints/{int:endpoint_id}/rotate-secret",
    response=EndpointWithSecretOut,
    openapi_extra=IDEMPOTENT,
)
def endpoint_rotate(request, endpoint_id: int):
    """A new secret; the old one keeps signing beside it for 24 hours."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return _once(
        request,
        f"/webhooks/endpoints/{endpoint.pk}/rotate-secret",
        {},
        lambda: _with_secret(
            services.endpoint_rotate_secret(actor=_actor(request), endpoint=endpoint)
        ),
    )


@router.post("/endpoints/{int:endpoint_id}/disable", response=EndpointOut)
def endpoint_disable(request, endpoint_id: int):
    """Stop sending; events meanwhile are kept and sent, oldest first, once enabled."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return services.endpoint_set_enabled(
        actor=_actor(request), endpoint=endpoint, enabled=False, reason="Disabled through the API."
    )


@router.post("/endpoints/{int:endpoint_id}/enable", response=EndpointOut)
def endpoint_enable(request, endpoint_id: int):
    """Send again, starting with what waited."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return services.endpoint_set_enabled(actor=_actor(request), endpoint=endpoint, enabled=True)


@router.post(
    "/endpoints/{int:endpoint_id}/test", response={202: DeliveryOut}, openapi_extra=IDEMPOTENT
)
def endpoint_test(request, endpoint_id: int):
    """Queue a ``webhook.test`` event to this endpoint."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)

    def work():
        delivery = services.endpoint_send_test(actor=_actor(request), endpoint=endpoint)
        return DeliveryOut.from_orm(delivery).model_dump(mode="json")

    return _once(request, f"/webhooks/endpoints/{endpoint.pk}/test", {}, work, status=202)


@router.get("/endpoints/{int:endpoint_id}/deliveries", response=list[DeliveryOut])
@paginate(PageNumberPagination, page_size=50)
def delivery_list(request, endpoint_id: int):
    """The endpoint's deliveries, newest first, each with its tries."""
    endpoint = get_object_or_404(_endpoints(request), pk=endpoint_id)
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("message")
        .prefetch_related("tries")
        .order_by("-id")
    )


@router.post(
    "/deliveries/{int:delivery_id}/resend", response={202: DeliveryOut}, openapi_extra=IDEMPOTENT
)
def delivery_resend(request, delivery_id: int):
    """Send the same event (same ``webhook-id``) again, after what is queued."""
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_org(_org(request)).select_related("endpoint", "message"),
        pk=delivery_id,
    )

    def work():
        new = services.delivery_resend(actor=_actor(request), delivery=delivery)
        return DeliveryOut.from_orm(new).model_dump(mode="json")

    return _once(request, f"/webhooks/deliveries/{delivery.pk}/resend", {}, work, status=202)


class MemberIdIn(Schema):
    email: str
    member_id: str


class MemberIdOut(Schema):
    email: str
    status: str
    member_id: str


@router.post("/member-ids", response=MemberIdOut, tags=["webhooks"])
def member_id_set(request, payload: MemberIdIn):
    """Record a connected person's ID in your member system; webhooks carry it as
    ``person.member_id``. An empty ``member_id`` clears it."""
    from laurel.accounts.services import connection_set_member_id

    return connection_set_member_id(
        actor=_actor(request),
        organization=_org(request),
        email=payload.email,
        member_id=payload.member_id,
    )
