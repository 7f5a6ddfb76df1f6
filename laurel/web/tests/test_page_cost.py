"""The busiest pages stay a fixed number of queries, whatever the number of rows they show
(issue 12, "Speed"): a query per row would undo the list indexes at a million credits.

Each page is fetched with a few rows and again with more; the number of queries must not
change, and stays within the figure measured when these tests were written (bench/render.py
prints the same counts)."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.certificates.services import certificate_issue
from laurel.credits import services
from laurel.credits.models import Dashboard
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db

# page → most queries it may make (session, user, membership, menu, the list and its count…)
MAX_QUERIES = {
    "ledger": 8,
    "ledger_by_course": 9,
    "ledger_by_email": 8,
    "audit": 10,  # one query per kind of object the page names (credits, connections)
    "api_credits": 10,
    "locker": 14,  # with the self-reported credit list (programs)
    "dashboard": 11,
    "verification": 7,
}


@pytest.fixture
def world(settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "verify": "1000/60"}
    org = make_org("northwind", name="Northwind", course_id_prefix="NNA")
    course = make_course(org, components={"CE": "3", "ETH": "1"}, title="Wound care")
    admin = make_member(org, Role.ADMIN, "admin@northwind.example")
    holder = make_user("nurse@example.com", full_name="Nora Nurse")
    dashboard = Dashboard.objects.create(holder=holder, name="License")
    Dashboard.objects.create(holder=holder, name="Other")  # the "move to" list shows
    key = api_key_create(actor=Actor.system("test"), organization=org, name="t").full_key
    code = certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Nora Nurse",
        recipient_email=holder.email,
        title="Wound care",
        completion_date=dt.date(2025, 1, 1),
        notify=False,
    ).verification_code
    clients = {"admin": Client(), "holder": Client(), "anonymous": Client()}
    clients["admin"].force_login(admin)
    clients["holder"].force_login(holder)
    clients["api"] = Client(headers={"Authorization": f"Bearer {key}"})
    ledger = reverse("credits:org_ledger", args=[org.slug])
    pages = {
        "ledger": ("admin", ledger),
        "ledger_by_course": ("admin", f"{ledger}?course={course.course_id}"),
        "ledger_by_email": ("admin", f"{ledger}?email=person"),
        "audit": ("admin", reverse("audit:event_list", args=[org.slug])),
        "api_credits": ("api", "/api/v1/credits"),
        "locker": ("holder", reverse("credits:locker")),
        "dashboard": ("holder", reverse("credits:dashboard_detail", args=[dashboard.pk])),
        "verification": ("anonymous", f"/v/{code}"),
    }
    state = {"n": 0}

    def add(count):
        """``count`` more credits: to other people, and offered to / accepted by the holder."""
        for _ in range(count):
            n = state["n"] = state["n"] + 1
            day = dt.date(2025, 1, 1) + dt.timedelta(days=n)
            enter_credit(org, course, f"person{n}@example.com", completion_date=day)
            enter_credit(org, course, holder.email, completion_date=day)
            kept = enter_credit(
                org, course, holder.email, completion_date=day + dt.timedelta(days=500)
            )
            services.credit_accept(credit=kept, holder=holder, dashboard=dashboard)

    def queries(name):
        who, path = pages[name]
        with CaptureQueriesContext(connection) as captured:
            response = clients[who].get(path)
        assert response.status_code == 200, (name, response.status_code)
        return len(captured)

    return add, queries


@pytest.mark.parametrize("page", MAX_QUERIES)
def test_page_queries_do_not_grow_with_its_rows(world, page):
    add, queries = world
    add(1)
    queries(page)  # the first request may warm a cache (content types, the menu)
    few = queries(page)
    add(3)
    many = queries(page)
    assert many == few, f"{page}: {few} queries with 1 row a list, {many} with 4"
    assert many <= MAX_QUERIES[page]
