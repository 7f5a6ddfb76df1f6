"""Dashboard totals and progress, summed by the database, always equal a recount of the
holder's credits, whatever the holder and the organizations did in between."""

from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.credits import selectors, services
from laurel.credits.models import Credit, Dashboard
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db
STAFF = Actor.system("test")
START = date(2025, 1, 1)


def recount(holder, dashboard: Dashboard) -> tuple[dict, int, list]:
    """Totals per (code, unit), credit count and progress, the slow and obvious way."""
    totals: dict[tuple[str, str], Decimal] = {}
    in_window: dict[str, Decimal] = {}
    count = 0
    for credit in Credit.objects.filter(holder=holder, dashboard=dashboard):
        if credit.status != Credit.Status.ACCEPTED:
            continue
        count += 1
        inside = (
            not dashboard.window_start or credit.completion_date >= dashboard.window_start
        ) and (not dashboard.window_end or credit.completion_date <= dashboard.window_end)
        for c in credit.components.select_related("credit_type"):
            key = (c.credit_type.code, c.credit_type.unit)
            totals[key] = totals.get(key, Decimal(0)) + c.amount_earned
            if inside:
                in_window[key[0]] = in_window.get(key[0], Decimal(0)) + c.amount_earned
    progress = []
    if dashboard.required_total is not None:
        progress.append(("Total", dashboard.required_total, sum(in_window.values(), Decimal(0))))
    for m in dashboard.minimums.all():
        progress.append(
            (f"At least {m.credit_type_code}", m.amount, in_window.get(m.credit_type_code, 0))
        )
    return totals, count, progress


class LockerLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.holder = make_user()
        north, south = make_org(), make_org()
        # CE in both organizations (one line when the units match), ETH in one.
        self.courses = [
            make_course(north, components={"CE": "2"}),
            make_course(north, components={"CE": "1.5", "ETH": "1"}),
            make_course(south, components={"CE": "3"}),
        ]
        self.dashboards = [
            services.dashboard_create(holder=self.holder, name="All"),
            services.dashboard_create(
                holder=self.holder,
                name="License 2025",
                requirements=services.Requirements(
                    required_total=Decimal("10"),
                    window_start=START + timedelta(days=20),
                    window_end=START + timedelta(days=60),
                    minimums=(("ETH", Decimal("2")),),
                ),
            ),
            services.dashboard_create(
                holder=self.holder,
                name="CPR",
                requirements=services.Requirements(minimums=(("CE", Decimal("4")),)),
            ),
        ]

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _credits(self, status):
        return list(Credit.objects.filter(holder=self.holder, status=status).order_by("pk"))

    @rule(
        course=st.integers(0, 2),
        days=st.integers(0, 90),
        partial=st.sampled_from([None, Decimal("0.5"), Decimal("1")]),
    )
    def receive(self, course, days, partial):
        with suppress(ServiceError):  # the same course and day twice is a duplicate
            enter_credit(
                self.courses[course].organization,
                self.courses[course],
                self.holder.email,
                completion_date=START + timedelta(days=days),
                amount_earned=partial,
            )

    @rule(data=st.data(), many=st.booleans())
    def accept(self, data, many):
        offered = self._credits(Credit.Status.OFFERED)
        if not offered:
            return
        dashboard = data.draw(st.sampled_from(self.dashboards))
        chosen = offered if many else [data.draw(st.sampled_from(offered))]
        with suppress(ServiceError):
            services.credit_accept_many(credits=chosen, holder=self.holder, dashboard=dashboard)

    @rule(data=st.data())
    def reject(self, data):
        offered = self._credits(Credit.Status.OFFERED)
        if offered:
            credit = data.draw(st.sampled_from(offered))
            services.credit_reject(credit=credit, holder=self.holder)

    @rule(data=st.data())
    def move(self, data):
        accepted = self._credits(Credit.Status.ACCEPTED)
        if accepted:
            credit = data.draw(st.sampled_from(accepted))
            target = data.draw(st.sampled_from(self.dashboards))
            services.credit_move_many(credits=[credit], holder=self.holder, dashboard=target)

    @rule(data=st.data())
    def revoke(self, data):
        accepted = self._credits(Credit.Status.ACCEPTED)
        if accepted:
            credit = data.draw(st.sampled_from(accepted))
            services.credit_revoke(actor=STAFF, credit=credit, reason="Entered in error")

    @invariant()
    def summaries_equal_a_recount(self):
        dashboards = list(Dashboard.objects.filter(pk__in=[d.pk for d in self.dashboards]))
        for summary in selectors.dashboard_summaries(self.holder, dashboards):
            totals, count, progress = recount(self.holder, summary.dashboard)
            assert {(t.code, t.unit): t.amount for t in summary.totals} == totals
            assert summary.credit_count == count
            assert [(p.label, p.required, p.earned) for p in summary.progress] == progress


def test_dashboard_totals_always_equal_a_recount(db):
    run_state_machine_as_test(
        LockerLife,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
