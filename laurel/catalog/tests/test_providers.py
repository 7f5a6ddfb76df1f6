"""Providers write applications, submit them, and organizations review them: snapshots,
rounds, final denials, approval through ``course_create``, e-mails and audit at each step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from laurel.accounts.models import Organization, Role
from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.models import Course, ReviewPolicy, Submission
from laurel.catalog.tests.providers import (
    approve,
    make_accrediting,
    make_application,
    make_provider,
    make_reviewer,
    pdf,
    submit,
)
from tests.factories import make_member

pytestmark = pytest.mark.django_db
S = Submission.Status


@pytest.fixture
def northwind():
    return make_accrediting("northwind", "NNA")


@pytest.fixture
def lakeside():
    return make_accrediting("lakeside", "LKS")


@pytest.fixture
def brightpath():
    return make_provider("brightpath")


@pytest.fixture
def reviewer(northwind):
    return make_reviewer(northwind)


def test_anyone_can_start_a_provider_and_becomes_its_admin(brightpath):
    provider, user = brightpath
    assert provider.kind == Organization.Kind.PROVIDER
    assert provider.memberships.get().user == user
    assert provider.memberships.get().role == Role.ADMIN


def test_submitting_to_two_organizations_makes_one_snapshot_each(brightpath, northwind, lakeside):
    provider, user = brightpath
    app = make_application(provider, user)
    services.attachment_add(actor=Actor(user=user), application=app, upload=pdf())
    subs = submit(app, user, northwind, lakeside)
    assert {s.organization for s in subs} == {northwind, lakeside}
    services.application_save(
        actor=Actor(user=user), provider=provider, application=app, title="Renamed later"
    )
    for sub in subs:
        snap = sub.current_round().snapshot
        assert snap["title"] == "Safe Medication Handoffs"
        assert snap["duration_minutes"] == 90
        assert [a["file_name"] for a in snap["attachments"]] == ["agenda.pdf"]
        assert sub.title == "Safe Medication Handoffs"
    assert AuditEvent.objects.filter(action="submission.submitted").count() == 2


def test_incomplete_application_is_refused_and_nothing_is_submitted(brightpath, northwind):
    provider, user = brightpath
    app = make_application(provider, user, instructors=[], sessions=[])
    with pytest.raises(ServiceError, match="(dates and locations|instructor)"):
        submit(app, user, northwind)
    assert not Submission.objects.exists()


def test_credit_type_the_organization_does_not_grant_is_refused(brightpath, northwind):
    provider, user = brightpath
    app = make_application(provider, user, requested_credit={"CME": "1"})
    with pytest.raises(ServiceError, match="does not grant CME"):
        submit(app, user, northwind)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.pdf", b"<html>not a pdf</html>", "must be a PDF"),
        ("big.pdf", b"%PDF-" + b"0" * 2048, "largest accepted"),
    ],
)
def test_attachment_must_be_a_small_pdf(brightpath, settings, name, data, message):
    settings.LAUREL_PDF_MAX_BYTES = 1024
    provider, user = brightpath
    app = make_application(provider, user)
    with pytest.raises(ServiceError, match=message):
        services.attachment_add(actor=Actor(user=user), application=app, upload=pdf(name, data))
    assert not app.attachments.exists()


def test_organization_questions_are_answered_and_kept(brightpath, northwind):
    provider, user = brightpath
    actor = Actor(user=make_member(northwind, Role.ADMIN))
    yes = services.question_add(
        actor=actor, organization=northwind, label="Commercial support?", kind="yes_no"
    )
    pick = services.question_add(
        actor=actor,
        organization=northwind,
        label="Level",
        kind="choice",
        choices=["Basic", "Advanced"],
    )
    doc = services.question_add(
        actor=actor, organization=northwind, label="Disclosure form", kind="file"
    )
    app = make_application(provider, user)
    with pytest.raises(ServiceError, match="Commercial support\\?: an answer is required"):
        submit(app, user, northwind, answers={northwind.pk: {}})
    with pytest.raises(ServiceError, match="choose one of the listed"):
        submit(app, user, northwind, answers={northwind.pk: {str(yes.pk): "no", str(pick.pk): "X"}})
    [sub] = submit(
        app,
        user,
        northwind,
        answers={
            northwind.pk: {str(yes.pk): "no", str(pick.pk): "Advanced", str(doc.pk): pdf("d.pdf")}
        },
    )
    answers = sub.current_round().answers
    assert answers[str(yes.pk)]["answer"] == "no"
    assert answers[str(pick.pk)]["answer"] == "Advanced"
    assert answers[str(doc.pk)]["attachment_id"]


def test_request_changes_then_resubmit_keeps_each_round(brightpath, northwind, reviewer, committed):
    provider, user = brightpath
    app = make_application(provider, user)
    [sub] = submit(app, user, northwind)
    with committed():
        services.submission_decide(
            actor=Actor(user=reviewer),
            submission=sub,
            decision="request_changes",
            reason="Add a 15-minute evaluation.",
        )
    assert sub.status == S.CHANGES_REQUESTED
    [message] = [m for m in mail.outbox if m.to == [user.email]]
    assert "asks for changes" in message.subject
    assert "Add a 15-minute evaluation." in message.body
    agenda = [*app.agenda, {"minutes": 15, "part": "Evaluation"}]
    services.application_save(
        actor=Actor(user=user), provider=provider, application=app, agenda=agenda
    )
    sub = services.submission_resubmit(actor=Actor(user=user), submission=sub)
    assert sub.status == S.SUBMITTED and sub.round == 2
    rounds = list(sub.rounds.all())
    assert [r.snapshot["duration_minutes"] for r in rounds] == [90, 105]
    with pytest.raises(ServiceError, match="changes requested"):
        services.submission_resubmit(actor=Actor(user=user), submission=sub)


def test_approval_creates_the_course_and_emails_its_id(brightpath, northwind, reviewer, committed):
    provider, user = brightpath
    [sub] = submit(make_application(provider, user), user, northwind)
    mail.outbox.clear()
    with committed():
        sub = approve(
            sub, reviewer, credit={"CE": "1", "ETH": "0.5"}, active_until=date(2027, 8, 31)
        )
    course = sub.course
    assert sub.status == S.APPROVED
    assert course.organization == northwind and course.course_id.startswith("NNA-")
    assert course.title == "Safe Medication Handoffs"
    assert {c.credit_type.code: c.amount for c in course.components.all()} == {
        "CE": Decimal("1.00"),
        "ETH": Decimal("0.50"),
    }
    assert AuditEvent.objects.filter(action="course.created", object_id=str(course.pk)).exists()
    assert AuditEvent.objects.filter(action="submission.approved").exists()
    [message] = [m for m in mail.outbox if m.to == [user.email]]
    assert course.course_id in message.subject and course.course_id in message.body


def test_approving_more_than_the_organization_allows_is_refused(brightpath, northwind, reviewer):
    provider, user = brightpath
    services.review_policy_set(
        actor=Actor.system("test"), organization=northwind, max_credit={"CE": "1"}
    )
    [sub] = submit(make_application(provider, user), user, northwind)
    with pytest.raises(ServiceError, match="at most 1"):
        approve(sub, reviewer, credit={"CE": "2"})
    sub.refresh_from_db()
    assert sub.status == S.SUBMITTED
    assert not Course.objects.exists() and not sub.decisions.exists()


def test_denial_is_final_and_a_new_try_is_linked(brightpath, northwind, reviewer):
    provider, user = brightpath
    app = make_application(provider, user)
    [sub] = submit(app, user, northwind)
    services.submission_decide(
        actor=Actor(user=reviewer), submission=sub, decision="deny", reason="Not nursing CE."
    )
    with pytest.raises(ServiceError, match="already denied"):
        approve(sub, reviewer)
    with pytest.raises(ServiceError, match="changes requested"):
        services.submission_resubmit(actor=Actor(user=user), submission=sub)
    [again] = submit(app, user, northwind, previous=sub)
    assert again.pk != sub.pk and again.previous == sub
    assert again.chain() == [sub]
    with pytest.raises(ServiceError, match="once"):
        submit(app, user, northwind, previous=sub)


def test_deny_and_request_changes_need_a_reason(brightpath, northwind, reviewer):
    provider, user = brightpath
    [sub] = submit(make_application(provider, user), user, northwind)
    with pytest.raises(ServiceError, match="Say why"):
        services.submission_decide(actor=Actor(user=reviewer), submission=sub, decision="deny")


def test_two_reviewer_rule_needs_two_different_people(brightpath, northwind, reviewer):
    ReviewPolicy.objects.create(organization=northwind, two_reviewers=True)
    provider, user = brightpath
    [sub] = submit(make_application(provider, user), user, northwind)
    sub = approve(sub, reviewer)
    assert sub.status == S.IN_REVIEW and sub.course is None
    sub = approve(sub, reviewer)  # the same reviewer again: still one approval
    assert sub.status == S.IN_REVIEW
    second = make_reviewer(northwind, "second@northwind.example")
    sub = approve(sub, second)
    assert sub.status == S.APPROVED and sub.course is not None


def test_assignment_emails_the_reviewer_and_puts_it_in_review(
    brightpath, northwind, reviewer, committed
):
    provider, user = brightpath
    [sub] = submit(make_application(provider, user), user, northwind)
    admin = make_member(northwind, Role.ADMIN, "boss@northwind.example")
    mail.outbox.clear()
    with committed():
        services.submission_assign(actor=Actor(user=admin), submission=sub, reviewers=[reviewer])
    assert sub.status == S.IN_REVIEW
    assert [m.to for m in mail.outbox] == [[reviewer.email]]
    outsider = make_member(make_accrediting("other", "OTH"), Role.REVIEWER)
    with pytest.raises(ServiceError, match="Only the organization's reviewers"):
        services.submission_assign(actor=Actor(user=admin), submission=sub, reviewers=[outsider])


def test_internal_comments_are_not_emailed_to_the_provider(
    brightpath, northwind, reviewer, committed
):
    provider, user = brightpath
    [sub] = submit(make_application(provider, user), user, northwind)
    mail.outbox.clear()
    with committed():
        services.submission_comment(
            actor=Actor(user=reviewer), submission=sub, body="Looks thin.", internal=True
        )
        services.submission_comment(
            actor=Actor(user=reviewer), submission=sub, body="Please add slides.", internal=False
        )
    to_provider = [m for m in mail.outbox if m.to == [user.email]]
    assert len(to_provider) == 1 and "Please add slides." in to_provider[0].body
    assert all("Looks thin." not in m.body for m in mail.outbox)


def test_provider_approval_first_when_the_organization_requires_it(brightpath, northwind, reviewer):
    ReviewPolicy.objects.create(organization=northwind, require_provider_approval=True)
    provider, user = brightpath
    app = make_application(provider, user)
    with pytest.raises(ServiceError, match="approves providers first"):
        submit(app, user, northwind)
    request = services.provider_approval_request(
        actor=Actor(user=user), provider=provider, organization=northwind
    )
    assert request.kind == Submission.Kind.PROVIDER
    approve(request, reviewer, credit=None)
    [sub] = submit(app, user, northwind)
    assert sub.status == S.SUBMITTED


def test_every_step_is_audited_and_the_people_concerned_are_emailed(
    brightpath, northwind, reviewer, committed
):
    provider, user = brightpath
    admin = make_member(northwind, Role.ADMIN, "boss@northwind.example")
    with committed():
        [sub] = submit(make_application(provider, user), user, northwind)
    new = {m.to[0] for m in mail.outbox if "New submission from Brightpath" in m.subject}
    assert new == {reviewer.email, admin.email}  # nobody assigned yet: every reviewer and admin
    with committed():
        services.submission_assign(actor=Actor(user=admin), submission=sub, reviewers=[reviewer])
        services.submission_decide(
            actor=Actor(user=reviewer), submission=sub, decision="request_changes", reason="More"
        )
    mail.outbox.clear()
    with committed():
        services.submission_resubmit(actor=Actor(user=user), submission=sub)
    assert [m.to for m in mail.outbox] == [[reviewer.email]]  # now only the assigned reviewer
    assert "again (round 2)" in mail.outbox[0].subject
    approve(sub, reviewer)
    actions = list(
        AuditEvent.objects.filter(object_type="catalog.submission", object_id=str(sub.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "submission.submitted",
        "submission.assigned",
        "submission.changes_requested",
        "submission.resubmitted",
        "submission.approved",
    ]
    assert AuditEvent.objects.filter(action="application.created", organization=provider).exists()


def test_review_queue_reads_a_fixed_number_of_queries(
    client, brightpath, northwind, reviewer, django_assert_max_num_queries
):
    provider, user = brightpath
    for n in range(8):
        [sub] = submit(make_application(provider, user, title=f"Course {n}"), user, northwind)
        services.submission_assign(actor=Actor.system("t"), submission=sub, reviewers=[reviewer])
    client.force_login(reviewer)
    with django_assert_max_num_queries(12):
        response = client.get(f"/o/{northwind.slug}/review/")
    assert response.content.decode().count("Course ") >= 8
