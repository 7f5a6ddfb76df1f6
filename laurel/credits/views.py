"""Organization ledger pages and the holder's locker."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog.models import Course
from laurel.credits import selectors, services
from laurel.credits.forms import (
    CreditEntryForm,
    DashboardChoiceForm,
    LedgerFilterForm,
    ReasonForm,
)
from laurel.credits.models import Credit, CreditComponent, Dashboard
from laurel.web.tenancy import ANY_MEMBER, ENTRY_ROLES, org_required

COMPONENTS = Prefetch("components", queryset=CreditComponent.objects.select_related("credit_type"))


def _page(request, queryset, per_page=50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


# --- Organization side ----------------------------------------------------------------------


@org_required(*ANY_MEMBER)
def org_ledger(request):
    form = LedgerFilterForm(request.GET or None)
    credits = (
        Credit.objects.for_org(request.org).select_related("course").prefetch_related(COMPONENTS)
    )
    if form.is_valid():
        credits = selectors.ledger_filter(credits, **form.cleaned_data)
    page = _page(request, credits)
    template = "credits/org_ledger.html#rows" if request.htmx else "credits/org_ledger.html"
    return render(request, template, {"form": form, "page": page})


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
    return render(request, "credits/org_credit_new.html", {"form": form, "duplicate": duplicate})


def _org_credit(request, pk) -> Credit:
    return get_object_or_404(
        Credit.objects.for_org(request.org)
        .select_related("course", "holder")
        .prefetch_related(COMPONENTS),
        pk=pk,
    )


@org_required(*ANY_MEMBER)
def org_credit_detail(request, pk: int):
    credit = _org_credit(request, pk)
    return render(
        request,
        "credits/org_credit_detail.html",
        {
            "credit": credit,
            "history": selectors.credit_history(credit),
            "reason_form": ReasonForm(),
            "can_act": request.membership.has_role(*ENTRY_ROLES),
        },
    )


def _org_credit_action(request, pk, action, done: str):
    credit = _org_credit(request, pk)
    try:
        action(
            actor=Actor.from_request(request), credit=credit, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk)


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_revoke(request, pk: int):
    return _org_credit_action(request, pk, services.credit_revoke, "Credit revoked.")


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_void(request, pk: int):
    return _org_credit_action(request, pk, services.credit_void, "Credit voided.")


@require_POST
@org_required(*ENTRY_ROLES)
def org_credit_resend(request, pk: int):
    credit = _org_credit(request, pk)
    try:
        services.credit_resend(actor=Actor.from_request(request), credit=credit)
        messages.success(request, f"Notification sent again to {credit.recipient_email}.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("credits:org_credit_detail", org_slug=request.org.slug, pk=credit.pk)


@org_required(*ANY_MEMBER)
def org_claims(request):
    """Held and offered credits, oldest first: who has not claimed or answered yet."""
    credits = (
        Credit.objects.for_org(request.org)
        .filter(status__in=[Credit.Status.HELD, Credit.Status.OFFERED])
        .select_related("course")
        .order_by("created_at")
    )
    status = request.GET.get("status")
    if status in (Credit.Status.HELD, Credit.Status.OFFERED):
        credits = credits.filter(status=status)
    return render(
        request, "credits/org_claims.html", {"page": _page(request, credits), "status": status}
    )


# --- Holder side ----------------------------------------------------------------------------


@login_required
def locker(request):
    pending = (
        Credit.objects.pending_for(request.user)
        .select_related("organization", "course")
        .prefetch_related(COMPONENTS)
        .order_by("offered_at")
    )
    dashboards = list(Dashboard.objects.for_holder(request.user).open())
    for d in dashboards:
        d.totals = selectors.totals_for(d.credits.all())
        d.progress = selectors.dashboard_progress(d)
    return render(
        request,
        "credits/locker.html",
        {
            "pending": pending,
            "dashboards": dashboards,
            "choice_form": DashboardChoiceForm(holder=request.user),
            "unverified": request.user.emailaddress_set.filter(verified=False),
        },
    )


def _holder_credits(request, ids):
    return list(
        Credit.objects.pending_for(request.user).filter(pk__in=ids).select_related("organization")
    )


@require_POST
@login_required
def locker_answer(request):
    """Accept (into a dashboard) or reject one or several offered credits."""
    ids = [int(i) for i in request.POST.getlist("credit") if i.isdigit()]
    credits = _holder_credits(request, ids)
    if not credits:
        messages.error(request, "Select at least one credit.")
        return redirect("credits:locker")
    if request.POST.get("action") == "reject":
        reason = request.POST.get("reason", "")
        for credit in credits:
            services.credit_reject(credit=credit, holder=request.user, reason=reason)
        messages.info(request, f"{len(credits)} credit(s) rejected.")
        return redirect("credits:locker")
    form = DashboardChoiceForm(request.POST, holder=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Choose a dashboard.")
        return redirect("credits:locker")
    try:
        dashboard = form.cleaned_data["dashboard"]
        if (form.cleaned_data.get("new_dashboard") or "").strip():
            dashboard = services.dashboard_create(
                holder=request.user, name=form.cleaned_data["new_dashboard"]
            )
        services.credit_accept_many(credits=credits, holder=request.user, dashboard=dashboard)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("credits:locker")
    messages.success(request, f"{len(credits)} credit(s) accepted into “{dashboard.name}”.")
    return redirect("credits:dashboard_detail", pk=dashboard.pk)


@login_required
def dashboard_detail(request, pk: int):
    dashboard = get_object_or_404(Dashboard.objects.for_holder(request.user), pk=pk)
    credits = (
        dashboard.credits.filter(holder=request.user)
        .select_related("organization", "course")
        .prefetch_related(COMPONENTS)
    )
    return render(
        request,
        "credits/dashboard_detail.html",
        {
            "dashboard": dashboard,
            "credits": credits,
            "totals": selectors.totals_for(dashboard.credits.all()),
            "progress": selectors.dashboard_progress(dashboard),
            "others": Dashboard.objects.for_holder(request.user).open().exclude(pk=pk),
        },
    )


@login_required
def locker_credit_detail(request, pk: int):
    credit = get_object_or_404(
        Credit.objects.for_holder(request.user)
        .select_related("organization", "course", "dashboard")
        .prefetch_related(COMPONENTS),
        pk=pk,
    )
    history = [e for e in selectors.credit_history(credit) if e.action.startswith("credit.")]
    return render(
        request, "credits/locker_credit_detail.html", {"credit": credit, "history": history}
    )
