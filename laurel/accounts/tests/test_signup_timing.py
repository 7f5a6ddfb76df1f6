"""Signing up with a taken address takes as long as with a new one: the delay must not tell
which addresses have accounts."""

import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db
HASH_SECONDS = 0.3


class SlowHasher(MD5PasswordHasher):
    """Stands in for PBKDF2's real cost (most of a sign-up's time)."""

    algorithm = "slow_md5"

    def encode(self, password, salt):
        time.sleep(HASH_SECONDS)
        return super().encode(password, salt)


def _timed_signup(client, email) -> float:
    started = time.monotonic()
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Sam Timing",
            "email": email,
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    return time.monotonic() - started


def test_signup_with_a_taken_address_does_the_same_work(client, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.SlowHasher"]
    make_user("taken@example.com")
    client.get(reverse("account_signup"))  # first request imports every view: not timed
    new = _timed_signup(client, "new@example.com")
    client.logout()
    taken = _timed_signup(client, "taken@example.com")
    assert new >= HASH_SECONDS and taken >= HASH_SECONDS
    assert abs(new - taken) < HASH_SECONDS
