"""The program page's four trackers are counters; whatever happens, they equal a recount."""

from contextlib import suppress
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from laurel.accounts.services import ServiceError
from laurel.programs import selectors
from laurel.programs.models import Completion, Enrollment
from laurel.programs.services import (
    completion_approve,
    completion_record,
    deadlines_sweep,
    enrollment_cancel,
    enrollments_create,
    enrollments_purge,
)
from laurel.programs.tests.helpers import STAFF, make_program, manual
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db
PEOPLE = [f"p{n}@example.com" for n in range(5)]


class ProgramLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        org = make_org()
        for email in PEOPLE[:3]:  # two of the five have no account: held enrollments
            make_user(email)
        self.program = make_program(
            org,
            window_months=1,
            grace_days=10,
            maintenance=False,
            requirements=[manual("Essay", needs_approval=True), manual("Exam")],
        )
        self.start = org.today() - timedelta(days=90)
        self.day = self.start

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _open(self, email):
        return Enrollment.objects.filter(
            program=self.program, email=email, status__in=Enrollment.OPEN
        ).first()

    @rule(email=st.sampled_from(PEOPLE))
    def enroll(self, email):
        try:
            enrollments_create(
                actor=STAFF, program=self.program, people=[(email, "")], enrolled_on=self.day
            )
        except ServiceError:
            assert self._open(email) is not None  # refused only when enrolled already

    @rule(email=st.sampled_from(PEOPLE), which=st.sampled_from(["Essay", "Exam"]))
    def complete(self, email, which):
        enrollment = self._open(email)
        if enrollment is None:
            return
        requirement = enrollment.version.requirements.get(title=which)
        with suppress(ServiceError):  # a locked or closed one is refused, which is fine
            completion_record(
                actor=STAFF,
                enrollment=enrollment,
                requirement=requirement,
                completed_on=enrollment.enrolled_on,
            )

    @rule()
    def approve_all(self):
        for completion in Completion.objects.filter(
            status=Completion.Status.AWAITING_APPROVAL, enrollment__program=self.program
        ):
            with suppress(ServiceError):
                completion_approve(actor=STAFF, completion=completion)

    @rule(days=st.integers(min_value=1, max_value=25))
    def move_clock(self, days):
        self.day = min(self.day + timedelta(days=days), self.start + timedelta(days=90))
        deadlines_sweep(today=self.day, notify=False)

    @rule(email=st.sampled_from(PEOPLE))
    def cancel(self, email):
        enrollment = self._open(email)
        if enrollment is not None:
            enrollment_cancel(actor=STAFF, enrollment=enrollment)

    @rule()
    def purge(self):
        inactive = list(
            Enrollment.objects.filter(program=self.program, status__in=Enrollment.INACTIVE)
        )
        if inactive:
            enrollments_purge(actor=STAFF, program=self.program, enrollments=inactive)

    @invariant()
    def trackers_equal_a_recount(self):
        assert selectors.trackers(self.program) == selectors.trackers_recount(self.program)


def test_trackers_always_equal_a_recount(db):
    run_state_machine_as_test(
        ProgramLife,
        settings=settings(
            max_examples=20,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
