"""Service-level rules that every caller (pages, API, commands) gets."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.accounts import services
from laurel.accounts.models import MemberInvitation, Membership, Role
from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def test_organization_create_audits_and_makes_verified_first_admin_admin():
    ada = make_user("ada@example.test")
    org = services.organization_create(
        actor=ACTOR,
        name="Northwind",
        slug="northwind",
        course_id_prefix="NNA",
        first_admin_email="ADA@example.test",
    )
    assert Membership.objects.get(organization=org).user == ada
    assert set(AuditEvent.objects.for_org(org).values_list("action", flat=True)) == {
        "organization.created",
        "membership.added",
    }


def test_closed_invitation_cannot_be_resent_or_cancelled_again():
    org = make_org()
    make_member(org, Role.ADMIN)
    invitation = services.member_invite(
        actor=ACTOR, organization=org, email="x@example.test", role=Role.STAFF
    )
    services.member_invitation_cancel(actor=ACTOR, invitation=invitation)
    with pytest.raises(ServiceError, match="already accepted or cancelled"):
        services.member_invitation_resend(actor=ACTOR, invitation=invitation)
    with pytest.raises(ServiceError, match="already accepted or cancelled"):
        services.member_invitation_cancel(actor=ACTOR, invitation=invitation)
    actions = list(AuditEvent.objects.for_object(invitation).values_list("action", flat=True))
    assert sorted(actions) == ["member_invitation.cancelled", "member_invitation.sent"]


def test_member_invite_refuses_unknown_role():
    org = make_org()
    with pytest.raises(ServiceError, match="Choose a role"):
        services.member_invite(actor=ACTOR, organization=org, email="x@example.test", role="boss")
    assert not MemberInvitation.objects.exists()


def test_organization_update_refuses_a_bad_logo_even_without_a_form(settings):
    org = make_org()
    with pytest.raises(ServiceError) as refused:
        services.organization_update(
            actor=ACTOR, organization=org, logo=SimpleUploadedFile("x.png", b"MZ\x90\x00")
        )
    assert refused.value.field == "logo"
    settings.LAUREL_LOGO_MAX_BYTES = 10
    with pytest.raises(ServiceError, match="too large"):
        services.organization_update(
            actor=ACTOR, organization=org, logo=SimpleUploadedFile("x.svg", b"<svg></svg>" * 5)
        )
    org.refresh_from_db()
    assert not org.logo
