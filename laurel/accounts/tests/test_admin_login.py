"""django-admin logs in through allauth: two-factor login and the login rate limit apply."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    user = make_user("root@laurel.test", is_staff=True, is_superuser=True)
    TOTP.activate(user, generate_totp_secret())
    return user


def test_totp_superuser_cannot_reach_admin_with_a_password_alone(client, superuser):
    response = client.post(
        "/django-admin/login/?next=/django-admin/",
        {"username": superuser.email, "password": PASSWORD, "next": "/django-admin/"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    # Through allauth the password leads to the code prompt, not into the admin.
    login = client.post(reverse("account_login"), {"login": superuser.email, "password": PASSWORD})
    assert login["Location"] == reverse("mfa_authenticate")
    admin = client.get("/django-admin/", follow=True)
    assert admin.redirect_chain[-1][0] == reverse("mfa_authenticate")
    assert "Site administration" not in admin.content.decode()


def test_superuser_reaches_admin_after_the_code(client):
    superuser = make_user("root@laurel.test", is_staff=True, is_superuser=True)
    secret = generate_totp_secret()
    TOTP.activate(superuser, secret)
    code = format(hotp_value(secret, next(yield_hotp_counters_from_time())), "06d")
    client.post(reverse("account_login"), {"login": superuser.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.get("/django-admin/").status_code == 200


def test_admin_login_is_rate_limited_like_the_site_login(client, superuser, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login": "2/m/ip"}
    wrong = {"login": superuser.email, "password": "not-it"}
    responses = [client.post(reverse("account_login"), wrong) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "Too many requests" in responses[-1].content.decode()
    assert int(responses[-1]["Retry-After"]) > 0
    response = client.post("/django-admin/login/", {"username": "x", "password": "y"})
    # The admin's own form is gone: it sends to the limited login, never checks a password.
    assert response.status_code == 302
