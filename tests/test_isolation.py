"""Cross-tenant isolation: an admin of organization B, asking for anything of organization A
(its slug, its objects, through the API with B's key), gets a 404 and changes nothing.

The routes are found by walking the URL resolver and the API's OpenAPI schema; a route
missing from the tables below fails ``test_every_*_is_in_the_table``. When you add an
organization page or an API operation, add one row: how to request it, and which of
``world``'s objects it takes (add the object to ``make_world`` if it is new).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from laurel.accounts.models import Membership, Role
from laurel.accounts.services import member_invite
from laurel.api.services import api_key_create
from laurel.api.v1 import api as api_v1
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.catalog.models import (
    CourseApplication,
    CribSheet,
    InstructionText,
    Submission,
    SubmissionComment,
)
from laurel.catalog.services import (
    application_save,
    application_submit,
    attachment_add,
    crib_sheet_add,
    provider_create,
    question_add,
    submission_comment,
    submission_decide,
)
from laurel.certificates.models import Certificate, CertificateJob, CertificateTemplate
from laurel.certificates.services import certificate_issue, default_template, job_request
from laurel.credits.models import Credit
from laurel.credits.services import dashboard_create, self_report_create
from laurel.exports.services import export_request
from laurel.imports.models import ImportJob, ImportRow
from laurel.imports.services import import_create
from laurel.integrations.models import WebhookDelivery
from laurel.integrations.services import endpoint_create, endpoint_send_test
from laurel.programs.models import Completion, CreditReview, Enrollment, Program
from laurel.programs.services import RequirementSpec, completion_record, enrollments_create
from laurel.programs.tests.helpers import make_program, manual
from laurel.recognition.models import Ceremony, CourseTaker
from laurel.recognition.tests.factories import make_recognition_world
from tests.factories import enter_credit, make_course, make_member, make_org, make_user

ORG_SLUG = "<slug:org_slug>"
Make = Callable[[SimpleNamespace], object]


class Page:
    """How to request an organization page: the method, the POST data, and each URL
    argument besides ``org_slug`` as a function of a world (``pk=lambda w: w.credit.pk``)."""

    def __init__(
        self,
        method: str = "get",
        data: dict | None = None,
        fixed: dict | None = None,
        provider: bool = False,
        shared: bool = False,
        **kwargs: Make,
    ):
        self.method = method
        self.data = data or {}
        self.fixed = fixed or {}  # URL arguments that name no object (a file format, say)
        # A course provider's page: its slug is the world's provider, not the organization.
        self.provider = provider
        # Its object is shared with every provider by design (an organization's crib
        # sheets for providers): only another provider's slug must be a 404.
        self.shared = shared
        self.kwargs = kwargs

    def slug(self, world) -> str:
        return world.provider.slug if self.provider else world.slug

    def url(self, name: str, slug: str, world) -> str:
        args = {key: make(world) for key, make in self.kwargs.items()}
        return reverse(name, kwargs={"org_slug": slug, **self.fixed, **args})


class Op:
    """How to call an API operation with another organization's key. Path arguments are
    functions of a world. ``body`` makes the JSON body. Operations on one object expect
    404; lists (``hidden``) must not show the object ``hidden`` names; ``refused`` is the
    status for a write that names another organization's object in its body; ``own_only``
    marks a write that can name nothing of another organization: it must land in the key's."""

    def __init__(
        self,
        *,
        body: Make | None = None,
        hidden: Make | None = None,
        refused: int = 404,
        own_only: bool = False,
        multipart: Make | None = None,
        provider: bool = False,
        **path_args: Make,
    ):
        self.provider = provider  # called with the world's provider's key
        self.body = body
        self.own_only = own_only
        self.multipart = multipart
        self.hidden = hidden
        self.refused = refused
        self.path_args = path_args

    def url(self, path: str, world) -> str:
        for key, make in self.path_args.items():
            path = path.replace("{" + key + "}", str(make(world)))
        return path


def credit_pk(w):
    return w.credit.pk


# One row per organization page: route name → how to request it.
ORG_PAGES: dict[str, Page] = {
    "accounts:member_list": Page(),
    "accounts:org_settings": Page(),
    "audit:event_list": Page(),
    "audit:export": Page(),
    "catalog:course_list": Page(),
    "credits:org_ledger": Page(),
    "credits:org_credit_new": Page(),
    "credits:org_credit_bulk": Page(
        "post", {"pairs": "NNA-26-00001 : a@example.org", "completion_date": "2025-03-01"}
    ),
    "credits:org_credit_certificate_pdf": Page(pk=credit_pk),
    "org_home": Page(),
    "credits:org_claims": Page(),
    "credits:org_ledger_export": Page(),
    "credits:org_credit_detail": Page(pk=credit_pk),
    "credits:org_credit_revoke": Page("post", {"reason": "isolation"}, pk=credit_pk),
    "credits:org_credit_void": Page("post", {"reason": "isolation"}, pk=credit_pk),
    "credits:org_credit_resend": Page("post", pk=credit_pk),
    "credits:org_credit_reenter": Page("post", {"email": "fixed@example.com"}, pk=credit_pk),
    "mail:org_outbox": Page(),
    "accounts:member_role": Page("post", {"role": "staff"}, pk=lambda w: w.membership.pk),
    "accounts:member_remove": Page("post", pk=lambda w: w.membership.pk),
    "accounts:invitation_resend": Page("post", pk=lambda w: w.invitation.pk),
    "accounts:invitation_cancel": Page("post", pk=lambda w: w.invitation.pk),
    "exports:job": Page(pk=lambda w: w.export_job.pk),
    "exports:download": Page(pk=lambda w: w.export_job.pk),
    "programs:list": Page(),
    "programs:new": Page(),
    "programs:approvals": Page(),
    "programs:approve": Page("post", pk=lambda w: w.completion.pk),
    "programs:return": Page("post", {"reason": "isolation"}, pk=lambda w: w.completion.pk),
    "programs:by_enrollee": Page(),
    "programs:transcript": Page(),
    "programs:enrollment": Page(pk=lambda w: w.enrollment.pk),
    "programs:completion_new": Page(
        "post", {"completed_on": "2025-03-02"}, pk=lambda w: w.enrollment.pk
    ),
    "programs:enrollment_dates": Page(
        "post", {"enrolled_on": "2025-01-01"}, pk=lambda w: w.enrollment.pk
    ),
    "programs:enrollment_cancel": Page("post", pk=lambda w: w.enrollment.pk),
    "programs:attachment": Page(pk=lambda w: w.completion.pk),
    "programs:detail": Page(pk=lambda w: w.program.pk),
    "programs:edit": Page(pk=lambda w: w.program.pk),
    "programs:status": Page("post", {"status": "inactive"}, pk=lambda w: w.program.pk),
    "programs:export": Page(pk=lambda w: w.program.pk),
    "programs:enroll": Page(pk=lambda w: w.program.pk),
    "programs:move_version": Page(pk=lambda w: w.program.pk),
    "programs:purge": Page(pk=lambda w: w.program.pk),
    "programs:review_approve": Page("post", pk=lambda w: w.review.pk),
    "programs:review_return": Page("post", {"reason": "isolation"}, pk=lambda w: w.review.pk),
    "programs:review_certificate": Page(pk=lambda w: w.review.pk),
    "catalog:credit_type_list": Page(),
    "catalog:credit_type_new": Page("post", {"code": "ISO", "name": "Iso", "unit": "hours"}),
    "catalog:credit_type_edit": Page(pk=lambda w: w.credit_type.pk),
    "catalog:course_new": Page(),
    "catalog:course_options": Page(),
    "catalog:course_detail": Page(pk=lambda w: w.course.pk),
    "catalog:course_edit": Page(pk=lambda w: w.course.pk),
    "certificates:list": Page(),
    "certificates:issue": Page(),
    "certificates:bulk": Page("post", {"action": "pdf", "ids": "x"}),
    "certificates:detail": Page(pk=lambda w: w.certificate.pk),
    "certificates:pdf": Page(pk=lambda w: w.certificate.pk),
    "certificates:revoke": Page("post", {"reason": "isolation"}, pk=lambda w: w.certificate.pk),
    "certificates:replace": Page("post", {"reason": "isolation"}, pk=lambda w: w.certificate.pk),
    "certificates:job_last": Page(),
    "certificates:job": Page(pk=lambda w: w.job.pk),
    "certificates:job_download": Page(pk=lambda w: w.job.pk),
    "certificates:templates": Page(),
    "certificates:template_new": Page(),
    "certificates:template_preview": Page(),
    "certificates:template_preview_frame": Page("post", {"design": "classic"}),
    "certificates:template_edit": Page(pk=lambda w: w.template.pk),
    "certificates:template_default": Page("post", pk=lambda w: w.template.pk),
    "certificates:policies": Page(),
    "certificates:policy_edit": Page(course_pk=lambda w: w.course.pk),
    "imports:list": Page(),
    "imports:upload": Page(),
    "imports:template": Page(fixed={"fmt": "csv"}),
    "imports:detail": Page(pk=lambda w: w.import_job.pk),
    "imports:rows": Page(
        "get", {"category": ImportRow.Category.values[0]}, pk=lambda w: w.import_job.pk
    ),
    "imports:include": Page("post", {"rows": "2", "included": "0"}, pk=lambda w: w.import_job.pk),
    "imports:mapping": Page("post", pk=lambda w: w.import_job.pk),
    "imports:commit": Page("post", pk=lambda w: w.import_job.pk),
    "imports:undo": Page("post", {"reason": "isolation"}, pk=lambda w: w.import_job.pk),
    "imports:report": Page(pk=lambda w: w.import_job.pk),
    "imports:problems": Page(pk=lambda w: w.import_job.pk),
    "recognition:dashboard": Page(),
    "recognition:cohorts": Page(),
    "recognition:cohort": Page(pk=lambda w: w.cohort.pk),
    "recognition:new": Page(),
    "recognition:edit": Page(pk=lambda w: w.draft.pk),
    "recognition:details": Page(pk=lambda w: w.ceremony.pk),
    "recognition:submit": Page("post", pk=lambda w: w.draft.pk),
    "recognition:cancel": Page("post", pk=lambda w: w.draft.pk),
    "recognition:ics": Page(pk=lambda w: w.ceremony.pk),
    "recognition:generate": Page(pk=lambda w: w.ceremony.pk),
    "recognition:taker_pdf": Page(
        "post", pk=lambda w: w.ceremony.pk, taker_pk=lambda w: w.taker.pk
    ),
    "recognition:last_file_status": Page(pk=lambda w: w.ceremony.pk),
    "recognition:last_file": Page(pk=lambda w: w.ceremony.pk),
    "recognition:program": Page(pk=lambda w: w.ceremony.pk),
    "recognition:pins": Page(),
    "recognition:pins_csv": Page(),
    "recognition:pins_mailed": Page("post", pk=lambda w: w.ceremony.pk),
    "recognition:canvas": Page(),
    "events:list": Page(),
    "events:new": Page(),
    "events:detail": Page(pk=lambda w: w.event.pk),
    "events:edit": Page(pk=lambda w: w.event.pk),
    "events:setup": Page(
        "post", {"track-name": "Isolation"}, fixed={"what": "track"}, pk=lambda w: w.event.pk
    ),
    "events:copy": Page("post", pk=lambda w: w.event.pk),
    "events:cancel": Page("post", pk=lambda w: w.event.pk),
    "events:attendees": Page(pk=lambda w: w.event.pk),
    "events:register": Page("post", {"email": "x@example.com"}, pk=lambda w: w.event.pk),
    "events:attendance": Page(
        "post",
        {"state": "attended", "scope": "all_registered"},
        pk=lambda w: w.event.pk,
    ),
    "events:undo": Page("post", pk=lambda w: w.event.pk),
    "events:check_in": Page(pk=lambda w: w.event.pk),
    "events:ics": Page(pk=lambda w: w.event.pk),
    "api_keys:api_key_list": Page(),
    "api_keys:api_key_create": Page("post", {"name": "isolation"}),
    "api_keys:api_key_revoke": Page("post", pk=lambda w: w.api_key.pk),
    # Course providers' own pages (the slug is the provider's).
    "catalog:provider_home": Page(provider=True),
    "catalog:provider_roster": Page(provider=True),
    "catalog:provider_approval": Page("post", provider=True),
    "catalog:application_new": Page(provider=True),
    "catalog:application_edit": Page(provider=True, pk=lambda w: w.application.pk),
    "catalog:application_submit": Page(provider=True, pk=lambda w: w.application.pk),
    "catalog:application_attachment": Page("post", provider=True, pk=lambda w: w.application.pk),
    "catalog:attachment_download": Page(provider=True, pk=lambda w: w.attachment.pk),
    "catalog:provider_submission": Page(provider=True, pk=lambda w: w.submission.pk),
    "catalog:provider_resubmit": Page("post", provider=True, pk=lambda w: w.changes_sub.pk),
    "catalog:provider_retry": Page("post", provider=True, pk=lambda w: w.submission.pk),
    "catalog:provider_crib_sheet": Page(
        provider=True, shared=True, pk=lambda w: w.provider_sheet.pk
    ),
    # The accrediting organization's review, crib sheets and instruction text.
    "catalog:review_queue": Page(),
    "catalog:review_settings": Page(),
    "catalog:question_remove": Page("post", pk=lambda w: w.question.pk),
    "catalog:review_detail": Page(pk=lambda w: w.submission.pk),
    "catalog:review_assign": Page("post", pk=lambda w: w.submission.pk),
    "catalog:review_decide": Page(
        "post", {"decision": "request_changes", "reason": "isolation"}, pk=lambda w: w.submission.pk
    ),
    "catalog:review_attachment": Page(
        pk=lambda w: w.submission.pk, attachment_pk=lambda w: w.attachment.pk
    ),
    "catalog:crib_sheets": Page(),
    "catalog:crib_sheet_download": Page(pk=lambda w: w.provider_sheet.pk),
    "catalog:crib_sheet_remove": Page("post", pk=lambda w: w.provider_sheet.pk),
    "catalog:instructions": Page(),
    "imports:return": Page("post", {"reason": "isolation"}, pk=lambda w: w.import_job.pk),
    "credits:org_credit_member_id": Page("post", {"member_id": "M-9"}, pk=credit_pk),
    "integrations:endpoint_list": Page(),
    "integrations:endpoint_detail": Page(pk=lambda w: w.webhook.pk),
    "integrations:endpoint_rotate": Page("post", pk=lambda w: w.webhook.pk),
    "integrations:endpoint_enable": Page("post", {"enabled": "0"}, pk=lambda w: w.webhook.pk),
    "integrations:endpoint_test": Page("post", pk=lambda w: w.webhook.pk),
    "integrations:delivery_detail": Page(pk=lambda w: w.delivery.pk),
    "integrations:delivery_resend": Page("post", pk=lambda w: w.delivery.pk),
}

# Organization routes that are public on purpose: an issuer's DID document and its revocation
# list must be readable by any verifier. They hold public keys and bits, nothing private.
PUBLIC_BY_DESIGN = {"certificates:did_json", "certificates:status_list"}

APP_BODY = {
    "title": "Isolation draft",
    "description": "d",
    "objectives": "o",
    "delivery_format": "self_paced",
    "agenda": [{"part": "All", "minutes": 60}],
    "instructors": [{"name": "I. Solation"}],
    "target_audience": "everyone",
    "requested_credit": {"CE": "1"},
}

# One row per API operation: "METHOD /path/{arg}" → how to call it.
API_OPERATIONS: dict[str, Op] = {
    "GET /api/v1/programs": Op(hidden=lambda w: w.program.code),
    "GET /api/v1/programs/{program_id}": Op(program_id=lambda w: w.program.pk),
    "GET /api/v1/programs/{program_id}/enrollments": Op(program_id=lambda w: w.program.pk),
    "POST /api/v1/programs/{program_id}/enrollments": Op(
        program_id=lambda w: w.program.pk,
        body=lambda w: {"people": [{"email": f"new@{w.slug}.example"}], "notify": False},
    ),
    "GET /api/v1/programs/enrollments/{enrollment_id}": Op(enrollment_id=lambda w: w.enrollment.pk),
    "POST /api/v1/programs/enrollments/{enrollment_id}/completions": Op(
        enrollment_id=lambda w: w.enrollment.pk,
        body=lambda w: {
            "requirement_id": w.program.current_version.requirements.get(title="Exam").pk,
            "completed_on": "2025-03-02",
        },
    ),
    "GET /api/v1/programs/approvals/queue": Op(hidden=lambda w: w.enrollment.email),
    "POST /api/v1/programs/approvals/{completion_id}/approve": Op(
        completion_id=lambda w: w.completion.pk
    ),
    "POST /api/v1/programs/approvals/{completion_id}/return": Op(
        completion_id=lambda w: w.completion.pk, body=lambda w: {"reason": "isolation"}
    ),
    "GET /api/v1/events": Op(hidden=lambda w: w.event.title),
    "POST /api/v1/events": Op(
        own_only=True,
        body=lambda w: {
            "title": "Isolation event",
            "starts_at": "2025-03-02T14:00:00Z",
            "ends_at": "2025-03-02T15:00:00Z",
        },
    ),
    "GET /api/v1/events/{event_id}": Op(event_id=lambda w: w.event.pk),
    "GET /api/v1/events/{event_id}/sessions": Op(event_id=lambda w: w.event.pk),
    "GET /api/v1/events/{event_id}/registrations": Op(event_id=lambda w: w.event.pk),
    "POST /api/v1/events/{event_id}/registrations": Op(
        event_id=lambda w: w.event.pk, body=lambda w: {"email": f"new@{w.slug}.example"}
    ),
    "POST /api/v1/events/registrations/{registration_id}/status": Op(
        registration_id=lambda w: w.registration.pk, body=lambda w: {"status": "attended"}
    ),
    "POST /api/v1/events/{event_id}/registrations/status": Op(
        event_id=lambda w: w.event.pk,
        body=lambda w: {"status": "attended", "registration_ids": [w.registration.pk]},
    ),
    "POST /api/v1/programs": Op(
        body=lambda w: {
            "code": f"NEW-{w.slug}".upper(),
            "name": "Isolation",
            "requirements": [{"kind": "manual", "title": "Exam"}],
        },
        own_only=True,
    ),
    "PUT /api/v1/programs/{program_id}": Op(
        program_id=lambda w: w.program.pk,
        body=lambda w: {"name": "Renamed", "requirements": [{"kind": "manual", "title": "X"}]},
    ),
    "POST /api/v1/programs/{program_id}/status": Op(
        program_id=lambda w: w.program.pk, body=lambda w: {"status": "inactive"}
    ),
    "POST /api/v1/programs/enrollments/{enrollment_id}/cancel": Op(
        enrollment_id=lambda w: w.enrollment.pk
    ),
    "GET /api/v1/programs/self-reports": Op(hidden=lambda w: w.review.credit.title),
    "POST /api/v1/programs/self-reports/{review_id}/approve": Op(review_id=lambda w: w.review.pk),
    "POST /api/v1/programs/self-reports/{review_id}/return": Op(
        review_id=lambda w: w.review.pk, body=lambda w: {"reason": "isolation"}
    ),
    "GET /api/v1/certificates": Op(hidden=lambda w: w.certificate.serial_number),
    "GET /api/v1/certificates/{cert_id}": Op(cert_id=lambda w: w.certificate.pk),
    "GET /api/v1/certificates/{cert_id}/pdf": Op(cert_id=lambda w: w.certificate.pk),
    "GET /api/v1/certificates/{cert_id}/credential": Op(cert_id=lambda w: w.certificate.pk),
    "POST /api/v1/certificates/{cert_id}/revoke": Op(
        cert_id=lambda w: w.certificate.pk, body=lambda w: {"reason": "isolation"}
    ),
    "POST /api/v1/certificates/files": Op(
        body=lambda w: {"kind": "pdf", "certificate_ids": [w.certificate.pk]}
    ),
    "POST /api/v1/certificates": Op(
        own_only=True,
        body=lambda w: {
            "recipient_email": "someone@example.com",
            "recipient_name": "Some One",
            "title": "Isolation",
            "completion_date": "2025-03-02",
            "notify": False,
        },
    ),
    "GET /api/v1/certificates/files/{job_id}": Op(job_id=lambda w: w.job.pk),
    "POST /api/v1/imports": Op(
        own_only=True,
        multipart=lambda w: {
            "file": SimpleUploadedFile("own.csv", b"course_id,email,completion_date\n"),
            "kind": "credits",
        },
    ),
    "GET /api/v1/imports/{import_id}": Op(import_id=lambda w: w.import_job.pk),
    "GET /api/v1/imports/{import_id}/rows": Op(import_id=lambda w: w.import_job.pk),
    "POST /api/v1/imports/{import_id}/commit": Op(import_id=lambda w: w.import_job.pk),
    "GET /api/v1/certificates/files/{job_id}/download": Op(job_id=lambda w: w.job.pk),
    "GET /api/v1/courses": Op(hidden=lambda w: w.course.course_id),
    "GET /api/v1/recognition/cohorts": Op(hidden=lambda w: w.cohort.name),
    "GET /api/v1/recognition/cohorts/{cohort_id}": Op(cohort_id=lambda w: w.cohort.pk),
    "GET /api/v1/recognition/cohorts/{cohort_id}/takers": Op(cohort_id=lambda w: w.cohort.pk),
    "POST /api/v1/recognition/progress": Op(
        refused=422,
        body=lambda w: {"records": [{"cohort": w.cohort.pk, "email": "x@y.example", "percent": 5}]},
    ),
    "GET /api/v1/recognition/ceremonies": Op(hidden=lambda w: w.ceremony.name),
    "GET /api/v1/recognition/certificate-requests": Op(hidden=lambda w: w.draft.name),
    "GET /api/v1/recognition/ceremonies/{ceremony_id}": Op(ceremony_id=lambda w: w.ceremony.pk),
    "POST /api/v1/recognition/ceremonies": Op(
        refused=422,
        body=lambda w: {
            "kind": "request",
            "range_start": str(w.cohort.end_date),
            "range_end": str(w.cohort.end_date),
            "cohorts": [w.cohort.pk],
        },
    ),
    "POST /api/v1/recognition/ceremonies/{ceremony_id}/submit": Op(
        ceremony_id=lambda w: w.draft.pk
    ),
    "GET /api/v1/credits": Op(hidden=lambda w: w.credit.recipient_email),
    "GET /api/v1/credits/{credit_id}": Op(credit_id=credit_pk),
    "POST /api/v1/credits/{credit_id}/revoke": Op(
        credit_id=credit_pk, body=lambda w: {"reason": "isolation"}
    ),
    "GET /api/v1/webhooks/endpoints": Op(hidden=lambda w: w.webhook.url),
    "POST /api/v1/webhooks/endpoints": Op(
        own_only=True,
        body=lambda w: {"url": "https://hooks.own.example/in", "event_types": ["credit.held"]},
    ),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}": Op(endpoint_id=lambda w: w.webhook.pk),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": Op(
        endpoint_id=lambda w: w.webhook.pk
    ),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/disable": Op(endpoint_id=lambda w: w.webhook.pk),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/enable": Op(endpoint_id=lambda w: w.webhook.pk),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/test": Op(endpoint_id=lambda w: w.webhook.pk),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries": Op(
        endpoint_id=lambda w: w.webhook.pk
    ),
    "POST /api/v1/webhooks/member-ids": Op(
        body=lambda w: {"email": w.credit.recipient_email, "member_id": "M-9"}
    ),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/resend": Op(
        delivery_id=lambda w: w.delivery.pk
    ),
    "POST /api/v1/credits": Op(
        refused=422,
        body=lambda w: {
            "course_id": w.course.course_id,
            "email": f"new@{w.org.slug}.example",
            "completion_date": "2025-03-02",
        },
    ),
    # Applications: a provider's key; submissions: either side's key.
    "GET /api/v1/applications": Op(provider=True, hidden=lambda w: w.application.title),
    "POST /api/v1/applications": Op(provider=True, own_only=True, body=lambda w: APP_BODY),
    "GET /api/v1/applications/{application_id}": Op(
        provider=True, application_id=lambda w: w.application.pk
    ),
    "PUT /api/v1/applications/{application_id}": Op(
        provider=True, application_id=lambda w: w.application.pk, body=lambda w: APP_BODY
    ),
    "POST /api/v1/applications/{application_id}/submit": Op(
        provider=True,
        application_id=lambda w: w.application.pk,
        body=lambda w: {"organizations": [w.slug]},
    ),
    "GET /api/v1/submissions": Op(hidden=lambda w: w.submission.title),
    "GET /api/v1/submissions/{submission_id}": Op(submission_id=lambda w: w.submission.pk),
    "POST /api/v1/submissions/{submission_id}/comments": Op(
        submission_id=lambda w: w.submission.pk, body=lambda w: {"body": "isolation"}
    ),
    "POST /api/v1/submissions/{submission_id}/decision": Op(
        submission_id=lambda w: w.submission.pk,
        body=lambda w: {"decision": "request_changes", "reason": "isolation"},
    ),
    "POST /api/v1/submissions/{submission_id}/resubmit": Op(
        provider=True, submission_id=lambda w: w.changes_sub.pk
    ),
}


def make_world(slug: str, django_capture_on_commit_callbacks) -> SimpleNamespace:
    """An organization with one of everything its routes can point at."""
    org = make_org(slug)
    course = make_course(org)
    credit = enter_credit(org, course, f"holder@{slug}.example", completion_date=date(2025, 3, 1))
    new_key = api_key_create(actor=Actor.system("test"), organization=org, name=f"{slug} key")
    admin = make_member(org, Role.ADMIN, f"admin@{slug}.example")
    make_member(org, Role.STAFF, f"staff@{slug}.example")
    invitation = member_invite(
        actor=Actor.system("test"),
        organization=org,
        email=f"invitee@{slug}.example",
        role=Role.STAFF,
    )
    certificate = certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name=f"Holder {slug}",
        recipient_email=f"holder@{slug}.example",
        title=course.title,
        completion_date=date(2025, 3, 1),
        course=course,
        notify=False,
    )
    # The credit's own certificate (staff and certificate managers download it from the credit).
    certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name=f"Holder {slug}",
        recipient_email=f"holder@{slug}.example",
        title=course.title,
        completion_date=date(2025, 3, 1),
        course=course,
        credit=credit,
        notify=False,
    )
    # Files belong to whoever asked for them; build this one now so it can be downloaded.
    with django_capture_on_commit_callbacks(execute=True):
        job = job_request(
            actor=Actor(user=admin), organization=org, kind="pdf", certificate_ids=[certificate.pk]
        )
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        export_job = export_request(
            actor=Actor(user=admin), organization=org, kind="ledger", params={}
        )
    export_job.refresh_from_db()
    csv = f"course_id,email,completion_date\n{course.course_id},new@{slug}.example,2025-03-01\n"
    with django_capture_on_commit_callbacks(execute=True):
        import_job, _ = import_create(
            actor=Actor(user=admin),
            organization=org,
            kind="credits",
            upload=SimpleUploadedFile(f"{slug}.csv", csv.encode()),
            file_name=f"{slug}.csv",
        )
    program = make_program(
        org,
        code=f"P-{slug}".upper(),
        requirements=[
            manual("Essay", needs_approval=True, needs_attachment=True),
            manual("Exam"),
        ],
    )
    [enrollment] = enrollments_create(
        actor=Actor.system("test"),
        program=program,
        people=[(f"holder@{slug}.example", "")],
        enrolled_on=date(2025, 3, 1),
    )
    completion = completion_record(
        actor=Actor.system("test"),
        enrollment=enrollment,
        requirement=program.current_version.requirements.get(title="Essay"),
        completed_on=date(2025, 3, 1),
        attachment=SimpleUploadedFile("essay.pdf", b"%PDF-1.4 isolation"),
    )
    review = make_self_report_review(org, slug)
    provider_world = make_provider_world(org, admin, slug)
    recognition = make_recognition_world(org, slug)
    webhook = endpoint_create(
        actor=Actor(user=admin),
        organization=org,
        url=f"https://hooks.{slug}.example/in",
        event_types=["credit.held"],
    )
    delivery = endpoint_send_test(actor=Actor(user=admin), endpoint=webhook)
    return SimpleNamespace(
        **provider_world,
        **vars(recognition),
        **make_events_world(org, slug),
        webhook=webhook,
        delivery=delivery,
        program=program,
        enrollment=enrollment,
        completion=completion,
        review=review,
        certificate=certificate,
        job=job,
        export_job=export_job,
        import_job=import_job,
        template=default_template(org),
        org=org,
        slug=slug,
        admin=admin,
        membership=Membership.objects.get(organization=org, user__email=f"staff@{slug}.example"),
        invitation=invitation,
        credit_type=course.components.get().credit_type,
        course=course,
        credit=credit,
        api_key=new_key.api_key,
        full_key=new_key.full_key,
    )


def make_events_world(org, slug: str) -> dict:
    """A past event with credit, a track and a session, and one registration."""
    from laurel.events.tests.helpers import make_event, register

    event = make_event(
        org, title=f"Event {slug}", components={"CE": "1"}, sessions=[("Morning", {"CE": "1"})]
    )
    [registration] = register(event, f"attendee@{slug}.example", name=f"Attendee {slug}")
    return {"event": event, "registration": registration}


def make_self_report_review(org, slug: str):
    """A holder's self-reported credit waiting for the approval of the world's CE program."""
    holder = make_user(f"reporter@{slug}.example")
    program = make_program(
        org,
        code=f"CE-{slug}".upper(),
        requirements=[
            RequirementSpec(
                kind="credit_hours", title="CE hours", credit_type_code="CE", hours=Decimal(2)
            )
        ],
    )
    enrollments_create(
        actor=Actor.system("test"),
        program=program,
        people=[(holder.email, "")],
        enrolled_on=date(2025, 3, 1),
    )
    self_report_create(
        holder=holder,
        title=f"Reported by {slug}",
        provider="Elsewhere",
        completion_date=date(2025, 3, 2),
        hours={"CE": Decimal(2)},
        dashboard=dashboard_create(holder=holder, name="Mine"),
        certificate=_pdf(),
    )
    return CreditReview.objects.get(enrollment__program=program)


def make_provider_world(org, admin, slug: str) -> dict:
    """The world's course provider (its admin is the organization's admin too, so the
    control requests work) with an application submitted to the organization, an internal
    comment, a question, a crib sheet for providers and the provider's API key."""
    provider = provider_create(
        actor=Actor(user=admin), user=admin, name=f"Provider {slug}", slug=f"{slug}-prov"
    )
    actor = Actor(user=admin)
    application = application_save(
        actor=actor, provider=provider, **{**APP_BODY, "title": f"Application of {slug}"}
    )
    attachment = attachment_add(actor=actor, application=application, upload=_pdf())
    question = question_add(
        actor=actor, organization=org, label=f"Question {slug}", kind="text", required=False
    )
    [submission] = application_submit(actor=actor, application=application, organizations=[org])
    submission_comment(actor=actor, submission=submission, body=f"internal {slug}", internal=True)
    [changes_sub] = application_submit(actor=actor, application=application, organizations=[org])
    submission_decide(
        actor=actor, submission=changes_sub, decision="request_changes", reason="isolation"
    )
    sheet = crib_sheet_add(
        actor=actor, organization=org, audience="providers", title=f"Sheet {slug}", upload=_pdf()
    )
    key = api_key_create(actor=actor, organization=provider, name=f"{slug} provider key")
    return {
        "provider": provider,
        "application": application,
        "attachment": attachment,
        "question": question,
        "submission": submission,
        "changes_sub": changes_sub,
        "provider_sheet": sheet,
        "provider_key": key.full_key,
    }


def _pdf():
    return SimpleUploadedFile("x.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")


def state_of(world) -> tuple:
    """What any write to an organization would change: its audit trail and its ledger."""
    org = world.org
    return (
        AuditEvent.objects.filter(organization=org).count(),
        list(Credit.objects.for_org(org).values_list("pk", "status").order_by("pk")),
        list(org.api_keys.values_list("pk", "revoked_at").order_by("pk")),
        list(org.memberships.values_list("pk", "role", "removed_at").order_by("pk")),
        list(org.member_invitations.values_list("pk", "cancelled_at", "token_hash")),
        list(org.credit_types.values_list("pk", "code", "name").order_by("pk")),
        list(Certificate.objects.for_org(org).values_list("pk", "status").order_by("pk")),
        list(CertificateTemplate.objects.filter(organization=org).values_list("pk", "is_default")),
        list(CertificateJob.objects.filter(organization=org).values_list("pk", "status")),
        list(ImportJob.objects.filter(organization=org).values_list("pk", "status")),
        list(Submission.objects.filter(organization=org).values_list("pk", "status", "round")),
        list(SubmissionComment.objects.filter(submission__organization=org).values_list("pk")),
        list(CourseApplication.objects.filter(provider=world.provider).values_list("title")),
        list(CribSheet.objects.filter(organization=org).values_list("pk", "removed_at")),
        list(org.application_questions.values_list("pk", "removed_at")),
        list(InstructionText.objects.filter(organization=org).values_list("area", "markdown")),
        AuditEvent.objects.filter(organization=world.provider).count(),
        list(Ceremony.objects.for_org(org).values_list("pk", "status").order_by("pk")),
        list(
            CourseTaker.objects.for_org(org)
            .values_list("pk", "percent", "certificate_id")
            .order_by("pk")
        ),
        list(org.webhook_endpoints.values_list("pk", "enabled", "secret").order_by("pk")),
        WebhookDelivery.objects.for_org(org).count(),
        list(org.connections.values_list("email", "member_id").order_by("pk")),
        list(Program.objects.for_org(org).values_list("pk", "status", "current_version")),
        list(Enrollment.objects.for_org(org).values_list("pk", "status", "expires_on")),
        list(Completion.objects.filter(enrollment__organization=org).values_list("pk", "status")),
        list(CreditReview.objects.filter(enrollment__organization=org).values_list("pk", "status")),
    )


# --- Route discovery ------------------------------------------------------------------------


def walk(patterns, prefix: str = "", namespace: str = ""):
    """(name, route) for every URL pattern, following includes."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else route), route


def org_page_names() -> set[str]:
    routes = walk(get_resolver().url_patterns)
    return {name for name, route in routes if ORG_SLUG in route} - PUBLIC_BY_DESIGN


def api_operation_keys() -> set[str]:
    schema = api_v1.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_organization_page_is_in_the_table():
    found = org_page_names()
    assert found, "the walk found no organization pages: is ORG_SLUG still the pattern?"
    missing = sorted(found - ORG_PAGES.keys())
    assert not missing, f"add these organization pages to ORG_PAGES: {missing}"
    stale = sorted(ORG_PAGES.keys() - found)
    assert not stale, f"these ORG_PAGES rows name routes that no longer exist: {stale}"


def test_every_api_operation_is_in_the_table():
    found = api_operation_keys()
    missing = sorted(found - API_OPERATIONS.keys())
    assert not missing, f"add these API operations to API_OPERATIONS: {missing}"
    stale = sorted(API_OPERATIONS.keys() - found)
    assert not stale, f"these API_OPERATIONS rows name operations that no longer exist: {stale}"


# --- The checks -----------------------------------------------------------------------------


@pytest.fixture
def a(db, django_capture_on_commit_callbacks):
    return make_world("org-a", django_capture_on_commit_callbacks)


@pytest.fixture
def b(db, django_capture_on_commit_callbacks):
    return make_world("org-b", django_capture_on_commit_callbacks)


def send(client, page: Page, url: str):
    return getattr(client, page.method)(url, page.data)


@pytest.mark.parametrize("name", sorted(ORG_PAGES))
def test_organization_page_is_404_for_an_admin_of_another_organization(client, a, b, name):
    page = ORG_PAGES[name]
    client.force_login(b.admin)
    before = state_of(a)

    # A's slug, A's objects.
    response = send(client, page, page.url(name, page.slug(a), a))
    assert response.status_code == 404, f"{name} with A's slug answered {response.status_code}"
    if page.kwargs and not page.shared:
        # B's own slug, A's objects.
        response = send(client, page, page.url(name, page.slug(b), a))
        assert response.status_code == 404, f"{name} with A's object: {response.status_code}"
    assert state_of(a) == before, f"{name} changed organization A"

    # Control: the same request about B's own things works, so the 404s above are isolation.
    response = send(client, page, page.url(name, page.slug(b), b))
    assert response.status_code != 404, f"{name} is a 404 even for B's own things"


@pytest.mark.parametrize("key", sorted(API_OPERATIONS))
def test_api_operation_does_not_reach_another_organization(client, a, b, key):
    op = API_OPERATIONS[key]
    method, path = key.split(" ", 1)
    headers = {"Authorization": f"Bearer {b.provider_key if op.provider else b.full_key}"}

    def call(world):
        url = op.url(path, world)
        if method == "GET":
            return client.get(url, headers=headers)
        if op.multipart:
            return client.post(url, op.multipart(world), headers=headers)
        body = op.body(world) if op.body else {}
        return client.generic(
            method, url, json.dumps(body), content_type="application/json", headers=headers
        )

    before = state_of(a)
    response = call(a)
    if op.own_only:
        assert response.status_code == 201, f"{key} for B itself: {response.content}"
        assert state_of(a) == before, f"{key} changed organization A"
        return
    if op.hidden:
        assert response.status_code == 200
        assert str(op.hidden(a)) not in response.content.decode(), f"{key} shows A's object"
        assert str(op.hidden(b)) in call(b).content.decode(), f"{key} hides B's own object"
    else:
        assert response.status_code == op.refused, f"{key} on A's object: {response.content}"
        assert response.json()["error"]["code"] in {"not_found", "invalid"}
        assert state_of(a) == before, f"{key} changed organization A"
        control = call(b)
        assert control.status_code < 300, f"{key} fails for B's own object: {control.content}"
    assert state_of(a) == before, f"{key} changed organization A"


# --- Partner to partner ---------------------------------------------------------------------

RECOGNITION_OBJECT_PAGES = sorted(
    n for n, p in ORG_PAGES.items() if n.startswith("recognition:") and p.kwargs
)


@pytest.mark.parametrize("name", RECOGNITION_OBJECT_PAGES)
def test_recognition_page_is_404_for_another_partner_of_the_same_issuer(client, a, name):
    """Two partners of one issuer: the other partner's admin, under their own slug, cannot
    reach the first partner's cohorts, ceremonies or course-takers."""
    page = ORG_PAGES[name]
    client.force_login(a.other_partner_admin)
    before = state_of(a)
    response = send(client, page, page.url(name, a.other_partner.slug, a))
    assert response.status_code == 404, f"{name}: {response.status_code}"
    assert state_of(a) == before, f"{name} changed the first partner's records"
    # Control: the first partner's own admin reaches them (not a 404).
    client.force_login(a.partner_admin)
    if name not in {"recognition:pins_mailed"}:  # the issuer's desk only
        response = send(client, page, page.url(name, a.partner.slug, a))
        assert response.status_code != 404, f"{name} is a 404 for the partner itself"
