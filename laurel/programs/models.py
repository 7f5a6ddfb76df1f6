"""Certification programs: their versioned definitions, enrollments, completions, trackers."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ProgramQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class Program(models.Model):
    """What staff define and enrollees see; its rules live in versions (``current_version``)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="programs"
    )
    code = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "programs.ProgramVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="one_program_code_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.current_version.name if self.current_version_id else ''}".strip()

    @property
    def name(self) -> str:
        return self.current_version.name if self.current_version_id else self.code


class ProgramVersion(models.Model):
    """One edition of a program's rules. Enrollees stay on the version they enrolled in;
    editing an Active program makes a new one."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The completion window: months from enrollment, or a fixed date (one of them).
    window_months = models.PositiveIntegerField(null=True, blank=True)
    window_fixed_date = models.DateField(null=True, blank=True)
    grace_days = models.PositiveIntegerField(default=0)
    allow_self_enroll = models.BooleanField(default=False)
    allow_cancel = models.BooleanField(default=False)
    ordered = models.BooleanField(default=False, help_text="Requirements in order.")
    maintenance = models.BooleanField(
        default=False, help_text="Recertification: earning opens the next cycle."
    )
    certificate_template = models.ForeignKey(
        "certificates.CertificateTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issue_on_earn = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["program", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="one_program_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.name} (version {self.number})"

    def deadline_for(self, enrolled_on: date) -> date | None:
        """The completion deadline of an enrollment that starts on ``enrolled_on``."""
        if self.window_fixed_date:
            return self.window_fixed_date
        if self.window_months:
            return enrolled_on + relativedelta(months=self.window_months)
        return None


class Requirement(models.Model):
    class Kind(models.TextChoices):
        OFFERING = "offering", "Offering completed"
        CREDIT_HOURS = "credit_hours", "Credit hours"
        MANUAL = "manual", "Recorded by staff"

    version = models.ForeignKey(
        ProgramVersion, on_delete=models.CASCADE, related_name="requirements"
    )
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    credit_type_code = models.CharField(max_length=16, blank=True)
    hours = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    needs_grade = models.BooleanField(default=False)
    min_grade = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    needs_approval = models.BooleanField(default=False)
    needs_attachment = models.BooleanField(default=False)

    class Meta:
        ordering = ["version", "position"]

    def __str__(self) -> str:
        return self.title


class Offering(models.Model):
    """One way to satisfy an offering requirement: a course (its accepted credit counts) or
    an event (attending it counts; docs/programs.md)."""

    class Kind(models.TextChoices):
        COURSE = "course", "Course"
        EVENT = "event", "Event"

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="offerings")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COURSE)
    course = models.ForeignKey(
        "catalog.Course", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(
        "events.Event", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="course", course__isnull=False, event__isnull=True))
                | Q(kind="event", event__isnull=False, course__isnull=True),
                name="offering_is_a_course_or_an_event",
            )
        ]

    def __str__(self) -> str:
        return str(self.course if self.kind == self.Kind.COURSE else self.event)

    @property
    def register_url(self) -> str:
        """The public page of an event offering one can still register for ('' otherwise)."""
        from django.urls import reverse

        event = self.event
        if event is None or event.visibility != event.Visibility.PUBLIC:
            return ""
        if event.refuses_registration() or event.ends_at <= timezone.now():
            return ""
        return reverse("events:public", args=[event.pk])


class EnrollmentQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class Enrollment(models.Model):
    """One person in one cycle of one program. Without a holder it waits, like held credit,
    for the address to be verified."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        GRACE = "grace", "Grace period"
        EARNED = "earned", "Earned"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.ENROLLED, Status.GRACE)
    INACTIVE = (Status.EXPIRED, Status.CANCELLED)

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrollments")
    version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enrollments",
    )
    cycle = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ENROLLED)
    enrolled_on = models.DateField()
    # The completion deadline shown to people is ``grace_starts_on``; after it the enrollment
    # is in its grace period until ``expires_on``.
    grace_starts_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    earned_on = models.DateField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    certificate = models.ForeignKey(
        "certificates.Certificate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["email", "-cycle"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "email"],
                condition=Q(status__in=["enrolled", "grace"]),
                name="one_open_enrollment_per_program_email",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "status", "email"]),
            # The sweep's two searches: only open enrollments, by date.
            models.Index(
                fields=["grace_starts_on"],
                condition=Q(status="enrolled"),
                name="enrollment_due_grace",
            ),
            models.Index(
                fields=["expires_on"],
                condition=Q(status__in=["enrolled", "grace"]),
                name="enrollment_due_expiry",
            ),
        ]

    def __str__(self) -> str:
        # No related lookups: the sweep audits enrollments it only has ids and e-mails of.
        return f"enrollment {self.pk} of {self.email}"

    @property
    def deadline(self) -> date | None:
        """The completion deadline people see: the start of grace, or expiry without grace."""
        return self.grace_starts_on or self.expires_on

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Completion(models.Model):
    """One record of a requirement done. Complete is read-only: a correction is a new
    completion that supersedes it."""

    class Status(models.TextChoices):
        AWAITING_GRADE = "awaiting_grade", "Awaiting grade"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        COMPLETE = "complete", "Complete"
        RETURNED = "returned", "Returned"
        SUPERSEDED = "superseded", "Superseded"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="completions")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices)
    completed_on = models.DateField()
    notes = models.TextField(blank=True)
    grade = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    attachment = models.FileField(upload_to="programs/completions/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(max_length=500, blank=True)
    supersedes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["status"],
                condition=Q(status="awaiting_approval"),
                name="completion_awaiting_approval",
            )
        ]

    def __str__(self) -> str:
        return f"{self.requirement} for {self.enrollment.email}"


class Tracker(models.Model):
    """How many enrollments of a program are in a status, kept in the transaction that moves
    them (the program page reads four rows instead of counting a million)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="trackers")
    status = models.CharField(max_length=10, choices=Enrollment.Status.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "status"], name="one_tracker_per_status")
        ]


class CreditReview(models.Model):
    """A program's staff deciding whether a holder's self-reported credit counts toward one
    enrollment's credit-hours requirements. Until approved it counts for nothing there."""

    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        APPROVED = "approved", "Approved"
        RETURNED = "returned", "Returned"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="reviews")
    credit = models.ForeignKey("credits.Credit", on_delete=models.CASCADE, related_name="reviews")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_APPROVAL
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "credit"], name="one_review_per_credit")
        ]
        indexes = [
            models.Index(
                fields=["status"],
                condition=Q(status="awaiting_approval"),
                name="review_awaiting_approval",
            )
        ]

    def __str__(self) -> str:
        return f"review of credit {self.credit_id} for enrollment {self.enrollment_id}"
