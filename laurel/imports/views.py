"""Imports pages: history, upload, column mapping, preview, progress, report, undo."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.imports import selectors, services
from laurel.imports.forms import MappingForm, UploadForm
from laurel.imports.models import ImportJob, ImportRow
from laurel.lib.csvfile import iter_csv
from laurel.web.tenancy import org_required

IMPORT_ROLES = (Role.STAFF,)  # admins pass every role check
PER_PAGE = 50
GROUPS = [
    (ImportRow.Category.DELIVERABLE, "Will be delivered and notified"),
    (ImportRow.Category.INVITE, "E-mails not yet connected: delivered, and invited"),
    (ImportRow.Category.UNKNOWN_COURSE, "Course IDs not recognised"),
    (ImportRow.Category.INVALID, "Invalid rows"),
    (ImportRow.Category.DUPLICATE_IN_FILE, "Repeated in this file"),
    (ImportRow.Category.DUPLICATE_EXISTING, "Already in the ledger"),
    (ImportRow.Category.UNDELIVERABLE, "Known undeliverable addresses (they bounced)"),
]


@org_required(*IMPORT_ROLES)
def import_list(request):
    jobs = ImportJob.objects.for_org(request.org).select_related(
        "uploaded_by", "submitted_by_provider"
    )
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "imports/import_list.html", {"page": page})


@org_required(*IMPORT_ROLES)
def import_upload(request):
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        organization=request.org,
        # An event's page links here with ?kind=attendees&event=ID.
        initial={k: request.GET[k] for k in ("kind", "event") if k in request.GET},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job, earlier = services.import_create(
                actor=Actor.from_request(request),
                organization=request.org,
                kind=form.cleaned_data["kind"],
                upload=upload,
                file_name=upload.name,
                verify_only=form.cleaned_data["verify_only"],
                suppress_notifications=form.cleaned_data["suppress_notifications"],
                options=form.kind_options(),
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if earlier:
                messages.info(
                    request,
                    f"This file was already uploaded on {job.created_at:%Y-%m-%d} "
                    f"(import {job.pk}); nothing new was imported. Here is that import.",
                )
            return redirect("imports:detail", request.org.slug, job.pk)
    max_mb = settings.LAUREL_IMPORT_MAX_BYTES // 1_000_000
    return render(request, "imports/import_upload.html", {"form": form, "max_mb": max_mb})


@org_required(*IMPORT_ROLES)
def import_template(request, fmt: str):
    kind = request.GET.get("kind", ImportJob.Kind.CREDITS)
    if fmt not in ("csv", "xlsx") or kind not in ImportJob.Kind.values:
        raise Http404
    data, mime = selectors.template_file(kind, fmt)
    response = HttpResponse(data, content_type=mime)
    response["Content-Disposition"] = f'attachment; filename="laurel-{kind}-template.{fmt}"'
    return response


def _groups(job):
    return [(key, label, job.count(key)) for key, label in GROUPS]


@org_required(*IMPORT_ROLES)
def import_detail(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    if request.htmx and request.GET.get("partial") == "progress":
        response = render(request, "imports/import_detail.html#progress", {"job": job})
        if not job.is_running:
            response["HX-Refresh"] = "true"  # the phase ended: show the preview or the report
        return response
    context = {"job": job, "groups": _groups(job)}
    if job.status == ImportJob.Status.NEEDS_MAPPING:
        context["mapping_form"] = MappingForm(
            headings=job.headings, kind=job.kind, initial_mapping=job.options.get("mapping")
        )
    return render(request, "imports/import_detail.html", context)


@org_required(*IMPORT_ROLES)
def import_rows(request, pk: int):
    """One preview group, paginated and searchable (the htmx partial of the preview)."""
    job = selectors.job_for_org(request.org, pk)
    category = request.GET.get("category", "")
    if category not in ImportRow.Category.values:
        raise Http404
    q = request.GET.get("q", "")
    rows = selectors.rows_for(job, category=category, q=q)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "page": page,
        "category": category,
        "q": q,
        "checkable": category in ImportRow.COMMITTABLE and job.status == ImportJob.Status.VALIDATED,
    }
    return render(request, "imports/import_detail.html#rows", context)


@org_required(*IMPORT_ROLES)
@require_POST
def import_include(request, pk: int):
    """Check or uncheck one deliverable row (htmx) or several (form post)."""
    job = selectors.job_for_org(request.org, pk)
    try:
        numbers = [int(n) for n in request.POST.getlist("row")]
    except ValueError:
        numbers = []
    included = request.POST.get("included") == "1"
    try:
        services.import_rows_include(
            actor=Actor.from_request(request), job=job, numbers=numbers, included=included
        )
    except ServiceError as exc:
        if request.htmx:
            return HttpResponse(exc.message, status=409)
        messages.error(request, exc.message)
        return redirect("imports:detail", request.org.slug, job.pk)
    job.refresh_from_db()
    if request.htmx:
        row = ImportRow.objects.filter(job=job, number__in=numbers[:1]).first()
        if row is None:
            raise Http404
        toggle = render_to_string(
            "imports/import_detail.html#toggle", {"job": job, "row": row}, request=request
        )
        summary = render_to_string(
            "imports/import_detail.html#summary", {"job": job, "oob": True}, request=request
        )
        return HttpResponse(toggle + summary)
    return redirect("imports:detail", request.org.slug, job.pk)


@org_required(*IMPORT_ROLES)
@require_POST
def import_mapping(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    form = MappingForm(request.POST, headings=job.headings, kind=job.kind)
    if form.is_valid():
        try:
            services.import_mapping_set(
                actor=Actor.from_request(request),
                job=job,
                mapping=form.mapping(),
                save=form.cleaned_data["save"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("imports:detail", request.org.slug, job.pk)
    context = {"job": job, "groups": _groups(job), "mapping_form": form}
    return render(request, "imports/import_detail.html", context, status=400)


@org_required(*IMPORT_ROLES)
@require_POST
def import_commit(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    try:
        services.import_commit_start(actor=Actor.from_request(request), job=job)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("imports:detail", request.org.slug, job.pk)


@org_required(*IMPORT_ROLES)
@require_POST
def import_return(request, pk: int):
    """Send a provider's roster back uncommitted, with a reason."""
    job = selectors.job_for_org(request.org, pk)
    try:
        services.import_return(
            actor=Actor.from_request(request), job=job, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Returned to {job.submitted_by_provider.name}.")
    return redirect("imports:detail", request.org.slug, job.pk)


@org_required(Role.ADMIN)
@require_POST
def import_undo(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    try:
        services.import_undo_start(
            actor=Actor.from_request(request), job=job, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Undoing the import: this page shows when it is done.")
    return redirect("imports:detail", request.org.slug, job.pk)


@org_required(*IMPORT_ROLES)
def import_report(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            iter_csv(services.report_rows(job)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
        return response
    outcome = request.GET.get("outcome", "")
    if outcome and outcome not in ImportRow.Outcome.values:
        outcome = ""
    rows = selectors.rows_for(job, outcome=outcome, q=request.GET.get("q", ""))
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    template = "imports/import_report.html#rows" if request.htmx else "imports/import_report.html"
    context = {
        "job": job,
        "page": page,
        "outcome": outcome,
        "outcomes": [o for o in ImportRow.Outcome.choices if o[0]],
    }
    return render(request, template, context)


@org_required(*IMPORT_ROLES)
def import_problems(request, pk: int):
    job = selectors.job_for_org(request.org, pk)
    response = StreamingHttpResponse(iter_csv(services.problem_rows(job)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    return response
