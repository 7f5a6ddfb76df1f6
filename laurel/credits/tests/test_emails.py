"""The credit and invitation e-mails as recipients get them: accessible HTML and a text part."""

import re

import pytest
from django.core import mail

from laurel.accounts.models import Role
from laurel.accounts.services import member_invite
from laurel.audit.services import Actor
from laurel.credits import services
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db

VAGUE_LINK_TEXT = {"click here", "here", "link", "this link", "more"}


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind & Co", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3"}, title="Wound care & dressing")


def parts(message) -> tuple[str, str]:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def links(html: str) -> list[tuple[str, str]]:
    return [
        (href, re.sub(r"<[^>]+>", "", text).strip())
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)
    ]


def assert_accessible(html: str) -> None:
    assert '<html lang="en">' in html
    assert 'role="article"' in html and "<title>" in html and "</title>" in html
    assert re.search(r"<title>\s*\S", html), "the HTML part has a real title"
    assert "<h1" in html
    for href, text in links(html):
        assert href.startswith("http"), href
        assert text.lower() not in VAGUE_LINK_TEXT and len(text) > 8, text


def test_held_credit_email_explains_how_to_claim_it(org, course, committed, settings):
    with committed():
        enter_credit(org, course, "new@example.com")
    [message] = mail.outbox
    text, html = parts(message)
    assert_accessible(html)
    texts = [t for _, t in links(html)]
    assert "Create a free account to claim your credit" in texts
    assert "Add new@example.com to your account" in texts
    assert f"{settings.SITE_URL}/accounts/signup/" in text
    assert "Wound care & dressing" in text and "&amp;" not in text  # plain text, not HTML
    assert message.subject == "Northwind & Co sent you credit: Wound care & dressing"
    assert "<" not in text


def test_offered_credit_email_links_to_the_credit_in_the_locker(org, course, committed):
    make_user("nurse@example.com")
    with committed():
        credit = enter_credit(org, course, "nurse@example.com")
    [message] = mail.outbox
    text, html = parts(message)
    assert_accessible(html)
    # The locker's link, then the connection invitation's own page (a first credit).
    (href, label), (invite_href, invite_label) = links(html)
    assert href.endswith(f"/locker/credits/{credit.pk}/")
    assert label == "Review the credit in your locker"
    assert href in text and "3 CE (hours)" in text
    assert "/connect/" in invite_href and invite_label == "Accept or decline the invitation"
    assert invite_href in text


def test_revoked_credit_email_gives_the_reason(org, course, committed):
    holder = make_user("nurse@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    dashboard = services.dashboard_create(holder=holder, name="D")
    services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    with committed():
        services.credit_revoke(actor=Actor.system("t"), credit=credit, reason="Wrong date")
    [message] = mail.outbox
    text, html = parts(message)
    assert_accessible(html)
    assert "Reason given: Wrong date" in text and "Wrong date" in html
    assert ("See the revoked credit in your locker") in [t for _, t in links(html)]


def test_member_invitation_email_names_the_organization_and_role(org, committed):
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    with committed():
        member_invite(
            actor=Actor(user=admin), organization=org, email="new@example.com", role=Role.STAFF
        )
    [message] = mail.outbox
    text, html = parts(message)
    assert_accessible(html)
    [(href, label)] = links(html)
    assert label == "Accept the invitation to join Northwind &amp; Co"
    assert "/invitations/" in href or "invitation" in href
    assert href.replace("&amp;", "&") in text
    assert "as Staff" in text and "Northwind & Co" in text
