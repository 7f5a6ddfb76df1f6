"""The attendance state machine with two more ways in: importing a roster through the
import pipeline (attendees kind) and undoing that import. The invariants are the
machine's own: live credits are the attended components, one certificate per attended
registration, one webhook per state change."""

from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from laurel.events.models import Registration
from laurel.events.tests.helpers import STAFF
from laurel.events.tests.test_state_machine import PEOPLE, AttendanceMachine
from laurel.imports import services
from laurel.imports.models import ImportJob

S = Registration.Status
WORDS = {S.ATTENDED: "Attended", S.REGISTERED: "Registered", S.NO_SHOW: "No-show",
         S.CANCELLED: "Cancelled"}  # fmt: skip


class ImportingAttendanceMachine(AttendanceMachine):
    def __init__(self):
        super().__init__()
        self.files = 0
        self.committed: list[ImportJob] = []

    @rule(
        lines=st.lists(
            st.tuples(st.integers(0, PEOPLE - 1), st.sampled_from(list(WORDS))),
            min_size=1,
            max_size=PEOPLE + 1,
        )
    )
    def import_roster(self, lines):
        before = self.snapshot()
        self.files += 1  # a new file each time: the same content is "already imported"
        roster = "Email,Status,Note\n" + "".join(
            f"p{i}@example.com,{WORDS[state]},file {self.files}\n" for i, state in lines
        )
        job, _ = services.import_create(
            actor=STAFF,
            organization=self.org,
            kind="attendees",
            upload=SimpleUploadedFile("roster.csv", roster.encode()),
            file_name="roster.csv",
            start=False,
            options={"event": self.event.pk},
        )
        services.import_validate(job_id=job.pk)
        job.refresh_from_db()
        if job.can_commit():
            services.import_commit_start(actor=STAFF, job=job, enqueue=False)
            services.import_commit_run(job_id=job.pk)
            job.refresh_from_db()
            assert job.status == ImportJob.Status.COMMITTED, job.error
            self.committed.append(job)
        # The file's first row per person wins; a row repeating the person is reported.
        wanted = {}
        for i, state in lines:
            wanted.setdefault(f"p{i}@example.com", state)
        now = {r.email: r.status for r in Registration.objects.filter(event=self.event)}
        for email, state in wanted.items():
            assert now[email] == state or (state == S.REGISTERED and now[email] == S.WAITLISTED), (
                email,
                state,
                now[email],
            )
        self.record_changes(before)

    @rule()
    def undo_last_import(self):
        if not self.committed:
            return
        job = self.committed.pop()
        job.refresh_from_db()
        if not job.can_undo():
            return
        before = self.snapshot()
        services.import_undo(actor=STAFF, job=job)
        self.record_changes(before)


def test_attendance_invariants_hold_with_imports_and_their_undo(db):
    run_state_machine_as_test(
        ImportingAttendanceMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
