"""Imports pages: the flow an admin clicks through, and 404s for everyone else."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from laurel.accounts.models import Role
from laurel.credits.models import Credit
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import make_member

CSV = (
    "Course ID,Email,Date Completed\n"
    "NNA-26-00001,ann@example.org,2025-02-01\n"
    "NNA-26-00001,bob@example.org,2025-02-01\n"
    "NNA-26-09999,=cmd|' /C calc'!A0,2025-02-01\n"
)


def url(name, job=None, slug="northwind", **kw):
    args = [slug] + ([job.pk] if job else [])
    return reverse(f"imports:{name}", args=args, **kw)


@pytest.fixture
def job(org, admin, courses, validated):
    return validated(org, CSV, user=admin)


def test_upload_page_offers_templates_and_the_upload_creates_a_validated_preview(
    client, org, admin, courses, committed
):
    client.force_login(admin)
    page = client.get(url("upload"))
    assert page.status_code == 200
    assert b"credits.xlsx" in page.content and b"data-dropzone" in page.content
    with committed():
        response = client.post(
            url("upload"),
            {"kind": "credits", "file": SimpleUploadedFile("mine.csv", CSV.encode())},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("detail", job)
    detail = client.get(response["Location"])
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "mine.csv" in text
    assert "Commit 2 checked rows" in text
    assert "Invalid rows" in text


def test_uploading_the_same_file_again_says_so_and_shows_the_earlier_import(
    client, org, admin, courses, committed
):
    client.force_login(admin)
    with committed():
        client.post(url("upload"), {"kind": "credits", "file": SimpleUploadedFile("a.csv", b"x")})
        first = client.post(
            url("upload"), {"kind": "credits", "file": SimpleUploadedFile("a.csv", CSV.encode())}
        )
        again = client.post(
            url("upload"),
            {"kind": "credits", "file": SimpleUploadedFile("b.csv", CSV.encode())},
            follow=True,
        )
    assert again.redirect_chain[-1][0] == first["Location"]
    assert "already uploaded" in again.content.decode()


def test_an_oversized_upload_shows_the_error_next_to_the_field(client, org, admin, settings):
    settings.LAUREL_IMPORT_MAX_BYTES = 10
    client.force_login(admin)
    response = client.post(
        url("upload"), {"kind": "credits", "file": SimpleUploadedFile("a.csv", CSV.encode())}
    )
    assert response.status_code == 200
    assert "largest accepted is" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_have_the_headings_and_one_example_row(client, org, admin, fmt):
    client.force_login(admin)
    response = client.get(reverse("imports:template", args=["northwind", fmt]))
    assert response.status_code == 200
    if fmt == "csv":
        lines = response.content.decode("utf-8-sig").splitlines()
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        lines = [",".join(str(c or "") for c in row) for row in sheet.iter_rows(values_only=True)]
    assert lines[0].startswith("Course ID,Email,Completion date")
    assert "jane.doe@example.org" in lines[1]
    assert len(lines) == 2


def test_preview_groups_are_paginated_searchable_partials(client, admin, job):
    client.force_login(admin)
    rows = client.get(url("rows", job), {"category": "invite", "q": "bob"}, HTTP_HX_REQUEST="true")
    assert rows.status_code == 200
    text = rows.content.decode()
    assert "bob@example.org" in text and "ann@example.org" not in text
    assert 'type="checkbox"' in text
    problems = client.get(url("rows", job), {"category": "invalid"}, HTTP_HX_REQUEST="true")
    assert "is not an email address" in problems.content.decode()
    assert 'type="checkbox"' not in problems.content.decode()


def test_unchecking_a_row_excludes_it_and_updates_the_counts(client, admin, job):
    client.force_login(admin)
    response = client.post(
        url("include", job), {"row": "3", "included": "0"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'value="3"' in text and " checked" not in text.split("hx-swap-oob")[0]
    assert 'hx-swap-oob="true"' in text
    assert "Commit 1 checked row" in text
    assert ImportRow.objects.get(job=job, number=3).included is False


def test_commit_shows_progress_then_the_report(client, admin, job, committed):
    client.force_login(admin)
    with committed():
        response = client.post(url("commit", job))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "committed"
    progress = client.get(url("detail", job), {"partial": "progress"}, HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"  # finished: reload into the report view
    report = client.get(url("report", job))
    text = report.content.decode()
    assert "Delivered (held)" in text and "ann@example.org" in text
    download = client.get(url("report", job), {"format": "csv"})
    body = b"".join(download.streaming_content).decode()
    assert body.splitlines()[0] == "Row,Status,Course ID,Email,Completion date,Reason,Credit"
    assert "'=cmd" in body  # formula-safe
    assert Credit.objects.count() == 2


def test_a_running_job_polls_its_progress_every_second(client, admin, job):
    ImportJob.objects.filter(pk=job.pk).update(status="committing", rows_total=10, rows_done=4)
    client.force_login(admin)
    page = client.get(url("detail", job)).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert 'aria-valuenow="40"' in page
    partial = client.get(url("detail", job), {"partial": "progress"}, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in partial
    assert "4 of 10 rows" in partial.content.decode()


def test_problems_download_is_formula_safe(client, admin, job):
    client.force_login(admin)
    response = client.get(url("problems", job))
    body = b"".join(response.streaming_content).decode()
    assert "'=cmd" in body
    assert "is not an email address" in body


def test_history_lists_imports_without_n_plus_one(
    client, org, admin, courses, validated, django_assert_max_num_queries
):
    for n in range(5):
        validated(org, CSV + f"NNA-26-00001,p{n}@example.org,2025-02-01\n", f"f{n}.csv", user=admin)
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        response = client.get(url("list"))
    assert response.content.decode().count("Ready to commit") == 5


def test_other_organizations_and_other_roles_get_404_on_every_page(client, org, job, outsider):
    reviewer = make_member(org, Role.REVIEWER, "rev@northwind.test")
    own_org = outsider.memberships.first().organization.slug
    pages = [
        ("get", url("list")),
        ("get", url("upload")),
        ("get", url("detail", job)),
        ("get", url("rows", job) + "?category=invite"),
        ("get", url("report", job)),
        ("get", url("problems", job)),
        ("post", url("include", job)),
        ("post", url("commit", job)),
        ("post", url("undo", job)),
        ("post", url("mapping", job)),
        # The job's id under the outsider's own organization.
        ("get", url("detail", job, slug=own_org)),
        ("post", url("commit", job, slug=own_org)),
    ]
    for user in (outsider, reviewer):
        client.force_login(user)
        for method, path in pages:
            if user is reviewer and own_org in path:
                continue
            assert getattr(client, method)(path).status_code == 404, (user, path)
    job.refresh_from_db()
    assert job.status == "validated"
    assert Credit.objects.count() == 0


def test_an_attendee_file_is_uploaded_for_an_event_of_this_organization_only(
    client, org, admin, outsider, committed
):
    from laurel.events.tests.helpers import make_event

    ours = make_event(org, title="Fair Housing Update", components={"CE": "3"})
    theirs = make_event(outsider.memberships.first().organization, title="Southern Ethics")
    client.force_login(admin)
    page = client.get(url("upload") + f"?kind=attendees&event={ours.pk}")
    assert "Fair Housing Update" in page.content.decode()
    assert "Southern Ethics" not in page.content.decode()
    roster = SimpleUploadedFile("roster.csv", b"Email,Status\nann@example.org,Registered\n")

    missing = client.post(url("upload"), {"kind": "attendees", "file": roster})
    assert "Choose the event the attendees came to." in missing.content.decode()
    roster.seek(0)
    other = client.post(url("upload"), {"kind": "attendees", "event": theirs.pk, "file": roster})
    assert other.status_code == 200 and not ImportJob.objects.exists()
    roster.seek(0)
    with committed():
        response = client.post(
            url("upload"), {"kind": "attendees", "event": ours.pk, "file": roster}
        )
    job = ImportJob.objects.get()
    assert response["Location"] == url("detail", job)
    assert (job.kind, job.options["event"], job.count("invite")) == ("attendees", ours.pk, 1)
    detail = client.get(response["Location"]).content.decode()
    assert "roster.csv" in detail and "Commit 1 checked row" in detail
