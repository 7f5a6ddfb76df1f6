import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from laurel.lib.emails import EmailProblem, normalize_email

VALID = [
    ("jane@example.org", "jane@example.org"),
    ("  Jane.Doe@Example.ORG \t", "jane.doe@example.org"),
    ("o'brien+ce@sub.example.co.uk", "o'brien+ce@sub.example.co.uk"),
    ("a_b-c@x-y.io", "a_b-c@x-y.io"),
    ("user@münchen.de", "user@münchen.de"),
    ("user@example.xn--p1ai", "user@example.xn--p1ai"),
    ("\u00a0jane@example.org\u00a0", "jane@example.org"),
]

INVALID = [
    ("", "missing"),
    ("   ", "missing"),
    ("jane.example.org", "no @"),
    ("jane@", "not a valid"),
    ("@example.org", "not a valid"),
    ("jane@@example.org", "not a valid"),
    ("jane@example", "not a valid"),
    ("jane@example.o", "not a valid"),
    ("jane@-example.org", "not a valid"),
    ("jane@example-.org", "not a valid"),
    ("jane@example.org-", "not a valid"),
    ("jane..doe@example.org", "not a valid"),
    (".jane@example.org", "not a valid"),
    ("jane doe@example.org", "not a valid"),
    ("jane@example.org,bob@example.org", "not a valid"),
]

# Refused on purpose although Django's EmailValidator accepts them (see lib/emails.py).
REFUSED_UNLIKE_DJANGO = [
    ('"jane doe"@example.org', "not a valid"),
    ("jane@[10.0.0.1]", "not a valid"),
    ("jane@localhost", "not a valid"),
    # RFC 5321 limits; Django 5.2 allows 320 characters and any local-part length.
    ("a" * 65 + "@example.org", "64 characters"),
    ("a@" + "b" * 60 + "." + ("c" * 60 + ".") * 4 + "org", "254"),
]


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_plausible_addresses_are_normalised_to_lowercase(value, expected):
    assert normalize_email(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [*INVALID, *REFUSED_UNLIKE_DJANGO, (None, "not an email"), (12, "not an email")],
)
def test_unusable_addresses_raise_a_message_for_the_user(value, message):
    with pytest.raises(EmailProblem, match=message):
        normalize_email(value)


@pytest.mark.parametrize(("value", "expected"), VALID)
def test_django_accepts_what_we_accept(value, expected):
    EmailValidator()(expected)


@pytest.mark.parametrize(("value", "message"), INVALID[2:])
def test_django_refuses_what_we_refuse(value, message):
    with pytest.raises(ValidationError):
        EmailValidator()(value.strip())


def test_email_problem_is_a_value_error():
    assert issubclass(EmailProblem, ValueError)
