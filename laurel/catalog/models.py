"""Credit types and courses: what an organization grants credit for; the providers' course
applications and their review; crib sheets and instruction text."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone


class CreditType(models.Model):
    # Empty for the platform's own types that self-reported credit is counted in (one per
    # code and unit, made on first use; docs/decisions/0008-self-reported-credit.md).
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credit_types",
    )
    code = models.CharField(
        max_length=16,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]{0,15}$", "Capital letters, digits, _.")],
    )
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=40, default="hours")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="credit_type_code_per_org"
            ),
            models.UniqueConstraint(
                fields=["code", "unit"],
                condition=models.Q(organization__isnull=True),
                name="one_platform_credit_type_per_code_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.unit})"


class CourseQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class Course(models.Model):
    class Format(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        LIVE_ONLINE = "live_online", "Live online"
        SELF_PACED = "self_paced", "Self-paced online"
        HYBRID = "hybrid", "Hybrid"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="courses"
    )
    course_id = models.CharField("course ID", max_length=32, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    delivery_format = models.CharField(
        max_length=16, choices=Format.choices, default=Format.SELF_PACED
    )
    active_from = models.DateField(help_text="First completion date that may be credited.")
    active_until = models.DateField(
        null=True, blank=True, help_text="Last completion date that may be credited (optional)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["course_id"]

    def __str__(self) -> str:
        return f"{self.course_id} {self.title}"

    def clean(self):
        if self.active_until and self.active_from and self.active_until < self.active_from:
            raise ValidationError({"active_until": "Must be on or after the first date."})

    def is_active_on(self, day) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)

    def inactive_reason(self, day) -> str | None:
        if day < self.active_from:
            return f"{self.course_id} can only be credited from {self.active_from:%Y-%m-%d}."
        if self.active_until and day > self.active_until:
            return f"{self.course_id} could only be credited until {self.active_until:%Y-%m-%d}."
        return None


class CourseComponent(models.Model):
    """Credit a course grants: a credit type and an amount."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="components")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["credit_type__code"]
        constraints = [
            models.UniqueConstraint(fields=["course", "credit_type"], name="one_component_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.credit_type.code}"


class CourseIdCounter(models.Model):
    """Next sequence number per organization and two-digit year (NNA-26-00042)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="one_counter_per_year")
        ]


# --- Providers, course applications and their review -----------------------------------------


def private_upload_path(instance, filename: str) -> str:
    # The uploader's file name is display-only: never part of a path.
    return f"{instance.UPLOAD_DIR}/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.pdf"


class ReviewPolicy(models.Model):
    """How an accrediting organization reviews what providers submit."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="review_policy"
    )
    two_reviewers = models.BooleanField(
        default=False, help_text="An approval needs two different reviewers."
    )
    require_provider_approval = models.BooleanField(
        default=False, help_text="Providers must be approved before they submit courses."
    )
    # Most credit an approval may grant per credit type code, e.g. {"CE": "8"}.
    max_credit = models.JSONField(default=dict, blank=True)


class ApplicationQuestion(models.Model):
    """An accrediting organization's own question on its application form."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CHOICE = "choice", "Choice"
        YES_NO = "yes_no", "Yes / no"
        FILE = "file", "File (PDF)"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="application_questions"
    )
    label = models.CharField(max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        if self.kind == self.Kind.CHOICE and len(self.choices) < 2:
            raise ValidationError({"choices": "A choice question needs at least two choices."})


class CourseApplicationQuerySet(models.QuerySet):
    def for_provider(self, provider):
        return self.filter(provider=provider)


class CourseApplication(models.Model):
    """A provider's generic application: a draft it edits and submits to organizations.
    What was submitted is the submission's snapshot, never this row."""

    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="course_applications"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    objectives = models.TextField("learning objectives", blank=True)
    delivery_format = models.CharField(
        max_length=16, choices=Course.Format.choices, default=Course.Format.SELF_PACED
    )
    # [{"date": "2026-09-01", "location": "Columbus, OH"}] for live formats.
    sessions = models.JSONField(default=list, blank=True)
    # [{"part": "Introduction", "minutes": 30}]
    agenda = models.JSONField(default=list, blank=True)
    # [{"name": ..., "credentials": ..., "bio": ...}]
    instructors = models.JSONField(default=list, blank=True)
    target_audience = models.CharField(max_length=300, blank=True)
    # {"CE": "2.5"}: credit type codes as the accrediting organizations name them.
    requested_credit = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CourseApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def duration_minutes(self) -> int:
        return sum(int(p.get("minutes") or 0) for p in self.agenda)


class Attachment(models.Model):
    """An uploaded PDF. Never changed or deleted: a submission's snapshot names it by id, so
    what a reviewer opens is what was submitted."""

    UPLOAD_DIR = "applications"

    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    application = models.ForeignKey(
        CourseApplication,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    file = models.FileField(upload_to=private_upload_path, max_length=200)
    file_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    # Taken off the draft; submissions that listed it still show it.
    detached_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.file_name


class SubmissionQuerySet(models.QuerySet):
    def for_org(self, org):
        """Submissions an accrediting organization received."""
        return self.filter(organization=org)

    def for_provider(self, provider):
        return self.filter(provider=provider)

    def open(self):
        return self.exclude(status__in=[Submission.Status.APPROVED, Submission.Status.DENIED])


class Submission(models.Model):
    """An application (or a provider's request for approval) sent to one organization."""

    class Kind(models.TextChoices):
        COURSE = "course", "Course"
        PROVIDER = "provider", "Provider approval"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        IN_REVIEW = "in_review", "In review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    DECIDABLE = (Status.SUBMITTED, Status.IN_REVIEW)

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="submissions_received"
    )
    provider = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="submissions_sent"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.COURSE)
    application = models.ForeignKey(
        CourseApplication,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submissions",
    )
    # A new try after a denial names the denied submission: reviewers see the chain.
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    title = models.CharField(max_length=300)
    round = models.PositiveSmallIntegerField(default=1)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    last_submitted_at = models.DateTimeField(default=timezone.now)
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    approved_credit = models.JSONField(default=dict, blank=True)
    course = models.OneToOneField(
        Course, null=True, blank=True, on_delete=models.PROTECT, related_name="submission"
    )

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["last_submitted_at", "id"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.provider} → {self.organization})"

    @property
    def reference(self) -> str:
        return f"S-{self.pk:05d}"

    @property
    def is_decidable(self) -> bool:
        return self.status in self.DECIDABLE

    def current_round(self):
        return self.rounds.get(number=self.round)

    def chain(self) -> list[Submission]:
        """Earlier denied tries, oldest first."""
        out, node = [], self.previous
        while node is not None:
            out.append(node)
            node = node.previous
        return out[::-1]


class SubmissionRound(models.Model):
    """What the provider sent, as it was: one per (re)submission of the same submission."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    snapshot = models.JSONField()
    # {question_id: {"label": ..., "kind": ..., "answer": ..., "attachment_id": ...}}
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "number"], name="one_round_number")
        ]


class SubmissionComment(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    # Internal comments stay inside the organization; the provider never sees them.
    internal = models.BooleanField(default=True)
    body = models.TextField()
    round = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class ReviewDecision(models.Model):
    """One reviewer's decision on one round (a first approval under the two-reviewer rule
    is recorded here and waits for a second reviewer)."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REQUEST_CHANGES = "request_changes", "Request changes"
        DENY = "deny", "Deny"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="decisions")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer_label = models.CharField(max_length=200, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    round = models.PositiveSmallIntegerField()
    reason = models.TextField(blank=True)
    approved_credit = models.JSONField(default=dict, blank=True)
    active_from = models.DateField(null=True, blank=True)
    active_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


# --- Crib sheets and instruction text --------------------------------------------------------


class Audience(models.TextChoices):
    PROVIDERS = "providers", "Providers"
    HOLDERS = "holders", "Holders"
    REVIEWERS = "reviewers", "Reviewers"
    STAFF = "staff", "Staff"


class CribSheetQuerySet(models.QuerySet):
    def current(self):
        return self.filter(removed_at__isnull=True)


class CribSheet(models.Model):
    """An instruction PDF an organization gives one audience."""

    UPLOAD_DIR = "crib-sheets"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="crib_sheets"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    title = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=private_upload_path, max_length=200)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = CribSheetQuerySet.as_manager()

    class Meta:
        ordering = ["audience", "order", "title"]

    def __str__(self) -> str:
        return self.title


class InstructionText(models.Model):
    """Markdown an admin writes for the top of one dashboard area."""

    class Area(models.TextChoices):
        LOCKER = "locker", "Holder locker"
        PROVIDER = "provider", "Provider dashboard"
        REVIEW = "review", "Reviewer queue"
        ENTRY = "entry", "Staff credit entry"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="instruction_texts"
    )
    area = models.CharField(max_length=10, choices=Area.choices)
    markdown = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "area"], name="one_text_per_area")
        ]
