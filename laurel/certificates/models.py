"""Certificates: templates with immutable versions, issued certificates, signing keys, bulk jobs.

An issued certificate is a record of what was said on the day: it keeps its own data and the
template version it was issued with. It is never edited; it is revoked or replaced.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from laurel.lib.amounts import credit_phrase
from laurel.lib.jobs import BackgroundJob
from laurel.lib.pdf import BULK_CHUNK

HEX_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #1f4e79.")


class Design(models.TextChoices):
    CLASSIC = "classic", "Classic"
    MODERN = "modern", "Modern"
    MINIMAL = "minimal", "Minimal"


class Paper(models.TextChoices):
    LETTER = "letter", "US Letter"
    A4 = "a4", "A4"


class CertificateTemplate(models.Model):
    """An organization's certificate look as it is configured now; edits make new versions."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="certificate_templates"
    )
    name = models.CharField(max_length=120)
    design = models.CharField(max_length=20, choices=Design.choices, default=Design.CLASSIC)
    paper = models.CharField(max_length=10, choices=Paper.choices, default=Paper.LETTER)
    accent_color = models.CharField(max_length=7, default="#1f4e79", validators=[HEX_COLOUR])
    signatory_name = models.CharField(max_length=120, blank=True)
    signatory_title = models.CharField(max_length=120, blank=True)
    footer_text = models.CharField(
        max_length=500, blank=True, help_text="E.g. the accreditation statement."
    )
    logo = models.FileField(upload_to="certificates/branding/", blank=True)
    signature = models.FileField(upload_to="certificates/branding/", blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default=True),
                name="one_default_certificate_template",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> CertificateTemplateVersion | None:
        return self.versions.order_by("-number").first()


class CertificateTemplateVersion(models.Model):
    """A frozen snapshot of a template, images included; certificates point here."""

    template = models.ForeignKey(
        CertificateTemplate, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    organization_name = models.CharField(max_length=200)
    design = models.CharField(max_length=20, choices=Design.choices)
    paper = models.CharField(max_length=10, choices=Paper.choices)
    accent_color = models.CharField(max_length=7, validators=[HEX_COLOUR])
    signatory_name = models.CharField(max_length=120, blank=True)
    signatory_title = models.CharField(max_length=120, blank=True)
    footer_text = models.CharField(max_length=500, blank=True)
    # Image bytes are copied in: a stored file can be replaced, a version cannot.
    logo = models.BinaryField(null=True, blank=True)
    signature = models.BinaryField(null=True, blank=True)
    content_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"

    def compute_hash(self) -> str:
        digest = hashlib.sha256()
        for value in (
            self.organization_name,
            self.design,
            self.paper,
            self.accent_color,
            self.signatory_name,
            self.signatory_title,
            self.footer_text,
        ):
            digest.update(value.encode() + b"\x00")
        for image in (self.logo, self.signature):
            digest.update(hashlib.sha256(bytes(image or b"")).digest())
        return digest.hexdigest()


class CertificatePolicy(models.Model):
    """When a course's credits get a certificate automatically, and with which template."""

    class IssueOn(models.TextChoices):
        ENTRY = "entry", "When the credit is entered"
        ACCEPTANCE = "acceptance", "When the holder accepts the credit"
        NEVER = "never", "Never (manual only)"

    course = models.OneToOneField(
        "catalog.Course", on_delete=models.CASCADE, related_name="certificate_policy"
    )
    issue_on = models.CharField(max_length=12, choices=IssueOn.choices, default=IssueOn.ACCEPTANCE)
    template = models.ForeignKey(
        CertificateTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_after_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.course}: {self.get_issue_on_display()}"


class CertificateCounter(models.Model):
    """Per-organization sequences for serial numbers and status list positions."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="certificate_counter"
    )
    next_serial = models.PositiveIntegerField(default=1)
    next_status_index = models.PositiveIntegerField(default=0)


def new_verification_code() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits, 22 characters


def new_identity_salt() -> str:
    return secrets.token_hex(16)


class CertificateQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def expired_on(self, day):
        return self.filter(expires_on__isnull=False, expires_on__lt=day)


class Certificate(models.Model):
    """One issued certificate. Never edited: revoke with a reason, or replace."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        REVOKED = "revoked", "Revoked"
        REPLACED = "replaced", "Replaced"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="certificates"
    )
    serial_number = models.CharField(max_length=32)
    verification_code = models.CharField(
        max_length=32, unique=True, default=new_verification_code, editable=False
    )
    recipient_name = models.CharField(max_length=200)
    recipient_email = models.EmailField()
    title = models.CharField(max_length=300, help_text="What it is for.")
    course = models.ForeignKey(
        "catalog.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    components = models.JSONField(
        default=list, blank=True, help_text='[{"code", "name", "unit", "amount"}] as issued.'
    )
    completion_date = models.DateField()
    issue_date = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    template_version = models.ForeignKey(
        CertificateTemplateVersion, on_delete=models.PROTECT, related_name="certificates"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    revoke_reason = models.CharField(max_length=500, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )
    credit = models.ForeignKey(
        "credits.Credit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_list_index = models.PositiveIntegerField()
    identity_salt = models.CharField(max_length=32, default=new_identity_salt, editable=False)
    credential = models.JSONField(null=True, blank=True, help_text="Signed OpenBadgeCredential.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "serial_number"], name="certificate_serial_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "status_list_index"], name="certificate_status_index"
            ),
            models.UniqueConstraint(
                fields=["credit"],
                condition=models.Q(status="valid"),
                name="one_valid_certificate_per_credit",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-issued_at"]),
            # The list's own order (page and API), so a page stops after its rows.
            models.Index(
                fields=["organization", "-issued_at", "-id"], name="certificate_org_recent"
            ),
            models.Index(fields=["recipient_email"]),
            models.Index(fields=["expires_on", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.serial_number} {self.recipient_name}"

    def is_expired(self, day) -> bool:
        return self.expires_on is not None and self.expires_on < day

    def public_state(self, day) -> str:
        """What the verification page says: valid, expired, revoked or replaced."""
        if self.status != self.Status.VALID:
            return self.status
        return "expired" if self.is_expired(day) else "valid"

    @property
    def verification_url(self) -> str:
        return f"{settings.SITE_URL}/v/{self.verification_code}"

    @property
    def credit_lines(self) -> list[str]:
        """ "1.5 contact hours", one per credit component."""
        return [
            credit_phrase(
                f"{Decimal(str(c['amount'])).normalize():f}", c["name"], c.get("unit", "")
            )
            for c in self.components
        ]


class OrganizationSigningKey(models.Model):
    """An organization's Ed25519 key for Open Badges; the private half is encrypted at rest.

    The encryption key is derived from SECRET_KEY: rotating SECRET_KEY makes stored private
    keys unreadable, so rotate the signing key (``rotate_signing_key``) first, or keep the old
    secret in SECRET_KEY_FALLBACKS, which is tried when decrypting.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="signing_keys"
    )
    public_key_multibase = models.CharField(max_length=64, unique=True)
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(retired_at__isnull=True),
                name="one_active_signing_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization}: {self.public_key_multibase[:12]}…"


def fernet_key(secret: str) -> bytes:
    digest = hashlib.sha256(b"laurel.certificates.signing-key\x00" + secret.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class CertificateJob(BackgroundJob):
    """A background file build over a selection: one combined PDF, or a ZIP of PDFs."""

    class Kind(models.TextChoices):
        COMBINED_PDF = "pdf", "Combined PDF"
        ZIP = "zip", "ZIP of PDFs"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="certificate_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    certificate_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    chunk_size = models.PositiveIntegerField(default=BULK_CHUNK)
    chunks_done = models.JSONField(default=list)
    file = models.CharField(max_length=300, blank=True)
    # Where the ready-file e-mail sends the requester when it is not this organization's
    # certificates page (a partner institution downloads through its ceremony).
    download_path = models.CharField(max_length=300, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)

    RUNNING = (Status.QUEUED, Status.RUNNING)
    FAILED_ACTION = "certificate_job.failed"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.total} ({self.status})"

    def job_owner(self):
        return self.requested_by

    def job_title(self) -> str:
        count = f"{self.total} certificate{'s' if self.total != 1 else ''}"
        return f"The {self.get_kind_display().lower()} of {count}"

    def job_link(self) -> str:
        return reverse("certificates:job", args=[self.organization.slug, self.pk])

    def job_resume(self) -> None:
        from laurel.certificates.tasks import job_start

        # Queued until a worker's job_start claims it; finished chunks are kept.
        CertificateJob.objects.filter(pk=self.pk).update(status=self.Status.QUEUED)
        transaction.on_commit(lambda: job_start.enqueue(self.pk))

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.total // self.chunk_size))

    def chunk_ids(self, number: int) -> list[int]:
        return self.certificate_ids[number * self.chunk_size : (number + 1) * self.chunk_size]

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


class NameWaitQuerySet(models.QuerySet):
    def open(self):
        """Still waiting: not issued, and not about a credit withdrawn or rejected since."""
        return (
            self.filter(issued_at__isnull=True, cancelled_at__isnull=True)
            .exclude(credit__status__in=["rejected", "revoked", "voided"])
            .exclude(attendance__revoked_at__isnull=False)
        )

    def for_org(self, org):
        return self.filter(organization=org)


class CertificateNameWait(models.Model):
    """A certificate that would have been issued but has no name to print (none in the entry,
    none on an account): it waits until the holder gives one. Never an e-mail's local part."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    recipient_email = models.EmailField()
    credit = models.OneToOneField(
        "credits.Credit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate_name_wait",
    )
    enrollment = models.OneToOneField(
        "programs.Enrollment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate_name_wait",
    )
    # An event attendance's certificate (``events.services.attendance_set``).
    attendance = models.OneToOneField(
        "events.Attendance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="certificate_name_wait",
    )
    created_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    certificate = models.ForeignKey(
        Certificate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = NameWaitQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["recipient_email"]), models.Index(fields=["organization"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit__isnull=False)
                | models.Q(enrollment__isnull=False)
                | models.Q(attendance__isnull=False),
                name="name_wait_has_subject",
            )
        ]

    def __str__(self) -> str:
        return f"Certificate for {self.recipient_email} waiting for a name"


class CertificateIssueJob(BackgroundJob):
    """Signing the certificates a bulk acceptance made due, in the background: the credits'
    ids and how far the worker got, so a job whose worker died is resumed (``resume_stale``)
    where it stopped. Issuing is idempotent (one valid certificate per credit)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="certificate_issue_jobs"
    )
    # Who answered (the holder who accepted): the certificates are issued as them.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    credit_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # credits handled, in ``credit_ids`` order

    RUNNING = (Status.QUEUED, Status.RUNNING)
    FAILED_ACTION = "certificate_issue.failed"
    CHUNK = 50  # credits between heartbeats (and progress)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Issuing {self.total} certificates ({self.status})"

    def job_title(self) -> str:
        return f"Issuing {self.total} certificate{'s' if self.total != 1 else ''}"

    def job_resume(self) -> None:
        from laurel.certificates.tasks import certificates_issue_run

        # Queued until a worker claims it; the credits already handled are skipped.
        CertificateIssueJob.objects.filter(pk=self.pk).update(status=self.Status.QUEUED)
        transaction.on_commit(lambda: certificates_issue_run.enqueue(self.pk))
