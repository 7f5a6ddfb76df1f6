"""Workflows for credit types and courses, providers' course applications and their review,
crib sheets and instruction text."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from laurel.accounts.models import Membership, Organization, Role
from laurel.accounts.services import ServiceError, organization_create
from laurel.audit.services import Actor, audit_record
from laurel.catalog.models import (
    ApplicationQuestion,
    Attachment,
    Audience,
    Course,
    CourseApplication,
    CourseComponent,
    CourseIdCounter,
    CreditType,
    CribSheet,
    InstructionText,
    ReviewDecision,
    ReviewPolicy,
    Submission,
    SubmissionComment,
    SubmissionRound,
)
from laurel.integrations.events import submission_data
from laurel.integrations.services import webhooks_emit
from laurel.lib.markdown import problems as markdown_problems
from laurel.notifications.services import outbox_enqueue


@transaction.atomic
def credit_type_create(
    *, actor: Actor, organization: Organization, code: str, name: str, unit: str = "hours"
) -> CreditType:
    code = code.strip().upper()
    if CreditType.objects.filter(organization=organization, code=code).exists():
        raise ServiceError(f"Credit type {code} already exists.", field="code", code="duplicate")
    ct = CreditType(organization=organization, code=code, name=name.strip(), unit=unit.strip())
    ct.full_clean()
    ct.save()
    audit_record(
        actor=actor,
        action="credit_type.created",
        obj=ct,
        organization=organization,
        after={"code": code, "name": ct.name, "unit": ct.unit},
    )
    return ct


@transaction.atomic
def credit_type_update(
    *, actor: Actor, credit_type: CreditType, name: str, unit: str
) -> CreditType:
    before = {"name": credit_type.name, "unit": credit_type.unit}
    credit_type.name, credit_type.unit = name.strip(), unit.strip()
    credit_type.full_clean()
    credit_type.save()
    audit_record(
        actor=actor,
        action="credit_type.updated",
        obj=credit_type,
        organization=credit_type.organization,
        before=before,
        after={"name": credit_type.name, "unit": credit_type.unit},
    )
    return credit_type


def course_id_allocate(*, organization: Organization, year: int) -> str:
    """Next course ID for the organization and year; call inside a transaction."""
    yy = year % 100
    counter, _ = CourseIdCounter.objects.get_or_create(organization=organization, year=yy)
    CourseIdCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db(fields=["last"])
    return f"{organization.course_id_prefix}-{yy:02d}-{counter.last:05d}"


def _set_components(course: Course, components: dict[CreditType, Decimal]) -> None:
    if not components:
        raise ServiceError("A course grants at least one credit type.", field="components")
    for ct in components:
        if ct.organization_id != course.organization_id:
            raise ServiceError("Unknown credit type.", field="components")
    course.components.all().delete()
    CourseComponent.objects.bulk_create(
        CourseComponent(course=course, credit_type=ct, amount=Decimal(amount))
        for ct, amount in components.items()
    )


@transaction.atomic
def course_create(
    *,
    actor: Actor,
    organization: Organization,
    title: str,
    active_from,
    components: dict[CreditType, Decimal],
    description: str = "",
    delivery_format: str = Course.Format.SELF_PACED,
    active_until=None,
    course_id: str | None = None,
) -> Course:
    course = Course(
        organization=organization,
        course_id=course_id
        or course_id_allocate(organization=organization, year=organization.today().year),
        title=title.strip(),
        description=description,
        delivery_format=delivery_format,
        active_from=active_from,
        active_until=active_until,
    )
    course.full_clean()
    course.save()
    _set_components(course, components)
    audit_record(
        actor=actor,
        action="course.created",
        obj=course,
        organization=organization,
        after=_course_state(course),
    )
    return course


@transaction.atomic
def course_update(
    *, actor: Actor, course: Course, components: dict[CreditType, Decimal], **fields
) -> Course:
    before = _course_state(course)
    for name in ("title", "description", "delivery_format", "active_from", "active_until"):
        if name in fields:
            setattr(course, name, fields[name])
    course.full_clean()
    course.save()
    _set_components(course, components)
    audit_record(
        actor=actor,
        action="course.updated",
        obj=course,
        organization=course.organization,
        before=before,
        after=_course_state(course),
    )
    return course


def _course_state(course: Course) -> dict:
    return {
        "title": course.title,
        "delivery_format": course.delivery_format,
        "active_from": str(course.active_from),
        "active_until": str(course.active_until) if course.active_until else None,
        "components": {c.credit_type.code: str(c.amount) for c in course.components.all()},
    }


# --- Providers and course applications --------------------------------------------------------

LIVE_FORMATS = {Course.Format.IN_PERSON, Course.Format.LIVE_ONLINE, Course.Format.HYBRID}
APPLICATION_FIELDS = (
    "title",
    "description",
    "objectives",
    "delivery_format",
    "sessions",
    "agenda",
    "instructors",
    "target_audience",
    "requested_credit",
)


@transaction.atomic
def provider_create(*, actor: Actor, user, name: str, slug: str) -> Organization:
    """Anyone signed in may start a provider; they become its first admin."""
    return organization_create(
        actor=actor,
        name=name.strip(),
        slug=slug.strip().lower(),
        course_id_prefix=_free_prefix(),
        kind=Organization.Kind.PROVIDER,
        first_admin=user,
    )


def _free_prefix() -> str:
    # Providers never issue course IDs, but the column is unique and required.
    while True:
        prefix = "PV" + secrets.token_hex(3).upper()
        if not Organization.objects.filter(course_id_prefix=prefix).exists():
            return prefix


def pdf_check(upload, *, field: str = "file") -> bytes:
    """The upload's bytes if it is a PDF within the size limit (judged by content)."""
    limit = settings.LAUREL_PDF_MAX_BYTES
    size = getattr(upload, "size", None) or 0
    if size > limit:
        raise ServiceError(
            f"The file is {size / 1e6:.1f} MB; the largest accepted is {limit / 1e6:.0f} MB.",
            field=field,
            code="too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(f"The largest file accepted is {limit / 1e6:.0f} MB.", field=field)
    if not data.startswith(b"%PDF-"):
        raise ServiceError("The file must be a PDF.", field=field, code="bad_type")
    return data


def _application_state(app: CourseApplication) -> dict:
    state = {f: getattr(app, f) for f in APPLICATION_FIELDS}
    state["duration_minutes"] = app.duration_minutes
    state["attachments"] = [
        {"id": a.pk, "file_name": a.file_name, "size": a.size}
        for a in app.attachments.filter(detached_at__isnull=True).order_by("pk")
    ]
    return state


@transaction.atomic
def application_save(
    *, actor: Actor, provider: Organization, application: CourseApplication | None = None, **fields
) -> CourseApplication:
    """Create or edit a provider's draft application. A draft may be incomplete; the
    complete check happens when it is submitted."""
    if provider.kind != Organization.Kind.PROVIDER:
        raise ServiceError("Only a course provider writes course applications.")
    app = application or CourseApplication(provider=provider, created_by=actor.user)
    before = _application_state(app) if app.pk else None
    for name, value in fields.items():
        if name not in APPLICATION_FIELDS:
            raise ValueError(f"unknown application field {name}")
        setattr(app, name, value)
    _normalize(app)
    app.requested_credit = {
        str(k).strip().upper(): str(Decimal(str(v))) for k, v in app.requested_credit.items()
    }
    app.updated_at = timezone.now()
    app.full_clean(exclude=["created_by"])
    app.save()
    audit_record(
        actor=actor,
        action="application.updated" if before else "application.created",
        obj=app,
        organization=provider,
        before=before,
        after=_application_state(app),
    )
    return app


def _normalize(app: CourseApplication) -> None:
    """Lists keep one shape whatever wrote them (the form, the API, the demo)."""
    try:
        app.sessions = [
            {
                "date": str(date.fromisoformat(str(s["date"]))),
                "location": str(s.get("location", "")),
            }
            for s in app.sessions
        ]
        app.agenda = [{"part": str(p["part"]), "minutes": int(p["minutes"])} for p in app.agenda]
        app.instructors = [
            {
                "name": str(i["name"]),
                "credentials": str(i.get("credentials", "")),
                "bio": str(i.get("bio", "")),
            }
            for i in app.instructors
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ServiceError(f"The application's lists are malformed ({exc}).")
    if any(p["minutes"] <= 0 for p in app.agenda):
        raise ServiceError("Each part of the agenda lasts at least a minute.", field="agenda")


def attachment_store(*, provider: Organization, upload, application=None) -> Attachment:
    data = pdf_check(upload)
    attachment = Attachment(
        provider=provider,
        application=application,
        file_name=(getattr(upload, "name", "") or "attachment.pdf")[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    attachment.file.save("upload.pdf", ContentFile(data), save=False)
    attachment.save()
    return attachment


@transaction.atomic
def attachment_add(*, actor: Actor, application: CourseApplication, upload) -> Attachment:
    attachment = attachment_store(
        provider=application.provider, upload=upload, application=application
    )
    audit_record(
        actor=actor,
        action="application.attachment_added",
        obj=application,
        organization=application.provider,
        after={"attachment": attachment.pk, "file_name": attachment.file_name},
    )
    return attachment


@transaction.atomic
def attachment_detach(*, actor: Actor, attachment: Attachment) -> None:
    """Take a file off the draft; submissions that list it keep it."""
    attachment.detached_at = timezone.now()
    attachment.save(update_fields=["detached_at"])
    audit_record(
        actor=actor,
        action="application.attachment_removed",
        obj=attachment.application,
        organization=attachment.provider,
        after={"attachment": attachment.pk},
    )


def application_problems(app: CourseApplication) -> dict[str, str]:
    """What a complete application still lacks, by field."""
    missing = {}
    for name in ("title", "description", "objectives", "target_audience"):
        if not str(getattr(app, name)).strip():
            missing[name] = "Required before submitting."
    if app.delivery_format in LIVE_FORMATS and not app.sessions:
        missing["sessions"] = "A live course lists its dates and locations."
    if not app.agenda:
        missing["agenda"] = "List the parts of the course with their minutes."
    if not app.instructors:
        missing["instructors"] = "Name at least one instructor."
    if not app.requested_credit:
        missing["requested_credit"] = "Request credit of at least one type."
    return missing


def _answers(organization: Organization, provider, given: dict) -> dict:
    """The organization's questions answered, checked; file answers become attachments."""
    out = {}
    questions = organization.application_questions.filter(removed_at__isnull=True)
    for q in questions:
        value = given.get(str(q.pk), given.get(q.pk))
        label = f"{organization.name}: {q.label}"
        entry = {"label": q.label, "kind": q.kind, "answer": ""}
        if q.kind == ApplicationQuestion.Kind.FILE:
            if value:
                entry["attachment_id"] = attachment_store(provider=provider, upload=value).pk
                entry["answer"] = entry["file_name"] = getattr(value, "name", "file.pdf")
        elif q.kind == ApplicationQuestion.Kind.YES_NO:
            if value not in (None, ""):
                entry["answer"] = "yes" if str(value).lower() in {"yes", "true", "1"} else "no"
        elif q.kind == ApplicationQuestion.Kind.CHOICE:
            if value and value not in q.choices:
                raise ServiceError(f"{label}: choose one of the listed answers.", field=f"q_{q.pk}")
            entry["answer"] = value or ""
        else:
            entry["answer"] = str(value or "").strip()
        if q.required and not entry["answer"]:
            raise ServiceError(f"{label}: an answer is required.", field=f"q_{q.pk}")
        out[str(q.pk)] = entry
    return out


def _check_requested_credit(organization: Organization, requested: dict) -> None:
    codes = set(organization.credit_types.values_list("code", flat=True))
    unknown = sorted(set(requested) - codes)
    if unknown:
        raise ServiceError(
            f"{organization.name} does not grant {', '.join(unknown)} "
            f"(it grants {', '.join(sorted(codes)) or 'no credit types yet'}).",
            field="requested_credit",
        )


def _provider_approved(provider, organization) -> bool:
    return Submission.objects.filter(
        organization=organization,
        provider=provider,
        kind=Submission.Kind.PROVIDER,
        status=Submission.Status.APPROVED,
    ).exists()


def _policy(organization) -> ReviewPolicy:
    policy = ReviewPolicy.objects.filter(organization=organization).first()
    return policy or ReviewPolicy(organization=organization)


@transaction.atomic
def application_submit(
    *,
    actor: Actor,
    application: CourseApplication,
    organizations: list[Organization],
    answers: dict[int, dict] | None = None,
    previous: Submission | None = None,
) -> list[Submission]:
    """One submission per organization, each with a snapshot of the application as it is
    now. ``previous`` is a denied submission this one tries again."""
    missing = application_problems(application)
    if missing:
        field, message = next(iter(missing.items()))
        raise ServiceError(f"The application is not complete: {message}", field=field)
    if not organizations:
        raise ServiceError("Choose at least one organization.", field="organizations")
    if previous is not None:
        if previous.status != Submission.Status.DENIED or hasattr(previous, "next"):
            raise ServiceError("Only a denied submission can be tried again, once.", code="state")
        if previous.provider_id != application.provider_id or [previous.organization] != list(
            organizations
        ):
            raise ServiceError("Try again at the organization that denied it.", code="state")
    provider = application.provider
    snapshot = _application_state(application)
    out = []
    for org in organizations:
        if org.kind != Organization.Kind.ISSUING:
            raise ServiceError(f"{org.name} does not review courses.", field="organizations")
        if _policy(org).require_provider_approval and not _provider_approved(provider, org):
            raise ServiceError(
                f"{org.name} approves providers first: ask for approval as a provider.",
                field="organizations",
                code="state",
            )
        _check_requested_credit(org, application.requested_credit)
        org_answers = _answers(org, provider, (answers or {}).get(org.pk, {}))
        out.append(
            _submission_open(
                actor=actor,
                organization=org,
                provider=provider,
                kind=Submission.Kind.COURSE,
                title=application.title,
                application=application,
                snapshot=snapshot,
                answers=org_answers,
                previous=previous,
            )
        )
    return out


@transaction.atomic
def provider_approval_request(
    *, actor: Actor, provider: Organization, organization: Organization, answers: dict | None = None
) -> Submission:
    """Ask an organization that approves providers first; reviewed like a course."""
    if organization.kind != Organization.Kind.ISSUING:
        raise ServiceError(f"{organization.name} does not review providers.")
    if Submission.objects.filter(
        organization=organization,
        provider=provider,
        kind=Submission.Kind.PROVIDER,
        status__in=[*Submission.DECIDABLE, Submission.Status.CHANGES_REQUESTED, "approved"],
    ).exists():
        raise ServiceError("A request is already open or approved.", code="duplicate")
    snapshot = {
        "name": provider.name,
        "members": [m.user.email for m in provider.memberships.active().select_related("user")],
    }
    return _submission_open(
        actor=actor,
        organization=organization,
        provider=provider,
        kind=Submission.Kind.PROVIDER,
        title=f"Provider approval: {provider.name}",
        application=None,
        snapshot=snapshot,
        answers=_answers(organization, provider, answers or {}),
        previous=None,
    )


def _submission_open(*, actor, organization, provider, kind, title, application, snapshot,
                     answers, previous) -> Submission:  # fmt: skip
    now = timezone.now()
    sub = Submission(
        organization=organization,
        provider=provider,
        kind=kind,
        application=application,
        previous=previous,
        title=title[:300],
        submitted_by=actor.user,
        submitted_at=now,
        last_submitted_at=now,
    )
    sub.full_clean(exclude=["submitted_by", "application", "previous"])
    sub.save()
    SubmissionRound.objects.create(
        submission=sub, number=1, snapshot=snapshot, answers=answers, submitted_at=now
    )
    audit_record(
        actor=actor,
        action="submission.submitted",
        obj=sub,
        organization=organization,
        after={"provider": provider.name, "kind": kind, "previous": previous and previous.pk},
    )
    webhooks_emit(
        organization=organization, type="submission.submitted", payload=lambda: submission_data(sub)
    )
    _notify_org(sub, "submitted")
    return sub


@transaction.atomic
def submission_resubmit(*, actor: Actor, submission: Submission) -> Submission:
    """After changes were requested: the application as it is now becomes the next round."""
    app = submission.application
    if app is not None:
        missing = application_problems(app)
        if missing:
            raise ServiceError(f"The application is not complete: {next(iter(missing.values()))}")
        _check_requested_credit(submission.organization, app.requested_credit)
    next_round = submission.round + 1
    now = timezone.now()
    changed = Submission.objects.filter(
        pk=submission.pk, status=Submission.Status.CHANGES_REQUESTED
    ).update(status=Submission.Status.SUBMITTED, round=next_round, last_submitted_at=now)
    if not changed:
        raise ServiceError("Only a submission with changes requested is sent again.", code="state")
    previous_round = submission.current_round()
    snapshot = _application_state(app) if app else previous_round.snapshot
    SubmissionRound.objects.create(
        submission=submission,
        number=next_round,
        snapshot=snapshot,
        answers=previous_round.answers,
        submitted_at=now,
    )
    submission.refresh_from_db()
    audit_record(
        actor=actor,
        action="submission.resubmitted",
        obj=submission,
        organization=submission.organization,
        after={"round": next_round},
    )
    webhooks_emit(
        organization=submission.organization,
        type="submission.submitted",
        payload=lambda: submission_data(submission),
    )
    _notify_org(submission, "resubmitted")
    return submission


# --- Review ----------------------------------------------------------------------------------


def _reviewer_memberships(organization):
    return Membership.objects.active().filter(
        organization=organization, role__in=[Role.ADMIN, Role.REVIEWER]
    )


@transaction.atomic
def submission_assign(*, actor: Actor, submission: Submission, reviewers: list) -> Submission:
    allowed = set(_reviewer_memberships(submission.organization).values_list("user_id", flat=True))
    if any(r.pk not in allowed for r in reviewers):
        raise ServiceError("Only the organization's reviewers can be assigned.", field="reviewers")
    before = sorted(submission.reviewers.values_list("email", flat=True))
    submission.reviewers.set(reviewers)
    Submission.objects.filter(pk=submission.pk, status=Submission.Status.SUBMITTED).update(
        status=Submission.Status.IN_REVIEW
    )
    submission.refresh_from_db()
    added = [r for r in reviewers if r.email not in before]
    audit_record(
        actor=actor,
        action="submission.assigned",
        obj=submission,
        organization=submission.organization,
        before={"reviewers": before},
        after={"reviewers": sorted(r.email for r in reviewers)},
    )
    for reviewer in added:
        _send(submission, "assigned", to=[reviewer.email])
    return submission


@transaction.atomic
def submission_comment(
    *, actor: Actor, submission: Submission, body: str, internal: bool, from_provider: bool = False
) -> SubmissionComment:
    body = (body or "").strip()
    if not body:
        raise ServiceError("Write a comment.", field="body")
    comment = SubmissionComment.objects.create(
        submission=submission,
        author=actor.user,
        author_label=str(actor)[:200],
        internal=internal and not from_provider,
        body=body,
        round=submission.round,
    )
    audit_record(
        actor=actor,
        action="submission.commented",
        obj=submission,
        organization=submission.organization,
        after={"comment": comment.pk, "internal": comment.internal},
    )
    if from_provider:
        _notify_org(submission, "provider_comment", comment=comment)
    elif not comment.internal:
        _send(submission, "comment", to=_provider_emails(submission), comment=comment)
    return comment


def _components_for(organization, credit: dict) -> dict[CreditType, Decimal]:
    types = {ct.code: ct for ct in CreditType.objects.filter(organization=organization)}
    out = {}
    for code, amount in credit.items():
        code = str(code).strip().upper()
        if code not in types:
            raise ServiceError(f"{organization.name} has no credit type {code}.", field="credit")
        try:
            value = Decimal(str(amount))
        except ArithmeticError:
            raise ServiceError(f"{code}: {amount} is not an amount.", field="credit")
        if value <= 0:
            raise ServiceError(f"{code}: the amount must be more than 0.", field="credit")
        out[types[code]] = value
    if not out:
        raise ServiceError("Approve at least one credit type.", field="credit")
    limits = _policy(organization).max_credit
    for ct, value in out.items():
        limit = limits.get(ct.code)
        if limit is not None and value > Decimal(str(limit)):
            raise ServiceError(
                f"{ct.code}: at most {limit} {ct.unit} per course here (asked {value}).",
                field="credit",
                code="over_limit",
            )
    return out


@transaction.atomic
def submission_decide(
    *,
    actor: Actor,
    submission: Submission,
    decision: str,
    reason: str = "",
    credit: dict | None = None,
    active_from=None,
    active_until=None,
) -> Submission:
    """Request changes, approve or deny. Two reviewers deciding at once: the row lock makes
    the second wait, then find the submission decided and be told so."""
    D, S = ReviewDecision.Decision, Submission.Status
    if decision not in D.values:
        raise ServiceError("Choose a decision.", field="decision")
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if not locked.is_decidable:
        raise ServiceError(
            f"This submission is already {locked.get_status_display().lower()}; "
            "nothing was changed.",
            code="state",
        )
    reason = (reason or "").strip()
    if decision in (D.DENY, D.REQUEST_CHANGES) and not reason:
        raise ServiceError("Say why: the provider reads it.", field="reason")
    components = {}
    if decision == D.APPROVE and locked.kind == Submission.Kind.COURSE:
        components = _components_for(locked.organization, credit or {})
        if active_from is None:
            raise ServiceError("Give the first completion date.", field="active_from")
        if active_until and active_until < active_from:
            raise ServiceError("The validity ends before it starts.", field="active_until")
    record = ReviewDecision.objects.create(
        submission=locked,
        reviewer=actor.user,
        reviewer_label=str(actor)[:200],
        decision=decision,
        round=locked.round,
        reason=reason,
        approved_credit={ct.code: str(v) for ct, v in components.items()},
        active_from=active_from,
        active_until=active_until,
    )
    if decision == D.APPROVE and _policy(locked.organization).two_reviewers:
        earlier = locked.decisions.filter(round=locked.round, decision=D.APPROVE).exclude(
            pk=record.pk
        )
        if actor.user is not None:
            earlier = earlier.exclude(reviewer=actor.user)
        if not earlier.exists():
            # The first of two approvals: recorded, the submission waits for a second reviewer.
            Submission.objects.filter(pk=locked.pk).update(status=S.IN_REVIEW)
            audit_record(
                actor=actor,
                action="submission.approval_recorded",
                obj=locked,
                organization=locked.organization,
                after={"round": locked.round, "credit": record.approved_credit},
            )
            _notify_org(locked, "first_approval")
            submission.refresh_from_db()
            return submission
    status = {D.APPROVE: S.APPROVED, D.DENY: S.DENIED, D.REQUEST_CHANGES: S.CHANGES_REQUESTED}[
        decision
    ]
    fields = {"status": status, "decision_reason": reason}
    if status != S.CHANGES_REQUESTED:
        fields["decided_at"] = timezone.now()
    if decision == D.APPROVE:
        fields["approved_credit"] = record.approved_credit
        if locked.kind == Submission.Kind.COURSE:
            snap = locked.current_round().snapshot
            course = course_create(
                actor=actor,
                organization=locked.organization,
                title=snap["title"],
                description=snap.get("description", ""),
                delivery_format=snap.get("delivery_format", Course.Format.SELF_PACED),
                active_from=active_from,
                active_until=active_until,
                components=components,
            )
            fields["course"] = course
    # The conditional UPDATE is the last line: it changes nothing unless still decidable.
    if not Submission.objects.filter(pk=locked.pk, status__in=Submission.DECIDABLE).update(
        **fields
    ):
        raise ServiceError("This submission was decided meanwhile.", code="state")
    submission.refresh_from_db()
    audit_record(
        actor=actor,
        action=f"submission.{status}",
        obj=submission,
        organization=submission.organization,
        before={"status": locked.status},
        after={
            "status": status,
            "reason": reason,
            "credit": record.approved_credit,
            "course_id": submission.course.course_id if submission.course else None,
        },
    )
    if status in (S.APPROVED, S.DENIED):
        webhooks_emit(
            organization=submission.organization,
            type=f"submission.{status}",
            payload=lambda: submission_data(submission),
        )
    _send(submission, status, to=_provider_emails(submission))
    return submission


# --- E-mail ----------------------------------------------------------------------------------


def _provider_emails(submission: Submission) -> list[str]:
    emails = set(
        Membership.objects.active()
        .filter(organization=submission.provider, role=Role.ADMIN)
        .values_list("user__email", flat=True)
    )
    if submission.submitted_by_id:
        emails.add(submission.submitted_by.email)
    return sorted(emails)


def _notify_org(submission: Submission, event: str, **extra) -> None:
    """The assigned reviewers, or every reviewer and admin while nobody is assigned."""
    emails = sorted(submission.reviewers.values_list("email", flat=True))
    if not emails:
        emails = sorted(
            _reviewer_memberships(submission.organization).values_list("user__email", flat=True)
        )
    _send(submission, event, to=emails, **extra)


PROVIDER_EVENTS = {"comment", "changes_requested", "approved", "denied"}


def _send(submission: Submission, event: str, *, to: list[str], **extra) -> None:
    for email in to:
        outbox_enqueue(
            to=email,
            template="submission_notice",
            organization=submission.organization,
            kind=f"submission_{event}",
            context={
                "submission": submission,
                "event": event,
                "for_provider": event in PROVIDER_EVENTS,
                **extra,
            },
        )


# --- Crib sheets and instruction text ----------------------------------------------------------


@transaction.atomic
def crib_sheet_add(
    *, actor: Actor, organization: Organization, audience: str, title: str, upload, order: int = 0
) -> CribSheet:
    if audience not in Audience.values:
        raise ServiceError("Choose who the sheet is for.", field="audience")
    if not (title or "").strip():
        raise ServiceError("Give the sheet a title.", field="title")
    data = pdf_check(upload)
    sheet = CribSheet(
        organization=organization,
        audience=audience,
        title=title.strip()[:200],
        order=order,
        size=len(data),
    )
    sheet.file.save("sheet.pdf", ContentFile(data), save=False)
    sheet.save()
    audit_record(
        actor=actor,
        action="crib_sheet.added",
        obj=sheet,
        organization=organization,
        after={"title": sheet.title, "audience": audience, "order": order},
    )
    return sheet


@transaction.atomic
def crib_sheet_remove(*, actor: Actor, sheet: CribSheet) -> None:
    sheet.removed_at = timezone.now()
    sheet.save(update_fields=["removed_at"])
    audit_record(
        actor=actor,
        action="crib_sheet.removed",
        obj=sheet,
        organization=sheet.organization,
        before={"title": sheet.title, "audience": sheet.audience},
    )


@transaction.atomic
def instruction_text_set(
    *, actor: Actor, organization: Organization, area: str, markdown: str
) -> InstructionText:
    if area not in InstructionText.Area.values:
        raise ServiceError("Unknown area.", field="area")
    problems = markdown_problems(markdown)
    if problems:
        raise ServiceError(" ".join(problems), field="markdown")
    text, _ = InstructionText.objects.get_or_create(organization=organization, area=area)
    before = text.markdown
    text.markdown = markdown.strip()
    text.updated_at = timezone.now()
    text.save()
    audit_record(
        actor=actor,
        action="instruction_text.updated",
        obj=text,
        organization=organization,
        before={"area": area, "markdown": before},
        after={"area": area, "markdown": text.markdown},
    )
    return text


@transaction.atomic
def review_policy_set(*, actor: Actor, organization: Organization, **fields) -> ReviewPolicy:
    policy, _ = ReviewPolicy.objects.get_or_create(organization=organization)
    before = {f: getattr(policy, f) for f in fields}
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
    audit_record(
        actor=actor,
        action="review_policy.updated",
        obj=organization,
        organization=organization,
        before=before,
        after=fields,
    )
    return policy


@transaction.atomic
def question_add(*, actor: Actor, organization: Organization, **fields) -> ApplicationQuestion:
    question = ApplicationQuestion(organization=organization, **fields)
    question.full_clean()
    question.save()
    audit_record(
        actor=actor,
        action="application_question.added",
        obj=question,
        organization=organization,
        after={"label": question.label, "kind": question.kind, "required": question.required},
    )
    return question


@transaction.atomic
def question_remove(*, actor: Actor, question: ApplicationQuestion) -> None:
    question.removed_at = timezone.now()
    question.save(update_fields=["removed_at"])
    audit_record(
        actor=actor,
        action="application_question.removed",
        obj=question,
        organization=question.organization,
        before={"label": question.label},
    )
