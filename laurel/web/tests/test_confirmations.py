"""Destructive actions are confirmed first on a plain page (no script): the consequence in
words and, where the record keeps one, a required reason."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from laurel.accounts.models import Membership, Role
from laurel.audit.services import Actor
from laurel.credits.models import Credit
from laurel.imports.models import ImportJob
from laurel.imports.services import import_commit_start, import_create
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


@pytest.fixture
def credit(org):
    make_user("jo@example.org")
    return enter_credit(org, make_course(org), "jo@example.org", name="Jo Newhire")


def test_credit_detail_links_to_confirmations_instead_of_acting(client, org, admin, credit):
    client.force_login(admin)
    page = client.get(reverse("credits:org_credit_detail", args=[org.slug, credit.pk]))
    html = page.content.decode()
    assert f'href="{reverse("credits:org_credit_revoke", args=[org.slug, credit.pk])}"' in html
    assert f'href="{reverse("credits:org_credit_void", args=[org.slug, credit.pk])}"' in html


def test_revoking_a_credit_is_confirmed_with_its_consequence(client, org, admin, credit):
    client.force_login(admin)
    url = reverse("credits:org_credit_revoke", args=[org.slug, credit.pk])
    page = client.get(url).content.decode()
    assert "Revoke this credit?" in page
    assert f"Jo Newhire&#x27;s credit for {credit.course.course_id}" in page
    assert "jo@example.org is e-mailed" in page and "cannot be undone" in page
    assert 'id="confirm-reason"' in page and "required" in page
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED

    missing = client.post(url, {"reason": ""})
    assert missing.status_code == 400 and 'id="confirm-reason-error"' in missing.content.decode()
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED

    done = client.post(url, {"reason": "wrong course"})
    assert done.status_code == 302
    credit.refresh_from_db()
    assert credit.status == Credit.Status.REVOKED and credit.revoke_reason == "wrong course"


def test_voiding_a_credit_is_confirmed_and_the_note_is_optional(client, org, admin, credit):
    client.force_login(admin)
    url = reverse("credits:org_credit_void", args=[org.slug, credit.pk])
    page = client.get(url).content.decode()
    assert "Void this credit?" in page and "Nobody is e-mailed" in page
    assert client.post(url, {}).status_code == 302
    credit.refresh_from_db()
    assert credit.status == Credit.Status.VOIDED


def test_removing_a_member_is_confirmed(client, org, admin):
    staff = make_member(org, Role.STAFF, "staff@northwind.test")
    membership = Membership.objects.get(organization=org, user=staff)
    client.force_login(admin)
    listing = client.get(reverse("accounts:member_list", args=[org.slug])).content.decode()
    url = reverse("accounts:member_remove", args=[org.slug, membership.pk])
    assert f'href="{url}"' in listing
    page = client.get(url).content.decode()
    assert "staff@northwind.test can no longer open Northwind" in page
    membership.refresh_from_db()
    assert membership.removed_at is None
    assert client.post(url).status_code == 302
    membership.refresh_from_db()
    assert membership.removed_at is not None


def test_undoing_an_import_is_confirmed(client, org, admin, django_capture_on_commit_callbacks):
    course = make_course(org)
    csv = f"Course ID,Email,Completion date\n{course.course_id},a@example.org,2025-03-01\n"
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = import_create(
            actor=Actor(user=admin),
            organization=org,
            kind="credits",
            upload=SimpleUploadedFile("x.csv", csv.encode()),
            file_name="x.csv",
        )
    with django_capture_on_commit_callbacks(execute=True):
        import_commit_start(actor=Actor(user=admin), job=job)
    job.refresh_from_db()
    client.force_login(admin)
    detail = client.get(reverse("imports:detail", args=[org.slug, job.pk])).content.decode()
    url = reverse("imports:undo", args=[org.slug, job.pk])
    assert f'href="{url}"' in detail
    page = client.get(url).content.decode()
    assert "Undo the import of x.csv?" in page and "it created 1" in page
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"reason": "wrong file"}).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE


def test_confirmation_pages_carry_no_inline_script(client, org, admin, credit):
    client.force_login(admin)
    page = client.get(reverse("credits:org_credit_revoke", args=[org.slug, credit.pk]))
    assert "<script>" not in page.content.decode() and " onclick=" not in page.content.decode()


def test_denying_a_course_is_confirmed_because_it_is_final(client):
    from laurel.catalog.models import Submission
    from laurel.catalog.tests.providers import (
        make_accrediting,
        make_application,
        make_provider,
        make_reviewer,
        submit,
    )

    northwind = make_accrediting("northwind2", "NNB")
    provider, user = make_provider("brightpath")
    [sub] = submit(make_application(provider, user), user, northwind)
    client.force_login(make_reviewer(northwind))
    url = reverse("catalog:review_decide", args=["northwind2", sub.pk])

    no_reason = client.post(url, {"decision": "deny", "reason": ""})
    assert (
        no_reason.status_code == 400
        and "Say why the course is denied" in no_reason.content.decode()
    )

    page = client.post(url, {"decision": "deny", "reason": "Not nursing CE"}).content.decode()
    assert "A denial is final" in page and 'value="Not nursing CE"' in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    sub.refresh_from_db()
    assert sub.status != Submission.Status.DENIED

    done = client.post(url, {"decision": "deny", "reason": "Not nursing CE", "confirmed": "1"})
    assert done.status_code == 302
    sub.refresh_from_db()
    assert sub.status == Submission.Status.DENIED
