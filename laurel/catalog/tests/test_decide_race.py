"""Two reviewers decide the same submission at the same moment: one decision wins, the other
reviewer is told it was decided, and at most one course exists (real PostgreSQL rows)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.models import Course, ReviewDecision, Submission
from laurel.catalog.tests.providers import (
    approve,
    make_accrediting,
    make_application,
    make_provider,
    make_reviewer,
    submit,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_deciding_at_once_one_wins_the_other_is_told():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    org = make_accrediting("racewind", "RCW")
    provider, user = make_provider("raceprov")
    [sub] = submit(make_application(provider, user), user, org)
    alice, bob = make_reviewer(org, "alice@racewind.example"), make_reviewer(org, "bob@r.example")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(name, work):
        try:
            barrier.wait()
            work()
            outcomes[name] = "won"
        except ServiceError as exc:
            outcomes[name] = exc.message
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=("approve", lambda: approve(sub, alice))),
        threading.Thread(
            target=decide,
            args=(
                "deny",
                lambda: services.submission_decide(
                    actor=Actor(user=bob), submission=sub, decision="deny", reason="No."
                ),
            ),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes) == ["approve", "deny"]
    winners = [k for k, v in outcomes.items() if v == "won"]
    assert len(winners) == 1, outcomes
    loser = "deny" if winners == ["approve"] else "approve"
    assert "already" in outcomes[loser] and "nothing was changed" in outcomes[loser]
    sub.refresh_from_db()
    assert sub.status == (Submission.Status.APPROVED if winners == ["approve"] else "denied")
    assert Course.objects.filter(organization=org).count() == (1 if winners == ["approve"] else 0)
    assert ReviewDecision.objects.filter(submission=sub).count() == 1
