"""The e-mail outbox: every message Laurel sends is a row here first."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Not sent: the address is on the suppression list or its owner opted out.
        SUPPRESSED = "suppressed", "Suppressed"
        # Waiting for the recipient's daily digest.
        DIGEST = "digest", "In a digest"

    # Digests of an import arrive by the hundred thousand: no per-row foreign key check
    # (``on_delete`` applies in Django) and no index the sender does not read.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    kind = models.CharField(max_length=64)
    to_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # [{"filename": ..., "mimetype": ..., "content_b64": ...}] for small attachments (reports).
    attachments = models.JSONField(default=list, blank=True)
    # A message rendered when it is sent: what its template is filled with (an import's
    # digests keep their items here, ~100 bytes, not ~2 KB of rendered body per recipient).
    # ``body_text``/``body_html`` stay empty until then and keep what was sent afterwards.
    context = models.JSONField(null=True, blank=True)
    # Makes enqueueing idempotent: the same logical message is never queued twice.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Times the organization's send rate put this message back (shown per day as "deferred").
    # (a database default too: imports insert outbox rows in SQL without naming it).
    deferrals = models.PositiveSmallIntegerField(default=0, db_default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # The send rate counts an organization's recent sends.
            models.Index(fields=["organization", "sent_at"], name="outbox_org_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email}"


# Mail a person cannot opt out of: it is about their account or takes something away.
ESSENTIAL_KINDS = frozenset(
    {
        "email_confirmation",
        "email_confirmation_signup",
        "password_reset_key",
        "password_reset",
        "unknown_account",
        "account_already_exists",
        "credit_revoked",
        "certificate_revoked",
        "member_invitation",
        "import_committed",
        "import_verified",
        "certificate_file_ready",
        "export_file_ready",
        "job_failed",
    }
)
# Verification of a new sign-up's address: sent once even to a suppressed address, since the
# person may have fixed their mailbox (or the bounce was someone else's).
VERIFICATION_KINDS = frozenset({"email_confirmation", "email_confirmation_signup"})
# Holder notices a preference can bundle into a daily digest or turn off.
NOTICE_KINDS = frozenset(
    {
        "credit_offered",
        "credit_held",
        "certificate_issued",
        "certificate_expiring",
        # Certification programs (laurel/programs): enrollment changes and deadline reminders.
        "program_enrolled",
        "program_earned",
        "program_grace",
        "program_expired",
        "program_cancelled",
        "program_reminder",
    }
)


def is_essential(kind: str) -> bool:
    return kind in ESSENTIAL_KINDS


class Suppression(models.Model):
    """An address Laurel no longer mails (the same for every organization)."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"

    BOUNCE_REASONS = (Reason.HARD_BOUNCE, Reason.SOFT_BOUNCES)

    email = models.EmailField(unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # The DSN's status code and diagnostic text ("5.1.1 user unknown"), shown to staff.
    status_text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    verification_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"

    @property
    def blocks_essential(self) -> bool:
        """A complaint stops what the person can opt out of; a bounce stops everything."""
        return self.reason != self.Reason.COMPLAINT

    def blocks(self, kind: str) -> bool:
        return self.blocks_essential or not is_essential(kind)

    @property
    def summary(self) -> str:
        text = f" — {self.status_text}" if self.status_text else ""
        return f"{self.get_reason_display()}{text}"


class Bounce(models.Model):
    """One bounce or complaint received, whatever it came by."""

    class Kind(models.TextChoices):
        HARD = "hard", "Hard bounce"
        SOFT = "soft", "Soft bounce"
        COMPLAINT = "complaint", "Complaint"
        UNKNOWN = "unknown", "Unknown"

    class Source(models.TextChoices):
        SMTP = "smtp", "Bounce mailbox"
        SES = "ses", "Amazon SES"
        FILE = "file", "Saved message"

    email = models.EmailField(db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status_text = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="bounces"
    )
    received_at = models.DateTimeField(default=timezone.now)
    # "<report id> <address>": one report names several addresses, and is recorded once.
    report_key = models.CharField(max_length=500, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["email", "received_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.email}"


class MailPreference(models.Model):
    """What a recipient wants from one organization; keyed by address so people without an
    account (a held credit, an invitation) can choose too."""

    class Choice(models.TextChoices):
        EACH = "each", "Each notice"
        DIGEST = "digest", "A daily digest"
        NONE = "none", "None"

    email = models.EmailField()
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    choice = models.CharField(max_length=8, choices=Choice.choices, default=Choice.EACH)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "organization"], name="one_pref_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.choice}"
