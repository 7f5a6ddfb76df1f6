from datetime import date, timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.certificates.models import Certificate
from laurel.credits.models import Credit
from laurel.credits.services import credit_accept, dashboard_create
from laurel.programs import selectors
from laurel.programs.models import Completion, Enrollment
from laurel.programs.services import (
    Definition,
    completion_approve,
    completion_grade,
    completion_record,
    completion_return,
    deadlines_sweep,
    enrollment_cancel,
    enrollment_dates_set,
    enrollment_self,
    enrollments_create,
    enrollments_deliver_for_email,
    enrollments_move_version,
    enrollments_purge,
    program_update,
)
from laurel.programs.tests.helpers import STAFF, hours, make_program, manual, offering
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def nurse():
    return make_user("nurse@example.com", full_name="Ada Nurse")


def enroll(program, *emails, on=None):
    return enrollments_create(
        actor=STAFF, program=program, people=[(e, "") for e in emails], enrolled_on=on
    )


def accept(org, course, holder, on):
    credit = enter_credit(org, course, holder.email, completion_date=on)
    dashboard = holder.dashboards.first() or dashboard_create(holder=holder, name="CE")
    return credit_accept(credit=credit, holder=holder, dashboard=dashboard)


def test_accepted_credit_hours_earn_the_program_and_issue_its_certificate(org, nurse):
    course = make_course(org, components={"CE": "12", "ETH": "2"})
    program = make_program(org, requirements=[hours("CE", "12"), hours("ETH", "2")])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    assert [r.status for r in progress.rows] == ["No status", "No status"]

    accept(org, course, nurse, date(2025, 2, 1))

    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED
    cert = Certificate.objects.get(pk=enrollment.certificate_id)
    assert cert.title == program.current_version.name
    assert cert.recipient_email == nurse.email
    assert selectors.trackers(program)["earned"] == 1


def test_credit_earned_before_enrollment_does_not_count(org, nurse):
    course = make_course(org, components={"CE": "12"})
    program = make_program(org, requirements=[hours("CE", "12")])
    accept(org, course, nurse, date(2025, 1, 1))
    [enrollment] = enroll(program, nurse.email, on=date(2025, 3, 1))
    row = selectors.progress_for([enrollment])[enrollment.pk].rows[0]
    assert row.status == "No status"
    assert row.hours == 0


def test_self_reported_credit_does_not_count_without_approval(org, nurse):
    course = make_course(org, components={"CE": "12"})
    program = make_program(org, requirements=[hours("CE", "12")])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    credit = enter_credit(org, course, nurse.email, completion_date=date(2025, 2, 1))
    Credit.objects.filter(pk=credit.pk).update(
        status=Credit.Status.ACCEPTED, source=Credit.Source.SELF_REPORT
    )
    assert selectors.progress_for([enrollment])[enrollment.pk].rows[0].hours == 0


def test_unknown_address_waits_like_held_credit_and_reaches_the_verified_account(org, committed):
    program = make_program(org)
    with committed():
        [enrollment] = enroll(program, "New.Person@Example.com")
    assert enrollment.holder is None
    assert enrollment.email == "new.person@example.com"
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert "create a free laurel account" in message.body.lower()
    user = make_user("new.person@example.com", verified=False)
    EmailAddress.objects.filter(user=user).update(verified=True)
    assert enrollments_deliver_for_email(user=user, email="new.person@example.com") == 1
    enrollment.refresh_from_db()
    assert enrollment.holder == user


def test_enrolling_twice_is_refused_and_changes_nothing(org, nurse):
    program = make_program(org)
    enroll(program, nurse.email)
    events = AuditEvent.objects.count()
    with pytest.raises(ServiceError, match="Already enrolled: nurse@example.com"):
        enroll(program, "other@example.com", nurse.email)
    assert Enrollment.objects.count() == 1
    assert AuditEvent.objects.count() == events
    assert selectors.trackers(program)["enrolled"] == 1


def test_grade_below_minimum_is_refused_and_a_passing_grade_waits_for_approval(org, nurse):
    program = make_program(
        org,
        requirements=[
            manual("Exam", needs_grade=True, min_grade=Decimal("70"), needs_approval=True)
        ],
    )
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    exam = program.current_version.requirements.get()
    with pytest.raises(ServiceError, match="below the minimum passing grade"):
        completion_record(
            actor=STAFF,
            enrollment=enrollment,
            requirement=exam,
            completed_on=date(2025, 2, 1),
            grade=Decimal("69"),
        )
    assert not Completion.objects.exists()
    pending = completion_record(
        actor=STAFF, enrollment=enrollment, requirement=exam, completed_on=date(2025, 2, 1)
    )
    assert selectors.progress_for([enrollment])[enrollment.pk].rows[0].status == "Awaiting grade"
    completion_grade(actor=STAFF, completion=pending, grade=Decimal("88"))
    assert selectors.progress_for([enrollment])[enrollment.pk].rows[0].status == "Awaiting approval"
    completion_approve(actor=STAFF, completion=pending)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED


def test_returned_completion_goes_back_to_no_status_with_its_reason(org, nurse):
    program = make_program(org, requirements=[manual("Essay", needs_approval=True)])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    essay = program.current_version.requirements.get()
    completion = completion_record(
        actor=STAFF, enrollment=enrollment, requirement=essay, completed_on=date(2025, 2, 1)
    )
    with pytest.raises(ServiceError):
        completion_return(actor=STAFF, completion=completion, reason=" ")
    completion_return(actor=STAFF, completion=completion, reason="Too short")
    assert selectors.progress_for([enrollment])[enrollment.pk].rows[0].status == "No status"
    with pytest.raises(ServiceError, match="changed meanwhile"):
        completion_approve(actor=STAFF, completion=completion)


def test_locked_requirement_of_an_ordered_program_cannot_be_completed(org, nurse):
    course = make_course(org)
    program = make_program(
        org, ordered=True, requirements=[offering("Intro", course), manual("Practice")]
    )
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    assert [r.locked for r in progress.rows] == [False, True]
    practice = progress.rows[1].requirement
    with pytest.raises(ServiceError, match="locked"):
        completion_record(
            actor=STAFF, enrollment=enrollment, requirement=practice, completed_on=date(2025, 2, 1)
        )
    accept(org, course, nurse, date(2025, 2, 1))
    completion_record(
        actor=STAFF, enrollment=enrollment, requirement=practice, completed_on=date(2025, 2, 2)
    )
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED


@pytest.mark.parametrize(
    ("name", "content", "size", "message"),
    [
        ("notes.txt", b"just text", None, "PDF, PNG or JPEG"),
        ("big.pdf", PDF, 11 * 1024 * 1024, "larger than 10 MB"),
    ],
)
def test_bad_attachment_is_refused(org, nurse, name, content, size, message):
    program = make_program(org, requirements=[manual("Practice", needs_attachment=True)])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    upload = SimpleUploadedFile(name, content)
    if size:
        upload.size = size
    with pytest.raises(ServiceError, match=message):
        completion_record(
            actor=STAFF,
            enrollment=enrollment,
            requirement=program.current_version.requirements.get(),
            completed_on=date(2025, 2, 1),
            attachment=upload,
        )
    assert not Completion.objects.exists()


def test_completion_with_pdf_attachment_is_stored_and_a_correction_supersedes_it(org, nurse):
    program = make_program(
        org, requirements=[manual("Practice", needs_attachment=True), manual("Essay")]
    )
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    req = program.current_version.requirements.get(title="Practice")
    first = completion_record(
        actor=STAFF,
        enrollment=enrollment,
        requirement=req,
        completed_on=date(2025, 2, 1),
        attachment=SimpleUploadedFile("log.pdf", PDF),
    )
    assert first.attachment.read() == PDF
    second = completion_record(
        actor=STAFF,
        enrollment=enrollment,
        requirement=req,
        completed_on=date(2025, 2, 3),
        attachment=SimpleUploadedFile("log2.pdf", PDF),
        notes="date corrected",
    )
    first.refresh_from_db()
    assert first.status == Completion.Status.SUPERSEDED
    assert second.supersedes == first
    row = selectors.progress_for([enrollment])[enrollment.pk].row(req)
    assert (row.status, row.completion.completed_on) == ("Complete", date(2025, 2, 3))
    assert AuditEvent.objects.filter(
        action="completion.superseded", object_id=str(first.pk)
    ).exists()


def test_expiration_before_enrollment_is_refused(org, nurse):
    program = make_program(org)
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    with pytest.raises(ServiceError, match="before the enrollment date"):
        enrollment_dates_set(
            actor=STAFF,
            enrollment=enrollment,
            enrolled_on=date(2025, 1, 1),
            grace_starts_on=None,
            expires_on=date(2024, 12, 1),
        )
    enrollment.refresh_from_db()
    assert enrollment.expires_on == date(2026, 1, 31)


def test_deadline_is_computed_from_the_window_and_grace(org, nurse):
    program = make_program(org, window_months=24, grace_days=60)
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 15))
    assert enrollment.deadline == date(2027, 1, 15)
    assert enrollment.expires_on == date(2027, 3, 16)


def test_sweep_moves_to_grace_then_expired_once_each_with_one_notice(org, nurse, committed):
    program = make_program(org, window_months=1, grace_days=10, name="RN certification")
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    mail.outbox.clear()
    with committed():
        assert deadlines_sweep(today=date(2025, 2, 1))["enrolled->grace"] == 1
    with committed():
        assert deadlines_sweep(today=date(2025, 2, 1))["enrolled->grace"] == 0
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.GRACE
    for day in (date(2025, 2, 11), date(2025, 2, 12)):
        with committed():
            deadlines_sweep(today=day)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EXPIRED
    assert [m.subject for m in mail.outbox] == [
        "RN certification: your grace period has started",
        "RN certification has expired",
    ]
    assert selectors.trackers(program) == selectors.trackers_recount(program)
    actions = list(
        AuditEvent.objects.filter(object_id=str(enrollment.pk)).values_list("action", flat=True)
    )
    assert actions.count("enrollment.grace") == 1
    assert actions.count("enrollment.expired") == 1


def test_reminders_go_30_and_7_days_before_the_deadline_once_each(org, nurse, committed):
    program = make_program(org, window_months=2, grace_days=0)
    with committed():
        [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    mail.outbox.clear()
    deadline = enrollment.deadline
    for day in (
        deadline - timedelta(days=31),
        deadline - timedelta(days=30),
        deadline - timedelta(days=29),
        deadline - timedelta(days=7),
    ):
        with committed():
            deadlines_sweep(today=day)
            deadlines_sweep(today=day)
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"{program.current_version.name}: 30 days left",
        f"{program.current_version.name}: 7 days left",
    ]


def test_program_notices_follow_the_mail_preference_of_each_person(org, nurse, committed):
    from laurel.notifications.models import OutboxMessage
    from laurel.notifications.services import preference_set

    preference_set(email=nurse.email, organization=org, choice="none", actor=STAFF)
    preference_set(email="bundle@example.com", organization=org, choice="digest", actor=STAFF)
    program = make_program(org, window_months=2, grace_days=10)
    with committed():
        enroll(program, nurse.email, "bundle@example.com", "each@example.com", on=date(2025, 1, 1))
    mail.outbox.clear()
    with committed():
        deadlines_sweep(today=date(2025, 2, 1))  # 30 days before the deadline: reminders
        deadlines_sweep(today=date(2025, 3, 2))  # the deadline: grace periods start
    assert sorted(m.to[0] for m in mail.outbox) == ["each@example.com"] * 2
    held = OutboxMessage.objects.filter(to_email="bundle@example.com", kind__startswith="program_")
    assert set(held.values_list("status", flat=True)) == {"digest"}
    off = OutboxMessage.objects.filter(to_email=nurse.email, kind__startswith="program_")
    assert off.count() == 3 and set(off.values_list("status", flat=True)) == {"suppressed"}
    reminder = [m for m in mail.outbox if "days left" in m.subject][0]
    assert reminder.extra_headers["List-Unsubscribe"].startswith("<http")


def test_holder_cancels_only_when_the_program_allows_and_may_enroll_again(org, nurse):
    strict = make_program(org, code="STRICT", allow_self_enroll=True)
    enrollment = enrollment_self(holder=nurse, program=strict)
    with pytest.raises(ServiceError, match="does not let enrollees cancel"):
        enrollment_cancel(actor=STAFF, enrollment=enrollment, by_holder=True)
    loose = make_program(org, code="LOOSE", allow_self_enroll=True, allow_cancel=True)
    enrollment = enrollment_self(holder=nurse, program=loose)
    enrollment_cancel(actor=STAFF, enrollment=enrollment, by_holder=True)
    again = enrollment_self(holder=nurse, program=loose)
    assert again.pk != enrollment.pk
    assert selectors.trackers(loose) == selectors.trackers_recount(loose)


def test_purge_refuses_active_enrollments_and_keeps_people_credits_and_certificates(org, nurse):
    course = make_course(org, components={"CE": "1"})
    program = make_program(org, requirements=[manual("Essay")])
    enroll(program, nurse.email, "b@example.com", "c@example.com", on=date(2025, 1, 1))
    done, active, gone = (
        Enrollment.objects.get(email=e) for e in (nurse.email, "b@example.com", "c@example.com")
    )
    completion_record(
        actor=STAFF,
        enrollment=done,
        requirement=done.version.requirements.get(),
        completed_on=date(2025, 1, 2),
    )
    accept(org, course, nurse, date(2025, 1, 3))
    enrollment_cancel(actor=STAFF, enrollment=gone)
    with pytest.raises(ServiceError, match="still active: b@example.com"):
        enrollments_purge(actor=STAFF, program=program, enrollments=[active, gone])
    assert Enrollment.objects.count() == 3
    done.refresh_from_db()
    certificates = Certificate.objects.count()
    assert enrollments_purge(actor=STAFF, program=program, enrollments=[gone]) == 1
    assert not Enrollment.objects.filter(pk=gone.pk).exists()
    assert Certificate.objects.count() == certificates
    assert Credit.objects.filter(holder=nurse).count() == 1
    event = AuditEvent.objects.get(action="enrollments.purged")
    assert event.after["enrollments"] == 1
    assert selectors.trackers(program) == selectors.trackers_recount(program)


def test_earning_a_maintenance_program_opens_the_next_cycle(org, nurse):
    program = make_program(org, maintenance=True, window_months=24, requirements=[manual("Essay")])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    completion_record(
        actor=STAFF,
        enrollment=enrollment,
        requirement=enrollment.version.requirements.get(),
        completed_on=date(2025, 3, 1),
    )
    cycles = list(Enrollment.objects.filter(program=program).order_by("cycle"))
    assert [(e.cycle, e.status) for e in cycles] == [(1, "earned"), (2, "enrolled")]
    assert cycles[1].enrolled_on == org.today()
    assert selectors.trackers(program) == selectors.trackers_recount(program)


def test_editing_an_active_program_makes_a_version_and_moving_keeps_matching_completions(
    org, nurse
):
    program = make_program(org, requirements=[manual("Essay"), manual("Exam")])
    [enrollment] = enroll(program, nurse.email, on=date(2025, 1, 1))
    essay = enrollment.version.requirements.get(title="Essay")
    completion_record(
        actor=STAFF, enrollment=enrollment, requirement=essay, completed_on=date(2025, 2, 1)
    )
    v2 = program_update(
        actor=STAFF,
        program=program,
        definition=Definition(
            name="Program v2", window_months=6, requirements=(manual("Essay"), manual("Portfolio"))
        ),
    )
    enrollment.refresh_from_db()
    assert enrollment.version.number == 1
    assert v2.number == 2
    assert enrollments_move_version(actor=STAFF, program=program, enrollments=[enrollment]) == 1
    enrollment.refresh_from_db()
    assert enrollment.version == v2
    assert enrollment.expires_on == date(2025, 7, 1)
    rows = selectors.progress_for([enrollment])[enrollment.pk].rows
    assert [(r.requirement.title, r.status) for r in rows] == [
        ("Essay", "Complete"),
        ("Portfolio", "No status"),
    ]


def test_enrollee_progress_of_many_programs_takes_a_fixed_number_of_queries(
    org, nurse, django_assert_max_num_queries
):
    enrollments = []
    for n in range(20):
        program = make_program(org, code=f"P{n}", requirements=[hours("CE", "2"), manual("Exam")])
        enrollments += enroll(program, nurse.email)
    enrollments = list(Enrollment.objects.filter(holder=nurse).select_related("version"))
    # requirements, offerings, completions, accepted credits, approved self-reported credits
    with django_assert_max_num_queries(5):
        progress = selectors.progress_for(enrollments)
    assert len(progress) == 20


def test_earned_program_without_any_name_waits_for_one_instead_of_the_email_local_part(org):
    from laurel.accounts.services import profile_update
    from laurel.certificates.models import CertificateNameWait

    nameless = make_user("sam.noname@example.com")
    course = make_course(org, components={"CE": "12"})
    program = make_program(org, requirements=[hours("CE", "12")])
    [enrollment] = enroll(program, nameless.email, on=date(2025, 1, 1))
    accept(org, course, nameless, date(2025, 2, 1))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED
    assert enrollment.certificate_id is None
    assert CertificateNameWait.objects.open().filter(enrollment=enrollment).exists()
    assert not Certificate.objects.filter(recipient_name__icontains="sam.noname").exists()
    profile_update(user=nameless, full_name="Sam Noname")
    enrollment.refresh_from_db()
    assert enrollment.certificate.recipient_name == "Sam Noname"
    assert not CertificateNameWait.objects.open().exists()
