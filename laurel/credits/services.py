"""Workflows of the credit ledger: entry, delivery, the holder's answer, corrections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from laurel.accounts.models import Organization, normalize_email
from laurel.accounts.services import ServiceError, connection_connect, connection_invite
from laurel.audit.services import Actor, audit_record, audit_record_changes, audit_record_many
from laurel.catalog.models import Course
from laurel.credits.models import (
    Credit,
    CreditComponent,
    Dashboard,
    DashboardMinimum,
    SelfReport,
)
from laurel.integrations.events import credit_data
from laurel.integrations.services import webhooks_emit, webhooks_emit_credits
from laurel.lib import emails, ratelimit
from laurel.notifications.services import outbox_enqueue, unsubscribe_url

CENT = Decimal("0.01")


class DuplicateCredit(ServiceError):
    code = "duplicate"

    def __init__(self, existing: Credit):
        super().__init__(
            "This credit was already entered: same course, e-mail and completion date.",
            code="duplicate",
        )
        self.existing = existing


def course_activity_key(course: Course) -> str:
    return f"course:{course.pk}"


def verified_user_for_email(email: str):
    """The account that has verified ``email``, if any (allauth keeps one verified owner)."""
    address = (
        EmailAddress.objects.filter(email__iexact=email, verified=True)
        .select_related("user")
        .first()
    )
    return address.user if address else None


def earned_components(
    course: Course, amount_earned: Decimal | None, credit_type_code: str | None = None
) -> list[tuple]:
    """(credit type, offered, earned) for each of the course's components.

    Partial credit: with a credit type, that component earns ``amount_earned``; without one,
    every component is scaled by ``amount_earned`` / total offered (documented in the help).
    """
    components = [(c.credit_type, c.amount) for c in course.components.all()]
    if amount_earned is None:
        return [(ct, amt, amt) for ct, amt in components]
    if amount_earned < 0:
        raise ServiceError("The amount earned cannot be negative.", field="amount_earned")
    if credit_type_code:
        code = credit_type_code.strip().upper()
        if code not in {ct.code for ct, _ in components}:
            raise ServiceError(
                f"{course.course_id} does not grant {code} credit.", field="credit_type"
            )
        out = []
        for ct, amt in components:
            if ct.code == code:
                if amount_earned > amt:
                    raise ServiceError(
                        f"At most {amt.normalize():f} {code} can be earned.", field="amount_earned"
                    )
                out.append((ct, amt, amount_earned))
            else:
                out.append((ct, amt, amt))
        return out
    total = sum((amt for _, amt in components), Decimal(0))
    if amount_earned > total:
        raise ServiceError(
            f"At most {total.normalize():f} can be earned for this course.", field="amount_earned"
        )
    ratio = amount_earned / total if total else Decimal(0)
    return [(ct, amt, (amt * ratio).quantize(CENT, ROUND_HALF_UP)) for ct, amt in components]


@dataclass(frozen=True)
class CreditEntry:
    course: Course
    email: str
    completion_date: date
    amount_earned: Decimal | None = None
    credit_type_code: str | None = None
    name: str = ""
    note: str = ""


def credit_validate(*, organization: Organization, entry: CreditEntry) -> None:
    """The rules every entry path shares; raises ServiceError with the field at fault."""
    if entry.course.organization_id != organization.pk:
        raise ServiceError("No course with that ID in this organization.", field="course_id")
    try:
        # The importer's definition of an address, so every path agrees (no IP literals).
        emails.normalize_email(entry.email)
    except emails.EmailProblem as exc:
        raise ServiceError(str(exc), field="email") from None
    if entry.completion_date > organization.today():
        raise ServiceError("The completion date cannot be in the future.", field="completion_date")
    reason = entry.course.inactive_reason(entry.completion_date)
    if reason:
        raise ServiceError(reason, field="completion_date")


def _live_duplicate(organization, key: str, email: str, completion_date) -> Credit | None:
    """The live credit the duplicate rule matches: same organization, activity, e-mail, date."""
    return (
        Credit.objects.filter(
            organization=organization,
            activity_key=key,
            recipient_email=email,
            completion_date=completion_date,
        )
        .exclude(status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED])
        .first()
    )


@transaction.atomic
def credit_enter(
    *,
    actor: Actor,
    organization: Organization,
    entry: CreditEntry,
    source: str = Credit.Source.SINGLE,
    source_ref: str = "",
    notify: bool = True,
) -> Credit:
    """Record one credit and deliver it: offered to the verified owner of the address, or
    held for it. Raises DuplicateCredit when the same credit is live already."""
    credit_validate(organization=organization, entry=entry)
    email = normalize_email(entry.email)
    key = course_activity_key(entry.course)
    existing = _live_duplicate(organization, key, email, entry.completion_date)
    if existing:
        raise DuplicateCredit(existing)
    components = earned_components(entry.course, entry.amount_earned, entry.credit_type_code)
    holder = verified_user_for_email(email)
    now = timezone.now()
    credit = Credit(
        organization=organization,
        course=entry.course,
        activity_key=key,
        title=entry.course.title,
        recipient_email=email,
        recipient_name=entry.name.strip(),
        holder=holder,
        completion_date=entry.completion_date,
        status=Credit.Status.OFFERED if holder else Credit.Status.HELD,
        offered_at=now if holder else None,
        source=source,
        source_ref=source_ref,
        note=entry.note.strip(),
        created_by=actor.user,
    )
    credit.full_clean(exclude=["dashboard"], validate_constraints=False)
    try:
        with transaction.atomic():
            credit.save()
    except IntegrityError:
        # Lost a race with an identical entry: report it like any duplicate.
        existing = _live_duplicate(organization, key, email, entry.completion_date)
        if existing:
            raise DuplicateCredit(existing)
        raise
    CreditComponent.objects.bulk_create(
        CreditComponent(credit=credit, credit_type=ct, amount_offered=offered, amount_earned=earned)
        for ct, offered, earned in components
    )
    audit_record(
        actor=actor,
        action="credit.entered",
        obj=credit,
        organization=organization,
        after={
            "status": credit.status,
            "email": email,
            "source": source,
            "components": {ct.code: str(e) for ct, _, e in components},
        },
    )
    _, newly_invited = connection_invite(actor=actor, organization=organization, email=email)
    webhooks_emit(
        organization=organization,
        type=f"credit.{credit.status}",
        payload=lambda credit=credit: credit_data(credit),
    )
    # Issued first, so one e-mail announces the credit and its certificate together.
    certificate = certificate_issue_for_credit(credit, actor=actor)
    if notify:
        credit_notify(credit=credit, invite=newly_invited, certificate=certificate)
    return credit


# --- credit for other activities (events, sessions) --------------------------------------


@dataclass(frozen=True)
class ActivityEntry:
    """A credit for an activity that is not a course (an event, one of its sessions):
    ``activity_key`` ("event:7", "session:12") carries the duplicate rule."""

    activity_key: str
    title: str
    email: str
    completion_date: date
    components: tuple  # ((credit type, amount offered, amount earned), ...)
    name: str = ""
    note: str = ""
    source_ref: str = ""


def _activity_credit(actor, organization, entry: ActivityEntry, email, holder_id, source, now):
    return Credit(
        organization=organization,
        activity_key=entry.activity_key,
        title=entry.title[:300],
        recipient_email=email,
        recipient_name=entry.name.strip()[:200],
        holder_id=holder_id,
        completion_date=entry.completion_date,
        status=Credit.Status.OFFERED if holder_id else Credit.Status.HELD,
        offered_at=now if holder_id else None,
        source=source,
        source_ref=entry.source_ref,
        note=entry.note.strip(),
        created_by=actor.user,
        created_at=now,
    )


def _activity_validate(organization, entry: ActivityEntry) -> str:
    try:
        email = emails.normalize_email(entry.email)
    except emails.EmailProblem as exc:
        raise ServiceError(str(exc), field="email") from None
    if entry.completion_date > organization.today():
        raise ServiceError("The completion date cannot be in the future.", field="completion_date")
    return email


@transaction.atomic
def credit_enter_activity(
    *,
    actor: Actor,
    organization: Organization,
    entry: ActivityEntry,
    source: str = Credit.Source.ATTENDANCE,
    notify: bool = True,
) -> Credit:
    """``credit_enter`` for an event or session: offered to the verified owner of the
    address or held for it; DuplicateCredit when the same credit is live already."""
    email = _activity_validate(organization, entry)
    existing = _live_duplicate(organization, entry.activity_key, email, entry.completion_date)
    if existing:
        raise DuplicateCredit(existing)
    holder = verified_user_for_email(email)
    credit = _activity_credit(
        actor, organization, entry, email, holder.pk if holder else None, source, timezone.now()
    )
    try:
        with transaction.atomic():
            credit.save()
    except IntegrityError:
        existing = _live_duplicate(organization, entry.activity_key, email, entry.completion_date)
        if existing:
            raise DuplicateCredit(existing)
        raise
    CreditComponent.objects.bulk_create(
        CreditComponent(credit=credit, credit_type=ct, amount_offered=offered, amount_earned=earned)
        for ct, offered, earned in entry.components
    )
    audit_record(
        actor=actor,
        action="credit.entered",
        obj=credit,
        organization=organization,
        after={
            "status": credit.status,
            "email": email,
            "source": source,
            "components": {ct.code: str(e) for ct, _, e in entry.components},
        },
    )
    _, newly_invited = connection_invite(actor=actor, organization=organization, email=email)
    webhooks_emit(
        organization=organization,
        type=f"credit.{credit.status}",
        payload=lambda credit=credit: credit_data(credit),
    )
    if notify:
        credit_notify(credit=credit, invite=newly_invited)
    return credit


@transaction.atomic
def credits_enter_activity_many(
    *,
    actor: Actor,
    organization: Organization,
    entries: list[ActivityEntry],
    source: str = Credit.Source.ATTENDANCE,
) -> list[Credit]:
    """``credit_enter_activity`` for many entries in a few statements, without e-mail (the
    caller sends its own, one per person). Returns one credit per entry, in order: the new
    one, or the live duplicate that was already there (``credit._duplicate`` is True)."""
    from laurel.accounts.models import Connection
    from laurel.imports.bulk import verified_holders

    if not entries:
        return []
    cleaned = [(_activity_validate(organization, e), e) for e in entries]
    keys = {e.activity_key for _, e in cleaned}
    live = {
        (c.activity_key, c.recipient_email, c.completion_date): c
        for c in Credit.objects.filter(
            organization=organization,
            activity_key__in=keys,
            recipient_email__in={email for email, _ in cleaned},
        ).exclude(status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED])
    }
    holders = verified_holders({email for email, _ in cleaned})
    now = timezone.now()
    out: list[Credit | None] = []
    new: list[tuple[Credit, ActivityEntry]] = []
    for email, entry in cleaned:
        key = (entry.activity_key, email, entry.completion_date)
        if key in live:
            live[key]._duplicate = True
            out.append(live[key])
            continue
        credit = _activity_credit(
            actor, organization, entry, email, holders.get(email), source, now
        )
        credit._duplicate = False
        live[key] = credit
        new.append((credit, entry))
        out.append(credit)
    from laurel.imports.bulk import insert_objects

    insert_objects(Credit, [c for c, _ in new])
    insert_objects(
        CreditComponent,
        [
            CreditComponent(
                credit_id=c.pk, credit_type=ct, amount_offered=offered, amount_earned=earned
            )
            for c, e in new
            for ct, offered, earned in e.components
        ],
    )
    from laurel.audit.models import AuditEvent

    insert_objects(
        AuditEvent,
        [
            AuditEvent(
                organization=organization,
                actor=actor.user,
                actor_label=actor.label,
                ip=actor.ip,
                action="credit.entered",
                object_type="credits.credit",
                object_id=str(c.pk),
                object_repr=str(c)[:200],
                after={
                    "status": c.status,
                    "email": c.recipient_email,
                    "source": source,
                    "components": {ct.code: str(earned) for ct, _, earned in e.components},
                },
                at=now,
            )
            for c, e in new
        ],
        batch_size=2000,
    )
    emails_new = {c.recipient_email for c, _ in new}
    known = set(
        Connection.objects.filter(organization=organization, email__in=emails_new).values_list(
            "email", flat=True
        )
    )
    invited = [
        Connection(organization=organization, email=e, invited_at=now)
        for e in sorted(emails_new - known)
    ]
    Connection.objects.bulk_create(invited, batch_size=2000, ignore_conflicts=True)
    if invited:
        invited = list(
            Connection.objects.filter(
                organization=organization, email__in=[c.email for c in invited]
            )
        )
        audit_record_many(
            actor=actor, action="connection.invited", objects=invited, organization=organization
        )
    webhooks_emit_credits(
        organization=organization, events=[(f"credit.{c.status}", c.pk) for c, _ in new]
    )
    return out


def credit_notify(
    *,
    credit: Credit,
    invite: bool = False,
    dedupe_key: str | None = None,
    certificate=None,
) -> None:
    """E-mail the recipient: an offered credit to answer, or a held one to claim (with its
    certificate when one was issued at entry, and the connection invitation when new)."""
    from laurel.accounts.services import connection_invitation_url

    template = "credit_offered" if credit.status == Credit.Status.OFFERED else "credit_held"
    outbox_enqueue(
        to=credit.recipient_email,
        template=template,
        organization=credit.organization,
        context={
            "credit": credit,
            "components": list(credit.components.all()),
            "invite": invite,
            "invitation_url": connection_invitation_url(
                organization=credit.organization, email=credit.recipient_email
            )
            if invite
            else "",
            "certificate": certificate,
            "preferences_url": unsubscribe_url(
                email=credit.recipient_email, organization=credit.organization
            ),
        },
        dedupe_key=dedupe_key,
    )


INVITATION_REMINDERS = (timedelta(days=7), timedelta(days=21))


def invitation_reminders_send(*, now=None) -> int:
    """Remind an address that never signed up of its held credit: at most twice (a week and
    three weeks after the invitation), each once (dedupe keys), then never again."""
    from laurel.accounts.models import Connection

    now = now or timezone.now()
    first, last = INVITATION_REMINDERS
    waiting = Credit.objects.filter(
        organization=OuterRef("organization"),
        recipient_email=OuterRef("email"),
        status=Credit.Status.HELD,
    )
    connections = (
        Connection.objects.filter(
            status=Connection.Status.INVITED, holder__isnull=True, invited_at__lte=now - first
        )
        .filter(Exists(waiting))
        .select_related("organization")
        .order_by("pk")[:2000]
    )
    sent = 0
    for conn in connections:
        number = 2 if conn.invited_at <= now - last else 1
        with transaction.atomic():
            credits = list(
                Credit.objects.filter(
                    organization=conn.organization,
                    recipient_email=conn.email,
                    status=Credit.Status.HELD,
                )[:20]
            )
            queued = outbox_enqueue(
                to=conn.email,
                template="invitation_reminder",
                organization=conn.organization,
                context={
                    "email": conn.email,
                    "credits": credits,
                    "number": number,
                    "preferences_url": unsubscribe_url(
                        email=conn.email, organization=conn.organization
                    ),
                },
                dedupe_key=f"invite-reminder:{conn.pk}:{number}",
            )
            sent += queued is not None
    return sent


@transaction.atomic
def credit_resend(*, actor: Actor, credit: Credit) -> None:
    """Send the credit's notification again; raises ``RateLimited`` past a few an hour, so
    nobody can mail-bomb a recipient through one credit."""
    if not credit.can_be_resent():
        raise ServiceError("Only held or offered credits can be sent again.", code="state")
    ratelimit.check("credit_resend", f"credit:{credit.pk}")
    credit_notify(credit=credit)
    audit_record(
        actor=actor,
        action="credit.notification_resent",
        obj=credit,
        organization=credit.organization,
    )


@transaction.atomic
def claims_deliver_for_email(*, user, email: str) -> int:
    """Offer every credit held for ``email`` to ``user``, who has just verified it."""
    email = normalize_email(email)
    ids = list(
        Credit.objects.select_for_update()
        .filter(recipient_email=email, status=Credit.Status.HELD)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    now = timezone.now()
    Credit.objects.filter(pk__in=ids, status=Credit.Status.HELD).update(
        status=Credit.Status.OFFERED, holder=user, offered_at=now
    )
    credits = list(Credit.objects.filter(pk__in=ids).select_related("organization"))
    for org_id in {c.organization_id for c in credits}:
        mine = [c for c in credits if c.organization_id == org_id]
        audit_record_many(
            actor=Actor(user=user),
            action="credit.offered",
            objects=mine,
            organization=mine[0].organization,
            after={"status": "offered", "via": "email_verified"},
        )
        for credit in mine:
            webhooks_emit(
                organization=credit.organization,
                type="credit.offered",
                payload=lambda credit=credit: credit_data(credit),
            )
    return len(ids)


def _transition(credit: Credit, *, allowed: list[str], holder=None, **changes) -> None:
    """Conditional UPDATE: only from an allowed status (and holder); refuse otherwise."""
    query = Credit.objects.filter(pk=credit.pk, status__in=allowed)
    if holder is not None:
        query = query.filter(holder=holder)
    if query.update(**changes) != 1:
        raise ServiceError("This credit has changed meanwhile; reload the page.", code="state")
    for field, value in changes.items():
        setattr(credit, field, value)


def _own_open_dashboard(holder, dashboard: Dashboard) -> Dashboard:
    if dashboard.holder_id != holder.pk or dashboard.archived_at is not None:
        raise ServiceError("Choose one of your open dashboards.", field="dashboard")
    return dashboard


@transaction.atomic
def credit_accept(*, credit: Credit, holder, dashboard: Dashboard, notify: bool = True) -> Credit:
    """Accept an offered credit into one of the holder's dashboards; a certificate the
    course issues on acceptance is issued and (``notify``) e-mailed."""
    _own_open_dashboard(holder, dashboard)
    before = credit.snapshot()
    _transition(
        credit,
        allowed=[Credit.Status.OFFERED],
        holder=holder,
        status=Credit.Status.ACCEPTED,
        dashboard=dashboard,
        answered_at=timezone.now(),
    )
    connection_connect(
        organization=credit.organization, holder=holder, email=credit.recipient_email
    )
    audit_record(
        actor=Actor(user=holder),
        action="credit.accepted",
        obj=credit,
        organization=credit.organization,
        before=before,
        after=credit.snapshot(),
    )
    webhooks_emit(
        organization=credit.organization,
        type="credit.accepted",
        payload=lambda credit=credit: credit_data(credit),
    )
    # The holder is on the page, but a certificate is a document they keep: it is mailed.
    certificate_issue_for_credit(credit, actor=Actor(user=holder), notify=notify)
    programs_evaluate_for_holder(holder)
    return credit


@transaction.atomic
def credit_reject(*, credit: Credit, holder, reason: str = "") -> Credit:
    before = credit.snapshot()
    _transition(
        credit,
        allowed=[Credit.Status.OFFERED],
        holder=holder,
        status=Credit.Status.REJECTED,
        reject_reason=reason.strip()[:500],
        answered_at=timezone.now(),
    )
    audit_record(
        actor=Actor(user=holder),
        action="credit.rejected",
        obj=credit,
        organization=credit.organization,
        before=before,
        after={**credit.snapshot(), "reason": credit.reject_reason},
    )
    webhooks_emit(
        organization=credit.organization,
        type="credit.rejected",
        payload=lambda credit=credit: credit_data(credit),
    )
    return credit


@transaction.atomic
def credit_move(*, credit: Credit, holder, dashboard: Dashboard) -> Credit:
    _own_open_dashboard(holder, dashboard)
    before = credit.snapshot()
    _transition(credit, allowed=[Credit.Status.ACCEPTED], holder=holder, dashboard=dashboard)
    audit_record(
        actor=Actor(user=holder),
        action="credit.moved",
        obj=credit,
        organization=credit.organization,
        before=before,
        after=credit.snapshot(),
    )
    return credit


# --- The holder's bulk answers ---------------------------------------------------------------
# One set-based transaction per batch: a conditional UPDATE of every credit in it, the audit
# events, webhook events and (for acceptance) connections in a few inserts. Certificates due on
# acceptance are signed by a background task after the commit (~25 ms each: 2,000 credits
# signed one by one took a minute); the outcome equals answering the credits one by one.

BULK_BATCH = 1000


def _bulk_update(credits: list[Credit], *, allowed: str, holder, **changes) -> None:
    """Move every credit of the batch or none: a credit answered meanwhile (another tab)
    refuses the whole batch, as the one-by-one path does."""
    query = Credit.objects.filter(pk__in=[c.pk for c in credits], status=allowed, holder=holder)
    if query.update(**changes) != len(credits):
        raise ServiceError(
            "Some of these credits changed meanwhile; reload the page.", code="state"
        )


def _bulk_record(*, holder, action: str, changes, event: str | None = None) -> None:
    """Audit every (credit, before, after) and emit its webhook event, in a few inserts."""
    audit_record_changes(actor=Actor(user=holder), action=action, changes=changes)
    if event is None:
        return
    by_org: dict[int, list[int]] = {}
    for credit, _, _ in changes:
        by_org.setdefault(credit.organization_id, []).append(credit.pk)
    for organization in Organization.objects.filter(pk__in=by_org):
        events = [(event, pk) for pk in by_org[organization.pk]]
        webhooks_emit_credits(organization=organization, events=events)


def _batches(credits: list[Credit]):
    for start in range(0, len(credits), BULK_BATCH):
        yield credits[start : start + BULK_BATCH]


class Accepted(NamedTuple):
    credits: int
    # Certificates due on acceptance, signed by a background task after the commit.
    certificates_on_their_way: int


def credit_accept_many(*, credits: list[Credit], holder, dashboard: Dashboard) -> Accepted:
    """Accept offered credits into ``dashboard``, one transaction per batch; the
    certificates they are due are issued in the background after each commit."""
    _own_open_dashboard(holder, dashboard)
    on_their_way = 0
    for batch in _batches(credits):
        with transaction.atomic():
            now = timezone.now()
            befores = [c.snapshot() for c in batch]
            _bulk_update(
                batch,
                allowed=Credit.Status.OFFERED,
                holder=holder,
                status=Credit.Status.ACCEPTED,
                dashboard=dashboard,
                answered_at=now,
            )
            for c in batch:
                c.status, c.dashboard, c.answered_at = Credit.Status.ACCEPTED, dashboard, now
            pairs = {(c.organization_id, c.recipient_email) for c in batch}
            organizations = Organization.objects.in_bulk({pk for pk, _ in pairs})
            for pk, email in sorted(pairs):
                connection_connect(organization=organizations[pk], holder=holder, email=email)
            changes = [(c, b, c.snapshot()) for c, b in zip(batch, befores, strict=True)]
            _bulk_record(
                holder=holder, action="credit.accepted", changes=changes, event="credit.accepted"
            )
            on_their_way += certificates_issue_later(batch, actor=Actor(user=holder))
            programs_evaluate_for_holder(holder)
    return Accepted(len(credits), on_their_way)


def credit_reject_many(*, credits: list[Credit], holder, reason: str = "") -> int:
    """Reject offered credits with one reason, one transaction per batch."""
    reason = reason.strip()[:500]
    for batch in _batches(credits):
        with transaction.atomic():
            now = timezone.now()
            befores = [c.snapshot() for c in batch]
            _bulk_update(
                batch,
                allowed=Credit.Status.OFFERED,
                holder=holder,
                status=Credit.Status.REJECTED,
                reject_reason=reason,
                answered_at=now,
            )
            for c in batch:
                c.status, c.reject_reason, c.answered_at = Credit.Status.REJECTED, reason, now
            changes = [
                (c, b, {**c.snapshot(), "reason": reason})
                for c, b in zip(batch, befores, strict=True)
            ]
            _bulk_record(
                holder=holder, action="credit.rejected", changes=changes, event="credit.rejected"
            )
    return len(credits)


def credit_move_many(*, credits: list[Credit], holder, dashboard: Dashboard) -> int:
    """Move accepted credits into ``dashboard``; those already there are left alone."""
    _own_open_dashboard(holder, dashboard)
    credits = [c for c in credits if c.dashboard_id != dashboard.pk]
    for batch in _batches(credits):
        with transaction.atomic():
            befores = [c.snapshot() for c in batch]
            _bulk_update(batch, allowed=Credit.Status.ACCEPTED, holder=holder, dashboard=dashboard)
            for c in batch:
                c.dashboard = dashboard
            changes = [(c, b, c.snapshot()) for c, b in zip(batch, befores, strict=True)]
            _bulk_record(holder=holder, action="credit.moved", changes=changes)
    return len(credits)


@transaction.atomic
def credit_revoke(*, actor: Actor, credit: Credit, reason: str) -> Credit:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason; the recipient sees it.", field="reason")
    if not credit.can_be_revoked():
        raise ServiceError("This credit cannot be revoked.", code="state")
    before = credit.snapshot()
    _transition(
        credit,
        allowed=[Credit.Status.HELD, Credit.Status.OFFERED, Credit.Status.ACCEPTED],
        status=Credit.Status.REVOKED,
        revoked_at=timezone.now(),
        revoke_reason=reason[:500],
    )
    audit_record(
        actor=actor,
        action="credit.revoked",
        obj=credit,
        organization=credit.organization,
        before=before,
        after={**credit.snapshot(), "reason": credit.revoke_reason},
    )
    webhooks_emit(
        organization=credit.organization, type="credit.revoked", payload=lambda: credit_data(credit)
    )
    if credit.holder_id:
        outbox_enqueue(
            to=credit.recipient_email,
            template="credit_revoked",
            organization=credit.organization,
            context={"credit": credit},
        )
    certificate_revoke_for_credit(credit, actor=actor, reason=credit.revoke_reason)
    return credit


@transaction.atomic
def credit_void(*, actor: Actor, credit: Credit, reason: str) -> Credit:
    """Withdraw an orphan sent to a wrong address (never answered)."""
    if not credit.can_be_voided():
        raise ServiceError("Only credits nobody has answered can be voided.", code="state")
    before = credit.snapshot()
    _transition(
        credit,
        allowed=[Credit.Status.HELD, Credit.Status.OFFERED],
        status=Credit.Status.VOIDED,
        revoked_at=timezone.now(),
        revoke_reason=(reason or "Sent to a wrong address").strip()[:500],
    )
    audit_record(
        actor=actor,
        action="credit.voided",
        obj=credit,
        organization=credit.organization,
        before=before,
        after={**credit.snapshot(), "reason": credit.revoke_reason},
    )
    webhooks_emit(
        organization=credit.organization, type="credit.voided", payload=lambda: credit_data(credit)
    )
    certificate_revoke_for_credit(credit, actor=actor, reason=credit.revoke_reason)
    return credit


# --- Dashboards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirements:
    required_total: Decimal | None = None
    window_start: date | None = None
    window_end: date | None = None
    minimums: tuple[tuple[str, Decimal], ...] = ()


def _apply_requirements(dashboard: Dashboard, req: Requirements) -> None:
    if req.window_start and req.window_end and req.window_end < req.window_start:
        raise ServiceError("The window must end after it starts.", field="window_end")
    dashboard.required_total = req.required_total
    dashboard.window_start = req.window_start
    dashboard.window_end = req.window_end


DEFAULT_DASHBOARD_NAME = "My credits"


@transaction.atomic
def dashboard_default(*, holder) -> Dashboard:
    """The dashboard a credit goes to when the holder chose none: their only (or first) open
    one, else a new "My credits" (renamable like any other)."""
    existing = Dashboard.objects.for_holder(holder).open().order_by("created_at", "pk").first()
    if existing is not None:
        return existing
    return dashboard_create(holder=holder, name=DEFAULT_DASHBOARD_NAME)


@transaction.atomic
def dashboard_create(*, holder, name: str, requirements: Requirements | None = None) -> Dashboard:
    name = name.strip()[:120]
    if not name:
        raise ServiceError("Give the dashboard a name.", field="name")
    _refuse_same_name(holder, name)
    dashboard = Dashboard(holder=holder, name=name)
    _apply_requirements(dashboard, requirements or Requirements())
    dashboard.full_clean()
    dashboard.save()
    _set_minimums(dashboard, (requirements or Requirements()).minimums)
    audit_record(
        actor=Actor(user=holder),
        action="dashboard.created",
        obj=dashboard,
        after={"name": dashboard.name},
    )
    return dashboard


@transaction.atomic
def dashboard_update(
    *, holder, dashboard: Dashboard, name: str, requirements: Requirements
) -> Dashboard:
    if dashboard.holder_id != holder.pk:
        raise ServiceError("Not your dashboard.", code="not_found")
    name = name.strip()[:120]
    if not name:
        raise ServiceError("Give the dashboard a name.", field="name")
    _refuse_same_name(holder, name, exclude=dashboard)
    before = _dashboard_snapshot(dashboard)
    dashboard.name = name[:120]
    _apply_requirements(dashboard, requirements)
    dashboard.full_clean()
    dashboard.save()
    _set_minimums(dashboard, requirements.minimums)
    audit_record(
        actor=Actor(user=holder),
        action="dashboard.updated",
        obj=dashboard,
        before=before,
        after=_dashboard_snapshot(dashboard),
    )
    return dashboard


def _refuse_same_name(holder, name: str, exclude: Dashboard | None = None) -> None:
    """Two dashboards with one name would make "accept into" and transcripts ambiguous."""
    same = Dashboard.objects.for_holder(holder).filter(name__iexact=name)
    if exclude is not None:
        same = same.exclude(pk=exclude.pk)
    if same.exists():
        raise ServiceError(f"You already have a dashboard named “{name}”.", field="name")


def _dashboard_snapshot(dashboard: Dashboard) -> dict:
    return {
        "name": dashboard.name,
        "required_total": str(dashboard.required_total) if dashboard.required_total else None,
        "window": [str(dashboard.window_start or ""), str(dashboard.window_end or "")],
        "minimums": {m.credit_type_code: str(m.amount) for m in dashboard.minimums.all()},
    }


def _set_minimums(dashboard: Dashboard, minimums) -> None:
    dashboard.minimums.all().delete()
    DashboardMinimum.objects.bulk_create(
        DashboardMinimum(dashboard=dashboard, credit_type_code=code.strip().upper(), amount=amt)
        for code, amt in minimums
        if code.strip()
    )


@transaction.atomic
def dashboard_archive(*, holder, dashboard: Dashboard, archived: bool = True) -> Dashboard:
    if dashboard.holder_id != holder.pk:
        raise ServiceError("Not your dashboard.", code="not_found")
    dashboard.archived_at = timezone.now() if archived else None
    dashboard.save(update_fields=["archived_at"])
    audit_record(
        actor=Actor(user=holder),
        action="dashboard.archived" if archived else "dashboard.restored",
        obj=dashboard,
    )
    return dashboard


def certificate_issue_for_credit(credit: Credit, *, actor: Actor, notify: bool = False):
    """A credit's certificate follows its course's policy (on entry, on acceptance, never)."""
    from laurel.certificates import services as certificates

    return certificates.certificate_issue_for_credit(credit, actor=actor, notify=notify)


def certificates_issue_later(credits: list[Credit], *, actor: Actor) -> int:
    """Queue the certificates these accepted credits are due (course policy "on acceptance")
    for after the commit; returns how many are on their way."""
    from laurel.certificates import services as certificates

    return certificates.certificates_issue_for_credits_later(credits, actor=actor)


# --- Self-reported credit ---------------------------------------------------------------------

SELF_REPORT_MAX_LINES = 10


def _platform_credit_type(code: str, unit: str):
    """The organization-less credit type self-reported hours are counted in."""
    from laurel.catalog.models import CreditType

    try:
        with transaction.atomic():
            return CreditType.objects.get_or_create(
                organization=None, code=code, unit=unit, defaults={"name": code}
            )[0]
    except IntegrityError:  # made meanwhile by another report
        return CreditType.objects.get(organization=None, code=code, unit=unit)


@transaction.atomic
def self_report_create(
    *,
    holder,
    title: str,
    provider: str,
    completion_date: date,
    hours: dict[str, Decimal],
    dashboard: Dashboard | None = None,
    certificate=None,
) -> Credit:
    """Record CE the holder earned elsewhere: accepted into their locker at once, marked
    self-reported, issued by no organization. It counts toward a program's credit hours only
    once that program's staff approve it (``programs.services.credit_reviews_open``)."""
    from laurel.lib.uploads import document_problem

    title = " ".join((title or "").split())[:300]
    provider = " ".join((provider or "").split())[:200]
    if not title:
        raise ServiceError("Say what the activity was.", field="title")
    if not provider:
        raise ServiceError("Say who provided it.", field="provider")
    if completion_date > timezone.now().date() + timedelta(days=1):
        raise ServiceError("The completion date cannot be in the future.", field="completion_date")
    if completion_date < date(1900, 1, 1):
        raise ServiceError("Enter a completion date after 1900.", field="completion_date")
    lines = {}
    for code, amount in (hours or {}).items():
        code = (code or "").strip().upper()
        if not code:
            continue
        if not code.replace("_", "").isalnum() or not code[0].isalpha() or len(code) > 16:
            raise ServiceError(
                f"“{code}” is not a credit type code (letters, digits, _).", field="hours"
            )
        if amount is None or amount <= 0 or amount >= 1000:
            raise ServiceError(f"Enter the {code} hours, above 0 and below 1000.", field="hours")
        lines[code] = Decimal(amount).quantize(CENT, ROUND_HALF_UP)
    if not lines or len(lines) > SELF_REPORT_MAX_LINES:
        raise ServiceError("Enter the hours earned for at least one credit type.", field="hours")
    if dashboard is not None:
        dashboard = _own_open_dashboard(holder, dashboard)
    if certificate is not None:
        problem = document_problem(certificate)
        if problem:
            raise ServiceError(problem, field="certificate")
    if SelfReport.objects.filter(
        credit__holder=holder,
        credit__title__iexact=title,
        provider__iexact=provider,
        credit__completion_date=completion_date,
    ).exists():
        raise ServiceError(
            "You reported this activity for that date already.", field="title", code="duplicate"
        )
    now = timezone.now()
    credit = Credit(
        organization=None,
        activity_key="self_report",
        title=title,
        recipient_email=normalize_email(holder.email),
        recipient_name=holder.full_name,
        holder=holder,
        completion_date=completion_date,
        status=Credit.Status.ACCEPTED,
        source=Credit.Source.SELF_REPORT,
        dashboard=dashboard,
        created_by=holder,
        offered_at=now,
        answered_at=now,
    )
    credit.full_clean(exclude=["organization"])
    credit.save()
    CreditComponent.objects.bulk_create(
        CreditComponent(
            credit=credit,
            credit_type=_platform_credit_type(code, "hours"),
            amount_offered=amount,
            amount_earned=amount,
        )
        for code, amount in lines.items()
    )
    report = SelfReport(credit=credit, provider=provider)
    if certificate is not None:
        report.certificate.save(certificate.name, certificate, save=False)
    report.save()
    audit_record(
        actor=Actor(user=holder),
        action="credit.self_reported",
        obj=credit,
        after={
            "title": title,
            "provider": provider,
            "completion_date": str(completion_date),
            "hours": {k: str(v) for k, v in lines.items()},
            "dashboard": credit.dashboard_id,
        },
    )
    from laurel.programs.services import credit_reviews_open

    credit_reviews_open(holder=holder)
    return credit


def programs_evaluate_for_holder(holder) -> None:
    """An accepted credit may complete a requirement of the holder's programs."""
    from laurel.programs.services import enrollments_evaluate_for_holder

    enrollments_evaluate_for_holder(holder=holder)


def certificate_revoke_for_credit(credit: Credit, *, actor: Actor, reason: str) -> None:
    """A withdrawn credit takes its certificate with it."""
    from laurel.certificates import services as certificates

    certificates.certificate_revoke_for_credit(credit, actor=actor, reason=reason)


@transaction.atomic
def credit_reenter(*, actor: Actor, credit: Credit, email: str) -> Credit:
    """Void an orphan sent to a wrong address and enter the same credit for ``email``, in
    one step: the pair is entered anew as the credit-locker help tells staff to do."""
    email = normalize_email(email or "")
    if not email or email == credit.recipient_email:
        raise ServiceError("Give the corrected e-mail address.", field="email")
    if not credit.can_be_voided() or credit.course is None:
        raise ServiceError("Only a course credit nobody has answered can be entered again.")
    components = list(credit.components.all())
    offered = sum((c.amount_offered for c in components), Decimal(0))
    earned = sum((c.amount_earned for c in components), Decimal(0))
    credit_void(actor=actor, credit=credit, reason=f"Entered again for {email}")
    return credit_enter(
        actor=actor,
        organization=credit.organization,
        entry=CreditEntry(
            course=credit.course,
            email=email,
            completion_date=credit.completion_date,
            amount_earned=None if earned == offered else earned,
            name=credit.recipient_name,
            note=credit.note,
        ),
        source=credit.source,
        source_ref=credit.source_ref,
    )
