"""Workflows for organizations, staff memberships and holder connections."""

from __future__ import annotations

import secrets as _secrets
import zoneinfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from laurel.accounts.models import (
    Connection,
    MemberInvitation,
    Membership,
    Organization,
    OrganizationSlug,
    Role,
    hash_token,
    new_token,
    normalize_email,
)
from laurel.audit.services import Actor, audit_record
from laurel.lib.images import ImageRefused, clean_image
from laurel.notifications.services import outbox_enqueue


class ServiceError(Exception):
    """A refusal a user should read (shown next to the form, or as an API error)."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


@transaction.atomic
def organization_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    course_id_prefix: str,
    time_zone: str = "America/New_York",
    date_format: str = "US",
    first_admin=None,
    first_admin_email: str = "",
    kind: str = Organization.Kind.ISSUING,
) -> Organization:
    """Create a tenant. ``first_admin`` (a user) joins as admin at once; ``first_admin_email``
    joins at once only if an account has verified that address, otherwise it is invited."""
    org = Organization(
        name=name,
        kind=kind,
        slug=slug,
        course_id_prefix=course_id_prefix,
        time_zone=time_zone,
        date_format=date_format,
    )
    org.full_clean()
    org.save()
    audit_record(
        actor=actor,
        action="organization.created",
        obj=org,
        organization=org,
        after={"name": name, "slug": slug, "kind": kind},
    )
    if first_admin is None and first_admin_email:
        first_admin = user_with_verified_email(first_admin_email)
        if first_admin is None:
            member_invite(actor=actor, organization=org, email=first_admin_email, role=Role.ADMIN)
    if first_admin is not None:
        membership_add(actor=actor, organization=org, user=first_admin, role=Role.ADMIN)
    return org


def user_with_verified_email(email: str):
    """The account that has verified ``email``, or ``None`` (never an unverified claim)."""
    address = (
        EmailAddress.objects.select_related("user")
        .filter(email__iexact=normalize_email(email), verified=True)
        .first()
    )
    return address.user if address else None


# --- Logos ---------------------------------------------------------------------------------


def logo_clean(upload) -> tuple[bytes, str]:
    """The logo's bytes to store (rasters re-encoded, SVG sanitised) and its real type
    (``png``, ``jpg`` or ``svg``) judged from its content, or refuse it. The size is checked
    before anything is read; the file name is ignored."""
    limit = settings.LAUREL_LOGO_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ServiceError(
            f"The logo is too large: at most {limit // 1024} KB, this file is "
            f"{(upload.size or 0) // 1024} KB.",
            field="logo",
            code="too_large",
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise ServiceError(f"The logo is too large: at most {limit // 1024} KB.", field="logo")
    try:
        return clean_image(
            data, kinds=("png", "jpg", "svg"), max_pixels=settings.LAUREL_IMAGE_MAX_PIXELS
        )
    except ImageRefused as exc:
        raise ServiceError(f"The logo cannot be used: {exc}", field="logo", code="bad_type")


def logo_check(upload) -> str:
    """The logo's real type, or a refusal (see :func:`logo_clean`)."""
    return logo_clean(upload)[1]


ORG_SETTINGS_FIELDS = (
    "name",
    "slug",
    "time_zone",
    "course_id_prefix",
    "date_format",
    "reply_to",
    "require_staff_2fa",
)


@transaction.atomic
def organization_update(*, actor: Actor, organization: Organization, **changes) -> Organization:
    before = {f: getattr(organization, f) for f in ORG_SETTINGS_FIELDS}
    old_slug = organization.slug
    for field, value in changes.items():
        if field not in ORG_SETTINGS_FIELDS and field != "logo":
            raise ValueError(f"unknown organization setting {field}")
        if field == "logo" and value:
            # A fresh upload is stored under a name Laurel chooses from its checked content.
            data, kind = logo_clean(value)
            value = ContentFile(data, name=f"{organization.pk}-{_secrets.token_hex(8)}.{kind}")
        setattr(organization, field, value)
    organization.full_clean()
    organization.save()
    if organization.slug != old_slug:
        # Credentials already issued name the old slug: keep it served and reserved.
        OrganizationSlug.objects.get_or_create(organization=organization, slug=old_slug)
        OrganizationSlug.objects.filter(organization=organization, slug=organization.slug).delete()
    after = {f: getattr(organization, f) for f in ORG_SETTINGS_FIELDS}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if "logo" in changes:
        changed["logo"] = organization.logo.name if organization.logo else ""
    audit_record(
        actor=actor,
        action="organization.updated",
        obj=organization,
        organization=organization,
        before={k: before.get(k) for k in changed},
        after=changed,
    )
    return organization


@transaction.atomic
def membership_add(*, actor: Actor, organization: Organization, user, role: str) -> Membership:
    existing = Membership.objects.active().filter(organization=organization, user=user).first()
    if existing:
        raise ServiceError(f"{user} is already a member.", code="duplicate")
    m = Membership(organization=organization, user=user, role=role)
    m.full_clean()
    m.save()
    audit_record(
        actor=actor,
        action="membership.added",
        obj=m,
        organization=organization,
        after={"user": user.email, "role": role},
    )
    return m


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ServiceError("Unknown role.", field="role")
    _refuse_removing_last_admin(membership, new_role=role)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="membership.role_changed",
        obj=membership,
        organization=membership.organization,
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> Membership:
    _refuse_removing_last_admin(membership, new_role=None)
    membership.removed_at = timezone.now()
    membership.save(update_fields=["removed_at"])
    audit_record(
        actor=actor,
        action="membership.removed",
        obj=membership,
        organization=membership.organization,
        before={"user": membership.user.email, "role": membership.role},
    )
    return membership


def _refuse_removing_last_admin(membership: Membership, *, new_role: str | None) -> None:
    if membership.role != Role.ADMIN or new_role == Role.ADMIN:
        return
    admins = (
        Membership.objects.active()
        .select_for_update()
        .filter(organization=membership.organization, role=Role.ADMIN)
    )
    if admins.count() <= 1:
        raise ServiceError("An organization needs at least one admin.", code="last_admin")


@transaction.atomic
def member_invite(
    *, actor: Actor, organization: Organization, email: str, role: str
) -> MemberInvitation:
    email = normalize_email(email)
    if (
        Membership.objects.active()
        .filter(
            organization=organization,
            user__emailaddress__email__iexact=email,
            user__emailaddress__verified=True,
        )
        .exists()
    ):
        raise ServiceError(f"{email} is already a member.", field="email", code="duplicate")
    if MemberInvitation.objects.filter(
        organization=organization, email=email, accepted_at=None, cancelled_at=None
    ).exists():
        raise ServiceError(
            f"{email} already has an open invitation; resend it from the list below.",
            field="email",
            code="duplicate",
        )
    if role not in Role.values:
        raise ServiceError("Choose a role.", field="role")
    token = new_token()
    inv = MemberInvitation(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=actor.user,
    )
    # invited_by is empty when the system or an API key invites (the audit row names them).
    inv.full_clean(exclude=["invited_by"])
    inv.save()
    audit_record(
        actor=actor,
        action="member_invitation.sent",
        obj=inv,
        organization=organization,
        after={"email": email, "role": role},
    )
    _invitation_send(inv, token=token, actor=actor)
    return inv


def _invitation_send(inv: MemberInvitation, *, token: str, actor: Actor) -> None:
    outbox_enqueue(
        to=inv.email,
        template="member_invitation",
        organization=inv.organization,
        context={"invitation": inv, "token": token, "inviter": actor},
    )


@transaction.atomic
def member_invitation_resend(*, actor: Actor, invitation: MemberInvitation) -> MemberInvitation:
    """Send the invitation again with a fresh link; the old link stops working."""
    invitation = MemberInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ServiceError("This invitation was already accepted or cancelled.", code="closed")
    token = new_token()
    invitation.token_hash = hash_token(token)
    invitation.save(update_fields=["token_hash"])
    audit_record(
        actor=actor,
        action="member_invitation.resent",
        obj=invitation,
        organization=invitation.organization,
        after={"email": invitation.email},
    )
    _invitation_send(invitation, token=token, actor=actor)
    return invitation


@transaction.atomic
def member_invitation_accept(*, token: str, user) -> Membership:
    """Join with the invited role; the invitation's e-mail must be one of the user's
    verified addresses, so a forwarded link cannot be used by someone else."""
    inv = (
        MemberInvitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if inv is None or not inv.is_open:
        raise ServiceError("This invitation is no longer valid.", code="not_found")
    if normalize_email(inv.email) not in user.verified_emails():
        raise ServiceError(
            f"This invitation was sent to {inv.email}. Add and verify that address first.",
            code="email_mismatch",
        )
    actor = Actor(user=user)
    existing = Membership.objects.active().filter(organization=inv.organization, user=user).first()
    membership = existing or membership_add(
        actor=actor, organization=inv.organization, user=user, role=inv.role
    )
    inv.accepted_at = timezone.now()
    inv.accepted_by = user
    inv.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=actor, action="member_invitation.accepted", obj=inv, organization=inv.organization
    )
    return membership


@transaction.atomic
def member_invitation_cancel(*, actor: Actor, invitation: MemberInvitation) -> None:
    invitation = MemberInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise ServiceError("This invitation was already accepted or cancelled.", code="closed")
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    audit_record(
        actor=actor,
        action="member_invitation.cancelled",
        obj=invitation,
        organization=invitation.organization,
    )


def connection_invite(
    *, actor: Actor, organization: Organization, email: str
) -> tuple[Connection, bool]:
    """Make sure ``email`` has a connection row; return it and whether it is new.

    The invitation text itself travels in the credit e-mail (one message, not two)."""
    email = normalize_email(email)
    conn, created = Connection.objects.get_or_create(organization=organization, email=email)
    if created:
        audit_record(
            actor=actor,
            action="connection.invited",
            obj=conn,
            organization=organization,
            after={"email": email},
        )
    return conn, created


@transaction.atomic
def connection_set_member_id(
    *, actor: Actor, organization: Organization, email: str, member_id: str
) -> Connection:
    """Record the person's ID in the organization's own member system (sent with webhooks);
    only for someone connected or invited to the organization. Empty clears it."""
    email = normalize_email(email)
    member_id = " ".join((member_id or "").split())
    if len(member_id) > 64:
        raise ServiceError("A member ID has at most 64 characters.", field="member_id")
    conn = (
        Connection.objects.select_for_update()
        .filter(organization=organization, email=email)
        .first()
    )
    if conn is None:
        raise ServiceError("Nobody with that e-mail is connected to you.", code="not_found")
    before = conn.member_id
    if before != member_id:
        conn.member_id = member_id
        conn.save(update_fields=["member_id"])
        audit_record(
            actor=actor,
            action="connection.member_id_set",
            obj=conn,
            organization=organization,
            before={"member_id": before},
            after={"member_id": member_id},
        )
    return conn


def connection_is_connected(*, organization: Organization, email: str) -> bool:
    return Connection.objects.filter(
        organization=organization, email=normalize_email(email), status=Connection.Status.CONNECTED
    ).exists()


def connection_connect(*, organization: Organization, holder, email: str) -> Connection:
    """Connect a holder (by accepting a credit or the invitation); idempotent."""
    email = normalize_email(email)
    conn, _ = Connection.objects.get_or_create(organization=organization, email=email)
    if conn.status != Connection.Status.CONNECTED:
        updated = (
            Connection.objects.filter(pk=conn.pk)
            .exclude(status=Connection.Status.CONNECTED)
            .update(status=Connection.Status.CONNECTED, holder=holder, connected_at=timezone.now())
        )
        if updated:
            conn.refresh_from_db()
            audit_record(
                actor=Actor(user=holder),
                action="connection.connected",
                obj=conn,
                organization=organization,
                after={"email": email},
            )
    return conn


# --- connection invitations -----------------------------------------------------------------

INVITATION_SALT = "laurel.connection-invitation"


def connection_invitation_token(conn: Connection) -> str:
    """A signed reference to the connection: imports invite thousands of addresses in one
    statement, so nothing per-row is stored; the link is only ever mailed to the address."""
    return signing.dumps({"c": conn.pk, "e": conn.email}, salt=INVITATION_SALT, compress=True)


def connection_invitation_url(*, organization: Organization, email: str) -> str:
    conn = Connection.objects.filter(
        organization=organization, email=normalize_email(email)
    ).first()
    if conn is None:
        return ""
    return settings.SITE_URL + reverse(
        "accounts:connection_invitation", args=[connection_invitation_token(conn)]
    )


def connection_for_invitation(token: str) -> Connection | None:
    try:
        data = signing.loads(token, salt=INVITATION_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return (
        Connection.objects.filter(pk=data.get("c"), email=data.get("e"))
        .select_related("organization")
        .first()
    )


@transaction.atomic
def connection_invitation_accept(*, conn: Connection, user) -> Connection:
    """Connect through the invitation's own page; only with the invited address verified on
    the account (nothing attaches to an unverified address)."""
    if conn.email not in user.verified_emails():
        raise ServiceError(
            f"This invitation was sent to {conn.email}. Add and verify that address first.",
            code="forbidden",
        )
    return connection_connect(organization=conn.organization, holder=user, email=conn.email)


@transaction.atomic
def connection_invitation_decline(*, conn: Connection, user=None) -> Connection:
    """Decline: no reminders follow; the organization sees "Declined". Credit already sent
    stays where it is (the holder answers each credit on its own)."""
    updated = Connection.objects.filter(pk=conn.pk, status=Connection.Status.INVITED).update(
        status=Connection.Status.DECLINED, declined_at=timezone.now()
    )
    conn.refresh_from_db()
    if updated:
        audit_record(
            actor=Actor(user=user) if user is not None else Actor.system("invitation"),
            action="connection.declined",
            obj=conn,
            organization=conn.organization,
            after={"email": conn.email},
        )
    return conn


# --- the holder's profile -------------------------------------------------------------------


@transaction.atomic
def profile_update(*, user, full_name: str, time_zone: str | None = None) -> list:
    """Change the holder's name (printed on certificates issued from now on; issued ones are
    never edited) and time zone; issues any certificate that waited for the name."""
    from laurel.certificates.services import certificate_name_waits_release

    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise ServiceError("Enter your name.", field="full_name")
    before = {"full_name": user.full_name, "time_zone": user.time_zone}
    user.full_name = full_name[:200]
    if time_zone is not None:
        if time_zone and time_zone not in zoneinfo.available_timezones():
            raise ServiceError("Choose a time zone from the list.", field="time_zone")
        user.time_zone = time_zone
    user.save(update_fields=["full_name", "time_zone"])
    after = {"full_name": user.full_name, "time_zone": user.time_zone}
    if before != after:
        audit_record(
            actor=Actor(user=user), action="profile.updated", obj=user, before=before, after=after
        )
    return certificate_name_waits_release(user=user)
