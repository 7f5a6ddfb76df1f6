"""Imports pages: history, upload, column mapping, preview, progress, report, undo."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.exports.services import export_respond
from laurel.imports import selectors, services
from laurel.imports.forms import MappingForm, UploadForm
from laurel.imports.models import ImportJob, ImportRow
from laurel.lib.csvfile import iter_csv
from laurel.web.confirm import confirm_page
from laurel.web.tenancy import org_required

IMPORT_ROLES = (Role.STAFF, Role.CERT_MANAGER)  # admins pass every role check
# What each role may import (seed 001: certifications administrators import certificates;
# staff record credits and progress). Admins import every kind.
KINDS_BY_ROLE = {
    Role.STAFF: (ImportJob.Kind.CREDITS, ImportJob.Kind.PROGRESS, ImportJob.Kind.ATTENDEES),
    Role.CERT_MANAGER: (ImportJob.Kind.CERTIFICATES,),
}


def kinds_for(membership) -> tuple[str, ...]:
    return tuple(KINDS_BY_ROLE.get(membership.role, ImportJob.Kind.values))


def _job(request, pk: int) -> ImportJob:
    """The organization's import, if the member's role may import its kind (else 404)."""
    job = selectors.job_for_org(request.org, pk)
    if job.kind not in kinds_for(request.membership):
        raise Http404("No such import")
    return job


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
    jobs = ImportJob.objects.for_org(request.org).filter(kind__in=kinds_for(request.membership))
    jobs = jobs.select_related("uploaded_by", "submitted_by_provider")
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "imports/import_list.html", {"page": page})


@org_required(*IMPORT_ROLES)
def import_upload(request):
    kinds = kinds_for(request.membership)
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        kinds=kinds,
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
    context = {"form": form, "max_mb": max_mb, "kinds": kinds}
    return render(request, "imports/import_upload.html", context)


@org_required(*IMPORT_ROLES)
def import_template(request, fmt: str):
    kind = request.GET.get("kind", ImportJob.Kind.CREDITS)
    if fmt not in ("csv", "xlsx") or kind not in kinds_for(request.membership):
        raise Http404
    data, mime = selectors.template_file(kind, fmt)
    response = HttpResponse(data, content_type=mime)
    response["Content-Disposition"] = f'attachment; filename="laurel-{kind}-template.{fmt}"'
    return response


def _groups(job):
    return [(key, label, job.count(key)) for key, label in GROUPS]


@org_required(*IMPORT_ROLES)
def import_detail(request, pk: int):
    job = _job(request, pk)
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
    job = _job(request, pk)
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
    job = _job(request, pk)
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
    job = _job(request, pk)
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
    job = _job(request, pk)
    try:
        services.import_commit_start(actor=Actor.from_request(request), job=job)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("imports:detail", request.org.slug, job.pk)


@org_required(*IMPORT_ROLES)
@require_POST
def import_return(request, pk: int):
    """Send a provider's roster back uncommitted, with a reason."""
    job = _job(request, pk)
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
@require_http_methods(["GET", "POST"])
def import_undo(request, pk: int):
    """GET: the confirmation (what the undo revokes); POST: start undoing."""
    job = _job(request, pk)
    detail = reverse("imports:detail", args=[request.org.slug, job.pk])
    if request.method == "GET":
        if not job.can_undo():
            raise Http404("This import cannot be undone")
        return confirm_page(request, **_undo_confirmation(job, detail))
    try:
        services.import_undo_start(
            actor=Actor.from_request(request), job=job, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Undoing the import: this page shows when it is done.")
    return redirect(detail)


def _undo_confirmation(job: ImportJob, detail: str) -> dict:
    deadline = timezone.localtime(job.undo_deadline()).strftime("%Y-%m-%d %H:%M")
    if job.kind == ImportJob.Kind.CERTIFICATES:
        lines = [
            f"Every certificate this import issued that is still valid ({job.count('issued')} "
            "issued) is revoked with the reason “Import undone”; their verification pages "
            "say so.",
        ]
        reason = None
    else:
        created = job.count("offered") + job.count("held")
        lines = [
            f"Every credit it created that has not been accepted yet is revoked (it created "
            f"{created}); accepted credits stay.",
        ]
        if job.count("certificates"):
            lines.append("The certificates issued with the revoked credits are revoked too.")
        if not job.suppress_notifications:
            lines.append("Each recipient is e-mailed once, with your reason.")
        reason = "optional"
    lines.append(f"Possible until {deadline}; it cannot itself be undone.")
    return {
        "title": f"Undo the import of {job.file_name}?",
        "consequences": lines,
        "button": "Undo the import",
        "cancel_url": detail,
        "reason": reason,
        "reason_label": "Reason (recipients see it)",
    }


@org_required(*IMPORT_ROLES)
def import_report(request, pk: int):
    job = _job(request, pk)
    if request.GET.get("format") == "csv":
        return export_respond(request, kind="import_report", params={"job": job.pk})
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
    job = _job(request, pk)
    response = StreamingHttpResponse(iter_csv(services.problem_rows(job)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-problems.csv"'
    return response
