"""People, organizations (tenants), memberships, connections and invitations."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def normalize_email(email: str) -> str:
    """Laurel compares e-mail addresses case-insensitively: stored lower-cased and stripped."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in. Their addresses (each verified separately) are allauth's
    ``EmailAddress`` rows; ``email`` is the primary one."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Holder pages show times here; empty until set on the profile (or from the browser at
    # sign-up), then UTC.
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def verified_emails(self) -> list[str]:
        return [
            normalize_email(e)
            for e in self.emailaddress_set.filter(verified=True).values_list("email", flat=True)
        ]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/New_York).")


class Organization(models.Model):
    """A tenant: an accrediting body, association or training partner."""

    class Kind(models.TextChoices):
        # Issues credit and certificates (an accrediting body, an association).
        ISSUING = "issuing", "Issuing organization"
        # A training vendor that submits courses to issuing organizations for approval.
        PROVIDER = "provider", "Course provider"
        # An institution that runs an issuing organization's courses for its own people.
        PARTNER = "partner", "Partner institution"

    class DateFormat(models.TextChoices):
        US = "US", "US (MM/DD/YYYY)"
        INTL = "INTL", "International (DD/MM/YYYY)"
        ISO = "ISO", "ISO (YYYY-MM-DD)"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.ISSUING)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Short name used in addresses, e.g. northwind.",
    )
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    course_id_prefix = models.CharField(
        max_length=8,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z][A-Z0-9]{1,7}$", "2–8 capital letters or digits, e.g. NNA.")
        ],
        help_text="Begins every course ID, e.g. NNA-26-00042.",
    )
    date_format = models.CharField(
        max_length=4,
        choices=DateFormat.choices,
        default=DateFormat.US,
        help_text="How dates typed in imports are read when day and month are ambiguous.",
    )
    reply_to = models.EmailField(blank=True, help_text="Replies to Laurel's e-mails go here.")
    logo = models.ImageField(upload_to="logos/", blank=True)
    require_staff_2fa = models.BooleanField(
        default=False,
        help_text="Admins, reviewers and certification managers must use two-factor login.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self):
        """Today's calendar date where the organization is."""
        return timezone.now().astimezone(self.tz).date()

    def clean(self):
        super().clean()
        taken = OrganizationSlug.objects.filter(slug=self.slug)
        if self.pk:
            taken = taken.exclude(organization_id=self.pk)
        if self.slug and taken.exists():
            raise ValidationError(
                {"slug": "Another organization used this address before; it stays theirs."}
            )

    def used_slug(self, slug: str) -> bool:
        """``slug`` is this organization's, now or before a rename."""
        return slug == self.slug or self.former_slugs.filter(slug=slug).exists()


class OrganizationSlug(models.Model):
    """A slug an organization used before a rename. Issued credentials name their issuer and
    status list by slug (did:web), so each stays served and reserved for ever."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="former_slugs"
    )
    slug = models.SlugField(max_length=50, unique=True)
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.slug


def organization_by_any_slug(slug: str) -> Organization | None:
    """The organization whose slug is or was ``slug``."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        former = OrganizationSlug.objects.select_related("organization").filter(slug=slug).first()
        org = former.organization if former else None
    return org


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    REVIEWER = "reviewer", "Reviewer"
    CERT_MANAGER = "cert_manager", "Certification manager"
    STAFF = "staff", "Staff"


# Roles that may turn on (and be required to use) two-factor login.
TWO_FACTOR_ROLES = {Role.ADMIN, Role.REVIEWER, Role.CERT_MANAGER}


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class Membership(models.Model):
    """A user working in an organization with one role. Removal keeps the row (history)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=Q(removed_at__isnull=True),
                name="one_active_membership_per_user_and_org",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"

    def has_role(self, *roles: str) -> bool:
        """Admins may do everything; other roles only what they are named for."""
        return self.role == Role.ADMIN or self.role in roles


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MemberInvitation(models.Model):
    """An invitation to join an organization's staff with a role."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="member_invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None


class Connection(models.Model):
    """A holder's link to an organization: invited by e-mail, connected once they accept."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        CONNECTED = "connected", "Connected"
        DECLINED = "declined", "Declined"

    # An import invites up to hundreds of thousands of e-mails at once: the unique
    # (organization, email) index serves lookups by organization, and the writers check the
    # organization set-based (no per-row foreign key check; ``on_delete`` applies in Django).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="connections",
        db_index=False,
        db_constraint=False,
    )
    email = models.EmailField()
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="connections",
        db_index=False,  # a partial index: invitations have no holder yet
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INVITED)
    # The person's ID in the organization's own member system (e.g. an NRDS number), set by
    # staff, imports and the API; sent with webhooks so an outside system can match records.
    member_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)
    connected_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], name="one_connection_per_email"
            )
        ]
        indexes = [
            models.Index(
                fields=["holder"], condition=Q(holder__isnull=False), name="connection_holder"
            )
        ]

    def __str__(self) -> str:
        return self.email
