"""The event types Laurel emits and the ``data`` each one carries (docs/webhooks.md; a JSON
Schema per type in ``laurel/integrations/schemas/``). An area adds its types here and calls
``laurel.integrations.services.webhooks_emit`` in the transaction of the change."""

from __future__ import annotations

from laurel.accounts.models import Connection

CREDIT_EVENTS = (
    "credit.held",
    "credit.offered",
    "credit.accepted",
    "credit.rejected",
    "credit.revoked",
    "credit.voided",
)
CERTIFICATE_EVENTS = ("certificate.issued", "certificate.revoked", "certificate.replaced")
IMPORT_EVENTS = ("import.completed", "import.undone")
# To the accrediting organization that reviews the submission (docs/providers.md).
SUBMISSION_EVENTS = ("submission.submitted", "submission.approved", "submission.denied")
# To the issuing organization of the ceremony's partnership (docs/recognition.md).
CEREMONY_EVENTS = ("ceremony.scheduled", "ceremony.pins_mailed")
# Registrations for events and the attendance that awards their credit (docs/events.md).
REGISTRATION_EVENTS = (
    "registration.created",
    "registration.cancelled",
    "attendance.marked",
    "attendance.unmarked",
)
# A certification program's enrollments (docs/programs.md).
ENROLLMENT_EVENTS = (
    "enrollment.enrolled",
    "enrollment.earned",
    "enrollment.grace",
    "enrollment.expired",
    "enrollment.cancelled",
)
EVENT_TYPES = (
    CREDIT_EVENTS
    + CERTIFICATE_EVENTS
    + IMPORT_EVENTS
    + SUBMISSION_EVENTS
    + CEREMONY_EVENTS
    + REGISTRATION_EVENTS
    + ENROLLMENT_EVENTS
)
# Sent only by "send a test event", to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"


def member_id_of(organization, email: str) -> str | None:
    """The person's ID in the organization's member system, where one is recorded."""
    value = (
        Connection.objects.filter(organization=organization, email=email)
        .values_list("member_id", flat=True)
        .first()
    )
    return value or None


def person(
    organization, email: str, name: str = "", *, member_id: str | None | bool = False
) -> dict:
    """The person an event is about; ``member_id`` when the caller looked it up already (the
    bulk paths), else (False) it is read from their connection to the organization."""
    if member_id is False:
        member_id = member_id_of(organization, email)
    return {"email": email, "name": name, "member_id": member_id}


def credit_data(credit, *, member_id: str | None | bool = False) -> dict:
    """``member_id`` when the caller looked it up already (bulk paths), else it is read."""
    components = {
        c.credit_type.code: str(c.amount_earned)
        for c in credit.components.select_related("credit_type")
    }
    reason = credit.revoke_reason or credit.reject_reason
    who = person(
        credit.organization, credit.recipient_email, credit.recipient_name, member_id=member_id
    )
    return {
        "organization": credit.organization.slug,
        "credit": {
            "id": credit.pk,
            "status": credit.status,
            "course_id": credit.course.course_id if credit.course_id else None,
            "title": credit.title,
            "completion_date": credit.completion_date.isoformat(),
            "components": components,
            "source": credit.source,
            "reason": reason or "",
        },
        "person": who,
    }


def credits_events(organization, credit_ids, event_type: str) -> list[tuple[str, dict]]:
    """(type, data) for many credits in a few queries: the bulk paths' events."""
    from laurel.credits.models import Credit

    credits = list(
        Credit.objects.filter(organization=organization, pk__in=credit_ids)
        .select_related("course", "organization")
        .prefetch_related("components__credit_type")
        .order_by("pk")
    )
    member_ids = dict(
        Connection.objects.filter(
            organization=organization, email__in={c.recipient_email for c in credits}
        )
        .exclude(member_id="")
        .values_list("email", "member_id")
    )
    out = []
    for credit in credits:
        data = credit_data(credit, member_id=member_ids.get(credit.recipient_email))
        # Read from the prefetched components (credit_data's own query would run per row).
        data["credit"]["components"] = {
            c.credit_type.code: str(c.amount_earned) for c in credit.components.all()
        }
        out.append((event_type, data))
    return out


def certificate_data(cert, *, member_id: str | None | bool = False) -> dict:
    """``member_id`` when the caller looked it up already (bulk paths), else it is read."""
    who = person(cert.organization, cert.recipient_email, cert.recipient_name, member_id=member_id)
    return {
        "organization": cert.organization.slug,
        "certificate": {
            "id": cert.pk,
            "serial_number": cert.serial_number,
            "status": cert.status,
            "title": cert.title,
            "completion_date": cert.completion_date.isoformat(),
            "issue_date": cert.issue_date.isoformat(),
            "expires_on": cert.expires_on.isoformat() if cert.expires_on else None,
            "credit_id": cert.credit_id,
            "reason": cert.revoke_reason or "",
            "replaced_by": cert.replaced_by.serial_number if cert.replaced_by_id else None,
        },
        "person": who,
    }


def import_data(job) -> dict:
    return {
        "organization": job.organization.slug,
        "import": {
            "id": job.pk,
            "kind": job.kind,
            "file_name": job.file_name,
            "status": job.status,
            "counts": {k: v for k, v in sorted(job.counts.items()) if isinstance(v, int)},
        },
    }


def submission_data(sub) -> dict:
    """``organization`` is the accrediting organization (the receiver); the provider is named."""
    return {
        "organization": sub.organization.slug,
        "submission": {
            "id": sub.pk,
            "kind": sub.kind,
            "status": sub.status,
            "title": sub.title,
            "round": sub.round,
            "provider": {"slug": sub.provider.slug, "name": sub.provider.name},
            "submitted_at": sub.last_submitted_at.isoformat(),
            "decided_at": sub.decided_at.isoformat() if sub.decided_at else None,
            "previous_id": sub.previous_id,
            "reason": sub.decision_reason,
            "credit": dict(sub.approved_credit or {}),
            "course_id": sub.course.course_id if sub.course_id else None,
        },
    }


def ceremony_data(ceremony) -> dict:
    """``organization`` is the issuing organization (the receiver); the partner is named."""
    partner = ceremony.partnership.partner
    return {
        "organization": ceremony.partnership.issuer.slug,
        "ceremony": {
            "id": ceremony.pk,
            "name": ceremony.name,
            "status": ceremony.status,
            "partner": {"slug": partner.slug, "name": partner.name},
            "starts_at": ceremony.starts_at.isoformat() if ceremony.starts_at else None,
            "time_zone": ceremony.time_zone,
            "format": ceremony.format,
            "venue": ceremony.venue,
            "range_start": ceremony.range_start.isoformat(),
            "range_end": ceremony.range_end.isoformat(),
            "cohorts": sorted(ceremony.cohorts.values_list("name", flat=True)),
            "override_reason": ceremony.override_reason,
            "mailing_contact": ceremony.mailing_contact,
            "tracking_number": ceremony.tracking_number,
            "pins_mailed_at": (
                ceremony.pins_mailed_at.isoformat() if ceremony.pins_mailed_at else None
            ),
        },
    }


def registration_data(
    registration, *, member_id: str | None | bool = False, credits=(), certificates=()
) -> dict:
    """A registration as its webhooks carry it; ``credits`` and ``certificates`` are the
    ids attendance awarded (marked) or revoked (unmarked)."""
    event = registration.event
    who = person(event.organization, registration.email, registration.name, member_id=member_id)
    return {
        "organization": event.organization.slug,
        "event": {
            "id": event.pk,
            "title": event.title,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "time_zone": event.time_zone,
        },
        "registration": {
            "id": registration.pk,
            "status": registration.status,
            "track": registration.track.name if registration.track_id else None,
            "credit_ids": sorted(credits),
            "certificate_ids": sorted(certificates),
        },
        "person": who,
    }


def enrollment_data(enrollment, *, member_id: str | None | bool = False) -> dict:
    """``member_id`` when the caller looked it up already (the sweep's bulk path)."""
    who = person(enrollment.organization, enrollment.email, enrollment.name, member_id=member_id)
    return {
        "organization": enrollment.organization.slug,
        "enrollment": {
            "id": enrollment.pk,
            "program": enrollment.program.code,
            "program_name": enrollment.version.name,
            "version": enrollment.version.number,
            "cycle": enrollment.cycle,
            "status": enrollment.status,
            "enrolled_on": enrollment.enrolled_on.isoformat(),
            "deadline": enrollment.deadline.isoformat() if enrollment.deadline else None,
            "expires_on": enrollment.expires_on.isoformat() if enrollment.expires_on else None,
            "earned_on": enrollment.earned_on.isoformat() if enrollment.earned_on else None,
            "certificate": (
                enrollment.certificate.serial_number if enrollment.certificate_id else None
            ),
        },
        "person": who,
    }


def enrollments_events(organization, enrollment_ids, event_type: str) -> list[tuple[str, dict]]:
    """(type, data) for many enrollments in a few queries: the bulk paths' events."""
    from laurel.programs.models import Enrollment

    rows = list(
        Enrollment.objects.filter(organization=organization, pk__in=enrollment_ids)
        .select_related("organization", "program", "version", "certificate")
        .order_by("pk")
    )
    member_ids = dict(
        Connection.objects.filter(organization=organization, email__in={e.email for e in rows})
        .exclude(member_id="")
        .values_list("email", "member_id")
    )
    return [(event_type, enrollment_data(e, member_id=member_ids.get(e.email))) for e in rows]


def render_lazy(messages) -> dict[int, dict]:
    """``data`` of the messages stored without a payload (an import's credit events),
    by message id, in a few queries: the credit as it is, with the event's status."""
    lazy = [m for m in messages if m.payload is None and m.credit_id]
    if not lazy:
        return {}
    out = {}
    for organization_id in {m.organization_id for m in lazy}:
        mine = [m for m in lazy if m.organization_id == organization_id]
        from laurel.accounts.models import Organization

        org = Organization.objects.get(pk=organization_id)
        by_credit = {
            data["credit"]["id"]: data
            for _, data in credits_events(org, {m.credit_id for m in mine}, "")
        }
        for m in mine:
            data = by_credit.get(m.credit_id)
            if data is None:
                continue
            data = {**data, "credit": {**data["credit"]}}
            data["credit"]["status"] = m.event_type.split(".", 1)[1]
            if data["credit"]["status"] in ("held", "offered"):
                data["credit"]["reason"] = ""
            out[m.pk] = data
    return out
