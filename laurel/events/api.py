"""JSON API for events: a ninja Router whose tenant is ``request.auth.organization``.

Mounted on the v1 API at ``/events``. The same services as the pages: registration changes
go through ``attendance_set`` (a large bulk change becomes a background job)."""

from datetime import datetime
from typing import Annotated, Literal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import AwareDatetime, Field

from laurel.api.contract import MAX_ID, LinkPagination, ObjectId
from laurel.api.errors import ErrorOut
from laurel.api.idempotency import HEADER, idempotency_key_from, idempotent_run, request_fingerprint
from laurel.api.schemas import AmountOut, EmailIn, EmailOut
from laurel.audit.services import Actor, client_ip
from laurel.events import services
from laurel.events.models import Event, EventSession, Registration

router = Router(tags=["events"])
NOT_FOUND = {404: ErrorOut}
Target = Literal["registered", "attended", "no_show", "cancelled"]
RegistrationStatus = Literal["waitlisted", "registered", "attended", "no_show", "cancelled"]
IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Send the same key again to get the first response back instead "
            "of doing the work twice.",
        }
    ]
}


def _actor(request) -> Actor:
    return Actor(label=request.auth.actor_label, ip=client_ip(request))


def _org(request):
    return request.auth.organization


class ComponentOut(Schema):
    credit_type: str
    amount: AmountOut
    track: str | None
    session_id: int | None


class EventOut(Schema):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    format: str
    visibility: str
    status: str
    registration_open: bool
    capacity: int | None


class EventDetailOut(EventOut):
    description: str
    venue: str
    address: str
    join_url: str
    tracks: list[str]
    registration_types: list[dict]
    components: list[ComponentOut]
    counts: dict[str, int]


class EventIn(Schema):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=10000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    time_zone: str = Field("", max_length=64)
    format: Literal["in_person", "online"] = "in_person"
    venue: str = Field("", max_length=200)
    address: str = Field("", max_length=2000)
    join_url: str = Field("", max_length=200)
    capacity: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    visibility: Literal["public", "back_office"] = "back_office"
    registration_open: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Fair Housing Update",
                    "starts_at": "2026-03-05T14:00:00Z",
                    "ends_at": "2026-03-05T17:00:00Z",
                    "time_zone": "America/Chicago",
                    "venue": "Main office",
                }
            ]
        }
    }


class SessionOut(Schema):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime


class RegistrationOut(Schema):
    id: int
    event_id: int
    email: EmailOut
    name: str
    status: RegistrationStatus
    track: str | None
    check_in_code: str
    source: str

    @staticmethod
    def resolve_track(obj) -> str | None:
        return obj.track.name if obj.track_id else None


class RegistrationIn(Schema):
    email: EmailIn
    name: str = Field("", max_length=200)
    member_id: str = Field("", max_length=64)
    track: str | None = Field(None, max_length=100, description="The credit track's name.")

    model_config = {
        "json_schema_extra": {
            "examples": [{"email": "jane.doe@example.org", "name": "Jane Doe", "member_id": "N1"}]
        }
    }


class StatusIn(Schema):
    status: Target
    notify: bool = True

    model_config = {"json_schema_extra": {"examples": [{"status": "attended"}]}}


class BulkStatusIn(StatusIn):
    registration_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=100_000
    )

    model_config = {
        "json_schema_extra": {"examples": [{"status": "attended", "registration_ids": [1, 2]}]}
    }


class StatusResultOut(Schema):
    changed: int
    unchanged: int
    credits: int
    certificates: int
    revoked: int
    job_id: int | None = Field(None, description="Set when the change runs as a background job.")


def _events(request):
    return Event.objects.for_org(_org(request))


def _registrations(request):
    return Registration.objects.for_org(_org(request)).select_related("track")


def _event_detail(e: Event) -> dict:
    counts = {s: 0 for s in Registration.Status.values}
    for status in e.registrations.values_list("status", flat=True):
        counts[status] += 1
    return {
        **{f: getattr(e, f) for f in EventDetailOut.model_fields if hasattr(e, f)},
        "tracks": [t.name for t in e.tracks.all()],
        "registration_types": [
            {"name": t.name, "price": t.price_label or "Free"} for t in e.registration_types.all()
        ],
        "components": [
            {
                "credit_type": c.credit_type.code,
                "amount": c.amount,
                "track": c.track.name if c.track_id else None,
                "session_id": c.session_id,
            }
            for c in e.components.select_related("credit_type", "track")
        ],
        "counts": counts,
    }


def _idempotent(request, path: str, payload, work):
    from laurel.api.v1 import api  # the API this router is mounted on (imports us)

    key = idempotency_key_from(request)
    fingerprint = request_fingerprint("POST", path, payload.model_dump(mode="json"))

    def run():
        status, body = work()
        return status, api.renderer.render(request, body, response_status=status)

    status, content, replayed = idempotent_run(
        organization=_org(request), key=key, fingerprint=fingerprint, work=run
    )
    response = HttpResponse(content, status=status, content_type=api.get_content_type())
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get("", response=list[EventOut], summary="List events")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def event_list(request):
    """The organization's events, latest first. Example: `GET /api/v1/events`."""
    return _events(request).order_by("-starts_at", "-id")


@router.post(
    "", response={201: EventDetailOut, 409: ErrorOut}, summary="Create an event",
    openapi_extra=IDEMPOTENCY,
)  # fmt: skip
def event_create(request, payload: EventIn):
    """Create an event (components, tracks and sessions are set on its page). Example:
    `POST /api/v1/events` with `{"title": "Fair Housing Update", "starts_at": …}`."""

    def work():
        data = payload.model_dump()
        event = services.event_create(actor=_actor(request), organization=_org(request), **data)
        return 201, _event_detail(event)

    return _idempotent(request, "/events", payload, work)


@router.get("/{int:event_id}", response={200: EventDetailOut, **NOT_FOUND}, summary="One event")
def event_detail(request, event_id: ObjectId):
    """One event with its tracks, components and registration counts. Example:
    `GET /api/v1/events/7`."""
    return _event_detail(get_object_or_404(_events(request), pk=event_id))


@router.get(
    "/{int:event_id}/sessions",
    response={200: list[SessionOut], **NOT_FOUND},
    summary="An event's sessions",
)
def session_list(request, event_id: ObjectId):
    """The sessions of a multi-session event. Example: `GET /api/v1/events/7/sessions`."""
    event = get_object_or_404(_events(request), pk=event_id)
    return list(EventSession.objects.filter(event=event))


@router.get(
    "/{int:event_id}/registrations",
    response={200: list[RegistrationOut], **NOT_FOUND},
    summary="An event's registrations",
)
@paginate(LinkPagination, page_size=50, max_page_size=500)
def registration_list(request, event_id: ObjectId, status: RegistrationStatus | None = None):
    """Registrations, filtered by ``status``. Example:
    `GET /api/v1/events/7/registrations?status=waitlisted`."""
    event = get_object_or_404(_events(request), pk=event_id)
    rows = _registrations(request).filter(event=event).order_by("pk")
    return rows.filter(status=status) if status else rows


@router.post(
    "/{int:event_id}/registrations",
    response={201: RegistrationOut, 409: ErrorOut, **NOT_FOUND},
    summary="Register someone",
    openapi_extra=IDEMPOTENCY,
)
def registration_create(request, event_id: ObjectId, payload: RegistrationIn):
    """Register a person (on the waitlist when the event is full: ``status`` says).
    Example: `POST /api/v1/events/7/registrations` with `{"email": "jane@example.org"}`."""
    event = get_object_or_404(_events(request), pk=event_id)

    def work():
        track = None
        if payload.track:
            track = event.tracks.filter(name__iexact=payload.track).first()
            if track is None:
                from laurel.accounts.services import ServiceError

                raise ServiceError("This event has no track by that name.", field="track")
        reg = services.registration_create(
            actor=_actor(request),
            event=event,
            email=payload.email,
            name=payload.name,
            member_id=payload.member_id,
            track=track,
            source=Registration.Source.API,
        )
        return 201, RegistrationOut.from_orm(reg).model_dump(mode="json")

    return _idempotent(request, f"/events/{event_id}/registrations", payload, work)


@router.post(
    "/registrations/{int:registration_id}/status",
    response={200: RegistrationOut, 409: ErrorOut, **NOT_FOUND},
    summary="Change one registration's status",
)
def registration_status(request, registration_id: ObjectId, payload: StatusIn):
    """Registered, Attended, No-show or Cancelled; entering or leaving Attended awards or
    revokes its credit. Repeating it changes nothing. Example:
    `POST /api/v1/events/registrations/42/status` with `{"status": "attended"}`."""
    reg = get_object_or_404(_registrations(request), pk=registration_id)
    services.attendance_set(
        actor=_actor(request), registrations=[reg], state=payload.status, notify=payload.notify
    )
    return _registrations(request).get(pk=reg.pk)


@router.post(
    "/{int:event_id}/registrations/status",
    response={200: StatusResultOut, 202: StatusResultOut, 409: ErrorOut, **NOT_FOUND},
    summary="Change many registrations' status",
    openapi_extra=IDEMPOTENCY,
)
def registration_status_bulk(request, event_id: ObjectId, payload: BulkStatusIn):
    """The same for many registrations of one event: 200 with the counts, or 202 with a
    ``job_id`` when the change is large enough to run in the background. Example:
    `POST /api/v1/events/7/registrations/status` with
    `{"status": "attended", "registration_ids": [41, 42]}`."""
    event = get_object_or_404(_events(request), pk=event_id)

    def work():
        result = services.attendance_request(
            actor=_actor(request),
            event=event,
            registration_ids=payload.registration_ids,
            state=payload.status,
            notify=payload.notify,
        )
        body = {
            "changed": result.changed,
            "unchanged": result.unchanged,
            "credits": result.credits,
            "certificates": result.certificates,
            "revoked": result.revoked,
            "job_id": result.job.pk if result.job else None,
        }
        return (202 if result.job else 200), body

    return _idempotent(request, f"/events/{event_id}/registrations/status", payload, work)
