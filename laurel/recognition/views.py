"""Recognition pages: the dashboard, the ceremony wizard, certificate generation, the pins
queue, cohorts and the Canvas connection. Every object is looked up through ``for_org``."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from laurel.accounts.models import Organization, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.certificates import rendering
from laurel.certificates.models import Certificate, CertificateJob
from laurel.lib import pdf as pdflib
from laurel.recognition import ics, selectors, services
from laurel.recognition.forms import CanvasForm, DetailsForm, PinsMailedForm, RangeForm
from laurel.recognition.models import Ceremony, Cohort, CourseTaker, SyncReport
from laurel.web.tenancy import ANY_MEMBER, org_required

WRITE_ROLES = (Role.STAFF,)  # admins pass every role check


def _ceremony(request, pk: int) -> Ceremony:
    return get_object_or_404(
        Ceremony.objects.for_org(request.org).select_related(
            "partnership__issuer", "partnership__partner", "last_job"
        ),
        pk=pk,
    )


def _issuer_only(request) -> None:
    if request.org.kind != Organization.Kind.ISSUING:
        raise Http404("Only the issuing organization has this page")


def _error(form, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _dashboard(request):
    return redirect("recognition:dashboard", org_slug=request.org.slug)


# --- dashboard and cohorts ----------------------------------------------------------------


@org_required(*ANY_MEMBER)
def dashboard(request):
    rows = list(selectors.dashboard(request.org))
    now = timezone.now()
    for row in rows:
        row.shown_status = row.display_status(now)
    ceremonies = [r for r in rows if r.kind == Ceremony.Kind.CEREMONY]
    requests_ = [r for r in rows if r.kind == Ceremony.Kind.REQUEST]
    return render(
        request,
        "recognition/dashboard.html",
        {
            "ceremonies": ceremonies,
            "requests": requests_,
            "is_issuer": request.org.kind == Organization.Kind.ISSUING,
            "can_write": request.membership.has_role(*WRITE_ROLES),
        },
    )


@org_required(*ANY_MEMBER)
def cohort_list(request):
    # No sync report here: its errors name cohorts of every partner of the issuer.
    return render(
        request, "recognition/cohorts.html", {"cohorts": selectors.cohort_list(request.org)}
    )


@org_required(*ANY_MEMBER)
def cohort_detail(request, pk: int):
    cohort = get_object_or_404(
        Cohort.objects.for_org(request.org).select_related("partnership__partner"), pk=pk
    )
    today = request.org.today()
    takers = list(cohort.takers.all())
    for t in takers:
        t.shown_state = CourseTaker.State(t.state(today, cohort.closes_on)).label
    return render(request, "recognition/cohort.html", {"cohort": cohort, "takers": takers})


# --- the wizard ---------------------------------------------------------------------------


def _step_one(request, ceremony: Ceremony | None, kind: str):
    source = request.POST if request.method == "POST" else request.GET
    initial = {}
    if ceremony is not None:
        initial = {
            "range_start": ceremony.range_start,
            "range_end": ceremony.range_end,
            "name": ceremony.name,
        }
    form = RangeForm(source if "range_start" in source else None, initial=initial)
    found, chosen = [], set()
    if ceremony is not None:
        chosen = set(ceremony.cohorts.values_list("pk", flat=True))
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        found = list(services.cohorts_in_range(request.org, d["range_start"], d["range_end"]))
        if not found:
            form.add_error(
                "range_start", "No cohorts end between these dates: choose a wider range."
            )
    elif ceremony is not None:
        found = list(
            services.cohorts_in_range(request.org, ceremony.range_start, ceremony.range_end)
        )
    if request.method == "POST" and form.is_valid() and found:
        action = request.POST.get("action", "draft")
        ids = [int(i) for i in request.POST.getlist("cohorts") if i.isdigit()]
        chosen = set(ids)
        try:
            ceremony = services.ceremony_select(
                actor=Actor.from_request(request),
                organization=request.org,
                kind=kind,
                range_start=form.cleaned_data["range_start"],
                range_end=form.cleaned_data["range_end"],
                cohort_ids=ids,
                ceremony=ceremony,
                name=form.cleaned_data["name"],
            )
            if action == "next" and kind == Ceremony.Kind.CEREMONY:
                return redirect("recognition:details", org_slug=request.org.slug, pk=ceremony.pk)
            if action == "create" and kind == Ceremony.Kind.REQUEST:
                services.ceremony_submit(
                    actor=Actor.from_request(request),
                    organization=request.org,
                    ceremony=ceremony,
                    membership=request.membership,
                )
                messages.success(request, f"{ceremony.name}: created. Generate its certificates.")
                return redirect("recognition:generate", org_slug=request.org.slug, pk=ceremony.pk)
            messages.success(request, f"{ceremony.name}: saved as a draft.")
            return _dashboard(request)
        except ServiceError as exc:
            _error(form, exc)
    return render(
        request,
        "recognition/wizard_range.html",
        {"form": form, "found": found, "chosen": chosen, "ceremony": ceremony, "kind": kind},
    )


@org_required(*WRITE_ROLES)
def ceremony_new(request):
    kind = Ceremony.Kind.REQUEST if request.GET.get("kind") == "request" else Ceremony.Kind.CEREMONY
    return _step_one(request, None, kind)


@org_required(*WRITE_ROLES)
def ceremony_edit(request, pk: int):
    ceremony = _ceremony(request, pk)
    if not ceremony.is_draft:
        messages.info(request, "Only a draft can be edited.")
        return _dashboard(request)
    return _step_one(request, ceremony, ceremony.kind)


@org_required(*WRITE_ROLES)
def ceremony_details(request, pk: int):
    ceremony = _ceremony(request, pk)
    if ceremony.is_request or not ceremony.is_draft:
        messages.info(request, "Only a draft ceremony has details to edit.")
        return _dashboard(request)
    can_override = services.can_override(request.org, request.membership, ceremony)
    partner_today = ceremony.partnership.partner.today()
    earliest = Ceremony.earliest_date(partner_today)
    initial = {
        "time_zone": ceremony.time_zone or ceremony.partnership.partner.time_zone,
        "format": ceremony.format or Ceremony.Format.IN_PERSON,
        "venue": ceremony.venue,
        "representative_requested": ceremony.representative_requested,
        "mailing_contact": ceremony.mailing_contact,
        "mailing_email": ceremony.mailing_email or request.user.email,
        "mailing_address": ceremony.mailing_address,
    }
    if ceremony.local_start:
        initial.update(day=ceremony.local_start.date(), at=ceremony.local_start.time())
    form = DetailsForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        can_override=can_override,
    )
    form.fields["day"].widget.attrs["min"] = (
        partner_today.isoformat() if can_override else earliest.isoformat()
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            services.ceremony_details_save(
                actor=actor,
                organization=request.org,
                ceremony=ceremony,
                details=services.CeremonyDetails(
                    day=d["day"],
                    at=d["at"],
                    time_zone=d["time_zone"],
                    format=d["format"],
                    venue=d["venue"],
                    representative_requested=d["representative_requested"],
                    mailing_contact=d["mailing_contact"],
                    mailing_email=d["mailing_email"],
                    mailing_address=d["mailing_address"],
                ),
            )
            if request.POST.get("action") == "submit":
                services.ceremony_submit(
                    actor=actor,
                    organization=request.org,
                    ceremony=ceremony,
                    membership=request.membership,
                    override_reason=d.get("override_reason", ""),
                )
                messages.success(
                    request,
                    f"{ceremony.name} is scheduled. We e-mailed you a confirmation; you can "
                    "generate its certificates now.",
                )
            else:
                messages.success(request, f"{ceremony.name}: saved as a draft.")
            return _dashboard(request)
        except ServiceError as exc:
            _error(form, exc)
    return render(
        request,
        "recognition/wizard_details.html",
        {"form": form, "ceremony": ceremony, "earliest": earliest, "can_override": can_override},
    )


@require_POST
@org_required(*WRITE_ROLES)
def ceremony_submit(request, pk: int):
    ceremony = _ceremony(request, pk)
    try:
        services.ceremony_submit(
            actor=Actor.from_request(request),
            organization=request.org,
            ceremony=ceremony,
            membership=request.membership,
        )
        messages.success(request, f"{ceremony.name}: submitted.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return _dashboard(request)


@require_POST
@org_required(*WRITE_ROLES)
def ceremony_cancel(request, pk: int):
    ceremony = _ceremony(request, pk)
    try:
        services.ceremony_cancel(
            actor=Actor.from_request(request), organization=request.org, ceremony=ceremony
        )
        messages.success(request, f"{ceremony.name}: cancelled.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return _dashboard(request)


@org_required(*ANY_MEMBER)
def ceremony_ics(request, pk: int):
    ceremony = _ceremony(request, pk)
    if ceremony.starts_at is None:
        raise Http404("This ceremony has no date yet")
    response = HttpResponse(ics.ceremony_ics(ceremony), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ceremony-{ceremony.pk}.ics"'
    return response


# --- certificates -------------------------------------------------------------------------


@org_required(*WRITE_ROLES)
def generate(request, pk: int):
    ceremony = _ceremony(request, pk)
    if not ceremony.can_generate:
        messages.info(request, "Submit it first: certificates are generated once it is scheduled.")
        return _dashboard(request)
    issuer_today = ceremony.partnership.issuer.today()
    data = selectors.generation_data(ceremony, issuer_today)
    if request.method == "POST":
        ids = {int(i) for i in request.POST.getlist("takers") if i.isdigit()}
        action = request.POST.get("action")
        chosen = [r for r in (*data.completers, *data.approaching) if r.pk in ids]
        if action == "csv":
            response = StreamingHttpResponse(
                selectors.selection_csv(chosen), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="course-takers-{ceremony.pk}.csv"'
            )
            return response
        try:
            job = services.ceremony_file_request(
                actor=Actor.from_request(request),
                organization=request.org,
                ceremony=ceremony,
                taker_ids=[r.pk for r in chosen],
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Building one PDF of {job.total} certificate{'s' if job.total != 1 else ''}: "
                "we e-mail you when it is ready.",
            )
            return redirect("recognition:last_file_status", org_slug=request.org.slug, pk=pk)
    return render(request, "recognition/generate.html", {"ceremony": ceremony, "data": data})


@require_POST
@org_required(*WRITE_ROLES)
def taker_pdf(request, pk: int, taker_pk: int):
    ceremony = _ceremony(request, pk)
    try:
        (cert,) = services.certificates_for_takers(
            actor=Actor.from_request(request),
            organization=request.org,
            ceremony=ceremony,
            taker_ids=[taker_pk],
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("recognition:generate", org_slug=request.org.slug, pk=pk)
    cert = Certificate.objects.select_related("template_version", "organization").get(pk=cert.pk)
    response = HttpResponse(rendering.certificate_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial_number}.pdf"'
    return response


@org_required(*WRITE_ROLES)
def last_file_status(request, pk: int):
    ceremony = _ceremony(request, pk)
    job = ceremony.last_job
    template = "recognition/file.html#progress" if request.htmx else "recognition/file.html"
    return render(request, template, {"ceremony": ceremony, "job": job})


@org_required(*WRITE_ROLES)
def last_file(request, pk: int):
    ceremony = _ceremony(request, pk)
    job = ceremony.last_job
    if job is None or job.status != CertificateJob.Status.DONE or not job.file:
        if job is not None and job.status == CertificateJob.Status.SUPERSEDED:
            messages.info(request, "A newer file replaced this one: generate it again.")
        elif job is None:
            messages.info(request, "No file yet: select course-takers and generate one.")
        return redirect("recognition:last_file_status", org_slug=request.org.slug, pk=pk)
    name = f"certificates-{ceremony.pk}.pdf"
    return FileResponse(default_storage.open(job.file, "rb"), as_attachment=True, filename=name)


@org_required(*ANY_MEMBER)
def program(request, pk: int):
    ceremony = _ceremony(request, pk)
    issuer = ceremony.partnership.issuer
    groups = selectors.program_groups(ceremony, issuer.today())
    when = ceremony.local_start
    subtitle = ceremony.partnership.partner.name
    if when:
        subtitle += f" · {when:%B %-d, %Y}"
    data = pdflib.render_program(
        org=issuer.name, title=ceremony.name, subtitle=subtitle, groups=groups
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="program-{ceremony.pk}.pdf"'
    return response


# --- the issuing organization's desk ------------------------------------------------------


@org_required(*WRITE_ROLES)
def pins(request):
    _issuer_only(request)
    queue = selectors.pins_queue(request.org)
    return render(request, "recognition/pins.html", {"queue": queue, "form": PinsMailedForm()})


@org_required(*WRITE_ROLES)
def pins_csv(request):
    _issuer_only(request)
    response = StreamingHttpResponse(
        selectors.pins_csv(selectors.pins_queue(request.org)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="pins-{date.today()}.csv"'
    return response


@require_POST
@org_required(*WRITE_ROLES)
def pins_mailed(request, pk: int):
    _issuer_only(request)
    ceremony = _ceremony(request, pk)
    form = PinsMailedForm(request.POST)
    form.is_valid()
    try:
        services.pins_mark_mailed(
            actor=Actor.from_request(request),
            organization=request.org,
            ceremony=ceremony,
            tracking_number=form.cleaned_data.get("tracking_number", ""),
        )
        messages.success(request, f"{ceremony.name}: pins marked mailed; the contact is told.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("recognition:pins", org_slug=request.org.slug)


@org_required(Role.ADMIN)
def canvas(request):
    _issuer_only(request)
    conn = getattr(request.org, "canvas_connection", None)
    form = CanvasForm(
        request.POST if request.method == "POST" and "base_url" in request.POST else None,
        initial={"base_url": conn.base_url if conn else ""},
    )
    if request.method == "POST":
        if request.POST.get("action") == "sync":
            from django.db import transaction

            from laurel.recognition.tasks import canvas_sync_now

            org_id = request.org.pk
            transaction.on_commit(lambda: canvas_sync_now.enqueue(org_id))
            messages.success(request, "Sync started: the report appears below when it ends.")
            return redirect("recognition:canvas", org_slug=request.org.slug)
        if form.is_valid():
            try:
                services.canvas_connect(
                    actor=Actor.from_request(request),
                    organization=request.org,
                    base_url=form.cleaned_data["base_url"],
                    token=form.cleaned_data["token"],
                )
                messages.success(request, "Canvas connection saved.")
                return redirect("recognition:canvas", org_slug=request.org.slug)
            except ServiceError as exc:
                _error(form, exc)
    reports = SyncReport.objects.filter(organization=request.org)[:10]
    return render(
        request, "recognition/canvas.html", {"form": form, "conn": conn, "reports": reports}
    )
