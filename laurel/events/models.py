"""Events: dated sessions with credit components, registrations and the attendance that
awards credit. What attendance earned is kept as ``Attendance`` rows linking each
registration (and session) to the ledger's credit and the certificate it issued."""

from __future__ import annotations

import secrets
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import validate_time_zone
from laurel.lib.jobs import BackgroundJob

# No 0/O, 1/I/L: a code read aloud or typed from a badge is unambiguous.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class EventQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def public(self):
        return self.filter(visibility=Event.Visibility.PUBLIC)


class Event(models.Model):
    """One event (a class, a conference). Times are stored in UTC and shown in ``time_zone``."""

    class Format(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public listing"
        BACK_OFFICE = "back_office", "Back office only"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"

    class CertificateIssue(models.TextChoices):
        ATTENDANCE = "attendance", "When attendance is marked"
        NEVER = "never", "Never (manual only)"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="events"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.IN_PERSON)
    venue = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    join_url = models.URLField(blank=True, help_text="The online meeting's join link.")
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seats; empty for no limit. Beyond it people wait."
    )
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.BACK_OFFICE
    )
    registration_open = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    certificate_issue = models.CharField(
        max_length=12, choices=CertificateIssue.choices, default=CertificateIssue.ATTENDANCE
    )
    certificate_template = models.ForeignKey(
        "certificates.CertificateTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Online attendance reports (an attendee import): who stayed less earns nothing, and
    # where allowed, credit in proportion to the minutes attended.
    minimum_minutes = models.PositiveIntegerField(null=True, blank=True)
    partial_credit = models.BooleanField(default=False)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["organization", "-starts_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_start(self):
        return self.starts_at.astimezone(self.tz)

    @property
    def local_end(self):
        return self.ends_at.astimezone(self.tz)

    @property
    def completion_date(self):
        """The calendar day attendance is completed on: the event's last day, where it is."""
        return self.local_end.date()

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    def refuses_registration(self) -> str:
        """Why nobody can register now ('' when they can)."""
        if self.is_cancelled:
            return "This event is cancelled; it takes no registrations."
        if not self.registration_open:
            return "Registration for this event is closed."
        return ""

    def get_absolute_url(self) -> str:
        return reverse("events:detail", args=[self.organization.slug, self.pk])


class RegistrationType(models.Model):
    """A kind of registration with a price label ("Free", "$45 member"). Laurel does no
    invoicing: the label is information for the attendee."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registration_types")
    name = models.CharField(max_length=100)
    price_label = models.CharField(max_length=60, blank=True, help_text="Empty means free.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_label or 'Free'})"


class CreditTrack(models.Model):
    """One of an event's alternative credit offers ("COEC 3.0" or "COEN 3.0"); each
    registration is on at most one."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tracks")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="one_track_name_per_event")
        ]

    def __str__(self) -> str:
        return self.name


class EventSession(models.Model):
    """A timed part of a multi-session event with its own components and attendance."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=300)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def completion_date(self):
        return self.ends_at.astimezone(self.event.tz).date()


class EventComponent(models.Model):
    """What attendance earns: a credit type and amount, for the whole event or one session,
    for everyone or only for one track's registrants."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="components")
    session = models.ForeignKey(
        EventSession, null=True, blank=True, on_delete=models.CASCADE, related_name="components"
    )
    track = models.ForeignKey(
        CreditTrack, null=True, blank=True, on_delete=models.CASCADE, related_name="components"
    )
    credit_type = models.ForeignKey(
        "catalog.CreditType", on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["session_id", "track_id", "credit_type__code"]

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.credit_type.code}"


class RegistrationQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(event__organization=org)

    def holding_seats(self):
        return self.filter(status__in=Registration.SEATED)


class Registration(models.Model):
    """One person on one event. Status changes go through ``events.services`` only."""

    class Status(models.TextChoices):
        WAITLISTED = "waitlisted", "Waitlisted"
        REGISTERED = "registered", "Registered"
        ATTENDED = "attended", "Attended"
        NO_SHOW = "no_show", "No-show"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff"
        SELF = "self", "Self-registered"
        IMPORT = "import", "Import"
        API = "api", "API"

    SEATED = (Status.REGISTERED, Status.ATTENDED, Status.NO_SHOW)

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="registrations")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event_registrations",
    )
    track = models.ForeignKey(
        CreditTrack, null=True, blank=True, on_delete=models.PROTECT, related_name="registrations"
    )
    registration_type = models.ForeignKey(
        RegistrationType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REGISTERED)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.STAFF)
    # Which batch made it ("import:42"), so an import can report on and undo its rows.
    source_ref = models.CharField(max_length=64, blank=True)
    check_in_code = models.CharField(max_length=12, default=new_check_in_code)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Waitlist order: the earliest waiting is promoted first.
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["event", "email"], name="one_registration_per_email"),
            models.UniqueConstraint(
                fields=["event", "check_in_code"], name="one_check_in_code_per_event"
            ),
        ]
        indexes = [models.Index(fields=["event", "status"])]

    def __str__(self) -> str:
        return f"{self.name or self.email} — {self.event}"

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Attendance(models.Model):
    """What one attended registration earned for the event or one of its sessions: the
    ledger credit and the certificate. Leaving Attended revokes both and closes the row;
    a later mark makes a new row (never editing the old)."""

    registration = models.ForeignKey(
        Registration, on_delete=models.PROTECT, related_name="attendances"
    )
    session = models.ForeignKey(
        EventSession, null=True, blank=True, on_delete=models.PROTECT, related_name="attendances"
    )
    # Written in bulk: no per-row foreign key checks on the ledger (see Credit).
    credit = models.ForeignKey(
        "credits.Credit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    certificate = models.ForeignKey(
        "certificates.Certificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # Minutes attended, where a report said (an attendee import); partial credit follows.
    minutes = models.PositiveIntegerField(null=True, blank=True)
    marked_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registration_id", "session_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration"],
                condition=Q(session__isnull=True, revoked_at__isnull=True),
                name="one_live_event_attendance",
            ),
            models.UniqueConstraint(
                fields=["registration", "session"],
                condition=Q(session__isnull=False, revoked_at__isnull=True),
                name="one_live_session_attendance",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration} {self.session or ''}".strip()


class AttendanceChange(models.Model):
    """One action of the attendance tool (one person, a selection, everyone): what each
    registration was before, so that "undo the last change" can put it back."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendance_changes")
    state = models.CharField(max_length=12, choices=Registration.Status.choices)
    # [[registration id, status before], ...] for the registrations that changed.
    before = models.JSONField(default=list)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{len(self.before)} → {self.state}"


class AttendanceJob(BackgroundJob):
    """A large attendance change (thousands of registrations) done by a worker in chunks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendance_jobs")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=12, choices=Registration.Status.choices)
    registration_ids = models.JSONField(default=list)
    notify = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    change = models.ForeignKey(
        AttendanceChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    RUNNING = (Status.QUEUED, Status.RUNNING)
    FAILED_ACTION = "attendance_job.failed"
    CHUNK = 1000

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.total} → {self.state} ({self.status})"

    def job_owner(self):
        return self.requested_by

    def job_title(self) -> str:
        return f"Marking {self.total} registrations {self.get_state_display()}"

    def job_link(self) -> str:
        return reverse("events:attendees", args=[self.organization.slug, self.event_id])

    def job_resume(self) -> None:
        from django.db import transaction

        from laurel.events.tasks import attendance_job_run

        AttendanceJob.objects.filter(pk=self.pk).update(status=self.Status.QUEUED)
        transaction.on_commit(lambda: attendance_job_run.enqueue(self.pk))

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100
