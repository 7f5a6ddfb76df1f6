"""The credit ledger, and each holder's locker of dashboards."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class CreditQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def for_holder(self, user):
        """What a holder may see: delivered to them (never held credits, which have no holder)."""
        return self.filter(holder=user).exclude(status=Credit.Status.HELD)

    def counting(self):
        """Credits that count towards totals: accepted and not revoked."""
        return self.filter(status=Credit.Status.ACCEPTED)

    def pending_for(self, user):
        return self.filter(holder=user, status=Credit.Status.OFFERED)

    def with_delivery(self, *, reason: bool = False):
        """Annotate ``undeliverable``: the recipient address is on the suppression list
        (because it bounced). With ``reason``, also ``undeliverable_reason`` and
        ``undeliverable_status``: the suppression's reason code and DSN status text."""
        from laurel.notifications.models import Suppression

        bounced = Suppression.objects.filter(
            email=models.OuterRef("recipient_email"), reason__in=Suppression.BOUNCE_REASONS
        )
        qs = self.annotate(undeliverable=models.Exists(bounced))
        if reason:
            qs = qs.annotate(
                undeliverable_reason=models.Subquery(bounced.values("reason")[:1]),
                undeliverable_status=models.Subquery(bounced.values("status_text")[:1]),
            )
        return qs


class Credit(models.Model):
    """One delivery of credit to one recipient. Never edited silently: every change of
    status is a conditional update with an audit event."""

    class Status(models.TextChoices):
        HELD = "held", "Held"
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"
        VOIDED = "voided", "Voided"

    class Source(models.TextChoices):
        SINGLE = "single", "Single entry"
        IMPORT = "import", "Import"
        API = "api", "API"
        ATTENDANCE = "attendance", "Attendance"
        PROGRAM = "program", "Program completion"
        LMS = "lms", "LMS feed"
        SELF_REPORT = "self_report", "Self-reported"

    # The ledger takes a million rows in one import, so it carries only the indexes its
    # readers need, and no database-level foreign keys on the columns a bulk writer fills
    # (each would queue a per-row check): writers check those references set-based, and
    # ``on_delete`` still applies in Django. See docs/decisions/0004-ledger-write-path.md.
    # Empty only for self-reported credit, which no organization issued
    # (docs/decisions/0008-self-reported-credit.md).
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credits",
        db_index=False,  # the unique and (organization, status, created_at) indexes lead with it
        db_constraint=False,
    )
    course = models.ForeignKey(
        "catalog.Course",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credits",
        db_index=False,  # the (course, -completion_date, -id) index leads with it
        db_constraint=False,
    )
    # What the credit is for, as one key ("course:17"): the duplicate rule is per activity,
    # and later activities (events, programs) share this table.
    activity_key = models.CharField(max_length=64)
    title = models.CharField(max_length=300, help_text="What it is for, as delivered.")
    recipient_email = models.EmailField()
    recipient_name = models.CharField(max_length=200, blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credits",
        db_index=False,  # the partial (holder, status) index serves it
        db_constraint=False,
    )
    completion_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.SINGLE)
    # Which batch created it ("import:42"), so an import can be reported on and undone.
    # Looked up through the import's own rows (``ImportRow.credit_id``), so not indexed.
    source_ref = models.CharField(max_length=64, blank=True)
    note = models.TextField(blank=True)
    dashboard = models.ForeignKey(
        "credits.Dashboard",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="credits",
        db_index=False,  # a partial index: most credits are in no dashboard
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # only read when a user is deleted
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=500, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)

    objects = CreditQuerySet.as_manager()

    class Meta:
        ordering = ["-completion_date", "-id"]
        constraints = [
            # The same organization + activity + e-mail + completion date is one credit.
            # Revoked and voided entries step aside so a corrected entry can be made.
            models.UniqueConstraint(
                fields=["organization", "activity_key", "recipient_email", "completion_date"],
                condition=~Q(status__in=["revoked", "voided"]),
                name="one_live_credit_per_activity_email_date",
            ),
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | Q(source="self_report"),
                name="credit_issued_by_an_organization_unless_self_reported",
            ),
        ]
        # Each ledger list walks an index in its own order and stops after a page: the
        # organization's newest first, by status, by course (ids resolved first), by the
        # start of an e-mail (``varchar_pattern_ops`` lets PostgreSQL use it for LIKE 'x%'
        # under any collation; SQLite ignores the operator class). See docs/scale.md.
        indexes = [
            models.Index(
                fields=["recipient_email", "status"],
                opclasses=["varchar_pattern_ops", "varchar_ops"],
                name="credit_email_status",
            ),
            # An organization's credits by the start of an e-mail: read then sorted when few
            # match (selectors.ledger_filter), whatever the planner estimates.
            models.Index(
                fields=["organization", "recipient_email"],
                opclasses=["int8_ops", "varchar_pattern_ops"],
                name="credit_org_email",
            ),
            models.Index(
                fields=["organization", "-completion_date", "-id"], name="credit_org_recent"
            ),
            models.Index(
                fields=["organization", "status", "-completion_date", "-id"],
                name="credit_org_status_recent",
            ),
            models.Index(fields=["course", "-completion_date", "-id"], name="credit_course_recent"),
            models.Index(
                fields=["holder", "status"],
                condition=Q(holder__isnull=False),
                name="credit_holder_status",
            ),
            models.Index(
                fields=["dashboard"], condition=Q(dashboard__isnull=False), name="credit_dashboard"
            ),
            models.Index(fields=["organization", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_email} ({self.completion_date:%Y-%m-%d})"

    @property
    def is_self_reported(self) -> bool:
        return self.source == self.Source.SELF_REPORT

    @property
    def issuer_label(self) -> str:
        """Who it is from, as a holder reads it: never an organization for self-reported."""
        return "Self-reported" if self.is_self_reported else self.organization.name

    @property
    def is_live(self) -> bool:
        return self.status not in (self.Status.REVOKED, self.Status.VOIDED)

    def can_be_answered_by(self, user) -> bool:
        return self.status == self.Status.OFFERED and self.holder_id == user.pk

    def can_be_moved_by(self, user) -> bool:
        return self.status == self.Status.ACCEPTED and self.holder_id == user.pk

    def can_be_revoked(self) -> bool:
        return self.is_live and self.status != self.Status.REJECTED

    def can_be_voided(self) -> bool:
        """Only an orphan sent to a wrong address: never answered by anyone."""
        return self.status in (self.Status.HELD, self.Status.OFFERED)

    def can_be_resent(self) -> bool:
        return self.status in (self.Status.HELD, self.Status.OFFERED)

    def snapshot(self) -> dict:
        return {"status": self.status, "holder": self.holder_id, "dashboard": self.dashboard_id}


class CreditComponent(models.Model):
    """Amount offered and earned for one credit type (partial credit earns less)."""

    # Written in bulk with their credits, in the same statement: no per-row foreign key
    # checks (see Credit). ``on_delete`` still applies in Django.
    credit = models.ForeignKey(
        Credit, on_delete=models.CASCADE, related_name="components", db_constraint=False
    )
    credit_type = models.ForeignKey(
        "catalog.CreditType",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    amount_offered = models.DecimalField(max_digits=7, decimal_places=2)
    amount_earned = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["credit_type__code"]

    def __str__(self) -> str:
        return f"{self.amount_earned.normalize():f} {self.credit_type.code}"


class SelfReport(models.Model):
    """What a holder says about CE earned elsewhere: the provider and the certificate they
    were given. Its ledger entry is ``credit`` (source ``self_report``, no organization)."""

    credit = models.OneToOneField(Credit, on_delete=models.CASCADE, related_name="self_report")
    provider = models.CharField(max_length=200)
    certificate = models.FileField(upload_to="credits/self_reports/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.credit.title} from {self.provider}"


class DashboardQuerySet(models.QuerySet):
    def for_holder(self, user):
        return self.filter(holder=user)

    def open(self):
        return self.filter(archived_at__isnull=True)


class Dashboard(models.Model):
    """A holder's named folder of accepted credits, optionally with a requirement set."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards"
    )
    name = models.CharField(max_length=120)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    required_total = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Total needed in the window, across all credit types.",
    )
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)

    objects = DashboardQuerySet.as_manager()

    class Meta:
        ordering = ["archived_at", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_requirements(self) -> bool:
        return self.required_total is not None or self.minimums.exists()


class DashboardMinimum(models.Model):
    """At least ``amount`` of credit type ``credit_type_code`` (matched by code across orgs)."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="minimums")
    credit_type_code = models.CharField(max_length=16)
    amount = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["credit_type_code"]
