"""Self-reported credit: in the holder's locker at once, marked as such and issued by no
organization; it counts toward a program's credit hours only once its staff approve it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.credits import selectors as credit_selectors
from laurel.credits.models import Credit, Dashboard
from laurel.credits.services import dashboard_create, self_report_create
from laurel.programs import selectors
from laurel.programs.models import CreditReview, Enrollment
from laurel.programs.services import enrollments_create
from laurel.programs.tests.helpers import STAFF, hours, make_program
from tests.factories import make_member, make_org, make_user

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
START = date(2025, 1, 1)


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association")


@pytest.fixture
def manager(org):
    return make_member(org, Role.CERT_MANAGER, "cm@northwind.example")


@pytest.fixture
def nurse():
    return make_user("nurse@example.com", full_name="Ada Nurse")


def report(holder, amount="12", code="CE", on=date(2025, 2, 1), **kw):
    dashboard = holder.dashboards.first() or dashboard_create(holder=holder, name="License")
    return self_report_create(
        holder=holder,
        title=kw.pop("title", "Wound care workshop"),
        provider=kw.pop("provider", "County Hospital"),
        completion_date=on,
        hours={code: Decimal(amount)},
        dashboard=dashboard,
        **kw,
    )


def test_holder_reports_credit_with_a_certificate_and_sees_it_marked_in_locker_and_dashboard(
    client, nurse
):
    client.force_login(nurse)
    response = client.post(
        reverse("credits:self_report_new"),
        {
            "title": "Wound care workshop",
            "provider": "County Hospital",
            "completion_date": "2025-02-01",
            "hours": "CE 6, ETH 1.5",
            "new_dashboard": "Ohio RN 2025-27",
            "certificate": SimpleUploadedFile("cert.pdf", PDF),
        },
    )
    credit = Credit.objects.get()
    assert response.status_code == 302
    assert credit.source == "self_report" and credit.organization_id is None
    assert credit.status == "accepted" and credit.holder == nurse
    dashboard = Dashboard.objects.get(holder=nurse)
    [summary] = credit_selectors.dashboard_summaries(nurse, [dashboard])
    assert {(t.code, t.amount) for t in summary.totals} == {
        ("CE", Decimal("6.00")),
        ("ETH", Decimal("1.50")),
    }
    locker = client.get(reverse("credits:locker")).content.decode()
    assert "Self-reported" in locker and "County Hospital" in locker
    page = client.get(reverse("credits:dashboard_detail", args=[dashboard.pk])).content.decode()
    assert "Self-reported" in page and "from None" not in page
    detail = client.get(reverse("credits:locker_credit_detail", args=[credit.pk])).content.decode()
    assert "no organization issued it" in detail
    download = client.get(reverse("credits:self_report_certificate", args=[credit.self_report.pk]))
    assert b"".join(download.streaming_content) == PDF
    transcript = client.get(reverse("credits:transcript_csv")).content.decode()
    assert "Self-reported,,Wound care workshop" in transcript
    assert AuditEvent.objects.filter(action="credit.self_reported").count() == 1
    client.force_login(make_user("someone@example.com"))
    mine = reverse("credits:self_report_certificate", args=[credit.self_report.pk])
    assert client.get(mine).status_code == 404


@override_settings(LAUREL_PROGRAM_ATTACHMENT_MAX_BYTES=1024)
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cert.exe", b"MZ\x90\x00" * 10, "Attach a PDF, PNG or JPEG"),
        ("big.pdf", b"%PDF" + b"x" * 2048, "larger than"),
    ],
)
def test_bad_certificate_file_is_refused_and_nothing_is_recorded(nurse, name, content, message):
    with pytest.raises(ServiceError, match=message):
        report(nurse, certificate=SimpleUploadedFile(name, content))
    assert not Credit.objects.exists()


def test_reporting_the_same_activity_twice_is_refused(nurse):
    report(nurse)
    with pytest.raises(ServiceError, match="already"):
        report(nurse)
    assert Credit.objects.count() == 1


def test_self_reported_hours_count_toward_a_program_only_after_its_staff_approve(
    client, org, manager, nurse
):
    program = make_program(org, requirements=[hours("CE", "12")])
    [enrollment] = enrollments_create(
        actor=STAFF, program=program, people=[(nurse.email, "")], enrolled_on=START
    )
    credit = report(nurse)
    review = CreditReview.objects.get()
    assert (review.enrollment, review.credit, review.status) == (
        enrollment,
        credit,
        "awaiting_approval",
    )
    row = selectors.progress_for([enrollment])[enrollment.pk].rows[0]
    assert row.status == "No status" and row.hours == 0

    client.force_login(manager)
    queue = client.get(reverse("programs:approvals", args=[org.slug])).content.decode()
    assert "Wound care workshop" in queue and "County Hospital" in queue
    client.post(reverse("programs:review_approve", args=[org.slug, review.pk]))
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.EARNED
    review.refresh_from_db()
    assert review.decided_by == manager
    page = client.get(reverse("programs:enrollment", args=[org.slug, enrollment.pk]))
    assert "Wound care workshop" in page.content.decode() and "Approved" in page.content.decode()
    # The holder sees who accepted it, for what; it is still not "from" the organization.
    client.force_login(nurse)
    detail = client.get(reverse("credits:locker_credit_detail", args=[credit.pk])).content.decode()
    assert "Approved" in detail and "Northwind Nursing Association" in detail
    assert "accepted by" in detail and program.current_version.name in detail


def test_returned_self_report_does_not_count_and_the_holder_reads_why(client, org, manager, nurse):
    program = make_program(org, requirements=[hours("CE", "12")])
    [enrollment] = enrollments_create(
        actor=STAFF, program=program, people=[(nurse.email, "")], enrolled_on=START
    )
    credit = report(nurse)
    review = CreditReview.objects.get()
    client.force_login(manager)
    client.post(
        reverse("programs:review_return", args=[org.slug, review.pk]),
        {"reason": "Not an accredited provider"},
    )
    review.refresh_from_db()
    assert review.status == "returned"
    assert selectors.progress_for([enrollment])[enrollment.pk].rows[0].status == "No status"
    client.force_login(nurse)
    detail = client.get(reverse("credits:locker_credit_detail", args=[credit.pk])).content.decode()
    assert "Not an accredited provider" in detail


def test_a_report_made_before_enrolling_is_reviewed_once_enrolled_inside_the_window(org, nurse):
    report(nurse, on=date(2025, 2, 1))
    report(nurse, on=date(2024, 6, 1), title="Before the window")
    report(nurse, code="CPR", title="Other credit type")
    program = make_program(org, requirements=[hours("CE", "12")])
    enrollments_create(actor=STAFF, program=program, people=[(nurse.email, "")], enrolled_on=START)
    assert [r.credit.title for r in CreditReview.objects.all()] == ["Wound care workshop"]


def test_another_organizations_staff_cannot_see_or_decide_a_review(client, org, nurse):
    program = make_program(org, requirements=[hours("CE", "12")])
    enrollments_create(actor=STAFF, program=program, people=[(nurse.email, "")], enrolled_on=START)
    report(nurse, certificate=SimpleUploadedFile("c.pdf", PDF))
    review = CreditReview.objects.get()
    other = make_org("elsewhere")
    client.force_login(make_member(other, Role.CERT_MANAGER, "cm@elsewhere.example"))
    assert (
        "Wound care"
        not in client.get(reverse("programs:approvals", args=[other.slug])).content.decode()
    )
    for name in ("review_approve", "review_return"):
        assert (
            client.post(reverse(f"programs:{name}", args=[other.slug, review.pk])).status_code
            == 404
        )
    assert (
        client.get(reverse("programs:review_certificate", args=[other.slug, review.pk])).status_code
        == 404
    )
    review.refresh_from_db()
    assert review.status == "awaiting_approval"
    assert not Credit.objects.for_org(org).exists()  # never on an organization's ledger
