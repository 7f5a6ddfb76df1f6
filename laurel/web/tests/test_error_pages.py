"""Errors a user can meet look like Laurel and offer a way on, never a bare server page."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views import defaults

from laurel import cli
from laurel.credits.forms import LedgerFilterForm
from tests.factories import PASSWORD, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


def test_unknown_address_gets_the_branded_page_with_navigation(client):
    user = make_user("nurse@example.com")
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We can’t find that page" in body
    assert 'href="/locker/"' in body  # the member's own navigation
    assert "Go to the home page" in body
    assert "favicon.svg" in body


def test_another_organizations_page_is_the_same_not_found_page(client):
    make_org("lakeside")
    client.force_login(make_member(make_org("northwind")))
    response = client.get("/o/lakeside/credits/")
    assert response.status_code == 404
    assert "We can’t find that page" in response.content.decode()


def test_server_error_page_renders_without_the_database(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = defaults.server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert 'href="/"' in body and "Log out" not in body


def test_bad_request_page_is_branded():
    response = defaults.bad_request(RequestFactory().get("/"), Exception("bad"))
    assert response.status_code == 400
    assert "We couldn’t understand that request" in response.content.decode()


def test_forbidden_page_is_branded():
    request = RequestFactory().get("/o/x/members/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = defaults.permission_denied(request, Exception("no"))
    assert response.status_code == 403
    assert "You can’t open this page" in response.content.decode()


def test_an_expired_form_says_so_in_laurels_words():
    make_user("nurse@example.com")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "nurse@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.ico")
    assert 'rel="icon"' in client.get("/accounts/login/").content.decode()


def test_a_pasted_essay_in_a_filter_is_a_form_error_not_a_huge_address():
    form = LedgerFilterForm({"email": "x" * 5000})
    assert not form.is_valid()
    assert "email" in form.errors


def test_gunicorn_accepts_long_filter_addresses():
    command = cli.web_command()
    assert command[command.index("--limit-request-line") + 1] == "8190"
