"""Workflows of certificates: templates and their versions, issuing, revoking, replacing,
signing keys, bulk files and expiry reminders. Every state change writes an audit event."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from laurel.accounts.models import Organization, normalize_email
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, audit_record
from laurel.certificates import openbadges
from laurel.certificates.models import (
    Certificate,
    CertificateCounter,
    CertificateJob,
    CertificateNameWait,
    CertificatePolicy,
    CertificateTemplate,
    CertificateTemplateVersion,
    OrganizationSigningKey,
)
from laurel.integrations.events import certificate_data
from laurel.integrations.services import webhooks_emit
from laurel.lib import ob3
from laurel.lib.images import ImageRefused, clean_image
from laurel.notifications.services import outbox_enqueue

log = logging.getLogger(__name__)

BRANDING_FIELDS = (
    "name",
    "design",
    "paper",
    "accent_color",
    "signatory_name",
    "signatory_title",
    "footer_text",
)
IMAGE_TYPES = {"image/png", "image/svg+xml"}
REMINDER_DAYS = (60, 30, 7)


def _check(obj) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ServiceError(messages[0], field=None if field == "__all__" else field) from exc


# --- templates ----------------------------------------------------------------------------


def image_bytes(upload, *, field: str) -> bytes:
    """Read an uploaded logo or signature: PNG or SVG, within the logo size limit."""
    if upload.size > settings.LAUREL_LOGO_MAX_BYTES:
        limit = settings.LAUREL_LOGO_MAX_BYTES // 1024
        raise ServiceError(f"The image is larger than {limit} KB.", field=field)
    try:
        data, _ = clean_image(
            upload.read(), kinds=("png", "svg"), max_pixels=settings.LAUREL_IMAGE_MAX_PIXELS
        )
    except ImageRefused as exc:
        raise ServiceError(str(exc), field=field) from None
    return data


def _snapshot(template: CertificateTemplate, user) -> CertificateTemplateVersion:
    last = template.versions.order_by("-number").first()
    logo = _read_file(template.logo) or _read_file(template.organization.logo)
    version = CertificateTemplateVersion(
        template=template,
        number=(last.number + 1) if last else 1,
        organization_name=template.organization.name,
        design=template.design,
        paper=template.paper,
        accent_color=template.accent_color,
        signatory_name=template.signatory_name,
        signatory_title=template.signatory_title,
        footer_text=template.footer_text,
        logo=logo,
        signature=_read_file(template.signature),
        created_by=user,
    )
    version.content_hash = version.compute_hash()
    if last and last.content_hash == version.content_hash:
        return last  # nothing that shows on a certificate changed
    _check(version)
    _check_renders(version, template.organization)
    version.save()
    return version


def _check_renders(version: CertificateTemplateVersion, organization) -> None:
    """Refuse a version that cannot render (e.g. a corrupt image): issuing would fail later."""
    from laurel.certificates import rendering

    try:
        rendering.sample_pdf(
            rendering.branding_for(version), version.design, version.paper, organization
        )
    except Exception as exc:  # Typst reports bad images and markup as one error type
        raise ServiceError(
            "This logo or signature image cannot be drawn; try another PNG or SVG file.",
            field="logo",
        ) from exc


def _read_file(field) -> bytes | None:
    if not field:
        return None
    try:
        with field.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return None
    try:
        # Checked again: an organization logo stored before the checks existed may be a bomb.
        data, _ = clean_image(
            data, kinds=("png", "svg"), max_pixels=settings.LAUREL_IMAGE_MAX_PIXELS
        )
    except ImageRefused:
        return None  # an organization logo in another format cannot go on a certificate
    return data


def _store_images(template, *, logo, signature, clear_logo=False, clear_signature=False):
    for attr, data, clear in (
        ("logo", logo, clear_logo),
        ("signature", signature, clear_signature),
    ):
        if data is not None:
            ext = "png" if data.startswith(b"\x89PNG") else "svg"
            getattr(template, attr).save(f"{attr}.{ext}", ContentFile(data), save=False)
        elif clear:
            setattr(template, attr, "")


@transaction.atomic
def template_create(
    *,
    actor: Actor,
    organization: Organization,
    name: str,
    is_default: bool = False,
    logo: bytes | None = None,
    signature: bytes | None = None,
    **fields,
) -> CertificateTemplate:
    if is_default:
        CertificateTemplate.objects.filter(organization=organization, is_default=True).update(
            is_default=False
        )
    template = CertificateTemplate(
        organization=organization, name=name, is_default=is_default, **fields
    )
    _check(template)
    _store_images(template, logo=logo, signature=signature)
    template.save()
    version = _snapshot(template, actor.user)
    audit_record(
        actor=actor,
        action="certificate_template.created",
        obj=template,
        organization=organization,
        after={"version": version.number, "hash": version.content_hash},
    )
    return template


@transaction.atomic
def template_update(
    *,
    actor: Actor,
    template: CertificateTemplate,
    logo: bytes | None = None,
    signature: bytes | None = None,
    clear_logo: bool = False,
    clear_signature: bool = False,
    **fields,
) -> CertificateTemplateVersion:
    """Change a template; returns the new version (certificates already issued keep theirs)."""
    template = CertificateTemplate.objects.select_for_update().get(pk=template.pk)
    before = template.current_version()
    for name, value in fields.items():
        if name not in BRANDING_FIELDS:
            raise TypeError(f"unknown template field {name}")
        setattr(template, name, value)
    _store_images(
        template,
        logo=logo,
        signature=signature,
        clear_logo=clear_logo,
        clear_signature=clear_signature,
    )
    _check(template)
    template.save()
    version = _snapshot(template, actor.user)
    audit_record(
        actor=actor,
        action="certificate_template.updated",
        obj=template,
        organization=template.organization,
        before={"version": before.number if before else None},
        after={"version": version.number, "hash": version.content_hash, **fields},
    )
    return version


@transaction.atomic
def template_make_default(*, actor: Actor, template: CertificateTemplate) -> None:
    CertificateTemplate.objects.filter(organization=template.organization, is_default=True).exclude(
        pk=template.pk
    ).update(is_default=False)
    CertificateTemplate.objects.filter(pk=template.pk).update(is_default=True)
    audit_record(
        actor=actor,
        action="certificate_template.made_default",
        obj=template,
        organization=template.organization,
    )


def default_template(organization: Organization) -> CertificateTemplate:
    template = CertificateTemplate.objects.filter(organization=organization).first()
    if template is None:
        template = template_create(
            actor=Actor.system("certificates"),
            organization=organization,
            name="Standard",
            is_default=True,
        )
    return template


# --- signing keys -------------------------------------------------------------------------


def signing_key_for(organization: Organization) -> OrganizationSigningKey:
    """The organization's active key, created on first use."""
    key = OrganizationSigningKey.objects.filter(organization=organization, retired_at=None).first()
    if key is not None:
        return key
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization.pk)
        key = OrganizationSigningKey.objects.filter(
            organization=organization, retired_at=None
        ).first()  # another request may have created it while we waited for the lock
        if key is not None:
            return key
        return signing_key_rotate(actor=Actor.system("certificates"), organization=organization)


@transaction.atomic
def signing_key_rotate(*, actor: Actor, organization: Organization) -> OrganizationSigningKey:
    """Retire the active key (its public half stays in did.json) and create a new one."""
    Organization.objects.select_for_update().get(pk=organization.pk)
    OrganizationSigningKey.objects.filter(organization=organization, retired_at=None).update(
        retired_at=timezone.now()
    )
    private = ob3.generate_private_key()
    key = OrganizationSigningKey.objects.create(
        organization=organization,
        public_key_multibase=ob3.public_key_multibase(private),
        private_key_encrypted=openbadges.encrypt_private_key(ob3.private_key_to_bytes(private)),
    )
    audit_record(
        actor=actor,
        action="signing_key.created",
        obj=key,
        organization=organization,
        after={"public_key": key.public_key_multibase},
    )
    return key


# --- issuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    code: str
    name: str
    unit: str
    amount: Decimal

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "amount": f"{Decimal(self.amount).normalize():f}",
        }


def _allocate(organization: Organization) -> tuple[str, int]:
    counter, _ = CertificateCounter.objects.get_or_create(organization=organization)
    counter = CertificateCounter.objects.select_for_update().get(pk=counter.pk)
    serial, index = counter.next_serial, counter.next_status_index
    CertificateCounter.objects.filter(pk=counter.pk).update(
        next_serial=F("next_serial") + 1, next_status_index=F("next_status_index") + 1
    )
    return f"{organization.course_id_prefix}-C-{serial:06d}", index


@transaction.atomic
def certificate_issue(
    *,
    actor: Actor,
    organization: Organization,
    recipient_name: str,
    recipient_email: str,
    title: str,
    completion_date: date,
    components: list[Component] | tuple = (),
    expires_on: date | None = None,
    template: CertificateTemplate | None = None,
    course=None,
    credit=None,
    notify: bool = True,
) -> Certificate:
    """Issue a certificate with the template's current version, signed as an Open Badge."""
    if template is not None and template.organization_id != organization.pk:
        raise ServiceError("That template belongs to another organization.", field="template")
    template = template or default_template(organization)
    version = template.current_version()
    recipient_name = " ".join((recipient_name or "").split())
    if not recipient_name:
        raise ServiceError("Enter the recipient's name.", field="recipient_name")
    issue_date = organization.today()
    if expires_on is not None and expires_on <= issue_date:
        raise ServiceError("The expiry date must be after today.", field="expires_on")
    if completion_date > issue_date:
        raise ServiceError("The completion date cannot be in the future.", field="completion_date")
    key = signing_key_for(organization)
    serial, index = _allocate(organization)
    cert = Certificate(
        organization=organization,
        serial_number=serial,
        recipient_name=recipient_name,
        recipient_email=normalize_email(recipient_email),
        title=" ".join(title.split()),
        course=course,
        components=[c.as_json() for c in components],
        completion_date=completion_date,
        issue_date=issue_date,
        expires_on=expires_on,
        template_version=version,
        credit=credit,
        status_list_index=index,
        created_by=actor.user,
        issued_at=timezone.now().replace(microsecond=0),
    )
    _check(cert)
    cert.save()
    try:
        cert.credential = openbadges.build_signed_credential(cert, key)
    except ValueError as exc:
        raise ServiceError(f"The certificate cannot be issued: {exc}") from exc
    cert.save(update_fields=["credential"])
    audit_record(
        actor=actor,
        action="certificate.issued",
        obj=cert,
        organization=organization,
        after=_snapshot_cert(cert),
    )
    webhooks_emit(
        organization=organization, type="certificate.issued", payload=lambda: certificate_data(cert)
    )
    if notify:
        outbox_enqueue(
            to=cert.recipient_email,
            template="certificate_issued",
            context={"certificate": cert},
            organization=organization,
            dedupe_key=f"certificate-issued:{cert.pk}",
        )
    return cert


@dataclass(frozen=True)
class IssueSpec:
    """One certificate of a bulk issue (``certificates_issue_many``)."""

    recipient_name: str
    recipient_email: str
    title: str
    completion_date: date
    components: tuple = ()
    credit_id: int | None = None


@transaction.atomic
def certificates_issue_many(
    *,
    actor: Actor,
    organization: Organization,
    specs: list[IssueSpec],
    template: CertificateTemplate | None = None,
    member_ids: dict[str, str] | None = None,
) -> list[Certificate | None]:
    """``certificate_issue`` for many recipients in a few statements (bulk attendance):
    one block of serials, one insert, the signatures, one audit and webhook batch. Sends no
    e-mail: the caller's own message tells each person.

    Returns one item per spec, in order: the certificate, or None for a spec with no name
    to print (none in the spec, none on an account that verified the address;
    ``recipient_name_for``). Never the e-mail's local part: the caller records a
    ``CertificateNameWait`` so the holder is asked for their name."""
    from laurel.audit.services import audit_record_many
    from laurel.integrations.services import webhooks_emit_many

    if not specs:
        return []
    if template is not None and template.organization_id != organization.pk:
        raise ServiceError("That template belongs to another organization.", field="template")
    template = template or default_template(organization)
    version = template.current_version()
    issue_date = organization.today()
    if any(s.completion_date > issue_date for s in specs):
        raise ServiceError("The completion date cannot be in the future.", field="completion_date")
    accounts = _verified_accounts(
        [s.recipient_email for s in specs if not " ".join((s.recipient_name or "").split())]
    )
    names = [
        recipient_name_for(
            name=s.recipient_name, holder=accounts.get(normalize_email(s.recipient_email))
        )
        for s in specs
    ]
    out: list[Certificate | None] = [None] * len(specs)
    named = [n for n, name in enumerate(names) if name]
    specs = [specs[n] for n in named]
    if not specs:
        return out
    signing_key_for(organization)  # made now, not by the signing tasks racing for it
    counter, _ = CertificateCounter.objects.get_or_create(organization=organization)
    counter = CertificateCounter.objects.select_for_update().get(pk=counter.pk)
    serial, index = counter.next_serial, counter.next_status_index
    CertificateCounter.objects.filter(pk=counter.pk).update(
        next_serial=F("next_serial") + len(specs),
        next_status_index=F("next_status_index") + len(specs),
    )
    now = timezone.now().replace(microsecond=0)
    certs = []
    for n, spec in enumerate(specs):
        name = names[named[n]]
        certs.append(
            Certificate(
                organization=organization,
                serial_number=f"{organization.course_id_prefix}-C-{serial + n:06d}",
                recipient_name=name[:200],
                recipient_email=normalize_email(spec.recipient_email),
                title=" ".join(spec.title.split())[:300],
                components=[c.as_json() for c in spec.components],
                completion_date=spec.completion_date,
                issue_date=issue_date,
                template_version=version,
                credit_id=spec.credit_id,
                status_list_index=index + n,
                created_by=actor.user,
                issued_at=now,
            )
        )
    from laurel.imports.bulk import insert_objects

    insert_objects(Certificate, certs)
    # Signing canonicalizes each credential (~30 ms): a task does it after commit, so
    # marking thousands of people takes seconds. Until then the credential download is
    # "not ready yet"; the record, its PDF and its verification page are there at once.
    ids = [cert.pk for cert in certs]
    transaction.on_commit(lambda: _sign_later(ids))
    audit_record_many(
        actor=actor, action="certificate.issued", objects=certs, organization=organization
    )
    member_ids = member_ids or {}
    webhooks_emit_many(
        organization=organization,
        events=[
            (
                "certificate.issued",
                certificate_data(cert, member_id=member_ids.get(cert.recipient_email)),
            )
            for cert in certs
        ],
    )
    for n, cert in zip(named, certs, strict=True):
        out[n] = cert
    return out


def _verified_accounts(emails) -> dict:
    """Normalized e-mail → the account that verified it, for many addresses in one query
    (``verified_user_for_email`` for a bulk issue)."""
    from allauth.account.models import EmailAddress
    from django.db.models.functions import Lower

    emails = {normalize_email(e) for e in emails if e}
    if not emails:
        return {}
    rows = (
        EmailAddress.objects.annotate(lower=Lower("email"))
        .filter(lower__in=emails, verified=True)
        .select_related("user")
    )
    return {row.lower: row.user for row in rows}


def _sign_later(ids: list[int]) -> None:
    from laurel.certificates.tasks import certificates_sign_task

    for start in range(0, len(ids), 500):
        certificates_sign_task.enqueue(ids[start : start + 500])


def certificates_sign(ids: list[int]) -> int:
    """Sign the credentials of certificates issued without one (bulk issue); idempotent."""
    done = 0
    certs = Certificate.objects.filter(pk__in=ids, credential__isnull=True).select_related(
        "organization", "course"
    )
    for cert in certs:
        key = signing_key_for(cert.organization)
        credential = openbadges.build_signed_credential(cert, key)
        done += Certificate.objects.filter(pk=cert.pk, credential__isnull=True).update(
            credential=credential
        )
    return done


def _snapshot_cert(cert: Certificate) -> dict:
    return {
        "serial_number": cert.serial_number,
        "status": cert.status,
        "recipient_name": cert.recipient_name,
        "title": cert.title,
        "template_version": cert.template_version_id,
        "credit": cert.credit_id,
    }


def policy_for(course) -> CertificatePolicy:
    policy = CertificatePolicy.objects.filter(course=course).first()
    return policy or CertificatePolicy(course=course)  # default: issue on acceptance


def recipient_name_for(*, name: str = "", holder=None, email: str = "") -> str:
    """The name to print: the entry's, else the account's (the holder's, or the account that
    verified the address). Never derived from the e-mail address: "" when nobody gave one."""
    name = " ".join((name or "").split())
    if name:
        return name
    if holder is not None and holder.full_name.strip():
        return holder.full_name.strip()
    if email:
        from laurel.credits.services import verified_user_for_email

        user = verified_user_for_email(email)
        if user is not None and user.full_name.strip():
            return user.full_name.strip()
    return ""


def certificate_name_waits_for_attendances(*, organization, attendances) -> int:
    """Record, in a few statements, that the certificates of these event attendance rows
    wait for a name (a bulk ``certificate_name_wait``); returns how many were recorded."""
    from laurel.audit.services import audit_record_many
    from laurel.imports.bulk import insert_objects

    now = timezone.now()
    waits = [
        CertificateNameWait(
            organization=organization,
            recipient_email=normalize_email(row.registration.email),
            attendance=row,
            created_at=now,
        )
        for row in attendances
    ]
    if not waits:
        return 0
    insert_objects(CertificateNameWait, waits)
    audit_record_many(
        actor=Actor.system("certificates"),
        action="certificate.waiting_for_name",
        objects=waits,
        organization=organization,
    )
    return len(waits)


def certificate_name_wait(
    *, organization, email: str, credit=None, enrollment=None
) -> CertificateNameWait:
    wait, created = CertificateNameWait.objects.get_or_create(
        credit=credit,
        enrollment=enrollment,
        defaults={"organization": organization, "recipient_email": normalize_email(email)},
    )
    if created:
        audit_record(
            actor=Actor.system("certificates"),
            action="certificate.waiting_for_name",
            obj=wait,
            organization=organization,
            after={"email": wait.recipient_email},
        )
    return wait


def certificate_issue_for_credit(
    credit, *, actor: Actor | None = None, notify: bool = False
) -> Certificate | None:
    """Issue the credit's certificate if its course's policy says so now; idempotent.

    Call after ``credit_enter`` and after ``credit_accept``. With no name to print, the
    certificate waits (``CertificateNameWait``) until the holder gives one. ``notify`` sends
    the certificate's own e-mail; off when the credit's e-mail announces it.
    """
    from laurel.credits.models import Credit

    if credit.course_id is None:
        return None
    policy = policy_for(credit.course)
    live = {Credit.Status.HELD, Credit.Status.OFFERED, Credit.Status.ACCEPTED}
    if policy.issue_on == CertificatePolicy.IssueOn.NEVER:
        return None
    if policy.issue_on == CertificatePolicy.IssueOn.ENTRY and credit.status not in live:
        return None
    if (
        policy.issue_on == CertificatePolicy.IssueOn.ACCEPTANCE
        and credit.status != Credit.Status.ACCEPTED
    ):
        return None
    existing = Certificate.objects.filter(credit=credit).first()
    if existing is not None:
        return existing  # one certificate per credit; a replacement keeps the link
    name = recipient_name_for(
        name=credit.recipient_name,
        holder=credit.holder if credit.holder_id else None,
        email=credit.recipient_email,
    )
    if not name:
        certificate_name_wait(
            organization=credit.organization, email=credit.recipient_email, credit=credit
        )
        return None
    components = [
        Component(
            code=c.credit_type.code,
            name=c.credit_type.name,
            unit=c.credit_type.unit,
            amount=c.amount_earned,
        )
        for c in credit.components.select_related("credit_type")
        if c.amount_earned > 0
    ]
    expires_on = None
    if policy.expires_after_days:
        expires_on = credit.organization.today() + timedelta(days=policy.expires_after_days)
    return certificate_issue(
        actor=actor or Actor.system("credits"),
        organization=credit.organization,
        recipient_name=name,
        recipient_email=credit.recipient_email,
        title=credit.title,
        completion_date=credit.completion_date,
        components=components,
        expires_on=expires_on,
        template=policy.template,
        course=credit.course,
        credit=credit,
        notify=notify,
    )


def certificates_issue_for_credits_later(credits, *, actor: Actor) -> int:
    """Queue, for after the commit, the certificates that these just-accepted credits are due
    under their course's policy; returns how many. A ``CertificateIssueJob`` per organization
    (a background job: heartbeat, resumed where it stopped if its worker dies) signs them one
    by one (``certificate_issue_for_credit``, idempotent), so the bulk answer stays fast."""
    from laurel.certificates.models import CertificateIssueJob
    from laurel.certificates.tasks import certificates_issue_run

    courses = {c.course_id for c in credits if c.course_id}
    never = set(
        CertificatePolicy.objects.filter(course_id__in=courses)
        .exclude(issue_on=CertificatePolicy.IssueOn.ACCEPTANCE)
        .values_list("course_id", flat=True)
    )
    due: dict[int, list[int]] = {}
    for credit in credits:
        if credit.course_id in courses - never:
            due.setdefault(credit.organization_id, []).append(credit.pk)
    for org_id, ids in due.items():
        job = CertificateIssueJob.objects.create(
            organization_id=org_id, requested_by=actor.user, credit_ids=ids, total=len(ids)
        )
        transaction.on_commit(lambda pk=job.pk: certificates_issue_run.enqueue(pk))
    return sum(len(ids) for ids in due.values())


def certificates_issue_job_run(job_id: int) -> str:
    """The worker's half of a ``CertificateIssueJob``: from where the last worker stopped,
    sign the certificates ``CHUNK`` credits at a time, beating after each chunk."""
    from django.contrib.auth import get_user_model

    from laurel.certificates.models import CertificateIssueJob as Job

    token = Job.claim(job_id, statuses=Job.RUNNING, status=Job.Status.RUNNING)
    if token is None:
        return "skipped"
    job = Job.objects.get(pk=job_id)
    user = get_user_model().objects.filter(pk=job.requested_by_id).first()
    actor = Actor(user=user) if user else Actor.system("credits")
    done = job.done
    while done < job.total:
        # Credits before ``done`` are signed (or skipped); a chunk cut short is redone,
        # and a credit that already has its certificate is skipped: never two.
        chunk = job.credit_ids[done : done + Job.CHUNK]
        certificates_issue_for_credits(chunk, actor=actor)
        done += len(chunk)
        Job.beat(job_id, token, done=done)
    Job.finish(job_id, token, status=Job.Status.DONE, done=done)
    return "done"


def certificates_issue_for_credits(credit_ids: list[int], *, actor: Actor) -> int:
    """Issue the certificates these credits are due and do not have yet; returns how many
    were issued. Each is its own transaction, so a crash keeps what was signed."""
    from laurel.credits.models import Credit

    issued = 0
    credits = Credit.objects.filter(pk__in=credit_ids).select_related(
        "organization", "course", "holder"
    )
    for credit in credits.order_by("pk").iterator(200):
        if Certificate.objects.filter(credit=credit).exists():
            continue
        try:
            with transaction.atomic():
                # Issued after the holder's answer: announced by its own e-mail.
                if certificate_issue_for_credit(credit, actor=actor, notify=True) is not None:
                    issued += 1
        except IntegrityError:
            continue  # another worker issued it meanwhile (one valid certificate per credit)
        except ServiceError as exc:
            log.warning("credit %s: certificate not issued: %s", credit.pk, exc.message)
    return issued


def name_waits_for_user(user):
    """Certificates waiting for a name that this account may give one: its credits, or any
    of its verified addresses (never an unverified one)."""
    emails = user.verified_emails()
    return (
        CertificateNameWait.objects.open()
        .filter(Q(recipient_email__in=emails) | Q(credit__holder=user))
        .select_related(
            "organization",
            "credit",
            "enrollment",
            "attendance__registration__event",
            "attendance__session",
        )
        .order_by("created_at", "pk")
    )


def certificate_name_waits_release(*, user) -> list[Certificate]:
    """Issue every certificate that waited for this holder's name (now on their account);
    the certificates are announced by e-mail, as any issued automatically."""
    if not user.full_name.strip():
        return []
    issued = []
    for wait in list(name_waits_for_user(user)):
        with transaction.atomic():
            locked = CertificateNameWait.objects.select_for_update().filter(pk=wait.pk).first()
            if locked is None or locked.issued_at or locked.cancelled_at:
                continue
            if wait.attendance_id is not None:
                from laurel.events.services import attendance_certificate_issue

                # None when the attendance was corrected or the event no longer issues.
                cert = attendance_certificate_issue(
                    attendance=wait.attendance, actor=Actor(user=user), name=user.full_name
                )
                if cert is None:
                    CertificateNameWait.objects.filter(pk=wait.pk).update(
                        cancelled_at=timezone.now()
                    )
                    continue
            elif wait.credit_id is not None:
                credit = wait.credit
                # None when the credit was revoked, voided or rejected while it waited.
                cert = certificate_issue_for_credit(credit, actor=Actor(user=user), notify=True)
                if cert is None:
                    CertificateNameWait.objects.filter(pk=wait.pk).update(
                        cancelled_at=timezone.now()
                    )
                    continue
            else:
                from laurel.programs.services import enrollment_certificate_issue

                cert = enrollment_certificate_issue(
                    enrollment=wait.enrollment,
                    actor=Actor(user=user),
                    name=user.full_name,
                    notify=True,
                )
            CertificateNameWait.objects.filter(pk=wait.pk).update(
                issued_at=timezone.now(), certificate=cert
            )
            if cert is not None:
                issued.append(cert)
    return issued


@transaction.atomic
def certificate_revoke(
    *, actor: Actor, certificate: Certificate, reason: str, notify: bool = True
) -> Certificate:
    """Revoke a valid certificate with a reason; its holder is e-mailed (``notify``) unless
    another message already tells them (a revoked credit, an undone import)."""
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise ServiceError("Say why the certificate is revoked.", field="reason")
    updated = Certificate.objects.filter(pk=certificate.pk, status=Certificate.Status.VALID).update(
        status=Certificate.Status.REVOKED, revoke_reason=reason, revoked_at=timezone.now()
    )
    if not updated:
        raise ServiceError("Only a valid certificate can be revoked.", code="state")
    certificate.refresh_from_db()
    audit_record(
        actor=actor,
        action="certificate.revoked",
        obj=certificate,
        organization=certificate.organization,
        before={"status": Certificate.Status.VALID},
        after={"status": certificate.status, "reason": reason},
    )
    webhooks_emit(
        organization=certificate.organization,
        type="certificate.revoked",
        payload=lambda: certificate_data(certificate),
    )
    if notify:
        outbox_enqueue(
            to=certificate.recipient_email,
            template="certificate_revoked",
            context={"certificate": certificate},
            organization=certificate.organization,
            dedupe_key=f"certificate-revoked:{certificate.pk}",
        )
    return certificate


def certificate_revoke_for_credit(credit, *, actor: Actor, reason: str) -> int:
    """Revoke the valid certificate of a credit that was revoked or voided."""
    count = 0
    for cert in Certificate.objects.filter(credit=credit, status=Certificate.Status.VALID):
        # The credit's own revocation e-mail tells the holder (a void tells nobody).
        certificate_revoke(
            actor=actor, certificate=cert, reason=reason or "Credit withdrawn.", notify=False
        )
        count += 1
    return count


@transaction.atomic
def certificate_replace(
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    recipient_name: str | None = None,
    title: str | None = None,
    completion_date: date | None = None,
    expires_on: date | None = None,
    template: CertificateTemplate | None = None,
    notify: bool = True,
) -> Certificate:
    """Issue a corrected certificate that supersedes this one; the old one shows "replaced"."""
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise ServiceError("Say why the certificate is replaced.", field="reason")
    old = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if old.status != Certificate.Status.VALID:
        raise ServiceError("Only a valid certificate can be replaced.")
    # The old one stops being valid first, so the credit keeps exactly one valid certificate.
    Certificate.objects.filter(pk=old.pk).update(
        status=Certificate.Status.REPLACED, revoke_reason=reason, revoked_at=timezone.now()
    )
    new = certificate_issue(
        actor=actor,
        organization=old.organization,
        recipient_name=recipient_name or old.recipient_name,
        recipient_email=old.recipient_email,
        title=title or old.title,
        completion_date=completion_date or old.completion_date,
        components=[Component(**c) for c in old.components],
        expires_on=expires_on if expires_on is not None else old.expires_on,
        template=template or old.template_version.template,
        course=old.course,
        credit=old.credit,
        notify=notify,
    )
    Certificate.objects.filter(pk=old.pk).update(replaced_by=new)
    old.refresh_from_db()
    audit_record(
        actor=actor,
        action="certificate.replaced",
        obj=old,
        organization=old.organization,
        before={"status": Certificate.Status.VALID},
        after={"status": old.status, "reason": reason, "replaced_by": new.serial_number},
    )
    webhooks_emit(
        organization=old.organization,
        type="certificate.replaced",
        payload=lambda: certificate_data(old),
    )
    certificate.refresh_from_db()
    return new


# --- bulk files ---------------------------------------------------------------------------


@transaction.atomic
def job_request(
    *,
    actor: Actor,
    organization: Organization,
    kind: str,
    certificate_ids: list[int],
    download_path: str = "",
) -> CertificateJob:
    """Queue a combined PDF or ZIP of the given certificates (ids checked against the org)."""
    ids = list(
        Certificate.objects.for_org(organization)
        .filter(pk__in=certificate_ids)
        .order_by("serial_number")
        .values_list("pk", flat=True)
    )
    if not ids and certificate_ids:
        # Ids that name nothing here are a lookup that found nothing (an API 404), not a
        # malformed request.
        raise ServiceError("None of those certificates is in this organization.", code="not_found")
    if not ids:
        raise ServiceError("Select at least one certificate.")
    if kind not in CertificateJob.Kind.values:
        raise ServiceError("Unknown file kind.")
    job = CertificateJob.objects.create(
        organization=organization,
        requested_by=actor.user,
        kind=kind,
        certificate_ids=ids,
        total=len(ids),
        download_path=download_path,
    )
    audit_record(
        actor=actor,
        action="certificate_job.requested",
        obj=job,
        organization=organization,
        after={"kind": kind, "total": len(ids)},
    )
    from laurel.certificates.tasks import job_start

    transaction.on_commit(lambda: job_start.enqueue(job.pk))
    return job


# --- expiry reminders ---------------------------------------------------------------------


def expiry_reminders_send(*, today: date | None = None) -> int:
    """Queue reminders 60, 30 and 7 days before expiry; safe to run any number of times a day.

    A certificate gets the reminder of the smallest threshold it has reached, once (outbox
    dedupe key), so a day the job did not run is caught up the next day.
    """
    sent = 0
    today_utc = today or timezone.now().date()
    horizon = today_utc + timedelta(days=max(REMINDER_DAYS) + 1)
    certs = Certificate.objects.filter(
        status=Certificate.Status.VALID, expires_on__isnull=False, expires_on__lte=horizon
    ).select_related("organization")
    # A list, not a server-side cursor: the loop writes (outbox rows) as it goes, and the set
    # is bounded by the horizon (certificates expiring within the next ~two months).
    for cert in list(certs):
        day = today or cert.organization.today()
        days_left = (cert.expires_on - day).days
        if days_left <= 0:
            continue
        reached = [d for d in REMINDER_DAYS if days_left <= d]
        if not reached:
            continue
        threshold = min(reached)
        message = outbox_enqueue(
            to=cert.recipient_email,
            template="certificate_expiring",
            context={"certificate": cert, "days_left": days_left},
            organization=cert.organization,
            dedupe_key=f"certificate-expiry:{cert.pk}:{threshold}",
        )
        sent += message is not None
    return sent


# --- policies -----------------------------------------------------------------------------


@transaction.atomic
def policy_set(
    *,
    actor: Actor,
    course,
    issue_on: str,
    template: CertificateTemplate | None = None,
    expires_after_days: int | None = None,
) -> CertificatePolicy:
    if template is not None and template.organization_id != course.organization_id:
        raise ServiceError("That template belongs to another organization.", field="template")
    policy = CertificatePolicy.objects.filter(course=course).first() or CertificatePolicy(
        course=course
    )
    before = {"issue_on": policy.issue_on, "template": policy.template_id}
    policy.issue_on = issue_on
    policy.template = template
    policy.expires_after_days = expires_after_days
    _check(policy)
    policy.save()
    audit_record(
        actor=actor,
        action="certificate_policy.updated",
        obj=policy,
        organization=course.organization,
        before=before,
        after={
            "issue_on": issue_on,
            "template": policy.template_id,
            "expires_after_days": expires_after_days,
        },
    )
    return policy
