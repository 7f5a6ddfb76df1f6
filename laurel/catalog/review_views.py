"""An accrediting organization's side: the review queue, a submission, its decisions; the
review settings, crib sheets and instruction text admins keep."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from laurel.accounts.forms import add_service_errors
from laurel.accounts.models import Membership, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog import selectors, services
from laurel.catalog.forms import (
    CommentForm,
    CribSheetForm,
    DecisionForm,
    InstructionTextForm,
    QuestionForm,
    ReviewPolicyForm,
)
from laurel.catalog.models import (
    ApplicationQuestion,
    Attachment,
    CribSheet,
    InstructionText,
    ReviewPolicy,
    Submission,
)
from laurel.web.confirm import confirm_page
from laurel.web.tenancy import ANY_MEMBER, org_required

REVIEW_ROLES = (Role.REVIEWER,)  # admins pass every role check


def _pdf(file, name: str) -> FileResponse:
    return FileResponse(
        file.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
    )


def _reviewers(org):
    return [
        m.user
        for m in Membership.objects.active()
        .filter(organization=org, role__in=[Role.ADMIN, Role.REVIEWER])
        .select_related("user")
        .order_by("user__email")
    ]


@org_required(*REVIEW_ROLES)
def review_queue(request):
    status = request.GET.get("status", "open")
    assigned = request.GET.get("assigned", "")
    kind = request.GET.get("kind", "")
    if kind not in Submission.Kind.values:
        kind = ""
    submissions = selectors.review_queue(
        request.org, status=status, assigned=assigned, user=request.user, kind=kind
    )
    return render(
        request,
        "catalog/review_queue.html",
        {
            "submissions": submissions,
            "status": status,
            "assigned": assigned,
            "kind": kind,
            "statuses": Submission.Status.choices,
            "now": timezone.now(),
            "instructions": selectors.instructions(
                area=InstructionText.Area.REVIEW, organization=request.org
            ),
            "sheets": selectors.crib_sheets_for_member(request.membership),
        },
    )


def _submission(request, pk: int) -> Submission:
    return get_object_or_404(
        Submission.objects.for_org(request.org).select_related("provider", "course", "previous"),
        pk=pk,
    )


@org_required(*REVIEW_ROLES)
def review_detail(request, pk: int):
    sub = _submission(request, pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.submission_comment(
            actor=Actor.from_request(request),
            submission=sub,
            body=form.cleaned_data["body"],
            internal=form.cleaned_data["internal"],
        )
        messages.success(request, "Comment added.")
        return redirect("catalog:review_detail", request.org.slug, sub.pk)
    return _detail(request, sub, comment_form=form)


def _detail(request, sub, *, comment_form=None, decision_form=None, status=200):
    requested = sub.current_round().snapshot.get("requested_credit", {})
    initial = {
        "credit": ", ".join(f"{k} {v}" for k, v in requested.items()),
        "active_from": request.org.today(),
    }
    policy = ReviewPolicy.objects.filter(organization=request.org).first()
    return render(
        request,
        "catalog/review_detail.html",
        {
            "submission": sub,
            "rounds": sub.rounds.all(),
            "chain": sub.chain(),
            "comments": sub.comments.select_related("author"),
            "decisions": sub.decisions.all(),
            "comment_form": comment_form or CommentForm(),
            "decision_form": decision_form or DecisionForm(initial=initial),
            "reviewers": _reviewers(request.org),
            "assigned": set(sub.reviewers.values_list("pk", flat=True)),
            "is_admin": request.membership.role == Role.ADMIN,
            "two_reviewers": bool(policy and policy.two_reviewers),
        },
        status=status,
    )


@org_required(Role.ADMIN)
@require_POST
def review_assign(request, pk: int):
    sub = _submission(request, pk)
    chosen = {int(x) for x in request.POST.getlist("reviewers") if x.isdigit()}
    reviewers = [u for u in _reviewers(request.org) if u.pk in chosen]
    try:
        services.submission_assign(
            actor=Actor.from_request(request), submission=sub, reviewers=reviewers
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Reviewers assigned.")
    return redirect("catalog:review_detail", request.org.slug, sub.pk)


@org_required(*REVIEW_ROLES)
@require_POST
def review_decide(request, pk: int):
    sub = _submission(request, pk)
    form = DecisionForm(request.POST)
    if form.is_valid() and form.cleaned_data["decision"] == "deny" and sub.is_decidable:
        if not form.cleaned_data["reason"].strip():
            form.add_error("reason", "Say why the course is denied; the provider reads it.")
            return _detail(request, sub, decision_form=form, status=400)
        if request.POST.get("confirmed") != "1":
            return _deny_confirmation(request, sub)
    if form.is_valid():
        try:
            sub = services.submission_decide(
                actor=Actor.from_request(request), submission=sub, **form.cleaned_data
            )
        except (ServiceError, ValidationError) as exc:
            if getattr(exc, "code", "") == "state":
                # Decided meanwhile (another reviewer was quicker): say so on the fresh page.
                messages.error(request, exc.message)
                return redirect("catalog:review_detail", request.org.slug, sub.pk)
            add_service_errors(form, exc)
        else:
            if sub.course:
                messages.success(request, f"Approved: course {sub.course.course_id} created.")
            else:
                messages.success(request, f"Decision recorded: {sub.get_status_display()}.")
            return redirect("catalog:review_detail", request.org.slug, sub.pk)
    return _detail(request, sub, decision_form=form, status=400)


def _deny_confirmation(request, sub):
    """A denial is final: say so, and what the provider can do, before recording it."""
    return confirm_page(
        request,
        title=f"Deny {sub.reference}, “{sub.title}”?",
        consequences=[
            "A denial is final: this submission cannot be approved or reopened later.",
            f"{sub.provider.name} is told, with your reason; to try again they submit a new "
            "application, linked to this one.",
        ],
        button="Deny the course",
        cancel_url=reverse("catalog:review_detail", args=[request.org.slug, sub.pk]),
        reason="required",
        reason_label="Reason (the provider reads it)",
        hidden={"decision": "deny", "confirmed": "1"},
    )


@org_required(*REVIEW_ROLES)
def review_attachment(request, pk: int, attachment_pk: int):
    """A file the submission named in one of its rounds (never one it did not)."""
    sub = _submission(request, pk)
    named = set()
    for r in sub.rounds.all():
        named |= {a["id"] for a in r.snapshot.get("attachments", [])}
        named |= {a["attachment_id"] for a in r.answers.values() if a.get("attachment_id")}
    if attachment_pk not in named:
        raise Http404("Not part of this submission")
    attachment = get_object_or_404(Attachment, provider=sub.provider, pk=attachment_pk)
    return _pdf(attachment.file, attachment.file_name)


# --- Settings: policy and questions -------------------------------------------------------------


@org_required(Role.ADMIN)
def review_settings(request):
    policy = ReviewPolicy.objects.filter(organization=request.org).first() or ReviewPolicy()
    policy_form = ReviewPolicyForm(
        request.POST if request.POST.get("form") == "policy" else None,
        initial={
            "two_reviewers": policy.two_reviewers,
            "require_provider_approval": policy.require_provider_approval,
            "max_credit": ", ".join(f"{k} {v}" for k, v in policy.max_credit.items()),
        },
    )
    question_form = QuestionForm(request.POST if request.POST.get("form") == "question" else None)
    actor = Actor.from_request(request)
    if request.method == "POST":
        try:
            if policy_form.is_bound and policy_form.is_valid():
                services.review_policy_set(
                    actor=actor, organization=request.org, **policy_form.cleaned_data
                )
                messages.success(request, "Review settings saved.")
                return redirect("catalog:review_settings", request.org.slug)
            if question_form.is_bound and question_form.is_valid():
                services.question_add(
                    actor=actor, organization=request.org, **question_form.cleaned_data
                )
                messages.success(request, "Question added.")
                return redirect("catalog:review_settings", request.org.slug)
        except (ServiceError, ValidationError) as exc:
            add_service_errors(question_form if question_form.is_bound else policy_form, exc)
    questions = ApplicationQuestion.objects.filter(organization=request.org, removed_at=None)
    return render(
        request,
        "catalog/review_settings.html",
        {"policy_form": policy_form, "question_form": question_form, "questions": questions},
    )


@org_required(Role.ADMIN)
@require_POST
def question_remove(request, pk: int):
    question = get_object_or_404(
        ApplicationQuestion, organization=request.org, pk=pk, removed_at=None
    )
    services.question_remove(actor=Actor.from_request(request), question=question)
    messages.success(request, "Question removed from the form.")
    return redirect("catalog:review_settings", request.org.slug)


# --- Crib sheets and instruction text ------------------------------------------------------------


@org_required(Role.ADMIN)
def crib_sheets(request):
    form = CribSheetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.crib_sheet_add(
                actor=Actor.from_request(request),
                organization=request.org,
                audience=data["audience"],
                title=data["title"],
                order=data["order"],
                upload=data["file"],
            )
        except ServiceError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Crib sheet “{data['title']}” added.")
            return redirect("catalog:crib_sheets", request.org.slug)
    sheets = CribSheet.objects.current().filter(organization=request.org)
    return render(request, "catalog/crib_sheets.html", {"form": form, "sheets": sheets})


@org_required(Role.ADMIN)
@require_POST
def crib_sheet_remove(request, pk: int):
    sheet = get_object_or_404(CribSheet.objects.current(), organization=request.org, pk=pk)
    services.crib_sheet_remove(actor=Actor.from_request(request), sheet=sheet)
    messages.success(request, f"Crib sheet “{sheet.title}” removed.")
    return redirect("catalog:crib_sheets", request.org.slug)


@org_required(*ANY_MEMBER)
def crib_sheet_download(request, pk: int):
    """A member downloads the sheets of their own role's audience (admins: all)."""
    sheet = get_object_or_404(selectors.crib_sheets_for_member(request.membership), pk=pk)
    return _pdf(sheet.file, f"{sheet.title}.pdf")


@login_required
def locker_crib_sheet(request, pk: int):
    """A holder downloads the holders' sheets of organizations they are connected to."""
    sheet = get_object_or_404(selectors.crib_sheets_for_holder(request.user), pk=pk)
    return _pdf(sheet.file, f"{sheet.title}.pdf")


@org_required(Role.ADMIN)
def instructions(request):
    texts = {t.area: t.markdown for t in InstructionText.objects.filter(organization=request.org)}
    bound_area = request.POST.get("area") if request.method == "POST" else None
    forms = []
    for area, label in InstructionText.Area.choices:
        data = request.POST if bound_area == area else None
        form = InstructionTextForm(data, initial={"markdown": texts.get(area, "")}, prefix=area)
        forms.append((area, label, form))
    if bound_area:
        form = next((f for a, _, f in forms if a == bound_area), None)
        if form is not None and form.is_valid():
            try:
                services.instruction_text_set(
                    actor=Actor.from_request(request),
                    organization=request.org,
                    area=bound_area,
                    markdown=form.cleaned_data["markdown"],
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Instruction text saved.")
                return redirect("catalog:instructions", request.org.slug)
    status = 400 if bound_area else 200
    return render(request, "catalog/instructions.html", {"forms": forms}, status=status)
