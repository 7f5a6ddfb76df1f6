"""Amazon SES events through SNS: the signature is checked against the signing certificate
(here a test certificate generated for the test, served in place of AWS's)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from django.urls import reverse

from laurel.notifications import sns
from laurel.notifications.models import Bounce, Suppression

pytestmark = pytest.mark.django_db
TOPIC = "arn:aws:sns:eu-west-1:123456789012:laurel-ses-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789.pem"


def make_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def signer(monkeypatch, settings):
    settings.SES_SNS_TOPIC_ARNS = [TOPIC]
    key, pem = make_cert()
    fetched = []

    def fetch(url):
        fetched.append(url)
        return pem

    monkeypatch.setattr(sns, "fetch_certificate", fetch)

    def sign(body: dict, version: str = "2") -> dict:
        body = {**body, "SignatureVersion": version, "SigningCertURL": CERT_URL}
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
        signature = key.sign(sns.string_to_sign(body), padding.PKCS1v15(), digest)
        return {**body, "Signature": base64.b64encode(signature).decode()}

    sign.fetched = fetched
    return sign


def notification(event: dict) -> dict:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(event),
        "Timestamp": "2026-12-01T12:00:00.000Z",
    }


SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "jane.doe@exmaple.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-12-01T11:59:58.000Z",
        "feedbackId": "0102019a-abc",
    },
    "mail": {"source": "no-reply@laurel.example.org", "destination": ["jane.doe@exmaple.com"]},
}
SES_COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "annoyed@example.com"}],
        "complaintFeedbackType": "abuse",
        "timestamp": "2026-12-01T12:01:00.000Z",
    },
    "mail": {"source": "no-reply@laurel.example.org", "destination": ["annoyed@example.com"]},
}


def post(body: dict):
    return Client(enforce_csrf_checks=True).post(
        reverse("mail:ses_events"), json.dumps(body), content_type="text/plain"
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_ses_bounce_suppresses_the_address(signer, version):
    response = post(signer(notification(SES_BOUNCE), version))
    assert response.status_code == 200
    suppression = Suppression.objects.get()
    assert suppression.email == "jane.doe@exmaple.com"
    assert "550 5.1.1 user unknown" in suppression.status_text
    assert signer.fetched == [CERT_URL]
    assert Bounce.objects.get().source == Bounce.Source.SES


def test_a_signed_ses_complaint_is_recorded_as_a_complaint(signer):
    assert post(signer(notification(SES_COMPLAINT))).status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINT


def test_a_tampered_message_is_refused(signer):
    body = signer(notification(SES_COMPLAINT))
    body["Message"] = json.dumps(SES_BOUNCE)
    assert post(body).status_code == 403
    assert not Bounce.objects.exists()


def test_a_certificate_off_aws_is_never_fetched(signer):
    body = signer(notification(SES_BOUNCE))
    body["SigningCertURL"] = "https://attacker.example/sns.pem"
    assert post(body).status_code == 403
    assert signer.fetched == []


def test_an_unknown_topic_is_refused(signer):
    body = signer({**notification(SES_BOUNCE), "TopicArn": "arn:aws:sns:eu-west-1:9:other"})
    assert post(body).status_code == 403
    assert not Bounce.objects.exists()
    assert signer.fetched == []


SUBSCRIBE_URL = (
    "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
    f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425c464de12884"
)


def subscription(url: str = SUBSCRIBE_URL) -> dict:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e2425c464de12884",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": url,
        "Timestamp": "2026-12-01T12:00:00.000Z",
    }


@pytest.fixture
def opened(monkeypatch):
    """URLs the endpoint GETs (no network: the fetch is replaced)."""
    urls = []

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(url, timeout=None):
        urls.append(url)
        return Response()

    monkeypatch.setattr(sns.urllib.request, "urlopen", urlopen)
    return urls


def test_a_signed_subscription_confirmation_is_confirmed_on_aws(signer, opened):
    response = post(signer(subscription()))
    assert (response.status_code, response.content) == (200, b"confirmed")
    assert opened == [SUBSCRIBE_URL]
    assert signer.fetched == [CERT_URL]


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com.attacker.example/confirm",
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://169.254.169.254/latest/meta-data/",
        "",
    ],
)
def test_a_signed_subscription_url_off_aws_is_never_fetched(signer, opened, url):
    response = post(signer(subscription(url)))
    assert response.status_code == 403
    assert opened == []


def test_a_subscription_url_changed_after_signing_is_refused(signer, opened):
    body = signer(subscription())
    body["SubscribeURL"] = SUBSCRIBE_URL.replace("Token=", "Token=forged")
    assert post(body).status_code == 403
    assert opened == []


def test_a_subscription_to_an_unknown_topic_is_refused_before_any_fetch(signer, opened):
    body = signer({**subscription(), "TopicArn": "arn:aws:sns:eu-west-1:9:other"})
    assert post(body).status_code == 403
    assert opened == [] and signer.fetched == []
