"""Workflows of recognition: progress (one service for imports, the API and Canvas),
ceremonies and certificate requests, pins, and certificates for course-takers. Every state
change writes an audit event in its transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import Membership, Organization, Role, normalize_email
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, audit_record, audit_record_many
from laurel.certificates.models import Certificate, CertificateJob
from laurel.certificates.services import certificate_issue, job_request
from laurel.integrations.events import ceremony_data
from laurel.integrations.services import webhooks_emit
from laurel.notifications.services import outbox_enqueue
from laurel.recognition.models import (
    Ceremony,
    Cohort,
    CourseTaker,
    Partnership,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- partnerships -------------------------------------------------------------------------


@transaction.atomic
def partnership_create(*, actor: Actor, issuer: Organization, partner: Organization) -> Partnership:
    if issuer.kind != Organization.Kind.ISSUING:
        raise ServiceError("Only an issuing organization has partners.")
    if partner.kind != Organization.Kind.PARTNER:
        raise ServiceError("The partner must be a partner institution.")
    partnership, created = Partnership.objects.get_or_create(issuer=issuer, partner=partner)
    if created:
        audit_record(
            actor=actor,
            action="partnership.created",
            obj=partnership,
            organization=issuer,
            after={"partner": partner.slug},
        )
    return partnership


@transaction.atomic
def cohort_create(*, actor: Actor, partnership: Partnership, **fields) -> Cohort:
    cohort = Cohort(partnership=partnership, **fields)
    if cohort.closes_on is None:
        cohort.closes_on = cohort.end_date
    if cohort.end_date and cohort.start_date and cohort.end_date < cohort.start_date:
        raise ServiceError("The end date is before the start date.", field="end_date")
    cohort.full_clean()
    cohort.save()
    audit_record(
        actor=actor,
        action="cohort.created",
        obj=cohort,
        organization=partnership.issuer,
        after={"name": cohort.name, "end_date": cohort.end_date.isoformat()},
    )
    return cohort


# --- progress -----------------------------------------------------------------------------


@dataclass
class ProgressRecord:
    """One course-taker's progress as a feed reports it. ``cohort`` is the cohort's id or
    its LMS course reference."""

    cohort: int | str
    email: str
    percent: object = 0
    completed_on: date | None = None
    certified: bool = False
    name: str = ""
    lms_user_id: str = ""


@dataclass
class ProgressResult:
    added: int = 0
    changed: int = 0
    completed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (record index, message)

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "changed": self.changed,
            "completed": self.completed,
            "unchanged": self.unchanged,
            "errors": [{"index": i, "message": m} for i, m in self.errors],
        }


def _percent(value) -> int:
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"The percent {value!r} is not a number.") from None
    if not 0 <= number <= 100:
        raise ValueError(f"The percent must be between 0 and 100, not {value}.")
    return int(round(number))


def resolve_cohorts(issuer: Organization, refs) -> dict[str, Cohort]:
    """The issuer's cohorts by id and by LMS reference (as strings)."""
    refs = {str(r).strip() for r in refs}
    ids = [int(r) for r in refs if r.isdigit()]
    qs = Cohort.objects.filter(partnership__issuer=issuer).filter(
        models_q_id_or_lms(ids, list(refs))
    )
    out: dict[str, Cohort] = {}
    for cohort in qs:
        if cohort.lms_course_id:
            out[cohort.lms_course_id] = cohort
        out[str(cohort.pk)] = cohort
    return out


def models_q_id_or_lms(ids, refs):
    from django.db.models import Q

    return Q(pk__in=ids) | Q(lms_course_id__in=refs)


class ProgressRejected(ServiceError):
    def __init__(self, errors: list[tuple[int, str]]):
        n = len(errors)
        super().__init__(f"{n} record{'s' if n != 1 else ''} cannot be applied; nothing was.")
        self.errors = errors


@transaction.atomic
def progress_apply(
    *,
    actor: Actor,
    organization: Organization,
    records: list[ProgressRecord],
    cohorts: dict[str, Cohort] | None = None,
    all_or_nothing: bool = False,
) -> ProgressResult:
    """Record progress; applying the same records twice changes nothing the second time.
    A bad record is reported and leaves that course-taker's last good progress alone
    (``all_or_nothing``: any bad record refuses the whole batch)."""
    result = ProgressResult()
    if cohorts is None:
        cohorts = resolve_cohorts(organization, {r.cohort for r in records})
    today = organization.today()
    clean: dict[tuple[int, str], tuple[int, ProgressRecord, int]] = {}
    for index, rec in enumerate(records):
        cohort = cohorts.get(str(rec.cohort).strip())
        email = normalize_email(rec.email)
        try:
            if cohort is None:
                raise ValueError(f"No cohort {rec.cohort!r} in this organization.")
            if not EMAIL_RE.match(email):
                raise ValueError(f"{rec.email!r} is not an e-mail address.")
            percent = _percent(rec.percent)
            if rec.completed_on is not None and rec.completed_on > today:
                raise ValueError("The completion date is in the future.")
        except ValueError as exc:
            result.errors.append((index, str(exc)))
            continue
        clean[(cohort.pk, email)] = (index, rec, percent)
    if all_or_nothing and result.errors:
        raise ProgressRejected(result.errors)
    if not clean:
        return result
    cohort_ids = {k[0] for k in clean}
    existing = {
        (t.cohort_id, t.email): t
        for t in CourseTaker.objects.filter(
            cohort_id__in=cohort_ids, email__in={k[1] for k in clean}
        )
    }
    now = timezone.now()
    new, changed = [], []
    for (cohort_id, email), (_, rec, percent) in clean.items():
        completed_on = rec.completed_on
        if completed_on is None and percent == 100 and rec.certified:
            completed_on = today
        taker = existing.get((cohort_id, email))
        name = " ".join((rec.name or "").split())[:200]
        if taker is None:
            new.append(
                CourseTaker(
                    cohort_id=cohort_id,
                    email=email,
                    name=name,
                    percent=percent,
                    completed_on=completed_on,
                    certified=bool(rec.certified),
                    lms_user_id=str(rec.lms_user_id or "")[:64],
                    updated_at=now,
                )
            )
            result.completed += completed_on is not None
            continue
        before = (taker.percent, taker.completed_on, taker.certified, taker.name)
        after = (percent, completed_on, bool(rec.certified), name or taker.name)
        if before == after:
            result.unchanged += 1
            continue
        if taker.completed_on is None and completed_on is not None:
            result.completed += 1
        taker.percent, taker.completed_on, taker.certified, taker.name = after
        if rec.lms_user_id:
            taker.lms_user_id = str(rec.lms_user_id)[:64]
        taker.updated_at = now
        changed.append(taker)
    CourseTaker.objects.bulk_create(new, batch_size=2000)
    CourseTaker.objects.bulk_update(
        changed,
        ["percent", "completed_on", "certified", "name", "lms_user_id", "updated_at"],
        batch_size=2000,
    )
    if new and new[0].pk is None:  # SQLite before 3.35 returns no ids: read them back
        new = list(CourseTaker.objects.filter(cohort_id__in=cohort_ids, updated_at=now))
    result.added, result.changed = len(new), len(changed)
    audit_record_many(
        actor=actor,
        action="course_taker.progress",
        objects=[*new, *changed],
        organization=organization,
    )
    return result


# --- ceremonies and requests --------------------------------------------------------------


def cohorts_in_range(organization: Organization, start: date, end: date):
    return (
        Cohort.objects.for_org(organization)
        .filter(end_date__gte=start, end_date__lte=end)
        .select_related("partnership__partner")
    )


@transaction.atomic
def ceremony_select(
    *,
    actor: Actor,
    organization: Organization,
    kind: str,
    range_start: date,
    range_end: date,
    cohort_ids: list[int],
    ceremony: Ceremony | None = None,
    name: str = "",
) -> Ceremony:
    """Step one of the wizard (both kinds): the date range and the cohorts in it. Saves a
    draft; a new one when ``ceremony`` is None."""
    if ceremony is not None and not ceremony.is_draft:
        raise ServiceError("Only a draft can be edited.")
    if range_end < range_start:
        raise ServiceError("The range ends before it starts.", field="range_end")
    found = list(cohorts_in_range(organization, range_start, range_end))
    if not found:
        raise ServiceError(
            "No cohorts end between these dates: choose a wider range.", field="range_start"
        )
    chosen = [c for c in found if c.pk in set(cohort_ids)]
    if not chosen:
        raise ServiceError("Select at least one cohort.", field="cohorts")
    partnerships = {c.partnership_id for c in chosen}
    if len(partnerships) > 1:
        raise ServiceError("Choose cohorts of one partner institution.", field="cohorts")
    created = ceremony is None
    if created:
        ceremony = Ceremony(kind=kind, created_by=actor.user)
    ceremony.partnership_id = partnerships.pop()
    ceremony.range_start, ceremony.range_end = range_start, range_end
    ceremony.name = (name or "").strip()[:200] or _default_name(ceremony, chosen)
    ceremony.full_clean(exclude=["cohorts"])
    ceremony.save()
    ceremony.cohorts.set(chosen)
    audit_record(
        actor=actor,
        action="ceremony.drafted" if created else "ceremony.updated",
        obj=ceremony,
        organization=organization,
        after={"kind": ceremony.kind, "cohorts": sorted(c.pk for c in chosen)},
    )
    return ceremony


def _default_name(ceremony: Ceremony, cohorts) -> str:
    label = "Ceremony" if ceremony.kind == Ceremony.Kind.CEREMONY else "Certificates"
    return f"{label}: {cohorts[0].name}" + (
        f" and {len(cohorts) - 1} more" if len(cohorts) > 1 else ""
    )


@dataclass
class CeremonyDetails:
    day: date
    at: time
    time_zone: str
    format: str
    venue: str = ""
    representative_requested: bool = False
    mailing_contact: str = ""
    mailing_email: str = ""
    mailing_address: str = ""


@transaction.atomic
def ceremony_details_save(
    *, actor: Actor, organization: Organization, ceremony: Ceremony, details: CeremonyDetails
) -> Ceremony:
    """Step two: when, where, who receives the pins. Saved on the draft (not checked
    against the 14-day rule until it is submitted)."""
    if ceremony.kind != Ceremony.Kind.CEREMONY or not ceremony.is_draft:
        raise ServiceError("Only a draft ceremony can be edited.")
    from django.core.exceptions import ValidationError

    from laurel.accounts.models import validate_time_zone

    try:
        validate_time_zone(details.time_zone)
    except ValidationError:
        raise ServiceError("Choose a known time zone.", field="time_zone") from None
    from zoneinfo import ZoneInfo

    ceremony.starts_at = datetime.combine(details.day, details.at, ZoneInfo(details.time_zone))
    ceremony.time_zone = details.time_zone
    ceremony.format = details.format
    ceremony.venue = details.venue.strip()
    ceremony.representative_requested = details.representative_requested
    ceremony.mailing_contact = details.mailing_contact.strip()
    ceremony.mailing_email = normalize_email(details.mailing_email)
    ceremony.mailing_address = details.mailing_address.strip()
    ceremony.full_clean(exclude=["cohorts"])
    ceremony.save()
    audit_record(
        actor=actor,
        action="ceremony.updated",
        obj=ceremony,
        organization=organization,
        after={"starts_at": ceremony.starts_at.isoformat(), "format": ceremony.format},
    )
    return ceremony


def can_override(organization: Organization, membership: Membership | None, ceremony) -> bool:
    """An admin of the ceremony's issuing organization may waive the 14-day rule."""
    return (
        membership is not None
        and membership.role == Role.ADMIN
        and organization.pk == ceremony.partnership.issuer_id
    )


@transaction.atomic
def ceremony_submit(
    *,
    actor: Actor,
    organization: Organization,
    ceremony: Ceremony,
    membership: Membership | None = None,
    override_reason: str = "",
) -> Ceremony:
    """Draft → Scheduled / Pending (a ceremony) or Draft → Created (a request). A ceremony
    must be at least 14 days after today where the partner is, unless an issuing admin
    overrides with a reason."""
    ceremony = (
        Ceremony.objects.select_for_update(of=("self",))
        .select_related("partnership__partner")
        .get(pk=ceremony.pk)
    )
    if not ceremony.is_draft:
        raise ServiceError("Only a draft can be submitted.")
    after = {}
    if ceremony.kind == Ceremony.Kind.CEREMONY:
        missing = [
            label
            for label, value in (
                ("date and time", ceremony.starts_at),
                ("format", ceremony.format),
                ("mailing contact", ceremony.mailing_contact),
                ("mailing e-mail", ceremony.mailing_email),
                ("postal address", ceremony.mailing_address),
            )
            if not value
        ]
        if ceremony.format == Ceremony.Format.IN_PERSON and not ceremony.venue:
            missing.append("venue")
        if missing:
            raise ServiceError("Complete the ceremony details: " + ", ".join(missing) + ".")
        partner = ceremony.partnership.partner
        earliest = Ceremony.earliest_date(partner.today())
        if ceremony.local_start.date() < earliest:
            reason = " ".join(override_reason.split())
            if not reason:
                raise ServiceError(
                    f"The ceremony date must be on or after {earliest:%B %-d, %Y} (14 days "
                    "from today). For an urgent ceremony, ask the issuing organization: an "
                    "admin there can schedule it with a reason.",
                    field="day",
                )
            if not can_override(organization, membership, ceremony):
                raise ServiceError("Only an admin of the issuing organization can override.")
            ceremony.override_reason = reason
            after["override_reason"] = reason
            audit_record(
                actor=actor,
                action="ceremony.date_rule_overridden",
                obj=ceremony,
                organization=organization,
                after={"reason": reason, "earliest": earliest.isoformat()},
            )
        ceremony.status = Ceremony.Status.SCHEDULED
    else:
        ceremony.status = Ceremony.Status.CREATED
    ceremony.submitted_at = timezone.now()
    ceremony.save()
    after["status"] = ceremony.status
    audit_record(
        actor=actor,
        action="ceremony.submitted",
        obj=ceremony,
        organization=organization,
        after=after,
    )
    if ceremony.status == Ceremony.Status.SCHEDULED:
        webhooks_emit(
            organization=ceremony.partnership.issuer,
            type="ceremony.scheduled",
            payload=lambda: ceremony_data(ceremony),
        )
    if actor.user is not None:
        outbox_enqueue(
            to=actor.user.email,
            template="ceremony_confirmed",
            context={"ceremony": ceremony, "link": _link(ceremony)},
            organization=ceremony.partnership.issuer,
            dedupe_key=f"ceremony-confirmed:{ceremony.pk}",
        )
    return ceremony


def _link(ceremony: Ceremony) -> str:
    return reverse("recognition:generate", args=[ceremony.partnership.partner.slug, ceremony.pk])


@transaction.atomic
def ceremony_cancel(*, actor: Actor, organization: Organization, ceremony: Ceremony) -> Ceremony:
    updated = Ceremony.objects.filter(
        pk=ceremony.pk,
        status__in=[Ceremony.Status.DRAFT, Ceremony.Status.SCHEDULED, Ceremony.Status.CREATED],
    ).update(status=Ceremony.Status.CANCELLED)
    if not updated:
        raise ServiceError("This cannot be cancelled any more.")
    ceremony.refresh_from_db()
    audit_record(actor=actor, action="ceremony.cancelled", obj=ceremony, organization=organization)
    return ceremony


@transaction.atomic
def pins_mark_mailed(
    *, actor: Actor, organization: Organization, ceremony: Ceremony, tracking_number: str = ""
) -> Ceremony:
    """Issuing staff: the pins are in the post. The mailing contact is e-mailed once."""
    if organization.pk != ceremony.partnership.issuer_id:
        raise ServiceError("Only the issuing organization mails pins.")
    tracking_number = tracking_number.strip()[:100]
    updated = Ceremony.objects.filter(pk=ceremony.pk, status=Ceremony.Status.SCHEDULED).update(
        status=Ceremony.Status.PINS_MAILED,
        pins_mailed_at=timezone.now(),
        tracking_number=tracking_number,
    )
    if not updated:
        raise ServiceError("These pins are not waiting to be mailed.")
    ceremony.refresh_from_db()
    audit_record(
        actor=actor,
        action="ceremony.pins_mailed",
        obj=ceremony,
        organization=organization,
        after={"tracking_number": tracking_number},
    )
    webhooks_emit(
        organization=organization,
        type="ceremony.pins_mailed",
        payload=lambda: ceremony_data(ceremony),
    )
    outbox_enqueue(
        to=ceremony.mailing_email,
        template="ceremony_pins_mailed",
        context={"ceremony": ceremony},
        organization=organization,
        dedupe_key=f"ceremony-pins-mailed:{ceremony.pk}",
    )
    return ceremony


# --- certificates -------------------------------------------------------------------------


def _takers_for(ceremony: Ceremony, taker_ids) -> list[CourseTaker]:
    return list(
        CourseTaker.objects.filter(cohort__ceremonies=ceremony, pk__in=list(taker_ids))
        .select_related("cohort__certificate_template", "certificate")
        .order_by("pk")
    )


@transaction.atomic
def certificates_for_takers(
    *, actor: Actor, organization: Organization, ceremony: Ceremony, taker_ids
) -> list[Certificate]:
    """Issue (once) the certificate of each chosen course-taker of the ceremony's cohorts,
    in the issuing organization's name; a course-taker's certificate is reused after."""
    if not ceremony.can_generate:
        raise ServiceError("Submit the ceremony or request before generating certificates.")
    issuer = ceremony.partnership.issuer
    today = issuer.today()
    takers = _takers_for(ceremony, taker_ids)
    if not takers:
        raise ServiceError("Select at least one course-taker.")
    out = []
    for taker in takers:
        cert = taker.certificate
        if cert is None or cert.status != Certificate.Status.VALID:
            state = taker.state(today)
            if state in (CourseTaker.State.NOT_COMPLETED, CourseTaker.State.UNCERTIFIED):
                raise ServiceError(f"{taker} has no certificate to earn in {taker.cohort}.")
            # Someone approaching certification gets the date staff generated it on.
            day = taker.completed_on or min(today, taker.cohort.end_date)
            cert = certificate_issue(
                actor=actor,
                organization=issuer,
                recipient_name=taker.name or taker.email,
                recipient_email=taker.email,
                title=taker.cohort.certificate_title,
                completion_date=day,
                template=taker.cohort.certificate_template,
                notify=False,
            )
            CourseTaker.objects.filter(pk=taker.pk).update(certificate=cert)
        out.append(cert)
    return out


@transaction.atomic
def ceremony_file_request(
    *, actor: Actor, organization: Organization, ceremony: Ceremony, taker_ids
) -> CertificateJob:
    """The combined PDF of the chosen course-takers' certificates, built by the certificates
    background job; its e-mail links to this ceremony's download, which partners can open."""
    certs = certificates_for_takers(
        actor=actor, organization=organization, ceremony=ceremony, taker_ids=taker_ids
    )
    job = job_request(
        actor=actor,
        organization=ceremony.partnership.issuer,
        kind=CertificateJob.Kind.COMBINED_PDF,
        certificate_ids=[c.pk for c in certs],
        download_path=reverse("recognition:last_file", args=[organization.slug, ceremony.pk]),
    )
    Ceremony.objects.filter(pk=ceremony.pk).update(last_job=job)
    ceremony.last_job = job
    return job


# --- Canvas -------------------------------------------------------------------------------


@transaction.atomic
def canvas_connect(*, actor: Actor, organization: Organization, base_url: str, token: str):
    """Store the issuing organization's Canvas URL and token (encrypted)."""
    from laurel.recognition.canvas import encrypt_token
    from laurel.recognition.models import CanvasConnection

    if organization.kind != Organization.Kind.ISSUING:
        raise ServiceError("Only an issuing organization connects its Canvas.")
    base_url = base_url.strip().rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise ServiceError(
            "Enter the Canvas address, e.g. https://canvas.example.edu.", field="base_url"
        )
    if not token.strip():
        raise ServiceError("Enter the Canvas API token.", field="token")
    conn, _ = CanvasConnection.objects.update_or_create(
        organization=organization,
        defaults={
            "base_url": base_url,
            "token_encrypted": encrypt_token(token.strip()),
            "updated_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action="canvas.connected",
        obj=conn,
        organization=organization,
        after={"base_url": base_url},  # never the token
    )
    return conn


def canvas_sync(*, organization: Organization, trigger: str = "daily", client=None):
    """Read every open cohort's enrollments and progress from Canvas through the progress
    service; one cohort's failure is recorded and the others go on (their last good
    progress is kept). Returns the ``SyncReport``."""
    from laurel.recognition.canvas import CanvasClient, CanvasError, course_records, decrypt_token
    from laurel.recognition.models import CanvasConnection, SyncReport

    actor = Actor.system("canvas sync")
    report = SyncReport.objects.create(organization=organization, trigger=trigger)
    conn = CanvasConnection.objects.filter(organization=organization).first()
    errors: list[dict] = []
    try:
        if client is None and conn is None:
            raise CanvasError("No Canvas connection: add its address and token.", fatal=True)
        if client is None:
            client = CanvasClient(conn.base_url, decrypt_token(conn.token_encrypted))
        today = organization.today()
        cohorts = list(
            Cohort.objects.filter(partnership__issuer=organization, closes_on__gte=today)
            .exclude(lms_course_id="")
            .order_by("pk")
        )
        report.cohorts = len(cohorts)
        pending: list[ProgressRecord] = []
        read: dict[str, Cohort] = {}

        def flush():
            # Cohorts read in full are applied together (fewer, larger writes); a cohort
            # whose reading failed contributes nothing, so its last good progress stays.
            if not pending:
                return
            result = progress_apply(
                actor=actor, organization=organization, records=pending, cohorts=read
            )
            Cohort.objects.filter(pk__in=[c.pk for c in read.values()]).update(
                last_synced_at=timezone.now()
            )
            report.added += result.added
            report.changed += result.changed
            report.completed += result.completed
            for index, message in result.errors[:50]:
                name = read[str(pending[index].cohort)].name
                errors.append({"cohort": name, "message": f"{pending[index].email}: {message}"})
            pending.clear()
            read.clear()

        for cohort in cohorts:
            try:
                rows = list(course_records(client, cohort.lms_course_id, cohort.passing_score))
            except CanvasError as exc:
                errors.append({"cohort": cohort.name, "message": exc.message})
                if exc.fatal:
                    flush()  # what was read before the token was refused still counts
                    raise
                continue
            read[str(cohort.pk)] = cohort
            pending.extend(
                ProgressRecord(
                    cohort=cohort.pk,
                    email=email,
                    name=name,
                    percent=percent,
                    completed_on=completed,
                    certified=certified,
                    lms_user_id=user_id,
                )
                for user_id, email, name, percent, completed, certified in rows
            )
            if len(pending) >= SYNC_BATCH:
                flush()
        flush()
        status = SyncReport.Status.DONE_WITH_ERRORS if errors else SyncReport.Status.DONE
    except CanvasError as exc:
        if not errors or errors[-1]["message"] != exc.message:
            errors.append({"cohort": "", "message": exc.message})
        status = SyncReport.Status.FAILED
    finally:
        if client is not None and hasattr(client, "close"):
            report.requests = getattr(client, "requests", 0)
            client.close()
    report.errors = errors[:500]
    report.status = status
    report.finished_at = timezone.now()
    report.save()
    return report


SYNC_EVERY_SECONDS = 24 * 3600
SYNC_BATCH = 5000  # progress records applied per transaction during a sync


def canvas_sync_due(*, now: datetime | None = None) -> int:
    """The worker's daily duty: sync each connected organization whose last run is a day
    old. Safe to call often and from several workers (a running report counts as a run)."""
    from datetime import timedelta

    from laurel.recognition.models import CanvasConnection, SyncReport

    now = now or timezone.now()
    count = 0
    for conn in CanvasConnection.objects.select_related("organization"):
        last = SyncReport.objects.filter(organization=conn.organization).first()
        if last is not None and last.started_at > now - timedelta(seconds=SYNC_EVERY_SECONDS):
            continue
        canvas_sync(organization=conn.organization, trigger="daily")
        count += 1
    return count
