"""Organization ledger pages and the holder's locker."""

from __future__ import annotations

import csv
import io
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from laurel.accounts.forms import NameForm
from laurel.accounts.models import Connection, Role
from laurel.accounts.services import ServiceError, connection_set_member_id, profile_update
from laurel.audit.services import Actor
from laurel.catalog import selectors as catalog_selectors
from laurel.catalog import views as catalog_views
from laurel.catalog.models import Course
from laurel.certificates import selectors as cert_selectors
from laurel.certificates.models import Certificate, CertificateNameWait
from laurel.certificates.services import name_waits_for_user
from laurel.credits import selectors, services
from laurel.credits.forms import (
    CreditEntryForm,
    DashboardChoiceForm,
    DashboardForm,
    LedgerFilterForm,
    PairsForm,
    ReasonForm,
    SelfReportForm,
)
from laurel.credits.models import Credit, CreditComponent, Dashboard
from laurel.exports.services import export_respond
from laurel.imports import services as import_services
from laurel.lib import ratelimit
from laurel.lib.csvfile import write_csv
from laurel.lib.paging import BoundedPaginator
from laurel.notifications.models import Suppression
from laurel.web.confirm import confirm_page
from laurel.web.tenancy import ANY_MEMBER, ENTRY_ROLES, org_required

COMPONENTS = Prefetch("components", queryset=CreditComponent.objects.select_related("credit_type"))


def _page(request, queryset, per_page=50):
    """One page, counted only up to 1,000 rows ahead ("1,000+"): see laurel.lib.paging."""
    return BoundedPaginator(queryset, per_page).get_page(request.GET.get("page"))


# --- Organization side ----------------------------------------------------------------------


def _filtered_ledger(request):
    """The organization's credits narrowed by every filter that parses (a bad date is shown
    as an error next to its field; the other filters still apply)."""
    form = LedgerFilterForm(request.GET or None)
    credits = (
        Credit.objects.for_org(request.org)
        .with_delivery()
        .select_related("course")
        .prefetch_related(COMPONENTS)
    )
    if form.is_bound:
        form.is_valid()
        credits = selectors.ledger_filter(credits, organization=request.org, **form.cleaned_data)
    return form, credits


@org_required(*ANY_MEMBER)
def org_ledger(request):
    form, credits = _filtered_ledger(request)
    page = _page(request, credits)
    query = request.GET.copy()
    query.pop("page", None)
    template = "credits/org_ledger.html#rows" if request.htmx else "credits/org_ledger.html"
    return render(
        request, template, {"form": form, "page": page, "export_query": query.urlencode()}
    )


@org_required(*ANY_MEMBER)
def org_ledger_export(request):
    """The filtered ledger as CSV: streamed when small, a background file when big."""
    return export_respond(request, kind="ledger", params=request.GET)


@org_required(*ENTRY_ROLES)
def org_credit_new(request):
    form = CreditEntryForm(request.POST or None)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        course = (
            Course.objects.for_org(request.org)
            .filter(course_id__iexact=data["course_id"].strip())
            .first()
        )
        if course is None:
            form.add_error("course_id", "No course with that ID in this organization.")
        else:
            try:
                credit = services.credit_enter(
                    actor=Actor.from_request(request),
                    organization=request.org,
                    entry=services.CreditEntry(
                        course=course,
                        email=data["email"],
                        completion_date=data["completion_date"],
                        amount_earned=data["amount_earned"],
                        name=data["name"],
                        note=data["note"],
                    ),
                )
            except services.DuplicateCredit as exc:
                duplicate = exc.existing
                form.add_error(None, exc.message)
            except ServiceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    f"Credit for {credit.recipient_email} recorded "
                    f"({credit.get_status_display().lower()}).",
                )
                if "another" in request.POST:
                    return redirect("credits:org_credit_new", org_slug=request.org.slug)
                return redirect(
                    "credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk
                )
    form.fields["course_id"].widget.attrs.update(_course_picker(request))
    context = {
        "form": form,
        "duplicate": duplicate,
        "courses": catalog_views.course_choices(request.org),
        **_guidance_for_entry(request),
    }
    return render(request, "credits/org_credit_new.html", context)


def _course_picker(request) -> dict:
    """htmx refreshes the course list (a <datalist>) as the member types an ID or a title."""
    return {
        "hx-get": reverse("catalog:course_options", args=[request.org.slug]),
        "hx-trigger": "input changed delay:250ms",
        "hx-target": "#course-options",
        "hx-swap": "innerHTML",
    }


def _plain_csv(rows) -> bytes:
    # Read back by our own importer, not opened in a spreadsheet: written as typed.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@org_required(*ENTRY_ROLES)
def org_credit_bulk(request):
    """Course ID : e-mail pairs typed or pasted, entered as a small credits import: the same
    preview (unknown course IDs, invitations, duplicates …) and commit as any file."""
    form = PairsForm(request.POST or None, initial={"completion_date": request.org.today()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        default_day = data["completion_date"].isoformat()
        rows = [["Course ID", "Email", "Completion date"]]
        rows += [[course, email, day or default_day] for _, course, email, day in data["pairs"]]
        stamp = timezone.now().astimezone(request.org.tz).strftime("%Y-%m-%d %H:%M")
        try:
            job, earlier = import_services.import_create(
                actor=Actor.from_request(request),
                organization=request.org,
                kind="credits",
                upload=ContentFile(_plain_csv(rows)),
                file_name=f"Pairs entered {stamp}",
                suppress_notifications=data["suppress_notifications"],
                source="pairs",
            )
        except ServiceError as exc:
            form.add_error("pairs", exc.message)
        else:
            if earlier:
                messages.info(
                    request,
                    "These exact pairs were entered before; nothing new was recorded. "
                    "Here is that entry.",
                )
            return redirect("imports:detail", request.org.slug, job.pk)
    return render(
        request, "credits/org_credit_bulk.html", {"form": form, **_guidance_for_entry(request)}
    )


def _guidance_for_entry(request) -> dict:
    return {
        "instructions": catalog_selectors.instructions(area="entry", organization=request.org),
        "sheets": catalog_selectors.crib_sheets_for_member(request.membership),
    }


def _org_credit(request, pk) -> Credit:
    return get_object_or_404(
        Credit.objects.for_org(request.org)
        .with_delivery()
        .select_related("course", "holder")
        .prefetch_related(COMPONENTS),
        pk=pk,
    )


@org_required(*ANY_MEMBER)
def org_credit_detail(request, pk: int):
    credit = _org_credit(request, pk)
    connection = Connection.objects.filter(
        organization=request.org, email=credit.recipient_email
    ).first()
    certificate_waits_for_name = CertificateNameWait.objects.open().filter(credit=credit).exists()
    return render(
        request,
        "credits/org_credit_detail.html",
        {
            "connection": connection,
            "certificate_waits_for_name": certificate_waits_for_name,
            "credit": credit,
            "history": selectors.credit_history(credit),
            "suppression": Suppression.objects.filter(email=credit.recipient_email).first(),
            "reason_form": ReasonForm(),
            "can_act": request.membership.has_role(*ENTRY_ROLES),
            "certificate": _credit_certificate(credit),
            "can_get_pdf": _may_get_certificate(request, credit),
            "member_id": connection.member_id if connection else None,
        },
    )


def _credit_certificate(credit):
    """The credit's current certificate (a replacement keeps the credit link)."""
    return Certificate.objects.filter(credit=credit).order_by("-issued_at", "-pk").first()


def _may_get_certificate(request, credit) -> bool:
    """Certification managers (and admins) for any credit; staff for credits they entered."""
    membership = request.membership
    if membership.has_role(Role.CERT_MANAGER):
        return True
    return membership.role == Role.STAFF and credit.created_by_id == request.user.pk


@org_required(Role.STAFF, Role.CERT_MANAGER)
def org_credit_certificate_pdf(request, pk: int):
    """The PDF of a credit's certificate, for whoever may request it (else 404)."""
    from laurel.certificates.views import pdf_response

    credit = _org_credit(request, pk)
    certificate = _credit_certificate(credit)
    if certificate is None or not _may_get_certificate(request, credit):
        raise Http404("No certificate")
    return pdf_response(certificate, inline=False)


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_member_id(request, pk: int):
    """Staff record the recipient's member ID (their ID in the organization's member
    system) where they see the person: on the credit."""
    credit = _org_credit(request, pk)
    try:
        connection_set_member_id(
            actor=Actor.from_request(request),
            organization=request.org,
            email=credit.recipient_email,
            member_id=request.POST.get("member_id", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Member ID of {credit.recipient_email} saved.")
    return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk)


def _org_credit_action(request, credit, action, done: str):
    try:
        action(
            actor=Actor.from_request(request), credit=credit, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        return exc
    messages.success(request, done)
    return None


def _credit_consequences(credit, what: str) -> list[str]:
    who = credit.recipient_name or credit.recipient_email
    course = credit.course.course_id if credit.course_id else credit.title
    lines = [f"{who}'s credit for {course} ({credit.completion_date:%Y-%m-%d}) is {what}."]
    if credit.status == Credit.Status.ACCEPTED:
        lines.append("It leaves their dashboard and stops counting toward their requirements.")
    if Certificate.objects.filter(credit=credit, status=Certificate.Status.VALID).exists():
        lines.append("Its certificate is revoked too; the verification page will say so.")
    lines.append("The ledger keeps the credit with this reason; it cannot be undone.")
    return lines


@require_http_methods(["GET", "POST"])
@org_required(*ENTRY_ROLES)
def org_credit_revoke(request, pk: int):
    """GET: the confirmation (consequence, required reason); POST: revoke."""
    credit = _org_credit(request, pk)
    detail = reverse("credits:org_credit_detail", args=[request.org.slug, credit.pk])
    error = None
    if request.method == "POST":
        error = _org_credit_action(request, credit, services.credit_revoke, "Credit revoked.")
        if error is None or error.field != "reason":
            if error is not None:
                messages.error(request, error.message)
            return redirect(detail)
    consequences = _credit_consequences(credit, "revoked")
    if credit.holder_id:
        consequences.insert(1, f"{credit.recipient_email} is e-mailed, with your reason.")
    return confirm_page(
        request,
        title="Revoke this credit?",
        consequences=consequences,
        button="Revoke the credit",
        cancel_url=detail,
        reason="required",
        reason_label="Reason (the recipient sees it)",
        error=error.message if error else "",
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@org_required(*ENTRY_ROLES)
def org_credit_void(request, pk: int):
    """GET: the confirmation; POST: void (an orphan sent to a wrong address)."""
    credit = _org_credit(request, pk)
    detail = reverse("credits:org_credit_detail", args=[request.org.slug, credit.pk])
    if request.method == "POST":
        error = _org_credit_action(request, credit, services.credit_void, "Credit voided.")
        if error is not None:
            messages.error(request, error.message)
        return redirect(detail)
    return confirm_page(
        request,
        title="Void this credit?",
        consequences=[
            *_credit_consequences(credit, "voided: withdrawn as sent to a wrong address")[:-1],
            "Nobody is e-mailed. To credit the right person, enter it again for their address.",
            "The ledger keeps the voided credit; it cannot be undone.",
        ],
        button="Void the credit",
        cancel_url=detail,
        reason="optional",
        reason_label="Note (optional; default “Sent to a wrong address”)",
    )


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_reenter(request, pk: int):
    """Enter again with a corrected address: the orphan is voided, the pair entered anew."""
    credit = _org_credit(request, pk)
    try:
        new = services.credit_reenter(
            actor=Actor.from_request(request), credit=credit, email=request.POST.get("email", "")
        )
    except services.DuplicateCredit as exc:
        messages.error(request, exc.message)
        return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=exc.existing.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk)
    messages.success(
        request, f"Entered again for {new.recipient_email}; the credit to the old address is void."
    )
    return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=new.pk)


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_resend(request, pk: int):
    credit = _org_credit(request, pk)
    try:
        services.credit_resend(actor=Actor.from_request(request), credit=credit)
        messages.success(request, f"Notification sent again to {credit.recipient_email}.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    except ratelimit.RateLimited as exc:
        return ratelimit.too_many_requests(request, exc.usage)
    if request.POST.get("back") == "claims":
        return redirect("credits:org_claims", org_slug=request.org.slug)
    return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk)


@org_required(*ANY_MEMBER)
def org_claims(request):
    """Held and offered credits by how long they have waited, oldest first in each group."""
    now = timezone.now()
    credits = Credit.objects.for_org(request.org).filter(
        status__in=[Credit.Status.HELD, Credit.Status.OFFERED]
    )
    status = request.GET.get("status", "")
    if status not in (Credit.Status.HELD, Credit.Status.OFFERED):
        status = ""
    buckets = selectors.claims_by_age(credits, now=now)
    if status:
        credits = credits.filter(status=status)
    chosen = next((b for b in buckets if b["key"] == request.GET.get("age")), None)
    shown = [chosen] if chosen else [b for b in buckets if b[status or "total"]]
    page = None
    for bucket in shown:
        in_bucket = (
            selectors.claims_in_bucket(credits, now=now, bucket=bucket)
            .select_related("course")
            .order_by("created_at", "id")
        )
        bucket["shown_count"] = bucket[status] if status else bucket["total"]
        if chosen:
            page = _page(request, in_bucket)
            bucket["items"] = page.object_list
        else:  # a preview of each group; "show all" opens the group with pages
            bucket["items"] = list(in_bucket[:CLAIMS_PER_GROUP])
    return render(
        request,
        "credits/org_claims.html",
        {
            "buckets": buckets,
            "shown": shown,
            "status": status,
            "chosen": chosen,
            "page": page,
            "can_act": request.membership.has_role(*ENTRY_ROLES),
        },
    )


CLAIMS_PER_GROUP = 25


# --- Holder side ----------------------------------------------------------------------------


PENDING_SHOWN = 200


def _locker_context(request) -> dict:
    user = request.user
    waiting = Credit.objects.pending_for(user)
    # The oldest first, at most PENDING_SHOWN (answering them shows the next ones): a holder
    # with thousands of offers still gets a page of a few hundred kilobytes.
    pending = list(
        waiting.select_related("organization", "course")
        .prefetch_related(COMPONENTS)
        .order_by("offered_at", "id")[:PENDING_SHOWN]
    )
    pending_count = len(pending) if len(pending) < PENDING_SHOWN else waiting.count()
    dashboards = list(Dashboard.objects.for_holder(user))
    summaries = selectors.dashboard_summaries(user, dashboards)
    form = DashboardChoiceForm(holder=user)
    # The choices come from the list already loaded: no query of their own.
    form.fields["dashboard"].choices = [(d.pk, d.name) for d in dashboards if d.archived_at is None]
    return {
        "pending": pending,
        "pending_count": pending_count,
        "open_summaries": [s for s in summaries if s.dashboard.archived_at is None],
        "archived_summaries": [s for s in summaries if s.dashboard.archived_at is not None],
        "choice_form": form,
        "has_open_dashboards": any(d.archived_at is None for d in dashboards),
        # Only whether the holder has unverified addresses, never whether credit waits there.
        "unverified": list(
            user.emailaddress_set.filter(verified=False).values_list("email", flat=True)
        ),
    }


@login_required
def locker(request):
    if request.htmx:
        return render(request, "credits/locker.html#locker-body", _locker_context(request))
    context = {
        **_locker_context(request),
        "self_reports": list(
            Credit.objects.for_holder(request.user)
            .filter(source=Credit.Source.SELF_REPORT)
            .select_related("self_report", "dashboard")
            .prefetch_related(COMPONENTS)
            .order_by("-created_at")[:50]
        ),
        "instructions": catalog_selectors.instructions(area="locker", holder=request.user),
        "sheets": catalog_selectors.crib_sheets_for_holder(request.user),
    }
    return render(request, "credits/locker.html", context)


def _pending_credits(request, ids) -> list[Credit]:
    return list(
        Credit.objects.pending_for(request.user)
        .filter(pk__in=ids)
        .select_related("organization")
        .order_by("pk")
    )


def _id(value) -> int | None:
    """A primary key from form input, or None for anything else (even ``²`` or 10**40)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else None


def _posted_ids(request, *names: str) -> list[int]:
    values = []
    for name in names:
        values += request.POST.getlist(name)
    return [i for i in map(_id, values) if i is not None]


def _answer_done(request, dashboard=None):
    """After an answer: the locker's body for htmx, a redirect (PRG) otherwise."""
    if request.htmx:
        return render(request, "credits/locker.html#locker-body", _locker_context(request))
    if dashboard is not None:
        return redirect("credits:dashboard_detail", pk=dashboard.pk)
    return redirect("credits:locker")


@require_POST
@login_required
def locker_answer(request):
    """Accept (into a dashboard, possibly new) or reject one or several offered credits.

    A row's own button (``accept_one``/``reject_one``) answers that credit alone; the
    ``action`` buttons answer every checked ``credit``.
    """
    if "accept_one" in request.POST or "reject_one" in request.POST:
        action = "accept" if "accept_one" in request.POST else "reject"
        ids = _posted_ids(request, f"{action}_one")
    else:
        action = request.POST.get("action", "accept")
        ids = _posted_ids(request, "credit")
    credits = _pending_credits(request, ids)
    if not credits:
        messages.error(request, "Select at least one credit waiting for your answer.")
        return _answer_done(request)
    if action == "reject":
        reason = request.POST.get("reason", "")
        services.credit_reject_many(credits=credits, holder=request.user, reason=reason)
        messages.info(request, f"{_n(len(credits))} rejected.")
        return _answer_done(request)
    form = DashboardChoiceForm(request.POST, holder=request.user)
    if not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs]
        messages.error(request, " ".join(errors) or "Choose a dashboard.")
        return _answer_done(request)
    try:
        with transaction.atomic():
            dashboard = form.cleaned_data["dashboard"]
            new_name = (form.cleaned_data.get("new_dashboard") or "").strip()
            if not dashboard and not new_name:
                # A first accept, or a form that chose nothing: the holder's default.
                dashboard = services.dashboard_default(holder=request.user)
            elif new_name:
                # Typing the name of an open dashboard files into it rather than refusing.
                dashboard = Dashboard.objects.for_holder(request.user).open().filter(
                    name__iexact=new_name
                ).first() or services.dashboard_create(holder=request.user, name=new_name)
            accepted = services.credit_accept_many(
                credits=credits, holder=request.user, dashboard=dashboard
            )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _answer_done(request)
    done = f"{_n(len(credits))} accepted into “{dashboard.name}”."
    if accepted.certificates_on_their_way:
        done += " Their certificates are on their way."
    messages.success(request, done)
    return _answer_done(request, dashboard)


def _n(count: int) -> str:
    return f"{count} credit" if count == 1 else f"{count} credits"


def _own_dashboard(request, pk) -> Dashboard:
    return get_object_or_404(Dashboard.objects.for_holder(request.user), pk=pk)


@login_required
def dashboard_new(request):
    form = DashboardForm(request.POST or None, holder=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            dashboard = services.dashboard_create(
                holder=request.user,
                name=form.cleaned_data["name"],
                requirements=form.requirements(),
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Dashboard “{dashboard.name}” created.")
            return redirect("credits:dashboard_detail", pk=dashboard.pk)
    return render(request, "credits/dashboard_form.html", {"form": form, "dashboard": None})


@login_required
def dashboard_edit(request, pk: int):
    dashboard = _own_dashboard(request, pk)
    form = DashboardForm.for_dashboard(dashboard, request.POST or None, holder=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.dashboard_update(
                holder=request.user,
                dashboard=dashboard,
                name=form.cleaned_data["name"],
                requirements=form.requirements(),
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Dashboard saved.")
            return redirect("credits:dashboard_detail", pk=dashboard.pk)
    return render(request, "credits/dashboard_form.html", {"form": form, "dashboard": dashboard})


@require_POST
@login_required
def dashboard_archive(request, pk: int):
    dashboard = _own_dashboard(request, pk)
    restore = request.POST.get("restore") == "1"
    services.dashboard_archive(holder=request.user, dashboard=dashboard, archived=not restore)
    if restore:
        messages.success(request, f"“{dashboard.name}” restored.")
    else:
        messages.success(
            request,
            f"“{dashboard.name}” archived. Its credits stay in your locker and transcript.",
        )
    return redirect("credits:dashboard_detail", pk=dashboard.pk)


@login_required
def dashboard_detail(request, pk: int):
    dashboard = _own_dashboard(request, pk)
    credits = (
        dashboard.credits.filter(holder=request.user)
        .exclude(status=Credit.Status.HELD)
        .select_related("organization", "course")
        .prefetch_related(COMPONENTS)
        .order_by("-completion_date", "-id")
    )
    page = _page(request, credits, per_page=DASHBOARD_PER_PAGE)
    [summary] = selectors.dashboard_summaries(request.user, [dashboard])
    return render(
        request,
        "credits/dashboard_detail.html",
        {
            "dashboard": dashboard,
            "credits": page.object_list,
            "page": page,
            "summary": summary,
            "others": list(Dashboard.objects.for_holder(request.user).open().exclude(pk=pk)),
        },
    )


DASHBOARD_PER_PAGE = 50


@require_POST
@login_required
def locker_move(request):
    """Move one (``move_one``) or every checked (``credit``) accepted credit to a dashboard."""
    ids = _posted_ids(request, "move_one") or _posted_ids(request, "credit")
    back = _id(request.POST.get("from"))
    credits = list(
        Credit.objects.for_holder(request.user)
        .filter(pk__in=ids, status=Credit.Status.ACCEPTED)
        .order_by("pk")
    )
    target_id = _id(
        request.POST.get(f"to_{ids[0]}" if "move_one" in request.POST and ids else "to")
    )
    target = (
        Dashboard.objects.for_holder(request.user).open().filter(pk=target_id).first()
        if target_id is not None
        else None
    )
    if not credits:
        messages.error(request, "Select at least one accepted credit to move.")
    elif target is None:
        messages.error(request, "Choose one of your open dashboards to move to.")
    else:
        moved = services.credit_move_many(credits=credits, holder=request.user, dashboard=target)
        messages.success(request, f"{_n(moved)} moved to “{target.name}”.")
    if back is not None and Dashboard.objects.for_holder(request.user).filter(pk=back).exists():
        return redirect("credits:dashboard_detail", pk=back)
    return redirect("credits:locker")


@login_required
def locker_credit_detail(request, pk: int):
    credit = get_object_or_404(
        Credit.objects.for_holder(request.user)
        .select_related("organization", "course", "dashboard")
        .prefetch_related(COMPONENTS),
        pk=pk,
    )
    certificates = list(
        Certificate.objects.filter(
            credit=credit, recipient_email__in=request.user.verified_emails()
        ).select_related("organization", "replaced_by")
    )
    waits_for_name = (
        not certificates and CertificateNameWait.objects.open().filter(credit=credit).exists()
    )
    return render(
        request,
        "credits/locker_credit_detail.html",
        {
            "certificate_rows": _holder_certificate_rows(request, certificates),
            "waits_for_name": waits_for_name,
            "credit": credit,
            "self_report": getattr(credit, "self_report", None)
            if credit.is_self_reported
            else None,
            "reviews": list(
                credit.reviews.select_related(
                    "enrollment__version", "enrollment__organization", "decided_by"
                )
            )
            if credit.is_self_reported
            else [],
            "history": selectors.holder_history(credit, request.user),
            "choice_form": DashboardChoiceForm(holder=request.user)
            if credit.can_be_answered_by(request.user)
            else None,
            "others": list(
                Dashboard.objects.for_holder(request.user).open().exclude(pk=credit.dashboard_id)
            )
            if credit.can_be_moved_by(request.user)
            else [],
        },
    )


def _holder_certificate_rows(request, certificates) -> list[dict]:
    today = timezone.localdate()
    return [
        {
            "cert": cert,
            "state": cert.public_state(today),
            "linkedin_add": cert_selectors.linkedin_add_url(cert),
            "linkedin_share": cert_selectors.linkedin_share_url(cert),
        }
        for cert in certificates
    ]


@login_required
def locker_certificates(request):
    """Every certificate issued to one of the holder's verified addresses, across
    organizations; and those waiting for the holder's name, with the form to give it."""
    certificates = list(cert_selectors.certificates_for_holder(request.user))
    waits = list(name_waits_for_user(request.user))
    return render(
        request,
        "credits/locker_certificates.html",
        {
            "rows": _holder_certificate_rows(request, certificates),
            "waits": waits,
            "name_form": NameForm() if waits else None,
        },
    )


@require_POST
@login_required
def locker_give_name(request):
    """The holder's name, asked when a certificate waits for it; saved on the profile."""
    form = NameForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("full_name", []):
            messages.error(request, error)
        return redirect("credits:locker_certificates")
    issued = profile_update(user=request.user, full_name=form.cleaned_data["full_name"])
    messages.success(
        request,
        f"Thank you. {len(issued)} certificate{'s' if len(issued) != 1 else ''} issued "
        f"in your name.",
    )
    return redirect("credits:locker_certificates")


def _transcript_scope(request):
    """The whole locker, or one of the holder's own dashboards (``?dashboard=``)."""
    raw = request.GET.get("dashboard", "")
    if not raw:
        return None
    pk = _id(raw)
    if pk is None:
        raise Http404("No such dashboard")
    return _own_dashboard(request, pk)


@login_required
def transcript(request):
    dashboard = _transcript_scope(request)
    credits = list(selectors.transcript_credits(request.user, dashboard))
    groups = []
    for d, items in groupby(credits, key=lambda c: c.dashboard):
        items = list(items)
        counted = [c for c in items if c.status == Credit.Status.ACCEPTED]
        groups.append({"dashboard": d, "credits": items, "totals": _totals_in_memory(counted)})
    certificates = list(cert_selectors.certificates_for_holder(request.user))
    if dashboard is not None:
        ids = {c.pk for c in credits}
        certificates = [c for c in certificates if c.credit_id in ids]
    today = timezone.localdate()
    return render(
        request,
        "credits/transcript.html",
        {
            "addresses": request.user.verified_emails(),
            "certificates": [(c, c.public_state(today)) for c in certificates],
            "dashboard": dashboard,
            "groups": groups,
            "generated_at": timezone.now(),
        },
    )


def _totals_in_memory(credits) -> list[selectors.Total]:
    totals: dict[tuple[str, str], selectors.Total] = {}
    for credit in credits:
        for c in credit.components.all():
            key = (c.credit_type.code, c.credit_type.unit)
            prev = totals.get(key)
            amount = c.amount_earned + (prev.amount if prev else 0)
            totals[key] = selectors.Total(key[0], c.credit_type.name, key[1], amount)
    return [totals[k] for k in sorted(totals)]


@login_required
def transcript_csv(request):
    dashboard = _transcript_scope(request)
    credits = selectors.transcript_credits(request.user, dashboard)
    rows = [selectors.TRANSCRIPT_HEADER, *selectors.transcript_rows(credits)]
    stamp = timezone.now().strftime("%Y-%m-%d")
    scope = f"-{slugify(dashboard.name) or dashboard.pk}" if dashboard else ""
    response = HttpResponse(write_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="transcript{scope}-{stamp}.csv"'
    return response


# --- Self-reported credit ---------------------------------------------------------------------


@login_required
def self_report_new(request):
    """The holder reports CE earned elsewhere; it lands in the chosen dashboard at once."""
    form = SelfReportForm(request.POST or None, request.FILES or None, holder=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                dashboard = data["dashboard"]
                if not dashboard:
                    dashboard = services.dashboard_create(
                        holder=request.user, name=data["new_dashboard"]
                    )
                credit = services.self_report_create(
                    holder=request.user,
                    title=data["title"],
                    provider=data["provider"],
                    completion_date=data["completion_date"],
                    hours=data["hours"],
                    dashboard=dashboard,
                    certificate=data["certificate"],
                )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"“{credit.title}” added to “{dashboard.name}”.")
            return redirect("credits:locker_credit_detail", pk=credit.pk)
    return render(request, "credits/self_report_form.html", {"form": form})


@login_required
def self_report_certificate(request, pk: int):
    """The certificate file of the holder's own self-reported credit."""
    from laurel.credits.models import SelfReport

    report = get_object_or_404(SelfReport.objects.filter(credit__holder=request.user), pk=pk)
    return certificate_file_response(report)


def certificate_file_response(report):
    from django.http import FileResponse

    if not report.certificate:
        raise Http404("No certificate")
    return FileResponse(
        report.certificate.open("rb"),
        as_attachment=True,
        filename=report.certificate.name.rsplit("/", 1)[-1],
    )
