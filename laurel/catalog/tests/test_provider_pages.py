"""The provider's and the reviewer's pages, as they click through them; crib sheets and
instruction text where each audience works; rosters sent by providers."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laurel.accounts.models import Connection, Organization, Role
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.models import CribSheet, InstructionText, Submission
from laurel.catalog.tests.providers import (
    approve,
    make_accrediting,
    make_application,
    make_provider,
    make_reviewer,
    pdf,
    submit,
)
from laurel.imports import services as import_services
from laurel.imports.models import ImportJob
from tests.factories import make_member, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def northwind():
    return make_accrediting("northwind", "NNA")


def test_provider_signs_up_writes_and_submits_through_the_pages(client, northwind):
    user = make_user("owner@brightpath.example")
    client.force_login(user)
    response = client.post(
        reverse("catalog:provider_new"), {"name": "Brightpath Learning", "slug": "brightpath"}
    )
    provider = Organization.objects.get(slug="brightpath")
    assert response.url == reverse("catalog:provider_home", args=["brightpath"])
    response = client.post(
        reverse("catalog:application_new", args=["brightpath"]),
        {
            "title": "Fall Prevention",
            "description": "Preventing falls on the ward.",
            "objectives": "Assess fall risk.",
            "delivery_format": "in_person",
            "sessions": "2026-10-01 | Columbus, OH",
            "agenda": "45 | Risk scores\n15 | Quiz",
            "instructors": "Sam Lee | RN | Ward educator",
            "target_audience": "Nurses",
            "requested_credit": "CE 1",
        },
    )
    app = provider.course_applications.get()
    assert app.agenda == [{"minutes": 45, "part": "Risk scores"}, {"minutes": 15, "part": "Quiz"}]
    client.post(
        reverse("catalog:application_attachment", args=["brightpath", app.pk]),
        {"file": pdf("slides.pdf")},
    )
    response = client.post(
        reverse("catalog:application_submit", args=["brightpath", app.pk]),
        {"organizations": [str(northwind.pk)]},
    )
    assert response.status_code == 302
    sub = Submission.objects.get()
    assert sub.organization == northwind and sub.provider == provider
    page = client.get(reverse("catalog:provider_home", args=["brightpath"])).content.decode()
    assert sub.reference in page and "Submitted" in page


def test_application_form_shows_line_format_errors(client):
    provider, user = make_provider("brightpath")
    client.force_login(user)
    response = client.post(
        reverse("catalog:application_new", args=["brightpath"]),
        {"title": "X", "delivery_format": "self_paced", "agenda": "half an hour | Intro"},
    )
    assert response.status_code == 200
    assert "Each line: minutes | part" in response.content.decode()
    assert not provider.course_applications.exists()


def test_reviewer_queue_comment_and_approve_pages(client, northwind, committed):
    provider, user = make_provider("brightpath")
    [sub] = submit(make_application(provider, user), user, northwind)
    reviewer = make_reviewer(northwind)
    client.force_login(reviewer)
    queue = client.get(reverse("catalog:review_queue", args=["northwind"])).content.decode()
    assert sub.reference in queue and "Brightpath" in queue
    client.post(
        reverse("catalog:review_detail", args=["northwind", sub.pk]),
        {"body": "Check the instructor's licence.", "internal": "on"},
    )
    bad = client.post(
        reverse("catalog:review_decide", args=["northwind", sub.pk]),
        {"decision": "approve", "credit": "CE 1", "active_from": ""},
    )
    assert bad.status_code == 400 and "first completion date" in bad.content.decode()
    with committed():
        response = client.post(
            reverse("catalog:review_decide", args=["northwind", sub.pk]),
            {"decision": "approve", "credit": "CE 1", "active_from": "2026-09-01"},
        )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.course is not None
    assert any(sub.course.course_id in m.subject for m in mail.outbox if m.to == [user.email])
    again = client.post(
        reverse("catalog:review_decide", args=["northwind", sub.pk]),
        {"decision": "deny", "reason": "late"},
        follow=True,
    )
    assert "already approved" in again.content.decode()
    sub.refresh_from_db()
    assert sub.status == Submission.Status.APPROVED


def test_provider_sees_neither_internal_comments_nor_another_providers_work(client, northwind):
    provider, user = make_provider("brightpath")
    other, other_user = make_provider("dimlight")
    app = make_application(provider, user)
    [sub] = submit(app, user, northwind)
    reviewer = make_reviewer(northwind)
    services.submission_comment(
        actor=Actor(user=reviewer), submission=sub, body="SECRET-NOTE", internal=True
    )
    services.submission_comment(
        actor=Actor(user=reviewer), submission=sub, body="PUBLIC-NOTE", internal=False
    )
    client.force_login(user)
    page = client.get(reverse("catalog:provider_submission", args=["brightpath", sub.pk]))
    assert "PUBLIC-NOTE" in page.content.decode() and "SECRET-NOTE" not in page.content.decode()
    client.force_login(other_user)
    for url in [
        reverse("catalog:application_edit", args=["dimlight", app.pk]),
        reverse("catalog:provider_submission", args=["dimlight", sub.pk]),
        reverse("catalog:provider_submission", args=["brightpath", sub.pk]),
        reverse("catalog:review_detail", args=["northwind", sub.pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_provider_pages_are_404_on_an_accrediting_organization(client, northwind):
    admin = make_member(northwind, Role.ADMIN)
    client.force_login(admin)
    assert client.get(reverse("catalog:provider_home", args=["northwind"])).status_code == 404


# --- Crib sheets and instruction text ---------------------------------------------------------


def test_crib_sheets_reach_only_their_audience(client, northwind):
    admin = make_member(northwind, Role.ADMIN)
    client.force_login(admin)
    bad = client.post(
        reverse("catalog:crib_sheets", args=["northwind"]),
        {"title": "Fake", "audience": "staff", "order": 0, "file": pdf("x.pdf", b"GIF89a")},
    )
    assert "must be a PDF" in bad.content.decode() and not CribSheet.objects.exists()
    for audience in ["staff", "holders", "providers", "reviewers"]:
        title = f"For {audience}"
        client.post(
            reverse("catalog:crib_sheets", args=["northwind"]),
            {"title": title, "audience": audience, "order": 1, "file": pdf()},
            follow=True,  # shows (and so clears) the "added" message
        )
    sheets = {s.audience: s for s in CribSheet.objects.all()}
    assert len(sheets) == 4
    staff = make_member(northwind, Role.STAFF)
    client.force_login(staff)
    entry = client.get(reverse("credits:org_credit_new", args=["northwind"])).content.decode()
    assert "For staff" in entry and "For reviewers" not in entry
    ok = client.get(reverse("catalog:crib_sheet_download", args=["northwind", sheets["staff"].pk]))
    assert ok.status_code == 200 and b"".join(ok.streaming_content).startswith(b"%PDF")
    no = reverse("catalog:crib_sheet_download", args=["northwind", sheets["reviewers"].pk])
    assert client.get(no).status_code == 404
    # A holder connected to Northwind gets the holders' sheet; a stranger does not.
    holder = make_user("holder@example.com")
    Connection.objects.create(
        organization=northwind, email=holder.email, holder=holder, status="connected"
    )
    client.force_login(holder)
    assert "For holders" in client.get(reverse("credits:locker")).content.decode()
    url = reverse("catalog:locker_crib_sheet", args=[sheets["holders"].pk])
    assert client.get(url).status_code == 200
    assert (
        client.get(reverse("catalog:locker_crib_sheet", args=[sheets["staff"].pk])).status_code
        == 404
    )
    client.force_login(make_user("stranger@example.com"))
    assert client.get(url).status_code == 404
    provider, user = make_provider("brightpath")
    client.force_login(user)
    home = client.get(reverse("catalog:provider_home", args=["brightpath"])).content.decode()
    assert "For providers" in home and "For staff" not in home


@pytest.mark.parametrize(
    "markdown",
    [
        "Hello <script>alert(1)</script>",
        "[click](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "[x](JaVaScRiPt:alert(1))",
    ],
)
def test_unsafe_instruction_text_is_refused_and_nothing_changes(client, northwind, markdown):
    client.force_login(make_member(northwind, Role.ADMIN))
    response = client.post(
        reverse("catalog:instructions", args=["northwind"]),
        {"area": "review", "review-markdown": markdown},
    )
    assert response.status_code == 400
    assert "not allowed" in response.content.decode() or "Links must" in response.content.decode()
    assert not InstructionText.objects.exists()


def test_instruction_text_is_rendered_sanitised_at_the_top_of_its_area(client, northwind):
    admin = make_member(northwind, Role.ADMIN)
    client.force_login(admin)
    client.post(
        reverse("catalog:instructions", args=["northwind"]),
        {
            "area": "review",
            "review-markdown": "**Read the agenda first.** See [guide](https://x.example)",
        },
    )
    page = client.get(reverse("catalog:review_queue", args=["northwind"])).content.decode()
    assert "<strong>Read the agenda first.</strong>" in page
    assert 'href="https://x.example" rel="noopener noreferrer nofollow"' in page
    assert AuditEvent.objects.filter(action="instruction_text.updated").exists()


# --- Rosters from providers -------------------------------------------------------------------


def _roster(course_ids, name="roster.csv"):
    lines = ["course_id,email,completion_date"]
    lines += [f"{cid},a{i}@example.org,2026-09-02" for i, cid in enumerate(course_ids)]
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode())


def test_provider_roster_is_reviewed_by_the_organization(client, northwind, committed):
    provider, user = make_provider("brightpath")
    [sub] = submit(make_application(provider, user), user, northwind)
    course = approve(sub, make_reviewer(northwind), active_from=date(2026, 1, 1)).course
    other = make_accrediting("lakeside", "LKS")
    client.force_login(user)
    with committed():
        response = client.post(
            reverse("catalog:provider_roster", args=["brightpath"]),
            {"course": course.pk, "file": _roster([course.course_id, "NNA-26-99999"])},
        )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.organization == northwind and job.submitted_by_provider == provider
    assert job.status == ImportJob.Status.VALIDATED
    assert job.count("unknown_course") == 1
    assert not ImportJob.objects.filter(organization=other).exists()
    staff = make_member(northwind, Role.STAFF)
    client.force_login(staff)
    listing = client.get(reverse("imports:list", args=["northwind"])).content.decode()
    assert "submitted by Brightpath" in listing
    with committed():
        client.post(reverse("imports:return", args=["northwind", job.pk]), {"reason": "Wrong date"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RETURNED and job.return_reason == "Wrong date"
    assert any("returned your roster" in m.subject for m in mail.outbox if m.to == [user.email])


def test_provider_roster_only_credits_its_own_courses(northwind, committed):
    provider, user = make_provider("brightpath")
    [sub] = submit(make_application(provider, user), user, northwind)
    mine = approve(sub, make_reviewer(northwind), active_from=date(2026, 1, 1)).course
    theirs = services.course_create(
        actor=Actor.system("t"),
        organization=northwind,
        title="Staff only",
        active_from=date(2026, 1, 1),
        components={northwind.credit_types.get(code="CE"): 1},
    )
    with committed():
        job, _ = import_services.import_create(
            actor=Actor(user=user),
            organization=northwind,
            kind="credits",
            upload=_roster([mine.course_id, theirs.course_id]),
            file_name="r.csv",
            submitted_by_provider=provider,
        )
    job.refresh_from_db()
    assert job.count("unknown_course") == 1
    row = job.rows.get(category="unknown_course")
    assert "not one of this provider's approved courses" in row.reason
    with committed():
        import_services.import_commit_start(actor=Actor.system("staff"), job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED
    credit = northwind.credits.get()
    assert credit.course == mine and credit.organization == northwind


def test_submit_page_says_what_is_wrong_and_submits_nothing(client, northwind):
    provider, user = make_provider("brightpath")
    services.question_add(
        actor=Actor.system("t"), organization=northwind, label="Commercial support?", kind="yes_no"
    )
    app = make_application(provider, user)
    client.force_login(user)
    url = reverse("catalog:application_submit", args=["brightpath", app.pk])
    page = client.get(url).content.decode()
    assert "Commercial support?" in page and "Northwind" in page
    nothing = client.post(url, {}).content.decode()
    assert "Choose at least one organization." in nothing
    unanswered = client.post(url, {"organizations": [str(northwind.pk)]}).content.decode()
    assert "Commercial support?: an answer is required." in unanswered
    assert f'value="{northwind.pk}" checked' in unanswered  # the choice is kept
    assert not Submission.objects.exists()
