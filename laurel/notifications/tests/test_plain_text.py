"""Plain-text mail says what the organization typed, not HTML entities; the HTML part escapes."""

import pytest

from laurel.certificates.tests.conftest import issue
from laurel.notifications.models import OutboxMessage
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_subject_and_text_are_not_html_escaped_but_html_is(settings):
    settings.SITE_URL = "https://testserver"
    org = make_org("lake", name="Lake <script> & Sons")
    issue(org, title='Care "Basics" <1>')
    message = OutboxMessage.objects.get(to_email="maria@example.com")
    assert message.subject == 'Your certificate from Lake <script> & Sons: Care "Basics" <1>'
    assert "Lake <script> & Sons has issued you a certificate." in message.body_text
    assert "&lt;" not in message.body_text and "&amp;" not in message.body_text
    assert "Lake &lt;script&gt; &amp; Sons" in message.body_html
    assert "<script>" not in message.body_html
