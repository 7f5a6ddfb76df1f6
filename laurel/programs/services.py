"""Workflows of certification programs: define, enroll, complete, approve, earn, expire."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from laurel.accounts.models import Organization, normalize_email
from laurel.accounts.services import ServiceError, connection_invite
from laurel.audit.services import Actor, audit_record, audit_record_many
from laurel.lib.uploads import document_problem
from laurel.notifications.services import outbox_enqueue
from laurel.programs import selectors
from laurel.programs.models import (
    Completion,
    CreditReview,
    Enrollment,
    Offering,
    Program,
    ProgramVersion,
    Requirement,
    Tracker,
)

S = Enrollment.Status
REMINDER_DAYS = (30, 7)


# --- Definitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequirementSpec:
    kind: str
    title: str
    course_ids: tuple[int, ...] = ()  # catalog.Course primary keys, for offering requirements
    event_ids: tuple[int, ...] = ()  # events.Event primary keys: attending one counts too
    credit_type_code: str = ""
    hours: Decimal | None = None
    needs_grade: bool = False
    min_grade: Decimal | None = None
    needs_approval: bool = False
    needs_attachment: bool = False


@dataclass(frozen=True)
class Definition:
    name: str
    description: str = ""
    window_months: int | None = None
    window_fixed_date: date | None = None
    grace_days: int = 0
    allow_self_enroll: bool = False
    allow_cancel: bool = False
    ordered: bool = False
    maintenance: bool = False
    certificate_template: object | None = None
    issue_on_earn: bool = True
    requirements: tuple[RequirementSpec, ...] = field(default=())


def _check_definition(organization: Organization, d: Definition) -> None:
    if not d.name.strip():
        raise ServiceError("Give the program a name.", field="name")
    if d.window_months and d.window_fixed_date:
        raise ServiceError(
            "Choose months from enrollment or a fixed date, not both.", field="window_months"
        )
    if d.maintenance and not d.window_months:
        raise ServiceError(
            "A maintenance program needs a window in months (each cycle has its own).",
            field="window_months",
        )
    if d.certificate_template is not None and (
        d.certificate_template.organization_id != organization.pk
    ):
        raise ServiceError("That template belongs to another organization.", field="template")
    for spec in d.requirements:
        if not spec.title.strip():
            raise ServiceError("Every requirement needs a title.", field="requirements")
        if spec.kind == Requirement.Kind.CREDIT_HOURS and (
            not spec.credit_type_code.strip() or not spec.hours or spec.hours <= 0
        ):
            raise ServiceError(
                f"“{spec.title}” needs a credit type and a number of hours.", field="requirements"
            )
        if spec.kind == Requirement.Kind.OFFERING:
            from laurel.catalog.models import Course
            from laurel.events.models import Event

            courses = Course.objects.filter(organization=organization, pk__in=spec.course_ids)
            events = Event.objects.filter(organization=organization, pk__in=spec.event_ids)
            if (
                not (spec.course_ids or spec.event_ids)
                or courses.count() != len(set(spec.course_ids))
                or events.count() != len(set(spec.event_ids))
            ):
                raise ServiceError(
                    f"“{spec.title}” needs one or more of this organization's courses or events.",
                    field="requirements",
                )
        if spec.needs_grade is False and spec.min_grade is not None:
            raise ServiceError(
                f"“{spec.title}” has a minimum grade but needs no grade.", field="requirements"
            )


def _write_version(program: Program, number: int, d: Definition) -> ProgramVersion:
    version = ProgramVersion(
        program=program,
        number=number,
        name=" ".join(d.name.split()),
        description=d.description.strip(),
        window_months=d.window_months or None,
        window_fixed_date=d.window_fixed_date,
        grace_days=d.grace_days or 0,
        allow_self_enroll=d.allow_self_enroll,
        allow_cancel=d.allow_cancel,
        ordered=d.ordered,
        maintenance=d.maintenance,
        certificate_template=d.certificate_template,
        issue_on_earn=d.issue_on_earn,
    )
    version.full_clean()
    version.save()
    for position, spec in enumerate(d.requirements, start=1):
        req = Requirement.objects.create(
            version=version,
            position=position,
            kind=spec.kind,
            title=spec.title.strip(),
            credit_type_code=spec.credit_type_code.strip().upper(),
            hours=spec.hours,
            needs_grade=spec.needs_grade,
            min_grade=spec.min_grade,
            needs_approval=spec.needs_approval,
            needs_attachment=spec.needs_attachment,
        )
        Offering.objects.bulk_create(
            [Offering(requirement=req, course_id=c) for c in dict.fromkeys(spec.course_ids)]
            + [
                Offering(requirement=req, kind=Offering.Kind.EVENT, event_id=e)
                for e in dict.fromkeys(spec.event_ids)
            ]
        )
    return version


def _version_snapshot(version: ProgramVersion) -> dict:
    return {
        "version": version.number,
        "name": version.name,
        "requirements": [
            {"kind": r.kind, "title": r.title} for r in version.requirements.order_by("position")
        ],
    }


@transaction.atomic
def program_create(
    *, actor: Actor, organization: Organization, code: str, definition: Definition
) -> Program:
    """A Draft program with its first version and its four trackers at zero."""
    code = code.strip().upper()
    if not code:
        raise ServiceError("Give the program a code.", field="code")
    if Program.objects.for_org(organization).filter(code=code).exists():
        raise ServiceError(f"A program with the code {code} exists already.", field="code")
    _check_definition(organization, definition)
    program = Program.objects.create(organization=organization, code=code)
    version = _write_version(program, 1, definition)
    program.current_version = version
    program.save(update_fields=["current_version"])
    Tracker.objects.bulk_create(Tracker(program=program, status=s) for s in S.values)
    audit_record(
        actor=actor,
        action="program.created",
        obj=program,
        organization=organization,
        after={"code": code, **_version_snapshot(version)},
    )
    return program


@transaction.atomic
def program_update(*, actor: Actor, program: Program, definition: Definition) -> ProgramVersion:
    """Change a program's rules. A Draft is edited in place; once Active, a new version is made
    and enrollees stay on theirs until staff move them (``enrollments_move_version``)."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    _check_definition(program.organization, definition)
    old = program.current_version
    before = _version_snapshot(old)
    if program.status == Program.Status.DRAFT and not program.enrollments.exists():
        number = old.number
        program.current_version = None
        program.save(update_fields=["current_version"])
        old.delete()
    else:
        number = old.number + 1
    version = _write_version(program, number, definition)
    program.current_version = version
    program.save(update_fields=["current_version"])
    audit_record(
        actor=actor,
        action="program.updated",
        obj=program,
        organization=program.organization,
        before=before,
        after=_version_snapshot(version),
    )
    return version


@transaction.atomic
def program_set_status(*, actor: Actor, program: Program, status: str) -> Program:
    if status not in Program.Status.values:
        raise ServiceError("Unknown status.", field="status")
    if status == Program.Status.ACTIVE and not program.current_version.requirements.exists():
        raise ServiceError("Add at least one requirement before activating.", field="status")
    before = program.status
    Program.objects.filter(pk=program.pk).update(status=status)
    program.status = status
    audit_record(
        actor=actor,
        action="program.status_changed",
        obj=program,
        organization=program.organization,
        before={"status": before},
        after={"status": status},
    )
    return program


# --- Webhooks ---------------------------------------------------------------------------------


def _emit(organization, enrollments, event_type: str) -> None:
    """``enrollment.*`` webhooks for ``enrollments`` (objects or ids), in the caller's
    transaction; nothing is built when no endpoint of the organization listens."""
    from laurel.integrations.events import enrollments_events
    from laurel.integrations.services import subscriptions, webhooks_emit_many

    if not enrollments or not subscriptions(organization.pk, [event_type]):
        return
    ids = [getattr(e, "pk", e) for e in enrollments]
    for start in range(0, len(ids), 2000):
        webhooks_emit_many(
            organization=organization,
            events=enrollments_events(organization, ids[start : start + 2000], event_type),
        )


def _hooked_organizations(event_type: str) -> list[int]:
    """Organizations with an enabled endpoint for ``event_type`` (the sweep is cross-tenant)."""
    from laurel.integrations.models import WebhookEndpoint

    return [
        pk
        for pk, types in WebhookEndpoint.objects.filter(enabled=True).values_list(
            "organization_id", "event_types"
        )
        if event_type in (types or [])
    ]


# --- Trackers ---------------------------------------------------------------------------------


def _track(program_id: int, moves: Counter) -> None:
    """Apply (from, to) → n moves to a program's counters, in the caller's transaction."""
    delta: Counter = Counter()
    for (src, dst), n in moves.items():
        if src:
            delta[src] -= n
        if dst:
            delta[dst] += n
    for status, n in delta.items():
        if n:
            Tracker.objects.filter(program_id=program_id, status=status).update(
                count=F("count") + n
            )


def _move(enrollment: Enrollment, *, allowed, **changes) -> None:
    """Conditional UPDATE from an allowed status, with the tracker moved in the same
    transaction; refuses when someone else moved it first."""
    src = enrollment.status
    if src not in allowed or (
        Enrollment.objects.filter(pk=enrollment.pk, status=src).update(**changes) != 1
    ):
        raise ServiceError("This enrollment has changed meanwhile; reload the page.", code="state")
    for name, value in changes.items():
        setattr(enrollment, name, value)
    if "status" in changes and changes["status"] != src:
        _track(enrollment.program_id, Counter({(src, changes["status"]): 1}))


# --- Enrolling --------------------------------------------------------------------------------


def _dates(version: ProgramVersion, enrolled_on: date) -> tuple[date | None, date | None]:
    deadline = version.deadline_for(enrolled_on)
    if deadline is None:
        return None, None
    if version.grace_days:
        return deadline, deadline + timedelta(days=version.grace_days)
    return None, deadline


def _verified_user(email: str):
    from laurel.credits.services import verified_user_for_email

    return verified_user_for_email(email)


@transaction.atomic
def enrollments_create(
    *,
    actor: Actor,
    program: Program,
    people: list[tuple[str, str]],
    enrolled_on: date | None = None,
    notify: bool = True,
) -> list[Enrollment]:
    """Enroll each (e-mail, name) on the program's current version. Someone without a verified
    account is enrolled all the same and invited; the enrollment reaches them when they verify
    the address. Refuses, changing nothing, when anyone is enrolled already."""
    if program.status != Program.Status.ACTIVE:
        raise ServiceError("Only an Active program takes enrollments.", code="state")
    organization = program.organization
    enrolled_on = enrolled_on or organization.today()
    if not date(1900, 1, 1) <= enrolled_on <= organization.today() + timedelta(days=366):
        raise ServiceError(
            "The enrollment date must be between 1900 and a year from today.", field="date"
        )
    emails = {}
    for email, name in people:
        email = normalize_email(email)
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise ServiceError(
                    f"“{email}” is not an e-mail address. Nobody was enrolled.", field="people"
                ) from exc
            emails.setdefault(email, (name or "").strip()[:200])
    if not emails:
        raise ServiceError("Choose at least one person.", field="people")
    taken = sorted(
        Enrollment.objects.filter(
            program=program, email__in=emails, status__in=Enrollment.OPEN
        ).values_list("email", flat=True)
    )
    if taken:
        raise ServiceError(
            f"Already enrolled: {', '.join(taken[:10])}{' …' if len(taken) > 10 else ''}. "
            "Nobody was enrolled.",
            field="people",
            code="duplicate",
        )
    version = program.current_version
    grace, expires = _dates(version, enrolled_on)
    if expires is not None and expires < enrolled_on:
        raise ServiceError("The enrollment date is after the program's deadline.", field="date")
    rows = [
        Enrollment(
            organization=organization,
            program=program,
            version=version,
            email=email,
            name=name,
            holder=_verified_user(email),
            enrolled_on=enrolled_on,
            grace_starts_on=grace,
            expires_on=expires,
        )
        for email, name in emails.items()
    ]
    try:
        with transaction.atomic():
            created = Enrollment.objects.bulk_create(rows)
    except IntegrityError as exc:
        raise ServiceError(
            "Someone was enrolled meanwhile; try again.", field="people", code="duplicate"
        ) from exc
    if connection.vendor != "postgresql" or any(e.pk is None for e in created):
        created = list(
            Enrollment.objects.filter(program=program, email__in=emails, status=S.ENROLLED)
        )
    _track(program.pk, Counter({(None, S.ENROLLED): len(created)}))
    audit_record_many(
        actor=actor,
        action="enrollment.enrolled",
        objects=created,
        organization=organization,
        after={"program": program.code, "version": version.number, "enrolled_on": str(enrolled_on)},
    )
    _emit(organization, created, "enrollment.enrolled")
    credit_reviews_open(enrollments=created)
    for enrollment in created:
        _, invited = connection_invite(
            actor=actor, organization=organization, email=enrollment.email
        )
        if notify:
            _notify(enrollment, "enrolled", invite=invited)
    return created


@transaction.atomic
def enrollment_self(*, holder, program: Program) -> Enrollment:
    """A holder enrolls themselves from the program's page, when the program allows it."""
    if not program.current_version.allow_self_enroll or program.status != Program.Status.ACTIVE:
        raise ServiceError("This program does not take self-enrollment.", code="state")
    [enrollment] = enrollments_create(
        actor=Actor(user=holder),
        program=program,
        people=[(holder.email, holder.full_name)],
    )
    return enrollment


@transaction.atomic
def enrollments_deliver_for_email(*, user, email: str) -> int:
    """Give ``user``, who has just verified ``email``, the enrollments waiting for it."""
    email = normalize_email(email)
    waiting = list(Enrollment.objects.select_for_update().filter(email=email, holder__isnull=True))
    if not waiting:
        return 0
    Enrollment.objects.filter(pk__in=[e.pk for e in waiting], holder__isnull=True).update(
        holder=user
    )
    for org_id in {e.organization_id for e in waiting}:
        mine = [e for e in waiting if e.organization_id == org_id]
        audit_record_many(
            actor=Actor(user=user),
            action="enrollment.claimed",
            objects=mine,
            organization=Organization.objects.get(pk=org_id),
            after={"via": "email_verified"},
        )
    for enrollment in waiting:
        enrollment.holder = user
        enrollment_evaluate(actor=Actor(user=user), enrollment=enrollment)
    credit_reviews_open(holder=user)
    return len(waiting)


# --- Completions ------------------------------------------------------------------------------


def _check_attachment(upload) -> None:
    if upload is None:
        return
    problem = document_problem(upload)
    if problem:
        raise ServiceError(problem.replace("The file", "The attachment"), field="attachment")


@transaction.atomic
def completion_record(
    *,
    actor: Actor,
    enrollment: Enrollment,
    requirement: Requirement,
    completed_on: date,
    notes: str = "",
    grade: Decimal | None = None,
    attachment=None,
) -> Completion:
    """Record that ``requirement`` was done. It is Complete at once unless it waits for a grade
    or an approval. A new completion of a Complete requirement supersedes the old one."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if not enrollment.is_open:
        raise ServiceError("This enrollment is not open.", code="state")
    if requirement.version_id != enrollment.version_id:
        raise ServiceError("That requirement is not part of this enrollment.", code="not_found")
    if requirement.kind == Requirement.Kind.CREDIT_HOURS:
        raise ServiceError(
            "Credit hours come from the ledger: the holder's accepted credits count by themselves.",
            field="requirement",
        )
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    if progress.row(requirement).locked:
        raise ServiceError(
            "This requirement is locked: complete the ones before it first.", code="locked"
        )
    if completed_on > enrollment.organization.today():
        raise ServiceError("The completion date cannot be in the future.", field="completed_on")
    if completed_on < enrollment.enrolled_on:
        raise ServiceError(
            "The completion date is before the enrollment date.", field="completed_on"
        )
    _check_grade(requirement, grade)
    if requirement.needs_attachment and attachment is None:
        raise ServiceError("This requirement needs an attachment.", field="attachment")
    _check_attachment(attachment)
    if requirement.needs_grade and grade is None:
        status = Completion.Status.AWAITING_GRADE
    elif requirement.needs_approval:
        status = Completion.Status.AWAITING_APPROVAL
    else:
        status = Completion.Status.COMPLETE
    previous = (
        Completion.objects.filter(enrollment=enrollment, requirement=requirement)
        .exclude(status__in=[Completion.Status.SUPERSEDED, Completion.Status.RETURNED])
        .first()
    )
    completion = Completion(
        enrollment=enrollment,
        requirement=requirement,
        status=status,
        completed_on=completed_on,
        notes=notes.strip(),
        grade=grade,
        recorded_by=actor.user,
        supersedes=previous,
    )
    if attachment is not None:
        completion.attachment.save(attachment.name, attachment, save=False)
    completion.save()
    if previous is not None:
        Completion.objects.filter(pk=previous.pk).update(status=Completion.Status.SUPERSEDED)
        audit_record(
            actor=actor,
            action="completion.superseded",
            obj=previous,
            organization=enrollment.organization,
            before={"status": previous.status},
            after={"status": "superseded", "by": completion.pk},
        )
    audit_record(
        actor=actor,
        action="completion.recorded",
        obj=completion,
        organization=enrollment.organization,
        after={"status": status, "grade": str(grade) if grade is not None else None},
    )
    enrollment_evaluate(actor=actor, enrollment=enrollment)
    return completion


def _check_grade(requirement: Requirement, grade: Decimal | None) -> None:
    if grade is None:
        return
    if grade < 0 or grade >= 10000:
        raise ServiceError("A grade is between 0 and 9999.99.", field="grade")
    if not requirement.needs_grade:
        raise ServiceError("This requirement takes no grade.", field="grade")
    if requirement.min_grade is not None and grade < requirement.min_grade:
        raise ServiceError(
            "The grade is below the minimum passing grade "
            f"({requirement.min_grade.normalize():f}).",
            field="grade",
        )


def _decide(completion: Completion, *, allowed: str, **changes) -> None:
    if Completion.objects.filter(pk=completion.pk, status=allowed).update(**changes) != 1:
        raise ServiceError("This completion has changed meanwhile; reload the page.", code="state")
    for name, value in changes.items():
        setattr(completion, name, value)


@transaction.atomic
def completion_grade(*, actor: Actor, completion: Completion, grade: Decimal) -> Completion:
    requirement = completion.requirement
    _check_grade(requirement, grade)
    status = (
        Completion.Status.AWAITING_APPROVAL
        if requirement.needs_approval
        else Completion.Status.COMPLETE
    )
    _decide(completion, allowed=Completion.Status.AWAITING_GRADE, grade=grade, status=status)
    audit_record(
        actor=actor,
        action="completion.graded",
        obj=completion,
        organization=completion.enrollment.organization,
        after={"grade": str(grade), "status": status},
    )
    enrollment_evaluate(actor=actor, enrollment=completion.enrollment)
    return completion


@transaction.atomic
def completion_approve(*, actor: Actor, completion: Completion) -> Completion:
    _decide(
        completion,
        allowed=Completion.Status.AWAITING_APPROVAL,
        status=Completion.Status.COMPLETE,
        decided_by=actor.user,
        decided_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="completion.approved",
        obj=completion,
        organization=completion.enrollment.organization,
        after={"status": "complete"},
    )
    enrollment_evaluate(actor=actor, enrollment=completion.enrollment)
    return completion


@transaction.atomic
def completion_return(*, actor: Actor, completion: Completion, reason: str) -> Completion:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why it is returned; the enrollee reads it.", field="reason")
    _decide(
        completion,
        allowed=Completion.Status.AWAITING_APPROVAL,
        status=Completion.Status.RETURNED,
        return_reason=reason[:500],
        decided_by=actor.user,
        decided_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="completion.returned",
        obj=completion,
        organization=completion.enrollment.organization,
        after={"status": "returned", "reason": completion.return_reason},
    )
    return completion


# --- Self-reported credit ---------------------------------------------------------------------


def credit_reviews_open(*, holder=None, enrollments=None) -> int:
    """Ask the staff of each open enrollment with a credit-hours requirement to review the
    holder's self-reported credits of a matching credit type dated inside its window (once
    per enrollment and credit). Returns how many reviews were opened."""
    from laurel.credits.models import Credit, CreditComponent

    if enrollments is None:
        enrollments = Enrollment.objects.filter(holder=holder, status__in=Enrollment.OPEN)
    enrollments = [e for e in enrollments if e.holder_id and e.is_open]
    if not enrollments:
        return 0
    codes = defaultdict(set)
    for version_id, code in Requirement.objects.filter(
        version_id__in={e.version_id for e in enrollments}, kind=Requirement.Kind.CREDIT_HOURS
    ).values_list("version_id", "credit_type_code"):
        codes[version_id].add(code)
    enrollments = [e for e in enrollments if codes.get(e.version_id)]
    if not enrollments:
        return 0
    reported = defaultdict(list)
    for holder_id, credit_id, day, code in CreditComponent.objects.filter(
        credit__holder_id__in={e.holder_id for e in enrollments},
        credit__source=Credit.Source.SELF_REPORT,
        credit__status=Credit.Status.ACCEPTED,
    ).values_list("credit__holder_id", "credit_id", "credit__completion_date", "credit_type__code"):
        reported[holder_id].append((credit_id, day, code))
    wanted = {
        (e.pk, credit_id): e
        for e in enrollments
        for credit_id, day, code in reported.get(e.holder_id, [])
        if code in codes[e.version_id]
        and day >= e.enrolled_on
        and (e.expires_on is None or day <= e.expires_on)
    }
    if not wanted:
        return 0
    have = set(
        CreditReview.objects.filter(enrollment_id__in={k[0] for k in wanted}).values_list(
            "enrollment_id", "credit_id"
        )
    )
    new = [
        CreditReview(enrollment=e, credit_id=credit_id)
        for (pk, credit_id), e in wanted.items()
        if (pk, credit_id) not in have
    ]
    CreditReview.objects.bulk_create(new, ignore_conflicts=True)
    for review in new:
        audit_record(
            actor=Actor.system("self-report"),
            action="credit_review.requested",
            obj=review.enrollment,
            organization=review.enrollment.organization,
            after={"credit": review.credit_id},
        )
    return len(new)


def _decide_review(review: CreditReview, **changes) -> None:
    updated = CreditReview.objects.filter(
        pk=review.pk, status=CreditReview.Status.AWAITING_APPROVAL
    ).update(**changes)
    if updated != 1:
        raise ServiceError("This credit has been decided meanwhile; reload the page.", code="state")
    for name, value in changes.items():
        setattr(review, name, value)


@transaction.atomic
def credit_review_approve(*, actor: Actor, review: CreditReview) -> CreditReview:
    """The program's staff accept a self-reported credit for one enrollment: from now on its
    hours count toward that enrollment's credit-hours requirements (which may earn it)."""
    _decide_review(
        review,
        status=CreditReview.Status.APPROVED,
        decided_by=actor.user,
        decided_at=timezone.now(),
    )
    enrollment = review.enrollment
    audit_record(
        actor=actor,
        action="credit_review.approved",
        obj=review,
        organization=enrollment.organization,
        after={"credit": review.credit_id, "enrollment": enrollment.pk},
    )
    enrollment_evaluate(actor=actor, enrollment=enrollment)
    return review


@transaction.atomic
def credit_review_return(*, actor: Actor, review: CreditReview, reason: str) -> CreditReview:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why it does not count; the holder reads it.", field="reason")
    _decide_review(
        review,
        status=CreditReview.Status.RETURNED,
        return_reason=reason[:500],
        decided_by=actor.user,
        decided_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="credit_review.returned",
        obj=review,
        organization=review.enrollment.organization,
        after={"credit": review.credit_id, "reason": review.return_reason},
    )
    return review


# --- Earning ----------------------------------------------------------------------------------


def enrollment_evaluate(*, actor: Actor, enrollment: Enrollment) -> bool:
    """Earn the enrollment if every requirement is Complete; True when it was earned now."""
    # A person without an account yet can earn too (staff record their requirements); the
    # certificate is issued to the address, like a credit held for it.
    if not enrollment.is_open:
        return False
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    if not progress.all_complete:
        return False
    enrollment_earn(actor=actor, enrollment=enrollment, earned_on=enrollment.organization.today())
    return True


@transaction.atomic
def enrollment_earn(
    *,
    actor: Actor,
    enrollment: Enrollment,
    earned_on: date,
    issue_certificate: bool = True,
    notify: bool = True,
    certificate=None,
) -> Enrollment:
    """Mark Earned, issue the certificate (when the program says so; ``certificate`` when it
    was issued already, e.g. imported) and, for a maintenance program, open the next cycle
    from the day it was earned."""
    before = enrollment.status
    _move(enrollment, allowed=Enrollment.OPEN, status=S.EARNED, earned_on=earned_on)
    version = enrollment.version
    if certificate is not None:
        Enrollment.objects.filter(pk=enrollment.pk).update(certificate=certificate)
        enrollment.certificate = certificate
    elif issue_certificate and version.issue_on_earn:
        enrollment_certificate_issue(enrollment=enrollment, actor=actor)
    audit_record(
        actor=actor,
        action="enrollment.earned",
        obj=enrollment,
        organization=enrollment.organization,
        before={"status": before},
        after={"status": "earned", "earned_on": str(earned_on)},
    )
    _emit(enrollment.organization, [enrollment], "enrollment.earned")
    if notify:
        _notify(enrollment, "earned")
    if version.maintenance and enrollment.program.status == Program.Status.ACTIVE:
        _open_next_cycle(actor, enrollment, earned_on)
    return enrollment


def enrollment_certificate_issue(
    *, enrollment: Enrollment, actor: Actor, name: str = "", notify: bool = False
):
    """Issue an earned enrollment's certificate, or leave it waiting for a name when neither
    the enrollment nor an account gives one (never the e-mail's local part)."""
    from laurel.certificates.services import (
        certificate_issue,
        certificate_name_wait,
        recipient_name_for,
    )

    if enrollment.certificate_id is not None:
        return enrollment.certificate
    name = recipient_name_for(
        name=name or enrollment.name,
        holder=enrollment.holder if enrollment.holder_id else None,
        email=enrollment.email,
    )
    if not name:
        certificate_name_wait(
            organization=enrollment.organization, email=enrollment.email, enrollment=enrollment
        )
        return None
    version = enrollment.version
    certificate = certificate_issue(
        actor=actor,
        organization=enrollment.organization,
        recipient_name=name,
        recipient_email=enrollment.email,
        title=version.name,
        completion_date=enrollment.earned_on or enrollment.organization.today(),
        template=version.certificate_template,
        # At earning, the program's own notice announces it; later (a name given) it is mailed.
        notify=notify,
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(certificate=certificate)
    enrollment.certificate = certificate
    return certificate


@transaction.atomic
def enrollment_record_earned(
    *,
    actor: Actor,
    program: Program,
    email: str,
    name: str = "",
    earned_on: date,
    certificate=None,
) -> Enrollment:
    """A certification earned elsewhere (an imported certificate for the program): the
    person's open enrollment, or a new one from ``earned_on``, becomes Earned on that date.
    Earned already on that date changes nothing."""
    if program.status == Program.Status.DRAFT:
        raise ServiceError(f"Program {program.code} is a Draft.", code="state")
    email = normalize_email(email)
    done = Enrollment.objects.filter(
        program=program, email=email, status=S.EARNED, earned_on=earned_on
    ).first()
    if done is not None:
        return done
    enrollment = (
        Enrollment.objects.select_for_update()
        .select_related("program", "version", "organization")
        .filter(program=program, email=email, status__in=Enrollment.OPEN)
        .first()
    )
    if enrollment is None:
        version = program.current_version
        grace, expires = _dates(version, earned_on)
        enrollment = Enrollment.objects.create(
            organization=program.organization,
            program=program,
            version=version,
            email=email,
            name=(name or "").strip()[:200],
            holder=_verified_user(email),
            enrolled_on=earned_on,
            grace_starts_on=grace,
            expires_on=expires,
        )
        _track(program.pk, Counter({(None, S.ENROLLED): 1}))
        audit_record(
            actor=actor,
            action="enrollment.enrolled",
            obj=enrollment,
            organization=program.organization,
            after={"program": program.code, "version": version.number, "via": "certificate"},
        )
        _emit(program.organization, [enrollment], "enrollment.enrolled")
    return enrollment_earn(
        actor=actor,
        enrollment=enrollment,
        earned_on=earned_on,
        issue_certificate=False,
        notify=False,
        certificate=certificate,
    )


def _open_next_cycle(actor: Actor, earned: Enrollment, start: date) -> Enrollment:
    version = earned.program.current_version
    grace, expires = _dates(version, start)
    nxt = Enrollment.objects.create(
        organization=earned.organization,
        program=earned.program,
        version=version,
        email=earned.email,
        name=earned.name,
        holder=earned.holder,
        cycle=earned.cycle + 1,
        enrolled_on=start,
        grace_starts_on=grace,
        expires_on=expires,
    )
    _track(earned.program_id, Counter({(None, S.ENROLLED): 1}))
    audit_record(
        actor=actor,
        action="enrollment.enrolled",
        obj=nxt,
        organization=earned.organization,
        after={"cycle": nxt.cycle, "after": earned.pk},
    )
    _emit(earned.organization, [nxt], "enrollment.enrolled")
    credit_reviews_open(enrollments=[nxt])
    return nxt


def enrollments_evaluate_for_attendance(*, actor: Actor, event, registrations) -> int:
    """Attendance at ``event`` was marked for ``registrations``: earn the open enrollments
    (same e-mail or holder) of programs that name the event, now that every requirement is
    Complete. Set-based: a fixed number of queries, then one earning per enrollment earned;
    returns how many were earned."""
    if not Offering.objects.filter(event=event).exists():
        return 0
    requirement_ids = Offering.objects.filter(event=event).values("requirement_id")
    versions = Requirement.objects.filter(pk__in=requirement_ids).values("version_id")
    emails = {r.email for r in registrations}
    holders = {r.holder_id for r in registrations if r.holder_id}
    who = Q(email__in=emails) | Q(holder_id__in=holders) if holders else Q(email__in=emails)
    enrollments = list(
        Enrollment.objects.filter(who, version_id__in=versions, status__in=Enrollment.OPEN)
        .select_related("version", "program", "organization", "holder")
        .order_by("pk")
    )
    progress = selectors.progress_for(enrollments)
    earned = 0
    today = event.organization.today()
    for enrollment in enrollments:
        if progress[enrollment.pk].all_complete:
            enrollment_earn(actor=actor, enrollment=enrollment, earned_on=today)
            earned += 1
    return earned


def enrollments_evaluate_for_holder(*, holder, actor: Actor | None = None) -> int:
    """Re-check a holder's open enrollments (a credit was accepted); returns how many earned."""
    earned = 0
    for enrollment in Enrollment.objects.filter(holder=holder, status__in=Enrollment.OPEN):
        earned += enrollment_evaluate(actor=actor or Actor(user=holder), enrollment=enrollment)
    return earned


# --- Deadlines, cancelling, purging -----------------------------------------------------------


@transaction.atomic
def enrollment_dates_set(
    *,
    actor: Actor,
    enrollment: Enrollment,
    enrolled_on: date,
    grace_starts_on: date | None,
    expires_on: date | None,
) -> Enrollment:
    if expires_on is not None and expires_on < enrolled_on:
        raise ServiceError(
            "The expiration date cannot be before the enrollment date.", field="expires_on"
        )
    if grace_starts_on is not None and grace_starts_on < enrolled_on:
        raise ServiceError(
            "The grace period cannot start before the enrollment date.", field="grace_starts_on"
        )
    if grace_starts_on and expires_on and grace_starts_on > expires_on:
        raise ServiceError(
            "The grace period must start before the expiration date.", field="grace_starts_on"
        )
    before = {
        "enrolled_on": str(enrollment.enrolled_on),
        "grace_starts_on": str(enrollment.grace_starts_on or ""),
        "expires_on": str(enrollment.expires_on or ""),
    }
    _move(
        enrollment,
        allowed=[*Enrollment.OPEN, S.EXPIRED],
        enrolled_on=enrolled_on,
        grace_starts_on=grace_starts_on,
        expires_on=expires_on,
    )
    audit_record(
        actor=actor,
        action="enrollment.dates_changed",
        obj=enrollment,
        organization=enrollment.organization,
        before=before,
        after={
            "enrolled_on": str(enrolled_on),
            "grace_starts_on": str(grace_starts_on or ""),
            "expires_on": str(expires_on or ""),
        },
    )
    return enrollment


@transaction.atomic
def enrollment_cancel(
    *, actor: Actor, enrollment: Enrollment, by_holder: bool = False
) -> Enrollment:
    if by_holder and not enrollment.version.allow_cancel:
        raise ServiceError(
            "This program does not let enrollees cancel; ask the organization.", code="state"
        )
    before = enrollment.status
    _move(enrollment, allowed=Enrollment.OPEN, status=S.CANCELLED, cancelled_at=timezone.now())
    audit_record(
        actor=actor,
        action="enrollment.cancelled",
        obj=enrollment,
        organization=enrollment.organization,
        before={"status": before},
        after={"status": "cancelled", "by_holder": by_holder},
    )
    _emit(enrollment.organization, [enrollment], "enrollment.cancelled")
    _notify(enrollment, "cancelled")
    return enrollment


@transaction.atomic
def enrollments_purge(*, actor: Actor, program: Program, enrollments: list[Enrollment]) -> int:
    """Remove cancelled and expired enrollments with their completions. People, their credits
    and issued certificates stay; one audit event keeps the counts."""
    ids = [e.pk for e in enrollments]
    rows = list(Enrollment.objects.select_for_update().filter(program=program, pk__in=ids))
    active = [e.email for e in rows if e.status not in Enrollment.INACTIVE]
    if active or len(rows) != len(set(ids)):
        raise ServiceError(
            "Only cancelled or expired enrollments can be purged"
            + (f" (still active: {', '.join(sorted(active)[:5])})" if active else "")
            + ". Nothing was purged.",
            code="state",
        )
    completions = Completion.objects.filter(enrollment__in=rows)
    n_completions = completions.count()
    completions.delete()
    _track(program.pk, Counter((e.status, None) for e in rows))
    Enrollment.objects.filter(pk__in=[e.pk for e in rows]).delete()
    audit_record(
        actor=actor,
        action="enrollments.purged",
        obj=program,
        organization=program.organization,
        after={
            "enrollments": len(rows),
            "completions": n_completions,
            "by_status": dict(Counter(e.status for e in rows)),
        },
    )
    return len(rows)


@dataclass
class MovePreview:
    enrollment: Enrollment
    before: list[tuple[str, str]]  # (requirement title, status) on the enrollee's version
    after: list[tuple[str, str]]  # the same on the current version
    deadline_before: date | None
    deadline_after: date | None


def enrollments_move_preview(*, program: Program, enrollments: list[Enrollment]) -> list:
    """What ``enrollments_move_version`` would do to each enrollee, changing nothing."""
    program = Program.objects.select_related("current_version").get(pk=program.pk)
    version = program.current_version
    old = selectors.progress_for(enrollments)
    shadows = []
    for e in enrollments:
        grace, expires = _dates(version, e.enrolled_on)
        shadows.append(
            Enrollment(
                pk=e.pk,
                version=version,
                holder_id=e.holder_id,
                enrolled_on=e.enrolled_on,
                grace_starts_on=grace,
                expires_on=expires,
            )
        )
    new = selectors.progress_for(shadows)
    out = []
    for e, shadow in zip(enrollments, shadows, strict=True):
        kept = {
            (r.requirement.kind, r.requirement.title.casefold()): r.status
            for r in old[e.pk].rows
            if r.completion is not None
        }
        after = [
            (
                r.requirement.title,
                kept.get((r.requirement.kind, r.requirement.title.casefold()), r.status),
            )
            for r in new[e.pk].rows
        ]
        out.append(
            MovePreview(
                enrollment=e,
                before=[(r.requirement.title, r.status) for r in old[e.pk].rows],
                after=after,
                deadline_before=e.deadline,
                deadline_after=shadow.deadline,
            )
        )
    return out


@transaction.atomic
def enrollments_move_version(
    *, actor: Actor, program: Program, enrollments: list[Enrollment]
) -> int:
    """Move open enrollments to the program's current version, keeping their completions of
    requirements with the same title and kind; deadlines are computed again from the
    enrollment date."""
    program = Program.objects.select_related("current_version").get(pk=program.pk)
    version = program.current_version
    new_reqs = {(r.kind, r.title.casefold()): r for r in version.requirements.all()}
    moved = 0
    for enrollment in enrollments:
        if enrollment.program_id != program.pk or enrollment.version_id == version.pk:
            continue
        grace, expires = _dates(version, enrollment.enrolled_on)
        old_version = enrollment.version.number
        _move(
            enrollment,
            allowed=Enrollment.OPEN,
            version=version,
            grace_starts_on=grace,
            expires_on=expires,
        )
        for completion in Completion.objects.filter(enrollment=enrollment).select_related(
            "requirement"
        ):
            target = new_reqs.get(
                (completion.requirement.kind, completion.requirement.title.casefold())
            )
            if target is None:
                Completion.objects.filter(pk=completion.pk).update(
                    status=Completion.Status.SUPERSEDED
                )
            else:
                Completion.objects.filter(pk=completion.pk).update(requirement=target)
        audit_record(
            actor=actor,
            action="enrollment.version_moved",
            obj=enrollment,
            organization=program.organization,
            before={"version": old_version},
            after={"version": version.number, "deadline": str(enrollment.deadline or "")},
        )
        moved += 1
        enrollment_evaluate(actor=actor, enrollment=enrollment)
    return moved


# --- The periodic duty ------------------------------------------------------------------------


_SWEEPS = (
    # (from, to, condition): expiry first, so an enrollment past both dates goes straight there.
    (S.ENROLLED, S.EXPIRED, "expires_on <= %s"),
    (S.GRACE, S.EXPIRED, "expires_on <= %s"),
    (S.ENROLLED, S.GRACE, "grace_starts_on <= %s"),
)


def deadlines_sweep(*, today: date | None = None, notify: bool = True) -> dict:
    """Move enrollments past their dates into Grace period and Expired, and send reminders.

    Set-based and idempotent: each move is one conditional ``UPDATE … WHERE status = …
    RETURNING``, so two workers at once (PostgreSQL re-checks the condition on a row another
    transaction has just changed) each get only the rows they moved, and every change is
    counted, audited and announced once. On PostgreSQL the audit events and notices are
    written by the same statement (docs/programs.md).
    """
    today = today or timezone.now().date()
    moved = {}
    for src, dst, condition in _SWEEPS:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                moved[f"{src}->{dst}"] = _sweep_sql(src, dst, condition, today, notify=notify)
                continue
            with connection.cursor() as cursor:
                cursor.execute(  # ``condition`` is one of the constants in _SWEEPS
                    f"UPDATE programs_enrollment SET status = %s WHERE status = %s AND {condition} "  # noqa: S608
                    "RETURNING id, program_id, organization_id, email",
                    [dst, src, today],
                )
                rows = cursor.fetchall()
            moved[f"{src}->{dst}"] = len(rows)
            if rows:
                _after_sweep(rows, src, dst, notify=notify)
    moved["reminders"] = reminders_send(today=today) if notify else 0
    return moved


# One statement per move on PostgreSQL: the UPDATE's returned rows feed the audit events and
# the notices (queued to be rendered when sent, see render_deferred_notice) and are counted
# per program for the trackers. A hundred thousand moves never pass through Python.
_SWEEP_SQL = """
WITH moved AS (
    UPDATE programs_enrollment SET status = %(dst)s
    WHERE status = %(src)s AND {condition}
    RETURNING id, program_id, organization_id, email, version_id,
        coalesce(grace_starts_on, expires_on) AS deadline
), audit AS (
    INSERT INTO audit_auditevent (organization_id, actor_id, actor_label, ip, action,
        object_type, object_id, object_repr, before, after, at)
    SELECT organization_id, NULL, 'deadlines', NULL, %(action)s, 'programs.enrollment',
        id::text, left('enrollment ' || id || ' of ' || email, 200), NULL,
        %(after)s::jsonb, now()
    FROM moved
), notices AS (
    INSERT INTO notifications_outboxmessage (organization_id, kind, to_email, reply_to,
        subject, body_text, body_html, attachments, context, dedupe_key, status, attempts,
        last_error, created_at)
    SELECT m.organization_id, %(kind)s, m.email, o.reply_to,
        left(replace(%(subject)s, '{{name}}', v.name), 300), '', '', '[]'::jsonb,
        jsonb_build_object('kind', %(dst)s, 'name', v.name, 'deadline', m.deadline::text),
        'program-' || %(dst)s || ':' || m.id || ':' || %(dst)s, 'queued', 0, '', now()
    FROM moved m
    JOIN programs_programversion v ON v.id = m.version_id
    JOIN accounts_organization o ON o.id = m.organization_id
    WHERE %(notify)s
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
)
SELECT program_id, count(*), (SELECT array_agg(dedupe_key) FROM notices), organization_id,
    array_agg(id) FILTER (WHERE organization_id = ANY(%(hooked)s::bigint[]))
FROM moved GROUP BY program_id, organization_id
"""


def _sweep_sql(src: str, dst: str, condition: str, today: date, *, notify: bool) -> int:
    import json

    from laurel.programs.tasks import notices_send

    with connection.cursor() as cursor:
        cursor.execute(
            _SWEEP_SQL.format(condition=condition.replace("%s", "%(today)s")),
            {
                "src": src,
                "dst": dst,
                "today": today,
                "action": f"enrollment.{dst}",
                "after": json.dumps({"status": dst, "from": src}),
                "kind": f"program_{dst}",
                "subject": _NOTICES[dst][0],
                "notify": notify,
                # Only these organizations' moved ids come back, for their webhooks.
                "hooked": _hooked_organizations(f"enrollment.{dst}"),
            },
        )
        rows = cursor.fetchall()
    keys = (rows[0][2] or []) if rows else []
    for program_id, n, *_ in rows:
        _track(program_id, Counter({(src, dst): n}))
    hooked = defaultdict(list)
    for _, _, _, org_id, ids in rows:
        hooked[org_id].extend(ids or [])
    for org_id, ids in hooked.items():
        if ids:
            _emit(Organization.objects.get(pk=org_id), ids, f"enrollment.{dst}")
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        transaction.on_commit(lambda chunk=chunk: notices_send.enqueue(chunk))
    return sum(n for _, n, *_ in rows)


def render_deferred_notice(message) -> tuple[str, str]:
    """The text and HTML of a notice the PostgreSQL sweep queued without a body."""
    from laurel.notifications.services import render_email

    kind = message.context["kind"]
    headline, text = _NOTICES[kind]
    _, body_text, body_html = render_email(
        "program_notice",
        {
            "organization": message.organization,
            "headline": headline.format(name=message.context["name"], days_left=None),
            "message": text,
            "program_name": message.context["name"],
            "deadline": date.fromisoformat(message.context["deadline"])
            if message.context.get("deadline")
            else None,
        },
    )
    return body_text, body_html


def _after_sweep(rows, src: str, dst: str, *, notify: bool) -> None:
    by_program = Counter(program_id for _, program_id, _, _ in rows)
    for program_id, n in by_program.items():
        _track(program_id, Counter({(src, dst): n}))
    by_org = defaultdict(list)
    for pk, program_id, org_id, email in rows:
        by_org[org_id].append(Enrollment(pk=pk, program_id=program_id, email=email))
    orgs = Organization.objects.in_bulk(list(by_org))
    for org_id, objects in by_org.items():
        audit_record_many(
            actor=Actor.system("deadlines"),
            action=f"enrollment.{dst}",
            objects=objects,
            organization=orgs[org_id],
            after={"status": dst, "from": src},
        )
        _emit(orgs[org_id], objects, f"enrollment.{dst}")
    if notify:
        _sweep_notices([pk for pk, *_ in rows], dst)


def _sweep_notices(ids: list[int], kind: str) -> None:
    """Queue the sweep's notices in bulk, each text rendered once per version and date (a
    sweep may move a hundred thousand enrollments), and send them from one task per chunk."""
    from laurel.notifications.models import OutboxMessage
    from laurel.notifications.services import render_email
    from laurel.programs.tasks import notices_send

    rendered = {}
    for start in range(0, len(ids), 2000):
        messages = []
        chunk = Enrollment.objects.filter(pk__in=ids[start : start + 2000]).select_related(
            "organization", "version"
        )
        for e in chunk:
            key = (e.version_id, e.expires_on)
            if key not in rendered:
                rendered[key] = render_email("program_notice", _notice_context(e, kind))
            subject, text, html = rendered[key]
            messages.append(
                OutboxMessage(
                    organization=e.organization,
                    kind=f"program_{kind}",
                    to_email=e.email,
                    reply_to=e.organization.reply_to or "",
                    subject=subject[:300],
                    body_text=text,
                    body_html=html,
                    dedupe_key=f"program-{kind}:{e.pk}:{kind}",
                )
            )
        OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
        keys = [m.dedupe_key for m in messages]
        transaction.on_commit(lambda keys=keys: notices_send.enqueue(keys))


def reminders_send(*, today: date | None = None) -> int:
    """Remind open enrollments 30 and 7 days before their deadline, once each (dedupe key), so
    a day the duty did not run is caught up the next."""
    today = today or timezone.now().date()
    horizon = today + timedelta(days=max(REMINDER_DAYS))
    sent = 0
    due = Enrollment.objects.filter(
        status=S.ENROLLED, grace_starts_on__gt=today, grace_starts_on__lte=horizon
    ) | Enrollment.objects.filter(
        status=S.ENROLLED,
        grace_starts_on__isnull=True,
        expires_on__gt=today,
        expires_on__lte=horizon,
    )
    for enrollment in list(due.select_related("organization", "version")):
        days_left = (enrollment.deadline - today).days
        threshold = min(d for d in REMINDER_DAYS if days_left <= d)
        message = _notify(
            enrollment,
            "reminder",
            days_left=days_left,
            dedupe_key=f"program-reminder:{enrollment.pk}:{enrollment.deadline}:{threshold}",
        )
        sent += message is not None
    return sent


_NOTICES = {
    "enrolled": ("You are enrolled in {name}", "Complete its requirements by the deadline."),
    "earned": ("You have earned {name}", "Every requirement is complete. Congratulations."),
    "grace": (
        "{name}: your grace period has started",
        "The completion deadline has passed; you can still finish during the grace period.",
    ),
    "expired": ("{name} has expired", "The enrollment expired before it was completed."),
    "cancelled": ("Your enrollment in {name} was cancelled", "You can enroll again later."),
    "reminder": (
        "{name}: {days_left} days left",
        "Your completion deadline is near; finish the remaining requirements.",
    ),
}


def _notice_context(enrollment: Enrollment, kind: str, *, invite=False, days_left=None):
    name = enrollment.version.name
    headline, message = _NOTICES[kind]
    if invite:
        message += " Create a free Laurel account with this address to follow your progress."
    return {
        "organization": enrollment.organization,
        "headline": headline.format(name=name, days_left=days_left),
        "message": message,
        "program_name": name,
        "deadline": enrollment.deadline,
    }


def _notify(enrollment: Enrollment, kind: str, *, invite=False, days_left=None, dedupe_key=None):
    return outbox_enqueue(
        to=enrollment.email,
        template="program_notice",
        kind=f"program_{kind}",
        organization=enrollment.organization,
        context=_notice_context(enrollment, kind, invite=invite, days_left=days_left),
        dedupe_key=dedupe_key or f"program-{kind}:{enrollment.pk}:{enrollment.status}",
    )
