"""Admins invite, re-role and remove members; an organization always keeps an admin."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import MemberInvitation, Membership, Role
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind", course_id_prefix="NNA")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


def _members_url(org):
    return reverse("accounts:member_list", args=[org.slug])


def _invite(client, org, email="rita@example.test", role=Role.REVIEWER):
    return client.post(_members_url(org), {"email": email, "role": role})


def _link_in_last_mail() -> str:
    match = re.search(r"http://[^/\s]+(/invitations/[\w-]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_admin_sees_members_and_open_invitations(client, org, admin):
    staff = make_member(org, Role.STAFF, "sam@northwind.test")
    MemberInvitation.objects.create(
        organization=org, email="later@example.test", role=Role.STAFF, token_hash="x" * 64
    )
    client.force_login(admin)
    page = client.get(_members_url(org)).content.decode()
    assert admin.email in page and staff.email in page
    assert "later@example.test" in page and "Resend" in page


@pytest.mark.parametrize("role", [Role.STAFF, Role.REVIEWER, Role.CERT_MANAGER])
def test_non_admin_members_get_404(client, org, role):
    member = make_member(org, role)
    client.force_login(member)
    assert client.get(_members_url(org)).status_code == 404
    assert _invite(client, org).status_code == 404
    assert not MemberInvitation.objects.exists()


def test_admin_of_another_organization_gets_404(client, org, admin):
    outsider = make_member(make_org("other"), Role.ADMIN)
    client.force_login(outsider)
    assert client.get(_members_url(org)).status_code == 404
    target = Membership.objects.get(user=admin)
    remove = reverse("accounts:member_remove", args=[org.slug, target.pk])
    assert client.post(remove).status_code == 404
    # Even naming its own organization in the address, a foreign membership id is a 404.
    other_remove = reverse("accounts:member_remove", args=["other", target.pk])
    assert client.post(other_remove).status_code == 404
    assert Membership.objects.active().filter(pk=target.pk).exists()


def test_invited_person_accepts_and_joins_with_the_role(client, org, admin, committed):
    client.force_login(admin)
    with committed():
        response = _invite(client, org, "Rita@Example.test", Role.REVIEWER)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rita@example.test"] and "Northwind" in message.subject
    assert "Reviewer" in message.body
    link = _link_in_last_mail()

    rita = make_user("rita@example.test")
    invitee = Client()
    invitee.force_login(rita)
    assert "Accept invitation" in invitee.get(link).content.decode()
    response = invitee.post(link)
    assert response["Location"] == reverse("org_home", args=[org.slug])
    membership = Membership.objects.active().get(organization=org, user=rita)
    assert membership.role == Role.REVIEWER
    assert not MemberInvitation.objects.get(email="rita@example.test").is_open
    # A used link cannot be used again.
    assert "no longer valid" in invitee.post(link).content.decode()


def test_invitee_signed_in_with_another_address_is_refused(client, org, admin, committed):
    client.force_login(admin)
    with committed():
        _invite(client, org, "rita@example.test")
    link = _link_in_last_mail()
    someone = make_user("someone@example.test")
    EmailAddress.objects.create(user=someone, email="rita@example.test", verified=False)
    other = Client()
    other.force_login(someone)
    page = other.post(link).content.decode()
    assert "This invitation was sent to rita@example.test" in page
    assert "Add and verify that address first." in page
    assert not Membership.objects.filter(organization=org, user=someone).exists()


def test_invitation_form_errors_appear_next_to_field(client, org, admin):
    client.force_login(admin)
    page = _invite(client, org, "not-an-address").content.decode()
    assert 'id="id_email_error"' in page and "Enter a valid email address." in page
    page = _invite(client, org, admin.email).content.decode()
    assert f"{admin.email} is already a member." in page


def test_second_open_invitation_to_same_address_is_refused(client, org, admin, committed):
    client.force_login(admin)
    with committed():
        _invite(client, org)
        page = _invite(client, org).content.decode()
    assert "already has an open invitation" in page
    assert MemberInvitation.objects.count() == 1 and len(mail.outbox) == 1


def test_resend_sends_a_new_link_and_the_old_one_stops_working(client, org, admin, committed):
    client.force_login(admin)
    with committed():
        _invite(client, org)
    old_link = _link_in_last_mail()
    invitation = MemberInvitation.objects.get()
    with committed():
        client.post(reverse("accounts:invitation_resend", args=[org.slug, invitation.pk]))
    assert len(mail.outbox) == 2
    new_link = _link_in_last_mail()
    assert new_link != old_link
    rita = make_user("rita@example.test")
    invitee = Client()
    invitee.force_login(rita)
    assert "no longer valid" in invitee.post(old_link).content.decode()
    invitee.post(new_link)
    assert Membership.objects.active().filter(organization=org, user=rita).exists()


def test_cancelled_invitation_cannot_be_accepted(client, org, admin, committed):
    client.force_login(admin)
    with committed():
        _invite(client, org)
    link = _link_in_last_mail()
    invitation = MemberInvitation.objects.get()
    response = client.post(reverse("accounts:invitation_cancel", args=[org.slug, invitation.pk]))
    assert (
        "Invitation to rita@example.test cancelled."
        in client.get(response["Location"]).content.decode()
    )
    invitee = Client()
    invitee.force_login(make_user("rita@example.test"))
    assert "no longer valid" in invitee.post(link).content.decode()


def test_admin_changes_a_members_role(client, org, admin):
    sam = make_member(org, Role.STAFF, "sam@northwind.test")
    membership = Membership.objects.get(user=sam)
    client.force_login(admin)
    url = reverse("accounts:member_role", args=[org.slug, membership.pk])
    response = client.post(url, {"role": Role.CERT_MANAGER}, follow=True)
    assert "sam@northwind.test is now Certification manager." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.CERT_MANAGER


def test_last_admin_cannot_be_demoted_or_removed(client, org, admin):
    membership = Membership.objects.get(user=admin)
    client.force_login(admin)
    demote = reverse("accounts:member_role", args=[org.slug, membership.pk])
    page = client.post(demote, {"role": Role.STAFF}, follow=True).content.decode()
    assert "An organization needs at least one admin." in page
    remove = reverse("accounts:member_remove", args=[org.slug, membership.pk])
    page = client.post(remove, follow=True).content.decode()
    assert "An organization needs at least one admin." in page
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN and membership.removed_at is None


def test_an_admin_can_be_removed_while_another_remains(client, org, admin):
    second = make_member(org, Role.ADMIN, "second@northwind.test")
    membership = Membership.objects.get(user=second)
    client.force_login(admin)
    page = client.post(
        reverse("accounts:member_remove", args=[org.slug, membership.pk]), follow=True
    ).content.decode()
    assert "second@northwind.test was removed." in page
    assert "second@northwind.test</td>" not in page
    second_client = Client()
    second_client.force_login(second)
    assert second_client.get(_members_url(org)).status_code == 404


def test_role_change_is_a_post_only_action(client, org, admin):
    membership = Membership.objects.get(user=admin)
    client.force_login(admin)
    url = reverse("accounts:member_role", args=[org.slug, membership.pk])
    assert client.get(url).status_code == 405


def test_invite_without_csrf_token_is_refused(org, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert _invite(client, org).status_code == 403
    assert not MemberInvitation.objects.exists()
