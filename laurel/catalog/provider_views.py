"""A course provider's pages: its applications, submissions, rosters and instructions."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.forms import add_service_errors
from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog import selectors, services
from laurel.catalog.forms import (
    ApplicationForm,
    AttachmentForm,
    CommentForm,
    ProviderForm,
    answer_field,
)
from laurel.catalog.models import (
    Attachment,
    CourseApplication,
    InstructionText,
    Submission,
)
from laurel.imports.forms import RosterForm
from laurel.imports.services import import_create
from laurel.web.tenancy import ANY_MEMBER, org_required


def provider_required(view):
    """An organization page that exists only for course providers."""

    @org_required(*ANY_MEMBER)
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.org.kind != Organization.Kind.PROVIDER:
            raise Http404("Not a course provider")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def provider_new(request):
    form = ProviderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(
                actor=Actor.from_request(request), user=request.user, **form.cleaned_data
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{provider.name} is ready: write your first application.")
            return redirect("catalog:provider_home", provider.slug)
    return render(request, "catalog/provider_new.html", {"form": form})


@provider_required
def provider_home(request):
    provider = request.org
    applications = CourseApplication.objects.for_provider(provider).prefetch_related(
        Prefetch("submissions", queryset=Submission.objects.select_related("organization"))
    )
    submissions = (
        Submission.objects.for_provider(provider)
        .select_related("organization", "course")
        .order_by("-last_submitted_at")
    )
    return render(
        request,
        "catalog/provider_home.html",
        {
            "applications": applications,
            "submissions": submissions,
            "organizations": selectors.accrediting_organizations(),
            "sheets": selectors.crib_sheets_for_provider(),
            "instructions": selectors.instructions(area=InstructionText.Area.PROVIDER),
        },
    )


def _application(request, pk: int) -> CourseApplication:
    return get_object_or_404(CourseApplication.objects.for_provider(request.org), pk=pk)


@provider_required
def application_new(request):
    return _application_form(request, None)


@provider_required
def application_edit(request, pk: int):
    return _application_form(request, _application(request, pk))


def _application_form(request, app):
    initial = ApplicationForm.initial_from(app) if app else None
    form = ApplicationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            app = services.application_save(
                actor=Actor.from_request(request),
                provider=request.org,
                application=app,
                **form.cleaned_data,
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Application saved.")
            return redirect("catalog:application_edit", request.org.slug, app.pk)
    attachments = app.attachments.filter(detached_at__isnull=True) if app else []
    return render(
        request,
        "catalog/application_form.html",
        {
            "form": form,
            "application": app,
            "attachments": attachments,
            "attachment_form": AttachmentForm(),
            "missing": services.application_problems(app) if app else {},
        },
    )


@provider_required
@require_POST
def application_attachment(request, pk: int):
    app = _application(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(
                actor=Actor.from_request(request), application=app, upload=form.cleaned_data["file"]
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Attachment added.")
    else:
        messages.error(request, "Choose a PDF file.")
    return redirect("catalog:application_edit", request.org.slug, app.pk)


@provider_required
def attachment_download(request, pk: int):
    attachment = get_object_or_404(Attachment, provider=request.org, pk=pk)
    return _pdf(attachment.file, attachment.file_name)


def _pdf(file, name: str) -> FileResponse:
    return FileResponse(
        file.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
    )


@provider_required
def application_submit(request, pk: int):
    app = _application(request, pk)
    organizations = list(
        selectors.accrediting_organizations().prefetch_related("application_questions")
    )
    groups = [
        (org, [(q, answer_field(q)) for q in org.application_questions.all() if not q.removed_at])
        for org in organizations
    ]
    error, chosen = None, []
    if request.method == "POST":
        chosen = [o for o in organizations if str(o.pk) in request.POST.getlist("organizations")]
        answers = {
            org.pk: {
                str(q.pk): request.FILES.get(f"q_{q.pk}") or request.POST.get(f"q_{q.pk}", "")
                for q, _ in questions
            }
            for org, questions in groups
        }
        try:
            subs = services.application_submit(
                actor=Actor.from_request(request),
                application=app,
                organizations=chosen,
                answers=answers,
            )
        except (ServiceError, ValidationError) as exc:
            error = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)]))
        else:
            names = ", ".join(s.organization.name for s in subs)
            messages.success(request, f"Submitted to {names}.")
            return redirect("catalog:provider_home", request.org.slug)
    return render(
        request,
        "catalog/application_submit.html",
        {
            "application": app,
            "groups": groups,
            "chosen": {o.pk for o in chosen},
            "error": error,
            "missing": services.application_problems(app),
        },
    )


def _submission(request, pk: int) -> Submission:
    return get_object_or_404(
        Submission.objects.for_provider(request.org).select_related("organization", "course"),
        pk=pk,
    )


@provider_required
def provider_submission(request, pk: int):
    sub = _submission(request, pk)
    form = CommentForm(request.POST or None)
    form.fields.pop("internal")
    if request.method == "POST" and form.is_valid():
        services.submission_comment(
            actor=Actor.from_request(request),
            submission=sub,
            body=form.cleaned_data["body"],
            internal=False,
            from_provider=True,
        )
        messages.success(request, "Comment sent.")
        return redirect("catalog:provider_submission", request.org.slug, sub.pk)
    return render(
        request,
        "catalog/provider_submission.html",
        {
            "submission": sub,
            "rounds": sub.rounds.all(),
            # A provider reads only what the organization sent it, never internal notes.
            "comments": sub.comments.filter(internal=False),
            "form": form,
        },
    )


@provider_required
@require_POST
def provider_resubmit(request, pk: int):
    sub = _submission(request, pk)
    try:
        services.submission_resubmit(actor=Actor.from_request(request), submission=sub)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Sent again to {sub.organization.name}.")
    return redirect("catalog:provider_submission", request.org.slug, sub.pk)


@provider_required
@require_POST
def provider_retry(request, pk: int):
    """A denial is final: trying again opens a new submission linked to the denied one."""
    sub = _submission(request, pk)
    if sub.application is None:
        raise Http404
    try:
        (new,) = services.application_submit(
            actor=Actor.from_request(request),
            application=sub.application,
            organizations=[sub.organization],
            answers={sub.organization.pk: _previous_answers(sub)},
            previous=sub,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:provider_submission", request.org.slug, sub.pk)
    messages.success(request, "A new submission is on its way; reviewers see the denied one.")
    return redirect("catalog:provider_submission", request.org.slug, new.pk)


def _previous_answers(sub: Submission) -> dict:
    answers = sub.current_round().answers
    return {qid: a.get("answer", "") for qid, a in answers.items() if a.get("kind") != "file"}


@provider_required
@require_POST
def provider_approval(request):
    chosen = request.POST.get("organization", "")
    org = (
        selectors.accrediting_organizations().filter(pk=chosen).first()
        if chosen.isdigit()
        else None
    )
    if org is None:
        messages.error(request, "Choose an organization.")
        return redirect("catalog:provider_home", request.org.slug)
    try:
        services.provider_approval_request(
            actor=Actor.from_request(request), provider=request.org, organization=org
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Asked {org.name} to approve {request.org.name}.")
    return redirect("catalog:provider_home", request.org.slug)


@provider_required
def provider_roster(request):
    """Send an attendance roster for one of the provider's approved courses."""
    courses = selectors.approved_courses(request.org)
    form = RosterForm(request.POST or None, request.FILES or None, courses=courses)
    if request.method == "POST" and form.is_valid():
        course = form.cleaned_data["course"]
        upload = form.cleaned_data["file"]
        try:
            job, earlier = import_create(
                actor=Actor.from_request(request),
                organization=course.organization,
                kind="credits",
                upload=upload,
                file_name=upload.name,
                submitted_by_provider=request.org,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if earlier:
                messages.info(request, "This file was sent already; nothing new was sent.")
            else:
                messages.success(request, f"Roster sent to {course.organization.name} for review.")
            return redirect("catalog:provider_home", request.org.slug)
    rosters = selectors.rosters_sent(request.org)
    return render(request, "catalog/provider_roster.html", {"form": form, "rosters": rosters})


@provider_required
def provider_crib_sheet(request, pk: int):
    sheet = get_object_or_404(selectors.crib_sheets_for_provider(), pk=pk)
    return _pdf(sheet.file, f"{sheet.title}.pdf")
