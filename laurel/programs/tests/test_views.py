import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.programs.models import Completion, Enrollment, Program
from laurel.programs.services import enrollment_cancel, enrollments_create
from laurel.programs.tests.helpers import STAFF, hours, make_program, manual
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def org():
    return make_org("northwind", course_id_prefix="NNA")


@pytest.fixture
def manager(org):
    return make_member(org, Role.CERT_MANAGER, "cm@northwind.example")


def url(name, org, *args):
    return reverse(f"programs:{name}", args=[org.slug, *args])


def test_manager_defines_a_program_with_requirements_and_activates_it(client, org, manager):
    client.force_login(manager)
    response = client.post(
        url("new", org),
        {
            "code": "rn-cert",
            "name": "RN certification",
            "window_months": "24",
            "grace_days": "30",
            "issue_on_earn": "on",
            "req-TOTAL_FORMS": "2",
            "req-INITIAL_FORMS": "0",
            "req-0-kind": "credit_hours",
            "req-0-title": "12 CE hours",
            "req-0-credit_type_code": "ce",
            "req-0-hours": "12",
            "req-1-kind": "manual",
            "req-1-title": "Exam",
            "req-1-needs_grade": "on",
            "req-1-min_grade": "70",
        },
    )
    program = Program.objects.get(code="RN-CERT")
    assert response.status_code == 302
    reqs = list(program.current_version.requirements.values_list("title", "credit_type_code"))
    assert reqs == [("12 CE hours", "CE"), ("Exam", "")]
    client.post(url("status", org, program.pk), {"status": "active"})
    program.refresh_from_db()
    assert program.status == Program.Status.ACTIVE


def test_requirement_without_hours_shows_an_error_and_creates_nothing(client, org, manager):
    client.force_login(manager)
    response = client.post(
        url("new", org),
        {
            "code": "X",
            "name": "X",
            "grace_days": "0",
            "req-TOTAL_FORMS": "1",
            "req-INITIAL_FORMS": "0",
            "req-0-kind": "credit_hours",
            "req-0-title": "Hours",
        },
    )
    assert response.status_code == 200
    assert "needs a credit type and a number of hours" in response.content.decode()
    assert not Program.objects.exists()


def test_program_page_shows_trackers_linking_to_filtered_list_and_exports_csv(client, org, manager):
    program = make_program(org, window_months=1, grace_days=5)
    enrollments_create(
        actor=STAFF,
        program=program,
        people=[("a@example.com", ""), ("b@example.com", ""), ("c@example.com", "")],
        enrolled_on=date(2025, 1, 1),
    )
    enrollment_cancel(actor=STAFF, enrollment=Enrollment.objects.get(email="c@example.com"))
    client.force_login(manager)
    page = client.get(url("detail", org, program.pk)).content.decode()
    assert 'id="tracker-enrolled">2<' in page
    assert 'id="tracker-total">2<' in page
    listed = client.get(url("detail", org, program.pk), {"status": "cancelled"}).content.decode()
    assert "c@example.com" in listed and "a@example.com" not in listed
    export = b"".join(client.get(url("export", org, program.pk)).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(export)))
    assert sorted(r["email"] for r in rows) == ["a@example.com", "b@example.com", "c@example.com"]


def test_staff_enroll_selected_people_and_enrolling_twice_changes_nothing(client, org, manager):
    program = make_program(org)
    client.force_login(manager)
    form = {"emails": "x@example.com\ny@example.com", "enrolled_on": "2025-02-01"}
    assert client.post(url("enroll", org, program.pk), form).status_code == 302
    assert Enrollment.objects.filter(program=program).count() == 2
    response = client.post(url("enroll", org, program.pk), form)
    assert "Already enrolled" in response.content.decode()
    assert Enrollment.objects.filter(program=program).count() == 2


def test_completion_with_attachment_goes_to_the_queue_and_approval_earns(client, org, manager):
    holder = make_user("nurse@example.com")
    program = make_program(
        org, requirements=[manual("Practice", needs_attachment=True, needs_approval=True)]
    )
    [enrollment] = enrollments_create(
        actor=STAFF, program=program, people=[(holder.email, "")], enrolled_on=date(2025, 1, 1)
    )
    client.force_login(manager)
    req = program.current_version.requirements.get()
    client.post(
        url("completion_new", org, enrollment.pk),
        {
            "requirement": req.pk,
            "completed_on": "2025-02-01",
            "attachment": SimpleUploadedFile("log.pdf", PDF),
        },
    )
    completion = Completion.objects.get()
    queue = client.get(url("approvals", org)).content.decode()
    assert "nurse@example.com" in queue
    download = client.get(url("attachment", org, completion.pk))
    assert b"".join(download.streaming_content) == PDF
    client.post(url("approve", org, completion.pk))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED
    assert "Earned" in client.get(url("enrollment", org, enrollment.pk)).content.decode()
    # The enrollee downloads it from their locker too; someone else cannot.
    client.force_login(holder)
    mine = client.get(reverse("programs:my_attachment", args=[completion.pk]))
    assert mine.status_code == 200
    client.force_login(make_user("other@example.com"))
    assert client.get(reverse("programs:my_attachment", args=[completion.pk])).status_code == 404


def test_staff_role_cannot_approve_or_purge(client, org):
    staff = make_member(org, Role.STAFF, "staff@northwind.example")
    program = make_program(org)
    client.force_login(staff)
    assert client.get(url("approvals", org)).status_code == 404
    assert client.get(url("purge", org, program.pk)).status_code == 404


def test_purge_page_removes_chosen_inactive_enrollments(client, org, manager):
    program = make_program(org)
    enrollments_create(
        actor=STAFF, program=program, people=[("a@example.com", ""), ("b@example.com", "")]
    )
    a = Enrollment.objects.get(email="a@example.com")
    enrollment_cancel(actor=STAFF, enrollment=a)
    client.force_login(manager)
    page = client.get(url("purge", org, program.pk)).content.decode()
    assert "a@example.com" in page and "b@example.com" not in page
    b = Enrollment.objects.get(email="b@example.com")
    response = client.post(url("purge", org, program.pk), {"ids": [b.pk]}, follow=True)
    assert "Only cancelled or expired" in response.content.decode()
    client.post(url("purge", org, program.pk), {"ids": [a.pk]})
    assert list(Enrollment.objects.values_list("email", flat=True)) == ["b@example.com"]


def test_by_enrollee_page_of_fifty_programs_stays_within_thirty_queries(
    client, org, manager, django_assert_max_num_queries
):
    holder = make_user("nurse@example.com")
    for n in range(50):
        program = make_program(org, code=f"P{n:02d}", requirements=[hours("CE", "2"), manual("X")])
        enrollments_create(actor=STAFF, program=program, people=[(holder.email, "")])
    client.force_login(manager)
    with django_assert_max_num_queries(30):
        response = client.get(url("by_enrollee", org), {"email": holder.email})
    assert response.content.decode().count("0 of 2 complete") == 50


def test_holder_self_enrolls_sees_progress_and_cancels_when_allowed(client, org):
    holder = make_user("nurse@example.com")
    program = make_program(org, allow_self_enroll=True, allow_cancel=True)
    client.force_login(holder)
    client.post(reverse("programs:public", args=[program.pk]))
    page = client.get(reverse("programs:my_programs")).content.decode()
    assert program.current_version.name in page and "0 of 1 complete" in page
    enrollment = Enrollment.objects.get(holder=holder)
    client.post(reverse("programs:my_cancel", args=[enrollment.pk]))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.CANCELLED


def test_transcript_lists_every_program_for_staff_and_holder_with_csv(client, org, manager):
    holder = make_user("nurse@example.com")
    for code in ("A", "B"):
        program = make_program(org, code=code, name=f"Program {code}")
        enrollments_create(actor=STAFF, program=program, people=[(holder.email, "")])
    other = make_program(make_org("lakeside"), code="L", name="Lakeside program")
    enrollments_create(actor=STAFF, program=other, people=[(holder.email, "")])
    client.force_login(manager)
    page = client.get(url("transcript", org), {"email": holder.email}).content.decode()
    assert "Program A" in page and "Program B" in page and "Lakeside" not in page
    client.force_login(holder)
    export = client.get(reverse("programs:my_transcript"), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(r["program"] for r in rows) == ["Lakeside program", "Program A", "Program B"]
    assert {r["requirement_status"] for r in rows} == {"No status"}


def test_transcript_pdf_for_staff_and_for_the_holder_lists_their_programs(client, org, manager):
    import pypdf

    holder = make_user("nurse@example.com", full_name="Ada Nurse")
    program = make_program(org, code="A", name="Wound Care Certification")
    [enrollment] = enrollments_create(actor=STAFF, program=program, people=[(holder.email, "")])
    other = make_program(make_org("lakeside"), code="L", name="Lakeside program")
    enrollments_create(actor=STAFF, program=other, people=[(holder.email, "")])

    def text(response):
        assert response["Content-Type"] == "application/pdf"
        reader = pypdf.PdfReader(io.BytesIO(response.content))
        return " ".join(page.extract_text() for page in reader.pages)

    client.force_login(manager)
    staff = text(client.get(url("transcript", org), {"email": holder.email, "format": "pdf"}))
    assert "Wound Care Certification" in staff and "Exam" in staff and "No status" in staff
    assert "Lakeside" not in staff
    client.force_login(holder)
    mine = text(client.get(reverse("programs:my_transcript"), {"format": "pdf"}))
    assert "Wound Care Certification" in mine and "Lakeside program" in mine
    assert "Ada Nurse" in mine
    page = client.get(reverse("programs:my_transcript")).content.decode()
    assert "format=pdf" in page
    assert enrollment.deadline.isoformat() in mine
