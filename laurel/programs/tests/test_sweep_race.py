"""Two workers sweeping deadlines at the same moment move, count and announce each
enrollment once."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from laurel.audit.models import AuditEvent
from laurel.integrations.models import WebhookMessage
from laurel.integrations.services import endpoint_create
from laurel.notifications.models import OutboxMessage
from laurel.programs import selectors, services
from laurel.programs.models import Enrollment
from laurel.programs.services import enrollments_create
from laurel.programs.tests.helpers import STAFF, make_program
from tests.factories import make_org

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_sweeps_at_once_move_each_enrollment_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locking; SQLite serialises whole transactions")
    org = make_org("sweeprace")
    program = make_program(org, window_months=1, grace_days=10)
    endpoint_create(
        actor=STAFF,
        organization=org,
        url="https://hooks.example.org/laurel",
        event_types=["enrollment.grace", "enrollment.expired"],
    )
    start = org.today() - timedelta(days=200)
    people = [(f"p{n}@example.com", "") for n in range(120)]
    enrollments_create(actor=STAFF, program=program, people=people[:60], enrolled_on=start)
    # Half past the grace start only, half past expiry too.
    late = org.today() - timedelta(days=35)
    enrollments_create(actor=STAFF, program=program, people=people[60:], enrolled_on=late)

    real = services._track

    def slow(*args, **kwargs):
        real(*args, **kwargs)
        time.sleep(0.3)  # keep the rows locked while the twin's UPDATE arrives

    monkeypatch.setattr(services, "_track", slow)
    barrier = threading.Barrier(2)
    results = []

    def sweep():
        try:
            barrier.wait()
            results.append(services.deadlines_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 2
    statuses = Counter(Enrollment.objects.values_list("status", flat=True))
    assert statuses == {"expired": 60, "grace": 60}
    assert sum(r["enrolled->expired"] for r in results) == 60
    assert sum(r["enrolled->grace"] for r in results) == 60
    events = Counter(
        AuditEvent.objects.filter(
            action__in=["enrollment.grace", "enrollment.expired"]
        ).values_list("object_id", flat=True)
    )
    assert len(events) == 120 and set(events.values()) == {1}
    notices = Counter(
        OutboxMessage.objects.filter(kind__in=["program_grace", "program_expired"]).values_list(
            "to_email", flat=True
        )
    )
    assert len(notices) == 120 and set(notices.values()) == {1}
    assert selectors.trackers(program) == selectors.trackers_recount(program)
    hooked = Counter(
        (m.event_type, m.payload["enrollment"]["id"])
        for m in WebhookMessage.objects.filter(event_type__startswith="enrollment.")
    )
    assert len(hooked) == 120 and set(hooked.values()) == {1}
    assert Counter(t for t, _ in hooked) == {"enrollment.grace": 60, "enrollment.expired": 60}
    # Queued without a body, rendered when sent (tasks run at once in tests).
    sent = OutboxMessage.objects.filter(kind="program_grace").first()
    assert sent.status == "sent" and "grace period" in sent.body_text
