"""allauth's pages in Laurel's look and words, errors beside the field they are about."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def field_block(body: str, name: str) -> str:
    """The <div class="field"> holding the input called ``name``."""
    for block in re.findall(r'<div class="field">.*?</div>', body, re.S):
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name}")


def test_sign_up_page_speaks_laurel(client):
    body = client.get(reverse("account_signup")).content.decode()
    assert "Create your Laurel account" in body
    assert "Sign Up" not in body


def test_a_weak_password_is_reported_beside_the_password_field(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "12345678", "password2": "12345678"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "entirely numeric" in field_block(body, "password1")
    assert 'aria-invalid="true"' in field_block(body, "password1")
    assert "errorlist" not in field_block(body, "email")


def test_mismatched_passwords_are_reported_beside_the_second(client):
    body = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "a-long-pass-9x", "password2": "other-pass-9x"},
    ).content.decode()
    assert "same password" in field_block(body, "password2")


def test_log_in_and_reset_pages_speak_laurel(client):
    assert "Log in to Laurel" in client.get(reverse("account_login")).content.decode()
    body = client.get(reverse("account_reset_password")).content.decode()
    assert "Send the link" in body
