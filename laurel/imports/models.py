"""Import jobs: one row per uploaded file, one compact row per data row of the file."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from laurel.lib.jobs import BackgroundJob


def import_upload_path(instance, filename: str) -> str:
    # The uploader's file name is display-only: never part of a path.
    return f"imports/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class ImportJobQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class ImportJob(BackgroundJob):
    """An uploaded file of one kind, validated first, then committed by a background job."""

    class Kind(models.TextChoices):
        CREDITS = "credits", "Credits"
        CERTIFICATES = "certificates", "Certificates earned elsewhere"
        PROGRESS = "progress", "LMS progress of course-takers"
        ATTENDEES = "attendees", "Attendees of an event (roster, Zoom or Teams report)"
        ENROLLMENTS = "enrollments", "Program enrollments"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        NEEDS_MAPPING = "needs_mapping", "Needs column mapping"
        VALIDATING = "validating", "Validating"
        VALIDATED = "validated", "Ready to commit"
        COMMITTING = "committing", "Committing"
        RESUMING = "resuming", "Resuming"
        COMMITTED = "committed", "Committed"
        FAILED = "failed", "Failed"
        UNDOING = "undoing", "Undoing"
        UNDONE = "undone", "Undone"
        RETURNED = "returned", "Returned to the provider"

    RUNNING = (
        Status.UPLOADED,
        Status.VALIDATING,
        Status.COMMITTING,
        Status.RESUMING,
        Status.UNDOING,
    )

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="import_jobs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CREDITS)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A roster a course provider sent: the organization's staff commit it or return it.
    submitted_by_provider = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rosters_sent",
    )
    return_reason = models.TextField(blank=True)
    # Who started it when no user did (an API key, the command line).
    actor_label = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(max_length=255, help_text="As uploaded; display only.")
    file = models.FileField(upload_to=import_upload_path, max_length=200)
    file_size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    counts = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # The last row number whose commit is durable; a resumed commit continues after it.
    cursor = models.PositiveIntegerField(default=0)
    headings = models.JSONField(default=list, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    commit_requested_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    FAILED_ACTION = "import.failed"

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "kind", "sha256"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.file_name})"

    def job_owner(self):
        return self.uploaded_by

    def job_title(self) -> str:
        return f"The import of {self.file_name}"

    def job_link(self) -> str:
        return reverse("imports:detail", args=[self.organization.slug, self.pk])

    def job_resume(self) -> None:
        from laurel.imports import services

        services.import_resume(self)

    @property
    def source_ref(self) -> str:
        return f"import:{self.pk}"

    @property
    def verify_only(self) -> bool:
        return bool(self.options.get("verify_only"))

    @property
    def suppress_notifications(self) -> bool:
        return bool(self.options.get("suppress_notifications"))

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, int(100 * self.rows_done / self.rows_total))

    def count(self, key: str) -> int:
        return int(self.counts.get(key, 0))

    @property
    def to_commit(self) -> int:
        return self.count("deliverable") + self.count("invite") - self.count("excluded")

    def can_commit(self) -> bool:
        return self.status == self.Status.VALIDATED and self.to_commit > 0

    def undo_deadline(self):
        if self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=settings.LAUREL_IMPORT_UNDO_DAYS)

    def can_undo(self) -> bool:
        deadline = self.undo_deadline()
        return (
            self.status == self.Status.COMMITTED
            # A later feed overwrites progress anyway; enrollments are cancelled one by one.
            and self.kind not in (self.Kind.PROGRESS, self.Kind.ENROLLMENTS)
            and deadline is not None
            and timezone.now() <= deadline
        )


class ImportRow(models.Model):
    """One data row as validated: its category in the preview, then its outcome."""

    class Category(models.TextChoices):
        DELIVERABLE = "deliverable", "Will be delivered and notified"
        INVITE = "invite", "Will be delivered; e-mail will be invited"
        UNKNOWN_COURSE = "unknown_course", "Course ID not recognised"
        INVALID = "invalid", "Invalid"
        DUPLICATE_IN_FILE = "duplicate_in_file", "Repeated in this file"
        DUPLICATE_EXISTING = "duplicate_existing", "Already in the ledger"
        # The address is on the suppression list: correct it in the file rather than record
        # a credit nobody can be told about.
        UNDELIVERABLE = "undeliverable", "Known undeliverable address"

    class Outcome(models.TextChoices):
        PENDING = "", "Not committed"
        OFFERED = "offered", "Delivered (offered)"
        HELD = "held", "Delivered (held)"
        ISSUED = "issued", "Certificate issued"
        SKIPPED_DUPLICATE = "skipped_duplicate", "Skipped: duplicate"
        RECORDED = "recorded", "Progress recorded"
        MARKED = "marked", "Attendance status set"
        ENROLLED = "enrolled", "Enrolled"
        COMPLETED = "completed", "Enrolled already; completion recorded"
        EXCLUDED = "excluded", "Excluded"
        FAILED = "failed", "Failed"

    COMMITTABLE = (Category.DELIVERABLE, Category.INVITE)
    PROBLEMS = (
        Category.UNKNOWN_COURSE,
        Category.INVALID,
        Category.DUPLICATE_IN_FILE,
        Category.DUPLICATE_EXISTING,
    )

    # No index of its own (the unique (job, number) index serves every lookup by job) and no
    # database-level foreign key: a million staged rows would each fire a deferred check
    # against a job row that the writer holds anyway. Deletion still cascades (in Django).
    job = models.ForeignKey(
        ImportJob,
        on_delete=models.CASCADE,
        related_name="rows",
        db_index=False,
        db_constraint=False,
    )
    number = models.PositiveIntegerField(help_text="Row number as a spreadsheet shows it.")
    category = models.CharField(max_length=20, choices=Category.choices)
    included = models.BooleanField(default=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    email = models.CharField(max_length=254, blank=True)
    course_ref = models.CharField(max_length=64, blank=True, help_text="Course ID as written.")
    course_pk = models.IntegerField(null=True, blank=True)
    completion_date = models.DateField(null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    amount_earned = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    credit_type = models.CharField(max_length=16, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # For a problem row: which column, the value as written, and why.
    column = models.CharField(max_length=100, blank=True)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    credit_id = models.BigIntegerField(null=True, blank=True)
    # Credits kind: the person's member ID as written (blank: leave the connection's as is).
    member_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Certificates kind: the expiry as written, and the certificate the row issued.
    expires_on = models.DateField(null=True, blank=True)
    certificate_id = models.BigIntegerField(null=True, blank=True)
    # Attendees kind: the registration the row set, and its status before (empty: the import
    # registered the person), so an undo can put it back through the attendance service.
    registration_id = models.BigIntegerField(null=True, blank=True)
    status_before = models.CharField(max_length=12, blank=True, default="", db_default="")
    # Certificates and enrollments kinds: the program the row names (code in ``value`` of a
    # problem row), and the enrollment date of an enrollments row.
    program_id = models.BigIntegerField(null=True, blank=True)
    enrolled_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="one_import_row_per_number")
        ]
        indexes = [models.Index(fields=["job", "category", "number"])]

    def __str__(self) -> str:
        return f"Row {self.number} ({self.category})"

    @property
    def status_label(self) -> str:
        if self.outcome:
            return self.get_outcome_display()
        return self.get_category_display()


class ImportMapping(models.Model):
    """A column mapping saved for next time: file heading → field, per organization and kind."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ImportJob.Kind.choices)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="one_mapping_per_kind")
        ]
