"""Partnerships, cohorts and their course-takers, ceremonies and certificate requests, and
the Canvas connection that feeds progress.

Visibility: a partnership joins an issuing organization to a partner organization. The
issuing organization's members see every partnership's records; a partner's members see
their own partnership's only (``for_org``). Everything else is a 404.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from laurel.accounts.models import Organization, validate_time_zone

# A ceremony is scheduled at least this many days after today (the partner's time zone).
CEREMONY_LEAD_DAYS = 14


class Partnership(models.Model):
    """An issuing organization's courses run at a partner institution."""

    issuer = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="partnerships")
    partner = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="partnerships_as_partner"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["partner__name"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "partner"], name="one_partnership_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} · {self.partner}"


def visible_q(org: Organization, prefix: str = "partnership__") -> Q:
    """The rows of partnerships ``org`` takes part in, as issuer or as partner."""
    return Q(**{f"{prefix}issuer": org}) | Q(**{f"{prefix}partner": org})


class CohortQuerySet(models.QuerySet):
    def for_org(self, org: Organization):
        return self.filter(visible_q(org))


class Cohort(models.Model):
    """One run of a course at a partner; its course-takers' progress comes from the LMS."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=200)
    course_name = models.CharField(max_length=200)
    start_date = models.DateField()
    end_date = models.DateField()
    closes_on = models.DateField(help_text="Last day submissions are accepted.")
    certificate_title = models.CharField(
        max_length=300, help_text="e.g. Certificate in Effective College Instruction"
    )
    certificate_template = models.ForeignKey(
        "certificates.CertificateTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank: the issuing organization's default template.",
    )
    lms_course_id = models.CharField("LMS course reference", max_length=64, blank=True)
    # A completer with at least this final score in the LMS is certified.
    passing_score = models.DecimalField(max_digits=5, decimal_places=2, default=70)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["end_date", "name"]
        indexes = [models.Index(fields=["partnership", "end_date"])]

    def __str__(self) -> str:
        return self.name

    def is_closed(self, today: date) -> bool:
        return self.closes_on < today


class CourseTakerQuerySet(models.QuerySet):
    def for_org(self, org: Organization):
        return self.filter(visible_q(org, "cohort__partnership__"))


class CourseTaker(models.Model):
    """A person in a cohort and their latest progress (the last good record is kept)."""

    class State(models.TextChoices):
        COMPLETER = "completer", "Completed and certified"
        APPROACHING = "approaching", "Approaching certification"
        NOT_COMPLETED = "not_completed", "Did not complete (course closed)"
        UNCERTIFIED = "uncertified", "Completed without certification"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="takers")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    percent = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    completed_on = models.DateField(null=True, blank=True)
    certified = models.BooleanField(default=False)
    lms_user_id = models.CharField(max_length=64, blank=True)
    certificate = models.ForeignKey(
        "certificates.Certificate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CourseTakerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["cohort", "email"], name="one_taker_per_cohort_email")
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def state(self, today: date, closes_on: date | None = None) -> str:
        closes_on = closes_on or self.cohort.closes_on
        if self.completed_on:
            return self.State.COMPLETER if self.certified else self.State.UNCERTIFIED
        return self.State.NOT_COMPLETED if closes_on < today else self.State.APPROACHING


class CeremonyQuerySet(models.QuerySet):
    def for_org(self, org: Organization):
        return self.filter(visible_q(org))


class Ceremony(models.Model):
    """A pinning ceremony for chosen cohorts, or (``kind`` request) the same selection for
    certificates only. "Past" is not stored: it is computed from the date."""

    class Kind(models.TextChoices):
        CEREMONY = "ceremony", "Ceremony"
        REQUEST = "request", "Certificate request"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled / Pending"
        PINS_MAILED = "pins_mailed", "Scheduled / Pins mailed"
        CREATED = "created", "Created"
        CANCELLED = "cancelled", "Cancelled"

    class Format(models.TextChoices):
        ONLINE = "online", "Online"
        IN_PERSON = "in_person", "In person"

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="ceremonies"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CEREMONY)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    name = models.CharField(max_length=200)
    range_start = models.DateField()
    range_end = models.DateField()
    cohorts = models.ManyToManyField(Cohort, related_name="ceremonies", blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    format = models.CharField(max_length=10, choices=Format.choices, blank=True)
    venue = models.CharField(max_length=300, blank=True)
    representative_requested = models.BooleanField(default=False)
    mailing_contact = models.CharField(max_length=200, blank=True)
    mailing_email = models.EmailField(blank=True)
    mailing_address = models.TextField(blank=True)
    override_reason = models.TextField(blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    pins_mailed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        "certificates.CertificateJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CeremonyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_request(self) -> bool:
        return self.kind == self.Kind.REQUEST

    @property
    def local_start(self) -> datetime | None:
        if self.starts_at is None:
            return None
        return self.starts_at.astimezone(_zone(self.time_zone))

    def is_past(self, now: datetime | None = None) -> bool:
        return (
            self.kind == self.Kind.CEREMONY
            and self.status in (self.Status.SCHEDULED, self.Status.PINS_MAILED)
            and self.starts_at is not None
            and self.starts_at < (now or timezone.now())
        )

    def display_status(self, now: datetime | None = None) -> str:
        return "Past" if self.is_past(now) else self.get_status_display()

    @property
    def can_generate(self) -> bool:
        return self.status in (self.Status.SCHEDULED, self.Status.PINS_MAILED, self.Status.CREATED)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @staticmethod
    def earliest_date(today: date) -> date:
        return today + timedelta(days=CEREMONY_LEAD_DAYS)


def _zone(name: str):
    import zoneinfo

    return zoneinfo.ZoneInfo(name or "UTC")


class CanvasConnection(models.Model):
    """An issuing organization's Canvas: base URL and an API token encrypted at rest (the
    same Fernet key derivation as signing keys, so SECRET_KEY_FALLBACKS applies)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="canvas_connection"
    )
    base_url = models.URLField()
    token_encrypted = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Canvas for {self.organization}: {self.base_url}"


class SyncReport(models.Model):
    """One run of the Canvas sync: what changed and what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        DONE_WITH_ERRORS = "errors", "Done with errors"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sync_reports"
    )
    trigger = models.CharField(max_length=20, default="daily")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    cohorts = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Sync {self.started_at:%Y-%m-%d %H:%M} ({self.status})"
