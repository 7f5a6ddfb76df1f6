"""'Course ID : e-mail' entry (seed 000's bulk entry): one pair per line, entered as a small
credits import with the same preview; and the single form's course picker."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates.models import Certificate
from laurel.credits.forms import parse_pairs
from laurel.credits.models import Credit
from laurel.imports.models import ImportJob, ImportRow
from laurel.imports.services import import_commit_start
from tests.factories import make_course, make_member, make_org, make_user


@pytest.fixture
def org(db):
    return make_org("northwind", name="Northwind", course_id_prefix="NNA")


@pytest.fixture
def staff(org):
    return make_member(org, Role.STAFF, "staff@northwind.test")


@pytest.fixture
def course(org):
    course = make_course(org, title="Wound care basics")
    course.course_id = "NNA-26-00001"
    course.save(update_fields=["course_id"])
    return course


@pytest.mark.parametrize(
    "line",
    [
        "NNA-26-00001 : a@b.org",
        "NNA-26-00001:a@b.org",
        "NNA-26-00001\ta@b.org",
        "NNA-26-00001, a@b.org",
        "NNA-26-00001;a@b.org",
        "  NNA-26-00001 :   a@b.org  ",
    ],
)
def test_a_pair_is_read_whatever_the_separator(line):
    assert parse_pairs(line) == ([(1, "NNA-26-00001", "a@b.org", "")], [])


def test_spreadsheet_paste_skips_headings_and_blank_lines_and_reads_a_date_column():
    text = "Course ID\tEmail\nNNA-26-00001\ta@b.org\n\nNNA-26-00002\tc@d.org\t2026-05-01\n"
    pairs, problems = parse_pairs(text)
    assert problems == []
    assert pairs == [
        (2, "NNA-26-00001", "a@b.org", ""),
        (4, "NNA-26-00002", "c@d.org", "2026-05-01"),
    ]


def test_a_line_that_is_not_a_pair_is_named_with_its_number():
    _, problems = parse_pairs("NNA-26-00001 : a@b.org\njust some text\n")
    assert len(problems) == 1 and problems[0].startswith("Line 2 (“just some text”)")


def _post(client, org, text, day=None, follow=False, **extra):
    return client.post(
        reverse("credits:org_credit_bulk", args=[org.slug]),
        {"pairs": text, "completion_date": (day or date(2025, 3, 1)).isoformat(), **extra},
        follow=follow,
    )


def test_form_defaults_the_completion_date_to_today(client, org, staff):
    client.force_login(staff)
    page = client.get(reverse("credits:org_credit_bulk", args=[org.slug])).content.decode()
    assert f'value="{org.today().isoformat()}"' in page


def test_bad_line_is_shown_next_to_the_field_and_nothing_is_created(client, org, staff, course):
    client.force_login(staff)
    response = _post(client, org, "NNA-26-00001 : a@b.org\nnot a pair at all")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_pairs_error"' in page and "Line 2" in page
    assert not ImportJob.objects.exists()


def test_pairs_become_a_small_import_with_the_same_preview(
    client, org, staff, course, django_capture_on_commit_callbacks
):
    make_user("known@example.org")
    client.force_login(staff)
    text = (
        "NNA-26-00001 : known@example.org\n"
        "NNA-26-00001 : new@example.org\n"
        "NNA-26-99999 : x@example.org\n"
        "NNA-26-00001 : not-an-email\n"
        "NNA-26-00001 : new@example.org\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, org, text)
    job = ImportJob.objects.get(organization=org)
    assert response["Location"] == reverse("imports:detail", args=[org.slug, job.pk])
    job.refresh_from_db()
    assert job.kind == "credits" and job.status == ImportJob.Status.VALIDATED
    assert job.options["source"] == "pairs" and job.uploaded_by == staff
    categories = dict(ImportRow.objects.filter(job=job).values_list("number", "category"))
    C = ImportRow.Category
    assert categories == {
        2: C.INVITE,  # no connection yet: delivered and invited
        3: C.INVITE,
        4: C.UNKNOWN_COURSE,
        5: C.INVALID,
        6: C.DUPLICATE_IN_FILE,
    }
    page = client.get(response["Location"]).content.decode()
    assert "Course IDs not recognised" in page
    rows = client.get(
        reverse("imports:rows", args=[org.slug, job.pk]), {"category": C.UNKNOWN_COURSE}
    ).content.decode()
    assert "pair 3" in rows and "NNA-26-99999" in rows
    with django_capture_on_commit_callbacks(execute=True):
        import_commit_start(actor=Actor(user=staff), job=job)
    credits = Credit.objects.filter(organization=org)
    assert sorted(credits.values_list("recipient_email", "status")) == [
        ("known@example.org", "offered"),
        ("new@example.org", "held"),
    ]
    assert set(credits.values_list("completion_date", flat=True)) == {date(2025, 3, 1)}


def test_entering_the_same_pairs_again_changes_nothing(
    client, org, staff, course, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, org, "NNA-26-00001 : a@b.org")
        again = _post(client, org, "NNA-26-00001 : a@b.org", follow=True)
    assert ImportJob.objects.count() == 1
    assert again.redirect_chain[-1][0] == first["Location"]
    assert "entered before" in again.content.decode()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.CERT_MANAGER])
def test_roles_that_do_not_enter_credit_get_404(client, org, role):
    client.force_login(make_member(org, role))
    assert client.get(reverse("credits:org_credit_bulk", args=[org.slug])).status_code == 404


def test_single_form_offers_a_course_picker_of_real_courses(client, org, staff, course):
    make_course(org, title="Ethics in practice")
    client.force_login(staff)
    page = client.get(reverse("credits:org_credit_new", args=[org.slug])).content.decode()
    assert 'list="course-options"' in page and "NNA-26-00042" not in page
    assert '<option value="NNA-26-00001">NNA-26-00001 · Wound care basics</option>' in page
    options = reverse("catalog:course_options", args=[org.slug])
    assert f'hx-get="{options}"' in page
    found = client.get(options, {"course_id": "wound"}).content.decode()
    assert "NNA-26-00001" in found and "Ethics" not in found
    found = client.get(options, {"course_id": "ethics"}).content.decode()
    assert "Ethics in practice" in found and "Wound" not in found


def test_course_picker_lists_only_this_organizations_courses(client, org, staff, course):
    other = make_org("southwind")
    make_course(other, title="Southwind secret course")
    client.force_login(staff)
    found = client.get(reverse("catalog:course_options", args=[org.slug]), {"q": ""})
    assert "Southwind secret course" not in found.content.decode()


def test_staff_download_the_certificate_of_credits_they_entered_only(client, org, staff, course):
    from laurel.certificates.models import CertificatePolicy
    from laurel.certificates.services import policy_set
    from tests.factories import enter_credit

    policy_set(actor=Actor.system("t"), course=course, issue_on=CertificatePolicy.IssueOn.ENTRY)
    mine = enter_credit(org, course, "ann@example.org", name="Ann Lee", actor=Actor(user=staff))
    theirs = enter_credit(org, course, "bo@example.org", name="Bo Ray")
    assert Certificate.objects.filter(credit__in=[mine, theirs]).count() == 2
    client.force_login(staff)
    detail = client.get(reverse("credits:org_credit_detail", args=[org.slug, mine.pk]))
    assert "Download the certificate PDF" in detail.content.decode()
    pdf = client.get(reverse("credits:org_credit_certificate_pdf", args=[org.slug, mine.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    other = client.get(reverse("credits:org_credit_certificate_pdf", args=[org.slug, theirs.pk]))
    assert other.status_code == 404
    manager = make_member(org, Role.CERT_MANAGER)
    client.force_login(manager)
    pdf = client.get(reverse("credits:org_credit_certificate_pdf", args=[org.slug, theirs.pk]))
    assert pdf.status_code == 200
