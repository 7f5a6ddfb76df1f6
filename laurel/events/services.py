"""Workflows of events: set-up, registrations, the waitlist, check-in and attendance.

Every change of a registration's status goes through ``attendance_set``: one person or
thousands, by hand, the check-in page, the API or an import. Entering *Attended* delivers
what attendance earns through the ledger (``credits_enter_activity_many``), issues the
certificates (``certificates_issue_many``), queues one e-mail per person and emits
``attendance.marked``; leaving it revokes the credits and certificates ("attendance
corrected") and emits ``attendance.unmarked``. A registration already in the asked state
is left alone, so repeating an action never duplicates anything.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from laurel.accounts.models import Connection, Organization, normalize_email
from laurel.accounts.services import ServiceError, connection_invite, connection_set_member_id
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor, audit_record
from laurel.catalog.models import CreditType
from laurel.certificates.services import (
    Component,
    IssueSpec,
    certificate_issue,
    certificate_name_waits_for_attendances,
    certificates_issue_many,
)
from laurel.credits.models import Credit
from laurel.credits.services import (
    ActivityEntry,
    credit_revoke,
    credits_enter_activity_many,
    verified_user_for_email,
)
from laurel.events.models import (
    Attendance,
    AttendanceChange,
    AttendanceJob,
    CreditTrack,
    Event,
    EventComponent,
    EventSession,
    Registration,
    RegistrationType,
    new_check_in_code,
)
from laurel.imports.bulk import existing_keys, insert_objects
from laurel.integrations.events import registration_data
from laurel.integrations.services import webhooks_emit, webhooks_emit_many
from laurel.lib import emails
from laurel.notifications.models import OutboxMessage
from laurel.notifications.services import render_email

Status = Registration.Status
CORRECTED = "attendance corrected"
# Above this many registrations, the attendance tool hands the change to a background job.
INLINE_LIMIT = 200


# --- events -----------------------------------------------------------------------------


EVENT_FIELDS = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "time_zone",
    "format",
    "venue",
    "address",
    "join_url",
    "capacity",
    "visibility",
    "registration_open",
    "certificate_issue",
    "certificate_template",
    "minimum_minutes",
    "partial_credit",
)


def _event_check(event: Event) -> None:
    event.title = " ".join((event.title or "").split())
    if not event.title:
        raise ServiceError("Give the event a title.", field="title")
    if event.starts_at and event.ends_at and event.ends_at <= event.starts_at:
        raise ServiceError("The event must end after it starts.", field="ends_at")
    if event.format == Event.Format.ONLINE and not event.join_url:
        raise ServiceError("An online event needs its join link.", field="join_url")
    if (
        event.certificate_template_id
        and event.certificate_template.organization_id != event.organization_id
    ):
        raise ServiceError("That template belongs to another organization.", field="template")
    try:
        event.full_clean()
    except Exception as exc:  # ValidationError: report its first field
        details = getattr(exc, "message_dict", {}) or {}
        name, messages = next(iter(details.items()), ("", [str(exc)]))
        raise ServiceError(messages[0], field=name or None) from None


def _event_snapshot(event: Event) -> dict:
    return {
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "status": event.status,
        "capacity": event.capacity,
        "visibility": event.visibility,
        "registration_open": event.registration_open,
    }


@transaction.atomic
def event_create(*, actor: Actor, organization: Organization, **fields) -> Event:
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown event fields: {sorted(unknown)}")
    event = Event(organization=organization, created_by=actor.user, **fields)
    if not fields.get("time_zone"):
        event.time_zone = organization.time_zone
    _event_check(event)
    event.save()
    audit_record(
        actor=actor,
        action="event.created",
        obj=event,
        organization=organization,
        after=_event_snapshot(event),
    )
    return event


@transaction.atomic
def event_update(*, actor: Actor, event: Event, **fields) -> Event:
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown event fields: {sorted(unknown)}")
    event = Event.objects.select_for_update().get(pk=event.pk)
    before = _event_snapshot(event)
    old_capacity = event.capacity
    for name, value in fields.items():
        setattr(event, name, value)
    _event_check(event)
    event.save()
    audit_record(
        actor=actor,
        action="event.updated",
        obj=event,
        organization=event.organization,
        before=before,
        after=_event_snapshot(event),
    )
    if event.capacity != old_capacity:
        waitlist_promote(actor=actor, event=event)
    return event


@transaction.atomic
def event_cancel(*, actor: Actor, event: Event) -> Event:
    """Cancel the event (registrations stay as they are; nobody can register)."""
    if not Event.objects.filter(pk=event.pk, status=Event.Status.SCHEDULED).update(
        status=Event.Status.CANCELLED, registration_open=False
    ):
        raise ServiceError("This event is cancelled already.", code="state")
    event.refresh_from_db()
    audit_record(actor=actor, action="event.cancelled", obj=event, organization=event.organization)
    return event


@transaction.atomic
def event_copy(*, actor: Actor, event: Event, starts_at: datetime | None = None) -> Event:
    """The next edition: the same set-up (types, tracks, sessions, components), no people.
    Times shift with ``starts_at`` (default: a week later)."""
    shift = (starts_at - event.starts_at) if starts_at else timezone.timedelta(days=7)
    copy = Event(
        organization=event.organization,
        created_by=actor.user,
        copied_from=event,
        **{name: getattr(event, name) for name in EVENT_FIELDS},
    )
    copy.title = f"{event.title}"
    copy.starts_at = event.starts_at + shift
    copy.ends_at = event.ends_at + shift
    _event_check(copy)
    copy.save()
    for rt in event.registration_types.all():
        RegistrationType.objects.create(
            event=copy, name=rt.name, price_label=rt.price_label, position=rt.position
        )
    tracks = {
        t.pk: CreditTrack.objects.create(event=copy, name=t.name, position=t.position)
        for t in event.tracks.all()
    }
    sessions = {
        s.pk: EventSession.objects.create(
            event=copy,
            title=s.title,
            starts_at=s.starts_at + shift,
            ends_at=s.ends_at + shift,
            position=s.position,
        )
        for s in event.sessions.all()
    }
    EventComponent.objects.bulk_create(
        EventComponent(
            event=copy,
            session=sessions.get(c.session_id),
            track=tracks.get(c.track_id),
            credit_type_id=c.credit_type_id,
            amount=c.amount,
        )
        for c in event.components.all()
    )
    audit_record(
        actor=actor,
        action="event.copied",
        obj=copy,
        organization=event.organization,
        after={"from": event.pk, **_event_snapshot(copy)},
    )
    return copy


def _own(event: Event, obj, what: str):
    if obj is not None and obj.event_id != event.pk:
        raise ServiceError(f"That {what} belongs to another event.", field=what)
    return obj


@transaction.atomic
def track_add(*, actor: Actor, event: Event, name: str) -> CreditTrack:
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ServiceError("Give the track a name.", field="name")
    if event.tracks.filter(name__iexact=name).exists():
        raise ServiceError(f"This event already has a track named “{name}”.", field="name")
    track = CreditTrack.objects.create(event=event, name=name, position=event.tracks.count())
    audit_record(
        actor=actor, action="event.track_added", obj=event, organization=event.organization,
        after={"track": name},
    )  # fmt: skip
    return track


@transaction.atomic
def session_add(
    *, actor: Actor, event: Event, title: str, starts_at: datetime, ends_at: datetime
) -> EventSession:
    title = " ".join((title or "").split())[:300]
    if not title:
        raise ServiceError("Give the session a title.", field="title")
    if ends_at <= starts_at:
        raise ServiceError("The session must end after it starts.", field="ends_at")
    session = EventSession.objects.create(
        event=event,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        position=event.sessions.count(),
    )
    audit_record(
        actor=actor, action="event.session_added", obj=event, organization=event.organization,
        after={"session": title, "starts_at": starts_at.isoformat()},
    )  # fmt: skip
    return session


@transaction.atomic
def component_add(
    *,
    actor: Actor,
    event: Event,
    credit_type: CreditType,
    amount: Decimal,
    track: CreditTrack | None = None,
    session: EventSession | None = None,
) -> EventComponent:
    if credit_type.organization_id != event.organization_id:
        raise ServiceError("No such credit type in this organization.", field="credit_type")
    _own(event, track, "track")
    _own(event, session, "session")
    amount = Decimal(amount)
    if amount <= 0:
        raise ServiceError("The amount must be more than zero.", field="amount")
    component = EventComponent(
        event=event, session=session, track=track, credit_type=credit_type, amount=amount
    )
    component.full_clean()
    component.save()
    audit_record(
        actor=actor, action="event.component_added", obj=event, organization=event.organization,
        after={"credit_type": credit_type.code, "amount": str(amount),
               "track": track.name if track else None,
               "session": session.title if session else None},
    )  # fmt: skip
    return component


@transaction.atomic
def component_remove(*, actor: Actor, component: EventComponent) -> None:
    event = component.event
    audit_record(
        actor=actor, action="event.component_removed", obj=event, organization=event.organization,
        after={"credit_type": component.credit_type.code, "amount": str(component.amount)},
    )  # fmt: skip
    component.delete()


@transaction.atomic
def registration_type_add(
    *, actor: Actor, event: Event, name: str, price_label: str = ""
) -> RegistrationType:
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ServiceError("Give the registration type a name.", field="name")
    rt = RegistrationType.objects.create(
        event=event,
        name=name,
        price_label=" ".join((price_label or "").split())[:60],
        position=event.registration_types.count(),
    )
    audit_record(
        actor=actor, action="event.registration_type_added", obj=event,
        organization=event.organization, after={"name": rt.name, "price": rt.price_label},
    )  # fmt: skip
    return rt


def earned_components(event: Event, track_id: int | None, session_id: int | None, components):
    """(credit type, amount) earned by a registration on ``track_id`` for the event
    (``session_id`` None) or one session: the components for everyone plus its track's."""
    return [
        (c.credit_type, c.amount)
        for c in components
        if c.session_id == session_id and c.track_id in (None, track_id)
    ]


# --- registrations ------------------------------------------------------------------------


def _seats_taken(event: Event) -> int:
    return Registration.objects.filter(event=event, status__in=Registration.SEATED).count()


def _has_seat(event: Event) -> bool:
    return event.capacity is None or _seats_taken(event) < event.capacity


@transaction.atomic
def registration_create(
    *,
    actor: Actor,
    event: Event,
    email: str,
    name: str = "",
    member_id: str = "",
    track: CreditTrack | None = None,
    registration_type: RegistrationType | None = None,
    source: str = Registration.Source.STAFF,
    source_ref: str = "",
    holder=None,
    staff: bool = True,
) -> Registration:
    """Register someone; on a full event they join the waitlist (``status`` says which).

    ``staff`` may register while registration is closed (the back office); nobody can
    register for a cancelled event. A member ID is kept on the person's connection."""
    event = Event.objects.select_for_update().get(pk=event.pk)  # one seat count at a time
    if event.is_cancelled:
        raise ServiceError("This event is cancelled; it takes no registrations.", code="state")
    if not staff and not event.registration_open:
        raise ServiceError("Registration for this event is closed.", code="state")
    try:
        email = emails.normalize_email(email or "")
    except emails.EmailProblem as exc:
        raise ServiceError(str(exc), field="email") from None
    _own(event, track, "track")
    _own(event, registration_type, "registration_type")
    if track is None and event.tracks.exists():
        raise ServiceError("Choose the credit track this person is on.", field="track")
    existing = Registration.objects.filter(event=event, email=email).first()
    if existing is not None and existing.status != Status.CANCELLED:
        raise ServiceError(
            f"{email} is already registered for this event ({existing.get_status_display()}).",
            code="duplicate",
            field="email",
        )
    if holder is None:
        holder = verified_user_for_email(email)
    name = " ".join((name or (holder.full_name if holder else "")).split())[:200]
    now = timezone.now()
    seated = _has_seat(event)
    status = Status.REGISTERED if seated else Status.WAITLISTED
    if existing is not None:  # a cancelled registration comes back: one row per person
        registration = existing
        registration.name = name or registration.name
        registration.track = track
        registration.registration_type = registration_type
        registration.holder = holder or registration.holder
        registration.status = status
        registration.status_changed_at = now
        registration.waitlisted_at = None if seated else now
        registration.save()
    else:
        registration = Registration(
            event=event,
            email=email,
            name=name,
            holder=holder,
            track=track,
            registration_type=registration_type,
            status=status,
            source=source,
            source_ref=source_ref,
            created_by=actor.user,
            created_at=now,
            status_changed_at=now,
            waitlisted_at=None if seated else now,
        )
        _save_with_code(registration)
    connection_invite(actor=actor, organization=event.organization, email=email)
    if member_id.strip():
        connection_set_member_id(
            actor=actor, organization=event.organization, email=email, member_id=member_id
        )
    audit_record(
        actor=actor,
        action="registration.created",
        obj=registration,
        organization=event.organization,
        after={"email": email, "status": status, "track": track.name if track else None},
    )
    webhooks_emit(
        organization=event.organization,
        type="registration.created",
        payload=lambda: registration_data(registration),
    )
    return registration


def _save_with_code(registration: Registration) -> None:
    """Save with a check-in code no other registration of the event has."""
    for _ in range(8):
        try:
            with transaction.atomic():
                registration.save()
            return
        except IntegrityError:
            if Registration.objects.filter(
                event=registration.event, email=registration.email
            ).exists():
                raise ServiceError(
                    f"{registration.email} is already registered for this event.",
                    code="duplicate",
                    field="email",
                ) from None
            registration.check_in_code = new_check_in_code()
    raise ServiceError("Could not allocate a check-in code; try again.")


def registration_self(
    *, user, event: Event, track: CreditTrack | None = None, registration_type=None
) -> Registration:
    """A holder registers themselves on a public event, with their verified address."""
    if event.visibility != Event.Visibility.PUBLIC:
        raise ServiceError("This event is not open to the public.", code="not_found")
    verified = user.verified_emails()
    if not verified:
        raise ServiceError("Verify your e-mail address first.", code="unverified")
    email = normalize_email(user.email) if normalize_email(user.email) in verified else verified[0]
    return registration_create(
        actor=Actor(user=user),
        event=event,
        email=email,
        name=user.full_name,
        track=track,
        registration_type=registration_type,
        source=Registration.Source.SELF,
        holder=user,
        staff=False,
    )


@transaction.atomic
def registration_cancel(*, actor: Actor, registration: Registration) -> Registration:
    attendance_set(actor=actor, registrations=[registration], state=Status.CANCELLED)
    registration.refresh_from_db()
    return registration


@transaction.atomic
def waitlist_promote(*, actor: Actor, event: Event) -> list[Registration]:
    """Give free seats to the waitlist, earliest first."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.is_cancelled:
        return []
    waiting = Registration.objects.filter(event=event, status=Status.WAITLISTED).order_by(
        "waitlisted_at", "pk"
    )
    if event.capacity is not None:
        free = event.capacity - _seats_taken(event)
        if free <= 0:
            return []
        waiting = waiting[:free]
    promoted = list(waiting.select_related("event__organization"))
    if not promoted:
        return []
    now = timezone.now()
    Registration.objects.filter(pk__in=[r.pk for r in promoted]).update(
        status=Status.REGISTERED, status_changed_at=now
    )
    for registration in promoted:
        registration.status = Status.REGISTERED
        audit_record(
            actor=actor,
            action="registration.promoted",
            obj=registration,
            organization=event.organization,
            before={"status": Status.WAITLISTED},
            after={"status": Status.REGISTERED},
        )
    return promoted


def waitlist_position(registration: Registration) -> int | None:
    if registration.status != Status.WAITLISTED:
        return None
    return (
        Registration.objects.filter(
            event_id=registration.event_id,
            status=Status.WAITLISTED,
            waitlisted_at__lt=registration.waitlisted_at,
        ).count()
        + 1
    )


# --- attendance ---------------------------------------------------------------------------


@dataclass
class AttendanceResult:
    changed: int = 0
    unchanged: int = 0
    credits: int = 0
    duplicates: int = 0
    certificates: int = 0
    revoked: int = 0
    waitlisted: int = 0
    waiting_for_name: int = 0  # certificates waiting for the holder's name
    change: AttendanceChange | None = None
    job: AttendanceJob | None = None
    registrations: list = field(default_factory=list)


TARGETS = (Status.REGISTERED, Status.ATTENDED, Status.NO_SHOW, Status.CANCELLED)


def attendance_completion_date(event: Event, session: EventSession | None = None):
    """The completion date attendance records: the (session's) last day, or today while it
    runs; ``ServiceError`` before it has started."""
    today = event.organization.today()
    start = (session or event).starts_at.astimezone(event.tz).date()
    if start > today:
        raise ServiceError(
            "Attendance can be marked from the day the event starts.", code="not_started"
        )
    end = session.completion_date if session else event.completion_date
    return min(end, today)


@transaction.atomic
def attendance_set(
    *,
    actor: Actor,
    registrations,
    state: str,
    notify: bool = True,
    change: AttendanceChange | None = None,
    record_change: bool = True,
    minutes: dict[int, int] | None = None,
    earned: dict[int, Decimal] | None = None,
    undo_of: AttendanceChange | None = None,
    sessions: list[EventSession] | None = None,
) -> AttendanceResult:
    """Put ``registrations`` (of one event; objects or ids) into ``state``, set-based.

    The one service every path uses: the attendance tool, check-in, the API, imports.
    ``minutes`` (registration id → minutes attended) is kept on the attendance rows;
    ``earned`` (registration id → fraction 0–1) scales each component (partial credit,
    never above the component's amount). ``notify=False`` suppresses the attendee e-mail.
    ``change`` appends to an existing undo record (a job's chunks). ``sessions``: of a
    multi-session event, the sessions attended (default: all of them)."""
    if state not in TARGETS:
        raise ServiceError(f"“{state}” is not a status a registration can be put in.")
    ids = sorted({getattr(r, "pk", r) for r in registrations})
    result = AttendanceResult()
    if not ids:
        return result
    regs = list(
        Registration.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("event__organization", "track")
        .order_by("pk")
    )
    events = {r.event_id for r in regs}
    if len(events) != 1 or len(regs) != len(ids):
        raise ServiceError("Choose registrations of one event.", code="not_found")
    event = regs[0].event
    org = event.organization
    if state == Status.ATTENDED and event.is_cancelled:
        raise ServiceError("This event is cancelled; attendance cannot be marked.", code="state")
    moving = [r for r in regs if r.status != state]
    result.unchanged = len(regs) - len(moving)
    if not moving:
        result.registrations = regs
        return result
    now = timezone.now()
    before = [[r.pk, r.status] for r in moving]
    leaving = [r for r in moving if r.status == Status.ATTENDED]
    entering = [r for r in moving if state == Status.ATTENDED]
    # Seats: someone returning from the waitlist or a cancellation to "registered" waits
    # again when the event is full (marking them attended or no-show records what happened).
    new_status = {r.pk: state for r in moving}
    if state == Status.REGISTERED and event.capacity is not None:
        free = event.capacity - _seats_taken(event)
        for r in moving:
            if r.status in (Status.WAITLISTED, Status.CANCELLED):
                if free > 0:
                    free -= 1
                else:
                    new_status[r.pk] = Status.WAITLISTED
                    result.waitlisted += 1
    unmarked = _attendance_revoke(actor, org, leaving, now) if leaving else {}
    result.revoked = sum(len(c) for c, _ in unmarked.values())
    by_status = defaultdict(list)
    for r in moving:
        by_status[new_status[r.pk]].append(r.pk)
    for status, pks in by_status.items():
        Registration.objects.filter(pk__in=pks).update(
            status=status,
            status_changed_at=now,
            waitlisted_at=now if status == Status.WAITLISTED else None,
        )
    for r in moving:
        r.status = new_status[r.pk]
    marked = {}
    if entering:
        marked = _attendance_award(
            actor, event, entering, now, minutes or {}, earned or {}, notify, result, sessions
        )
        from laurel.programs.services import enrollments_evaluate_for_attendance

        # A program requirement this event satisfies is Complete now (derived from the
        # attendance: leaving Attended undoes it); an enrollment with all Complete is earned.
        enrollments_evaluate_for_attendance(actor=actor, event=event, registrations=entering)
    insert_objects(
        AuditEvent,
        [
            AuditEvent(
                organization=org,
                actor=actor.user,
                actor_label=actor.label,
                ip=actor.ip,
                action="registration.status_changed",
                object_type="events.registration",
                object_id=str(r.pk),
                object_repr=str(r)[:200],
                before={"status": old},
                after={"status": r.status},
                at=now,
            )
            for r, (_, old) in zip(moving, before, strict=True)
        ],
    )
    _emit(org, moving, before, marked, unmarked)
    result.changed = len(moving)
    if record_change:
        if change is None:
            change = AttendanceChange.objects.create(
                event=event,
                state=state,
                before=before,
                actor=actor.user,
                actor_label=actor.label[:100],
                created_at=now,
                undo_of=undo_of,
            )
        else:
            AttendanceChange.objects.filter(pk=change.pk).update(before=change.before + before)
            change.before = change.before + before
        result.change = change
    freed = any(old in Registration.SEATED for _, old in before) and any(
        r.status in (Status.CANCELLED, Status.WAITLISTED) for r in moving
    )
    if freed:
        waitlist_promote(actor=actor, event=event)
    result.registrations = regs
    return result


def _member_ids(org, emails_) -> dict[str, str]:
    return dict(
        Connection.objects.filter(organization=org, email__in=set(emails_))
        .exclude(member_id="")
        .values_list("email", "member_id")
    )


def _emit(org, moving, before, marked, unmarked) -> None:
    """One webhook per state change: attendance.marked / .unmarked, registration.cancelled."""
    old = dict((pk, status) for pk, status in before)
    member_ids = _member_ids(org, [r.email for r in moving])
    events = []
    for r in moving:
        mid = member_ids.get(r.email)
        if r.status == Status.ATTENDED:
            credits, certs = marked.get(r.pk, ((), ()))
            events.append(
                ("attendance.marked", registration_data(r, member_id=mid, credits=credits,
                                                        certificates=certs))
            )  # fmt: skip
        elif old[r.pk] == Status.ATTENDED:
            credits, certs = unmarked.get(r.pk, ((), ()))
            events.append(
                ("attendance.unmarked", registration_data(r, member_id=mid, credits=credits,
                                                          certificates=certs))
            )  # fmt: skip
        if r.status == Status.CANCELLED:
            events.append(("registration.cancelled", registration_data(r, member_id=mid)))
    if events:
        webhooks_emit_many(organization=org, events=events)


def _attendance_award(
    actor, event, regs, now, minutes, earned, notify, result, only_sessions=None
) -> dict:
    """Credits, certificates, attendance rows and e-mails for registrations entering
    Attended (for ``only_sessions`` of a multi-session event, else all of its sessions);
    returns registration id → (credit ids, certificate ids)."""
    org = event.organization
    components = list(event.components.select_related("credit_type"))
    sessions = list(event.sessions.all())
    if only_sessions is not None and sessions:
        wanted = {s.pk for s in only_sessions}
        if not wanted <= {s.pk for s in sessions}:
            raise ServiceError("That session belongs to another event.", field="session")
        sessions = [s for s in sessions if s.pk in wanted]
    parts = sessions or [None]
    dates = {s.pk if s else None: attendance_completion_date(event, s) for s in parts}
    entries, keys = [], []
    for r in regs:
        fraction = earned.get(r.pk)
        for s in parts:
            sid = s.pk if s else None
            earned_here = []
            for ct, amount in earned_components(event, r.track_id, sid, components):
                got = amount
                if fraction is not None:
                    got = min(amount, (amount * Decimal(fraction)).quantize(Decimal("0.01")))
                earned_here.append((ct, amount, got))
            if not earned_here:
                keys.append((r, s, None))
                continue
            entries.append(
                ActivityEntry(
                    activity_key=f"session:{sid}" if s else f"event:{event.pk}",
                    title=f"{event.title}: {s.title}" if s else event.title,
                    email=r.email,
                    name=r.name,
                    completion_date=dates[sid],
                    components=tuple(earned_here),
                    source_ref=f"registration:{r.pk}",
                )
            )
            keys.append((r, s, len(entries) - 1))
    credits = credits_enter_activity_many(
        actor=actor, organization=org, entries=entries, source=Credit.Source.ATTENDANCE
    )
    result.credits += sum(1 for c in credits if not c._duplicate)
    result.duplicates += sum(1 for c in credits if c._duplicate)
    certs: list = [None] * len(keys)
    if event.certificate_issue == Event.CertificateIssue.ATTENDANCE:
        specs = []
        for r, s, n in keys:
            entry = entries[n] if n is not None else None
            credit = credits[n] if n is not None else None
            specs.append(
                IssueSpec(
                    recipient_name=r.name,
                    recipient_email=r.email,
                    title=f"{event.title}: {s.title}" if s else event.title,
                    completion_date=dates[s.pk if s else None],
                    components=tuple(
                        Component(code=ct.code, name=ct.name, unit=ct.unit, amount=got)
                        for ct, _, got in (entry.components if entry else ())
                        if got > 0
                    ),
                    # A credit entered before by another path keeps its own certificate.
                    credit_id=credit.pk if credit is not None and not credit._duplicate else None,
                )
            )
        certs = certificates_issue_many(
            actor=actor,
            organization=org,
            specs=specs,
            template=event.certificate_template,
            member_ids=_member_ids(org, [r.email for r in regs]),
        )
        result.certificates += sum(1 for c in certs if c is not None)
    rows = []
    for (r, s, n), cert in zip(keys, certs, strict=True):
        credit = credits[n] if n is not None else None
        rows.append(
            Attendance(
                registration=r,
                session=s,
                credit_id=credit.pk if credit is not None else None,
                certificate_id=cert.pk if cert is not None else None,
                minutes=minutes.get(r.pk),
                marked_at=now,
            )
        )
    insert_objects(Attendance, rows)
    if event.certificate_issue == Event.CertificateIssue.ATTENDANCE:
        # No name anywhere (registration, account): the holder is asked for one and the
        # certificate is issued then (``attendance_certificate_issue``).
        result.waiting_for_name += certificate_name_waits_for_attendances(
            organization=org,
            attendances=[row for row, cert in zip(rows, certs, strict=True) if cert is None],
        )
    certs_by_row = {row.pk: cert for row, cert in zip(rows, certs, strict=True) if cert}
    out: dict[int, tuple[list, list]] = {r.pk: ([], []) for r in regs}
    for row in rows:
        if row.credit_id:
            out[row.registration_id][0].append(row.credit_id)
        if row.certificate_id:
            out[row.registration_id][1].append(row.certificate_id)
    if notify:
        _attended_emails(event, regs, rows, credits, entries, keys, certs_by_row, now)
    return out


def _attended_emails(event, regs, rows, credits, entries, keys, certs_by_row, now) -> None:
    """One message per attendee: what they earned and how to get it. The body is rendered
    when it is sent (``emails.render_deferred``); the row is ~200 bytes."""
    org = event.organization
    subject, _, _ = render_email(
        "attendance_marked", {"organization": org, "event_title": event.title, "items": []}
    )
    per: dict[int, dict] = {}
    for row, (r, _session, n) in zip(rows, keys, strict=True):
        ctx = per.setdefault(
            r.pk,
            {
                "event_id": event.pk,
                "event_title": event.title,
                "name": r.name,
                "held": False,
                "items": [],
                "certificates": [],
                "first_row": row.pk,
            },
        )
        credit = credits[n] if n is not None else None
        if credit is not None:
            ctx["held"] = ctx["held"] or credit.status == Credit.Status.HELD
            earned = ", ".join(f"{g.normalize():f} {ct.code}" for ct, _, g in entries[n].components)
            ctx["items"].append([credit.title, earned])
        cert = certs_by_row.get(row.pk)
        if cert is not None:
            ctx["certificates"].append([cert.serial_number, cert.verification_code])
        elif event.certificate_issue == Event.CertificateIssue.ATTENDANCE:
            ctx["needs_name"] = True
    messages = [
        OutboxMessage(
            organization=org,
            kind="attendance_marked",
            to_email=r.email,
            reply_to=org.reply_to or "",
            subject=subject[:300],
            body_text="",
            body_html="",
            context=per[r.pk],
            # One per entry into Attended (its first attendance row): a retried chunk or a
            # repeated mark never mails twice.
            dedupe_key=f"attended:{r.pk}:{per[r.pk]['first_row']}",
            created_at=now,
        )
        for r in regs
    ]
    # A retried chunk finds its messages queued already (their dedupe keys): not twice.
    queued = existing_keys("notifications_outboxmessage", [m.dedupe_key for m in messages])
    messages = [m for m in messages if m.dedupe_key not in queued]
    insert_objects(OutboxMessage, messages)
    # One sending task per thousand messages, not one per message.
    from laurel.events.tasks import attendance_emails_send

    keys_ = [m.dedupe_key for m in messages]
    for start in range(0, len(keys_), 1000):
        part = keys_[start : start + 1000]
        transaction.on_commit(lambda part=part: attendance_emails_send.enqueue(part))


def _attendance_revoke(actor, org, regs, now, session=None) -> dict:
    """Revoke the live credits and certificates of ``regs``' attendance (of one
    ``session`` only, if given) with "attendance corrected"; returns registration id →
    (credit ids, certificate ids)."""
    from laurel.certificates.models import Certificate
    from laurel.certificates.services import certificate_revoke

    rows = Attendance.objects.filter(
        registration_id__in=[r.pk for r in regs], revoked_at__isnull=True
    ).order_by("pk")
    if session is not None:
        rows = rows.filter(session=session)
    rows = list(rows)
    out: dict[int, tuple[list, list]] = {r.pk: ([], []) for r in regs}
    credit_ids = {row.credit_id for row in rows if row.credit_id}
    # Only what attendance made: a duplicate entered by another path stays.
    credits = {
        c.pk: c
        for c in Credit.objects.filter(
            pk__in=credit_ids, source=Credit.Source.ATTENDANCE
        ).select_related("organization")
    }
    certs = {
        c.pk: c
        for c in Certificate.objects.filter(
            pk__in={row.certificate_id for row in rows if row.certificate_id},
            status=Certificate.Status.VALID,
        ).select_related("organization")
    }
    for row in rows:
        credit = credits.get(row.credit_id)
        ours = credit is not None and credit.source_ref == f"registration:{row.registration_id}"
        if ours and credit.can_be_revoked():
            # The ledger's revoke also revokes the certificate linked to the credit.
            credit_revoke(actor=actor, credit=credit, reason=CORRECTED)
            out[row.registration_id][0].append(credit.pk)
        cert = certs.get(row.certificate_id)
        if cert is not None:
            cert.refresh_from_db(fields=["status"])
            if cert.status == Certificate.Status.VALID:
                certificate_revoke(actor=actor, certificate=cert, reason=CORRECTED)
            out[row.registration_id][1].append(cert.pk)
    Attendance.objects.filter(pk__in=[row.pk for row in rows]).update(revoked_at=now)
    return out


def attendance_certificate_issue(*, attendance: Attendance, actor: Actor, name: str):
    """Issue the certificate of an attendance row that waited for a name (the holder gave
    one); None when the row was corrected since or the event no longer issues on
    attendance. Announced by the certificate's own e-mail."""
    row = Attendance.objects.select_for_update().filter(pk=attendance.pk).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.certificate_id is not None:
        return row.certificate
    reg = row.registration
    event = reg.event
    if event.certificate_issue != Event.CertificateIssue.ATTENDANCE:
        return None
    session = row.session
    credit = row.credit
    if credit is not None and credit.source == Credit.Source.ATTENDANCE:
        amounts = [
            (c.credit_type, c.amount_earned)
            for c in credit.components.select_related("credit_type")
        ]
    else:
        components = list(event.components.select_related("credit_type"))
        amounts = [
            (ct, amount)
            for ct, amount in earned_components(
                event, reg.track_id, session.pk if session else None, components
            )
        ]
    ours = credit is not None and credit.source_ref == f"registration:{reg.pk}"
    cert = certificate_issue(
        actor=actor,
        organization=event.organization,
        recipient_name=name,
        recipient_email=reg.email,
        title=f"{event.title}: {session.title}" if session else event.title,
        completion_date=attendance_completion_date(event, session),
        components=[
            Component(code=ct.code, name=ct.name, unit=ct.unit, amount=amount)
            for ct, amount in amounts
            if amount > 0
        ],
        template=event.certificate_template,
        # Linked as the bulk issue links it: revoking the credit revokes the certificate.
        credit=credit if ours else None,
        notify=True,
    )
    Attendance.objects.filter(pk=row.pk).update(certificate=cert)
    return cert


@transaction.atomic
def session_attendance_set(
    *, actor: Actor, registrations, session: EventSession, attended: bool, notify: bool = True
) -> AttendanceResult:
    """One session's attendance for ``registrations``: attending it awards that session's
    credit (a registration not yet Attended becomes Attended, with its webhook); leaving
    it revokes that session's credit (a registration left with no session attended goes
    back to Registered)."""
    ids = sorted({getattr(r, "pk", r) for r in registrations})
    regs = list(
        Registration.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, event_id=session.event_id)
        .select_related("event__organization", "track")
        .order_by("pk")
    )
    if len(regs) != len(ids):
        raise ServiceError("Choose registrations of the session's event.", code="not_found")
    event = regs[0].event if regs else session.event
    live = set(
        Attendance.objects.filter(
            registration__in=regs, session=session, revoked_at__isnull=True
        ).values_list("registration_id", flat=True)
    )
    result = AttendanceResult(registrations=regs)
    now = timezone.now()
    if attended:
        entering = [r for r in regs if r.status != Status.ATTENDED]
        if entering:
            part = attendance_set(
                actor=actor, registrations=entering, state=Status.ATTENDED, notify=notify,
                sessions=[session],
            )  # fmt: skip
            result.changed, result.credits = part.changed, part.credits
            result.certificates, result.change = part.certificates, part.change
        adding = [r for r in regs if r.status == Status.ATTENDED and r.pk not in live]
        adding = [r for r in adding if r not in entering]
        if adding:
            _attendance_award(
                actor, event, adding, now, {}, {}, notify, result, only_sessions=[session]
            )
        result.unchanged = len(regs) - result.changed - len(adding)
        return result
    having = [r for r in regs if r.pk in live]
    others = set(
        Attendance.objects.filter(registration__in=having, revoked_at__isnull=True)
        .exclude(session=session)
        .values_list("registration_id", flat=True)
    )
    last = [r for r in having if r.pk not in others]
    if last:
        part = attendance_set(actor=actor, registrations=last, state=Status.REGISTERED)
        result.changed, result.revoked, result.change = part.changed, part.revoked, part.change
    rest = [r for r in having if r.pk in others]
    if rest:
        revoked = _attendance_revoke(actor, event.organization, rest, now, session=session)
        result.revoked += sum(len(c) for c, _ in revoked.values())
    result.unchanged = len(regs) - len(having)
    return result


# --- the tool's actions -----------------------------------------------------------------


def attendance_request(
    *, actor: Actor, event: Event, registration_ids, state: str, notify: bool = True
) -> AttendanceResult:
    """The attendance tool's action: done now for a few, by a background job (with
    progress) for many. Only registrations of ``event`` are touched."""
    ids = sorted(
        set(
            Registration.objects.filter(event=event, pk__in=list(registration_ids)).values_list(
                "pk", flat=True
            )
        )
    )
    if state not in TARGETS:
        raise ServiceError(f"“{state}” is not a status a registration can be put in.")
    if len(ids) <= INLINE_LIMIT:
        return attendance_set(actor=actor, registrations=ids, state=state, notify=notify)
    with transaction.atomic():
        job = AttendanceJob.objects.create(
            event=event,
            organization=event.organization,
            requested_by=actor.user,
            state=state,
            registration_ids=ids,
            notify=notify,
            total=len(ids),
        )
        audit_record(
            actor=actor,
            action="attendance_job.requested",
            obj=job,
            organization=event.organization,
            after={"state": state, "total": len(ids)},
        )
        from laurel.events.tasks import attendance_job_run

        transaction.on_commit(lambda: attendance_job_run.enqueue(job.pk))
    return AttendanceResult(job=job)


def attendance_job_process(job_id: int) -> None:
    """Run an attendance job in chunks; each chunk commits with the job's progress, so a
    resumed job continues after its last finished chunk."""
    from laurel.lib.jobs import LostClaim

    token = AttendanceJob.claim(
        job_id, statuses=[AttendanceJob.Status.QUEUED], status=AttendanceJob.Status.RUNNING
    )
    if token is None:
        return
    try:
        while True:
            with transaction.atomic():
                job = AttendanceJob.locked(job_id, token)
                chunk = job.registration_ids[job.done : job.done + AttendanceJob.CHUNK]
                if not chunk:
                    break
                actor = Actor(user=job.requested_by, label="attendance job")
                change = job.change
                result = attendance_set(
                    actor=actor,
                    registrations=chunk,
                    state=job.state,
                    notify=job.notify,
                    change=change,
                )
                AttendanceJob.beat(
                    job_id,
                    token,
                    done=job.done + len(chunk),
                    changed=job.changed + result.changed,
                    change=result.change or change,
                )
        AttendanceJob.finish(job_id, token, status=AttendanceJob.Status.DONE)
    except LostClaim:
        return
    except ServiceError as exc:
        AttendanceJob.fail(job_id, message=str(exc), token=token)


@transaction.atomic
def attendance_undo(*, actor: Actor, event: Event) -> AttendanceResult:
    """Put back the registrations of the event's last change (not an undo itself undone)."""
    change = (
        AttendanceChange.objects.select_for_update()
        .filter(event=event, undone_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    if change is None:
        raise ServiceError("There is no change to undo.", code="state")
    groups = defaultdict(list)
    for pk, status in change.before:
        groups[Status.REGISTERED if status == Status.WAITLISTED else status].append(pk)
    total = AttendanceResult()
    for status, pks in groups.items():
        part = attendance_set(actor=actor, registrations=pks, state=status, record_change=False)
        total.changed += part.changed
        total.unchanged += part.unchanged
        total.revoked += part.revoked
        total.credits += part.credits
    change.undone_at = timezone.now()
    change.save(update_fields=["undone_at"])
    audit_record(
        actor=actor,
        action="attendance.undone",
        obj=event,
        organization=event.organization,
        after={"change": change.pk, "registrations": len(change.before)},
    )
    total.change = change
    return total


# --- check-in -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    ok: bool
    message: str
    registration: Registration | None = None


def check_in(*, actor: Actor, event: Event, code: str) -> CheckIn:
    """The door: a code typed or scanned marks its person attended. Every other case
    (unknown, another event's, typed twice, cancelled) says what happened."""
    code = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if not code:
        return CheckIn(False, "Type or scan a check-in code.")
    registration = (
        Registration.objects.filter(event=event, check_in_code=code).select_related("event").first()
    )
    if registration is None:
        other = (
            Registration.objects.filter(event__organization=event.organization, check_in_code=code)
            .select_related("event")
            .order_by("-event__starts_at")
            .first()
        )
        if other is not None:
            return CheckIn(
                False,
                f"{code} is {other.display_name}'s code for another event: “{other.event.title}”.",
            )
        return CheckIn(False, f"No registration of this event has the code {code}.")
    who = registration.display_name
    if registration.status == Status.ATTENDED:
        when = registration.checked_in_at or registration.status_changed_at
        local = when.astimezone(event.tz)
        return CheckIn(False, f"{who} is already checked in (at {local:%H:%M}).", registration)
    if registration.status == Status.CANCELLED:
        return CheckIn(False, f"{who}'s registration was cancelled.", registration)
    try:
        with transaction.atomic():
            attendance_set(actor=actor, registrations=[registration], state=Status.ATTENDED)
            Registration.objects.filter(pk=registration.pk).update(checked_in_at=timezone.now())
    except ServiceError as exc:
        return CheckIn(False, str(exc), registration)
    registration.refresh_from_db()
    return CheckIn(True, f"{who} is checked in.", registration)
