"""Two identical requests with one Idempotency-Key at the same moment enter one credit."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from laurel.credits import services as credit_services
from laurel.credits.models import Credit
from tests.factories import make_course, make_org

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_twins_enter_one_credit_and_both_get_its_response(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locking; SQLite serialises whole transactions")
    org = make_org("race")
    course = make_course(org)
    key = api_key_create(actor=Actor.system("t"), organization=org, name="LMS").full_key

    real_enter = credit_services.credit_enter

    def slow_enter(**kwargs):
        # Hold the new row uncommitted long enough for the twin to arrive.
        credit = real_enter(**kwargs)
        time.sleep(0.5)
        return credit

    monkeypatch.setattr(credit_services, "credit_enter", slow_enter)
    body = {
        "course_id": course.course_id,
        "email": "pat@example.com",
        "completion_date": "2025-03-01",
    }
    start = threading.Barrier(2)
    responses = []

    def post():
        try:
            start.wait()
            responses.append(
                Client().post(
                    "/api/v1/credits",
                    body,
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "twin"},
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    assert responses[0].content == responses[1].content
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    assert Credit.objects.filter(organization=org).count() == 1
