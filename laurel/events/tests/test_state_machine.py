"""Random status changes never break the attendance invariants.

After every step: the live attendance credits are exactly the components of the attended
registrations, each attended registration has one valid certificate, and each state change
emitted one webhook. ``AttendanceMachine.extra_rules`` is the hook for more ways in (the
attendee import adds a rule that imports a roster through ``attendance_set``)."""

from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from laurel.certificates.models import Certificate
from laurel.credits.models import Credit
from laurel.events.models import Registration
from laurel.events.services import attendance_set, attendance_undo
from laurel.events.tests.helpers import STAFF, make_event, register
from laurel.integrations.models import WebhookEndpoint, WebhookMessage
from tests.factories import make_org

S = Registration.Status
PEOPLE = 4


class AttendanceMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example starts from an empty organization and is rolled back at the end.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.org = make_org()
        WebhookEndpoint.objects.create(
            organization=self.org,
            url="https://hooks.example.com/in",
            event_types=["attendance.marked", "attendance.unmarked", "registration.cancelled"],
        )
        self.event = make_event(
            self.org,
            tracks={"COEC 3.0": {"COEC": "3"}, "COEN 3.0": {"COEN": "3"}},
            components={"FAIRH": "1"},
        )
        self.regs = register(
            self.event, *[f"p{n}@example.com" for n in range(PEOPLE)], track="COEC 3.0"
        )
        self.expected_hooks = {"attendance.marked": 0, "attendance.unmarked": 0,
                               "registration.cancelled": 0}  # fmt: skip

    def _apply(self, indexes, state):
        before = {r.pk: r.status for r in Registration.objects.filter(event=self.event)}
        attendance_set(actor=STAFF, registrations=[self.regs[i] for i in indexes], state=state)
        self._count(before)

    def _count(self, before):
        for r in Registration.objects.filter(event=self.event):
            old = before[r.pk]
            if old == r.status:
                continue
            if r.status == S.ATTENDED:
                self.expected_hooks["attendance.marked"] += 1
            elif old == S.ATTENDED:
                self.expected_hooks["attendance.unmarked"] += 1
            if r.status == S.CANCELLED:
                self.expected_hooks["registration.cancelled"] += 1

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @rule(i=st.integers(0, PEOPLE - 1))
    def mark(self, i):
        self._apply([i], S.ATTENDED)

    @rule(i=st.integers(0, PEOPLE - 1))
    def unmark(self, i):
        self._apply([i], S.REGISTERED)

    @rule(i=st.integers(0, PEOPLE - 1))
    def no_show(self, i):
        self._apply([i], S.NO_SHOW)

    @rule(i=st.integers(0, PEOPLE - 1))
    def cancel(self, i):
        self._apply([i], S.CANCELLED)

    @rule(
        picks=st.lists(st.integers(0, PEOPLE - 1), min_size=1, max_size=PEOPLE),
        state=st.sampled_from([S.ATTENDED, S.REGISTERED, S.NO_SHOW]),
    )
    def bulk(self, picks, state):
        self._apply(sorted(set(picks)), state)

    @rule()
    def undo(self):
        before = {r.pk: r.status for r in Registration.objects.filter(event=self.event)}
        try:
            attendance_undo(actor=STAFF, event=self.event)
        except Exception:  # nothing left to undo
            return
        self._count(before)

    @invariant()
    def live_credits_are_the_attended_components(self):
        attended = list(Registration.objects.filter(event=self.event, status=S.ATTENDED))
        expected = sorted((r.email, code, Decimal(a)) for r in attended
                          for code, a in (("COEC", "3"), ("FAIRH", "1")))  # fmt: skip
        live = Credit.objects.filter(source=Credit.Source.ATTENDANCE).exclude(
            status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED]
        )
        got = sorted(
            (c.recipient_email, comp.credit_type.code, comp.amount_earned)
            for c in live.prefetch_related("components__credit_type")
            for comp in c.components.all()
        )
        assert got == expected
        assert live.count() == len(attended)

    @invariant()
    def one_certificate_per_attended_registration(self):
        valid = list(
            Certificate.objects.filter(
                organization=self.org, status=Certificate.Status.VALID
            ).values_list("recipient_email", flat=True)
        )
        attended = Registration.objects.filter(event=self.event, status=S.ATTENDED)
        assert sorted(valid) == sorted(attended.values_list("email", flat=True))

    @invariant()
    def one_webhook_per_state_change(self):
        for type_, count in self.expected_hooks.items():
            assert WebhookMessage.objects.filter(event_type=type_).count() == count, type_


def test_attendance_invariants_hold_under_random_changes(db):
    run_state_machine_as_test(
        AttendanceMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
