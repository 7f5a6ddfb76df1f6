"""Program pages for staff (by program, by enrollee, approvals, purge) and for holders."""

from __future__ import annotations

from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.models import Connection, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog.models import Course
from laurel.credits.models import CreditComponent
from laurel.events.models import Event
from laurel.exports.services import export_respond
from laurel.lib.csvfile import iter_csv
from laurel.programs import selectors, services
from laurel.programs.forms import (
    CompletionForm,
    DatesForm,
    EnrolleeFilterForm,
    EnrollForm,
    ProgramForm,
    ReasonForm,
    RequirementFormSet,
)
from laurel.programs.models import Completion, CreditReview, Enrollment, Program
from laurel.web.tenancy import ANY_MEMBER, org_required

MANAGERS = (Role.CERT_MANAGER,)  # admins always pass
ENROLLERS = (Role.CERT_MANAGER, Role.STAFF)


def _program(request, pk) -> Program:
    return get_object_or_404(
        Program.objects.for_org(request.org).select_related("current_version"), pk=pk
    )


def _enrollment(request, pk) -> Enrollment:
    return get_object_or_404(
        Enrollment.objects.for_org(request.org).select_related(
            "program", "version", "holder", "organization", "certificate"
        ),
        pk=pk,
    )


def _error(form, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- Programs ---------------------------------------------------------------------------------


@org_required(*ANY_MEMBER)
def program_list(request):
    programs = Program.objects.for_org(request.org).select_related("current_version")
    return render(request, "programs/program_list.html", {"programs": programs})


def _definition(request, form, formset) -> services.Definition | None:
    if not (form.is_valid() and formset.is_valid()):
        return None
    specs = []
    for data in formset.cleaned_data:
        if not data or not data.get("title"):
            continue
        codes = [c.strip() for c in (data["course_ids"] or "").split(",") if c.strip()]
        courses = dict(
            Course.objects.for_org(request.org)
            .filter(course_id__in=codes)
            .values_list("course_id", "pk")
        )
        missing = [c for c in codes if c not in courses]
        if missing:
            form.add_error(None, f"No course {', '.join(missing)} in this organization.")
            return None
        numbers = [c.strip().lstrip("#") for c in (data["event_ids"] or "").split(",")]
        numbers = [n for n in numbers if n]
        wanted = [int(n) for n in numbers if n.isdigit()]
        events = set(
            Event.objects.for_org(request.org).filter(pk__in=wanted).values_list("pk", flat=True)
        )
        missing = [n for n in numbers if not n.isdigit() or int(n) not in events]
        if missing:
            form.add_error(None, f"No event {', '.join(missing)} in this organization.")
            return None
        specs.append(
            services.RequirementSpec(
                kind=data["kind"],
                title=data["title"],
                course_ids=tuple(courses.values()),
                event_ids=tuple(dict.fromkeys(wanted)),
                credit_type_code=data["credit_type_code"] or "",
                hours=data["hours"],
                needs_grade=data["needs_grade"],
                min_grade=data["min_grade"],
                needs_approval=data["needs_approval"],
                needs_attachment=data["needs_attachment"],
            )
        )
    d = form.cleaned_data
    return services.Definition(
        name=d["name"],
        description=d["description"],
        window_months=d["window_months"],
        window_fixed_date=d["window_fixed_date"],
        grace_days=d["grace_days"] or 0,
        allow_self_enroll=d["allow_self_enroll"],
        allow_cancel=d["allow_cancel"],
        ordered=d["ordered"],
        maintenance=d["maintenance"],
        certificate_template=d["certificate_template"],
        issue_on_earn=d["issue_on_earn"],
        requirements=tuple(specs),
    )


@org_required(*MANAGERS)
def program_new(request):
    form = ProgramForm(
        request.POST or None, organization=request.org, initial={"issue_on_earn": True}
    )
    formset = RequirementFormSet(request.POST or None, prefix="req")
    if request.method == "POST":
        definition = _definition(request, form, formset)
        if definition is not None:
            try:
                program = services.program_create(
                    actor=Actor.from_request(request),
                    organization=request.org,
                    code=form.cleaned_data["code"],
                    definition=definition,
                )
            except ServiceError as exc:
                _error(form, exc)
            else:
                messages.success(request, f"Program {program.code} created as a Draft.")
                return redirect("programs:detail", request.org.slug, program.pk)
    return render(request, "programs/program_form.html", {"form": form, "formset": formset})


@org_required(*MANAGERS)
def program_edit(request, pk):
    program = _program(request, pk)
    v = program.current_version
    initial = {
        "code": program.code,
        **{
            f: getattr(v, f)
            for f in (
                "name",
                "description",
                "window_months",
                "window_fixed_date",
                "grace_days",
                "allow_self_enroll",
                "allow_cancel",
                "ordered",
                "maintenance",
                "certificate_template",
                "issue_on_earn",
            )
        },
    }
    req_initial = [
        {
            "kind": r.kind,
            "title": r.title,
            "course_ids": ", ".join(o.course.course_id for o in r.offerings.all() if o.course_id),
            "event_ids": ", ".join(str(o.event_id) for o in r.offerings.all() if o.event_id),
            "credit_type_code": r.credit_type_code,
            "hours": r.hours,
            "needs_grade": r.needs_grade,
            "min_grade": r.min_grade,
            "needs_approval": r.needs_approval,
            "needs_attachment": r.needs_attachment,
        }
        for r in v.requirements.prefetch_related("offerings__course")
    ]
    form = ProgramForm(request.POST or None, organization=request.org, initial=initial)
    form.fields["code"].disabled = True
    formset = RequirementFormSet(request.POST or None, prefix="req", initial=req_initial)
    if request.method == "POST":
        definition = _definition(request, form, formset)
        if definition is not None:
            try:
                version = services.program_update(
                    actor=Actor.from_request(request), program=program, definition=definition
                )
            except ServiceError as exc:
                _error(form, exc)
            else:
                messages.success(request, f"Saved as version {version.number}.")
                return redirect("programs:detail", request.org.slug, program.pk)
    return render(
        request,
        "programs/program_form.html",
        {"form": form, "formset": formset, "program": program},
    )


@org_required(*MANAGERS)
@require_POST
def program_status(request, pk):
    program = _program(request, pk)
    try:
        services.program_set_status(
            actor=Actor.from_request(request), program=program, status=request.POST.get("status")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("programs:detail", request.org.slug, program.pk)


def _enrollees(request, program):
    form = EnrolleeFilterForm(request.GET or None)
    return form, selectors.enrollee_filter(program, request.GET)


@org_required(*ANY_MEMBER)
def program_detail(request, pk):
    program = _program(request, pk)
    form, rows = _enrollees(request, program)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "trackers": selectors.trackers(program),
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "versions": program.versions.all(),
            "outdated": Enrollment.objects.filter(program=program, status__in=Enrollment.OPEN)
            .exclude(version=program.current_version)
            .count(),
        },
    )


@org_required(*ANY_MEMBER)
def program_export(request, pk):
    program = _program(request, pk)
    params = {k: request.GET.get(k) for k in ("q", "status") if request.GET.get(k)}
    return export_respond(request, kind="enrollees", params={**params, "program": program.pk})


@org_required(*ENROLLERS)
def program_enroll(request, pk):
    program = _program(request, pk)
    search = request.GET.get("q", "").strip()
    connected = Connection.objects.filter(
        organization=request.org, status=Connection.Status.CONNECTED
    )
    if search:
        connected = connected.filter(email__icontains=search)
    people = list(connected.order_by("email").values_list("email", flat=True)[:200])
    form = EnrollForm(
        request.POST or None, people=people, initial={"enrolled_on": request.org.today()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            done = services.enrollments_create(
                actor=Actor.from_request(request),
                program=program,
                people=[(e, "") for e in form.addresses()],
                enrolled_on=form.cleaned_data["enrolled_on"],
            )
        except ServiceError as exc:
            _error(form, exc)
        else:
            messages.success(request, f"Enrolled {len(done)}.")
            return redirect("programs:detail", request.org.slug, program.pk)
    return render(
        request,
        "programs/enroll.html",
        {"program": program, "form": form, "search": search},
    )


@org_required(*MANAGERS)
def program_move_version(request, pk):
    """Preview, per enrollee on an older version, how statuses and the deadline change; then
    move them all in one action."""
    program = _program(request, pk)
    olds = list(
        Enrollment.objects.filter(program=program, status__in=Enrollment.OPEN)
        .exclude(version=program.current_version)
        .select_related("version")[:500]
    )
    if request.method == "POST":
        moved = services.enrollments_move_version(
            actor=Actor.from_request(request), program=program, enrollments=olds
        )
        messages.success(request, f"Moved {moved} to version {program.current_version.number}.")
        return redirect("programs:detail", request.org.slug, program.pk)
    preview = services.enrollments_move_preview(program=program, enrollments=olds)
    return render(request, "programs/move_version.html", {"program": program, "preview": preview})


# --- Enrollments ------------------------------------------------------------------------------


@org_required(*ANY_MEMBER)
def enrollment_detail(request, pk):
    enrollment = _enrollment(request, pk)
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    actionable = [
        r.requirement
        for r in progress.rows
        if not r.locked and r.requirement.kind != "credit_hours"
    ]
    can_manage = request.membership.has_role(*MANAGERS)
    completion_form = CompletionForm(
        requirements=actionable, initial={"completed_on": request.org.today()}
    )
    dates_form = DatesForm(
        initial={
            "enrolled_on": enrollment.enrolled_on,
            "grace_starts_on": enrollment.grace_starts_on,
            "expires_on": enrollment.expires_on,
        }
    )
    return render(
        request,
        "programs/enrollment_detail.html",
        {
            "enrollment": enrollment,
            "progress": progress,
            "completion_form": completion_form,
            "dates_form": dates_form,
            "can_manage": can_manage,
            "history": Completion.objects.filter(enrollment=enrollment).select_related(
                "requirement"
            ),
            "reviews": list(
                _reviews(request)
                .filter(enrollment=enrollment)
                .select_related("decided_by")
                .prefetch_related(REVIEW_COMPONENTS)
            ),
        },
    )


@org_required(*ENROLLERS)
@require_POST
def completion_new(request, pk):
    enrollment = _enrollment(request, pk)
    progress = selectors.progress_for([enrollment])[enrollment.pk]
    requirements = [r.requirement for r in progress.rows]
    form = CompletionForm(request.POST, request.FILES, requirements=requirements)
    if form.is_valid():
        requirement = next(r for r in requirements if r.pk == form.cleaned_data["requirement"])
        try:
            services.completion_record(
                actor=Actor.from_request(request),
                enrollment=enrollment,
                requirement=requirement,
                completed_on=form.cleaned_data["completed_on"],
                notes=form.cleaned_data["notes"],
                grade=form.cleaned_data["grade"],
                attachment=form.cleaned_data["attachment"],
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Recorded “{requirement.title}”.")
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("programs:enrollment", request.org.slug, enrollment.pk)


@org_required(*MANAGERS)
@require_POST
def enrollment_dates(request, pk):
    enrollment = _enrollment(request, pk)
    form = DatesForm(request.POST)
    if form.is_valid():
        try:
            services.enrollment_dates_set(
                actor=Actor.from_request(request), enrollment=enrollment, **form.cleaned_data
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Dates saved.")
    else:
        messages.error(request, "Enter valid dates.")
    return redirect("programs:enrollment", request.org.slug, enrollment.pk)


@org_required(*MANAGERS)
@require_POST
def enrollment_cancel(request, pk):
    enrollment = _enrollment(request, pk)
    try:
        services.enrollment_cancel(actor=Actor.from_request(request), enrollment=enrollment)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Enrollment cancelled.")
    return redirect("programs:enrollment", request.org.slug, enrollment.pk)


def _attachment_response(completion: Completion):
    if not completion.attachment:
        raise Http404("No attachment")
    return FileResponse(
        completion.attachment.open("rb"),
        as_attachment=True,
        filename=completion.attachment.name.rsplit("/", 1)[-1],
    )


@org_required(*ANY_MEMBER)
def completion_attachment(request, pk):
    completion = get_object_or_404(
        Completion.objects.filter(enrollment__organization=request.org), pk=pk
    )
    return _attachment_response(completion)


@org_required(*ANY_MEMBER)
def by_enrollee(request):
    """One person's programs here (enrolled and eligible), each with its requirement list."""
    email = request.GET.get("email", "").strip().lower()
    enrollments = []
    eligible = []
    if email:
        enrollments = list(
            Enrollment.objects.for_org(request.org)
            .filter(email=email)
            .select_related("program", "version", "certificate")
            .order_by("program__code", "-cycle")
        )
        open_ids = {e.program_id for e in enrollments if e.is_open}
        eligible = list(
            Program.objects.for_org(request.org)
            .filter(status=Program.Status.ACTIVE)
            .exclude(pk__in=open_ids)
            .select_related("current_version")
        )
    progress = selectors.progress_for(enrollments)
    return render(
        request,
        "programs/by_enrollee.html",
        {
            "email": email,
            "items": [progress[e.pk] for e in enrollments],
            "eligible": eligible,
        },
    )


@org_required(*MANAGERS)
def approvals(request):
    queue = (
        Completion.objects.filter(
            enrollment__organization=request.org, status=Completion.Status.AWAITING_APPROVAL
        )
        .select_related("enrollment__program", "enrollment__version", "requirement")
        .order_by("created_at")
    )
    page = Paginator(queue, 50).get_page(request.GET.get("page"))
    reviews = list(
        _reviews(request)
        .filter(status=CreditReview.Status.AWAITING_APPROVAL)
        .prefetch_related(REVIEW_COMPONENTS)
        .order_by("created_at", "pk")[:100]
    )
    return render(
        request,
        "programs/approvals.html",
        {"page": page, "form": ReasonForm(), "reviews": reviews},
    )


REVIEW_COMPONENTS = Prefetch(
    "credit__components", queryset=CreditComponent.objects.select_related("credit_type")
)


def _reviews(request):
    return CreditReview.objects.filter(enrollment__organization=request.org).select_related(
        "enrollment__organization", "enrollment__version", "credit__self_report"
    )


@org_required(*MANAGERS)
@require_POST
def review_approve(request, pk):
    review = get_object_or_404(_reviews(request), pk=pk)
    try:
        services.credit_review_approve(actor=Actor.from_request(request), review=review)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Approved “{review.credit.title}” for {review.enrollment.email}."
        )
    return redirect("programs:approvals", request.org.slug)


@org_required(*MANAGERS)
@require_POST
def review_return(request, pk):
    review = get_object_or_404(_reviews(request), pk=pk)
    try:
        services.credit_review_return(
            actor=Actor.from_request(request), review=review, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Returned “{review.credit.title}”.")
    return redirect("programs:approvals", request.org.slug)


@org_required(*ANY_MEMBER)
def review_certificate(request, pk):
    """The certificate a holder attached to a self-report one of our enrollments reviews."""
    from laurel.credits.views import certificate_file_response

    review = get_object_or_404(_reviews(request), pk=pk)
    return certificate_file_response(review.credit.self_report)


def _queued(request, pk) -> Completion:
    return get_object_or_404(
        Completion.objects.filter(enrollment__organization=request.org).select_related(
            "enrollment__organization", "enrollment__version", "requirement"
        ),
        pk=pk,
    )


@org_required(*MANAGERS)
@require_POST
def approval_approve(request, pk):
    completion = _queued(request, pk)
    try:
        services.completion_approve(actor=Actor.from_request(request), completion=completion)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Approved “{completion.requirement.title}”.")
    return redirect("programs:approvals", request.org.slug)


@org_required(*MANAGERS)
@require_POST
def approval_return(request, pk):
    completion = _queued(request, pk)
    try:
        services.completion_return(
            actor=Actor.from_request(request),
            completion=completion,
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Returned “{completion.requirement.title}”.")
    return redirect("programs:approvals", request.org.slug)


@org_required(*MANAGERS)
def program_purge(request, pk):
    program = _program(request, pk)
    q = request.GET.get("q", "").strip()
    inactive = Enrollment.objects.filter(program=program, status__in=Enrollment.INACTIVE)
    if q:
        inactive = inactive.filter(email__icontains=q)
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        chosen = list(Enrollment.objects.filter(program=program, pk__in=ids))
        if not chosen:
            messages.error(request, "Choose at least one enrollment.")
        else:
            try:
                n = services.enrollments_purge(
                    actor=Actor.from_request(request), program=program, enrollments=chosen
                )
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Purged {n} enrollment{'s' if n != 1 else ''}.")
        return redirect("programs:purge", request.org.slug, program.pk)
    page = Paginator(inactive.order_by("email"), 100).get_page(request.GET.get("page"))
    return render(request, "programs/purge.html", {"program": program, "page": page, "q": q})


def _transcript(request, enrollments, *, filename: str, title: str, issuer: str):
    """The transcript as a printable page, or ``?format=csv`` / ``?format=pdf``."""
    items = selectors.transcript(enrollments)
    wanted = request.GET.get("format")
    if wanted == "csv":
        rows = chain([selectors.TRANSCRIPT_HEADER], selectors.transcript_rows(items))
        response = StreamingHttpResponse(iter_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if wanted == "pdf":
        from django.http import HttpResponse
        from django.utils import timezone

        from laurel.lib import pdf

        data = pdf.render_transcript(
            org=issuer,
            title=title,
            subtitle=f"{len(items)} program enrollment{'s' if len(items) != 1 else ''}",
            generated=f"Generated {timezone.now():%Y-%m-%d %H:%M} UTC",
            header=selectors.TRANSCRIPT_PDF_HEADER,
            sections=selectors.transcript_sections(items),
        )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    return render(request, "programs/transcript.html", {"items": items, "title": title})


TRANSCRIPT_RELATED = selectors.TRANSCRIPT_RELATED


@org_required(*ANY_MEMBER)
def enrollee_transcript(request):
    email = request.GET.get("email", "").strip().lower()
    if request.GET.get("format") == "csv":
        return export_respond(request, kind="transcript", params={"email": email})
    enrollments = Enrollment.objects.for_org(request.org).filter(email=email)
    return _transcript(
        request,
        list(enrollments.select_related(*TRANSCRIPT_RELATED)),
        filename=f"transcript-{request.org.slug}",
        title=f"Transcript of {email}",
        issuer=request.org.name,
    )


# --- The holder's side ------------------------------------------------------------------------


@login_required
def my_programs(request):
    enrollments = list(
        Enrollment.objects.filter(holder=request.user)
        .select_related("program", "version", "organization", "certificate")
        .order_by("-created_at")
    )
    progress = selectors.progress_for(enrollments)
    return render(
        request,
        "programs/my_programs.html",
        {"items": [progress[e.pk] for e in enrollments]},
    )


@login_required
def program_public(request, pk):
    """An Active program's page: what it asks, and self-enrollment when allowed."""
    program = get_object_or_404(
        Program.objects.filter(status=Program.Status.ACTIVE).select_related(
            "current_version", "organization"
        ),
        pk=pk,
    )
    if request.method == "POST":
        try:
            services.enrollment_self(holder=request.user, program=program)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"You are enrolled in {program.current_version.name}.")
            return redirect("programs:my_programs")
    return render(
        request,
        "programs/program_public.html",
        {
            "program": program,
            "requirements": program.current_version.requirements.all(),
            "enrolled": Enrollment.objects.filter(
                program=program, holder=request.user, status__in=Enrollment.OPEN
            ).exists(),
        },
    )


@login_required
@require_POST
def my_enrollment_cancel(request, pk):
    enrollment = get_object_or_404(
        Enrollment.objects.filter(holder=request.user).select_related("version", "organization"),
        pk=pk,
    )
    try:
        services.enrollment_cancel(
            actor=Actor(user=request.user), enrollment=enrollment, by_holder=True
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Enrollment cancelled.")
    return redirect("programs:my_programs")


@login_required
def my_attachment(request, pk):
    completion = get_object_or_404(
        Completion.objects.filter(enrollment__holder=request.user), pk=pk
    )
    return _attachment_response(completion)


@login_required
def my_transcript(request):
    enrollments = Enrollment.objects.filter(holder=request.user)
    return _transcript(
        request,
        list(enrollments.select_related(*TRANSCRIPT_RELATED)),
        filename="my-program-transcript",
        title=f"Program transcript of {request.user.full_name or request.user.email}",
        issuer="Laurel",
    )
