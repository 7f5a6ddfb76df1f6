"""Credit types and courses: admins define them, every member can look courses up."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render

from laurel.accounts.forms import add_service_errors
from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.forms import CourseForm, CourseSearchForm, CreditTypeForm, component_formset
from laurel.catalog.models import Course, CreditType
from laurel.web.tenancy import ANY_MEMBER, ENTRY_ROLES, org_required

COURSES_PER_PAGE = 25

# --- Credit types ---------------------------------------------------------------------------


@org_required(Role.ADMIN)
def credit_type_list(request):
    credit_types = CreditType.objects.filter(organization=request.org)
    return render(request, "catalog/credit_type_list.html", {"credit_types": credit_types})


@org_required(Role.ADMIN)
def credit_type_new(request):
    form = CreditTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ct = services.credit_type_create(
                actor=Actor.from_request(request), organization=request.org, **form.cleaned_data
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Credit type {ct.code} created.")
            return redirect("catalog:credit_type_list", org_slug=request.org.slug)
    return render(request, "catalog/credit_type_form.html", {"form": form, "credit_type": None})


@org_required(Role.ADMIN)
def credit_type_edit(request, pk: int):
    ct = get_object_or_404(CreditType, organization=request.org, pk=pk)
    initial = {"code": ct.code, "name": ct.name, "unit": ct.unit}
    form = CreditTypeForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.credit_type_update(
                actor=Actor.from_request(request),
                credit_type=ct,
                name=form.cleaned_data["name"],
                unit=form.cleaned_data["unit"],
            )
        except (ServiceError, ValidationError) as exc:
            ct.refresh_from_db()
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Credit type {ct.code} saved.")
            return redirect("catalog:credit_type_list", org_slug=request.org.slug)
    return render(request, "catalog/credit_type_form.html", {"form": form, "credit_type": ct})


# --- Courses --------------------------------------------------------------------------------


@org_required(*ANY_MEMBER)
def course_list(request):
    form = CourseSearchForm(request.GET or None)
    courses = Course.objects.for_org(request.org).prefetch_related("components__credit_type")
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    if query:
        courses = courses.filter(Q(course_id__icontains=query) | Q(title__icontains=query))
    page = Paginator(courses, COURSES_PER_PAGE).get_page(request.GET.get("page"))
    template = "catalog/course_list.html#rows" if request.htmx else "catalog/course_list.html"
    return render(
        request,
        template,
        {"form": form, "page": page, "query": query, "can_edit": _can_edit(request)},
    )


def _can_edit(request) -> bool:
    return request.membership.role == Role.ADMIN


def _course(request, pk: int) -> Course:
    return get_object_or_404(
        Course.objects.for_org(request.org).prefetch_related("components__credit_type"), pk=pk
    )


@org_required(*ANY_MEMBER)
def course_detail(request, pk: int):
    course = _course(request, pk)
    return render(
        request, "catalog/course_detail.html", {"course": course, "can_edit": _can_edit(request)}
    )


@org_required(Role.ADMIN)
def course_new(request):
    form = CourseForm(request.POST or None, initial={"active_from": request.org.today()})
    components = component_formset(organization=request.org, data=request.POST or None)
    if request.method == "POST" and form.is_valid() and components.is_valid():
        try:
            course = services.course_create(
                actor=Actor.from_request(request),
                organization=request.org,
                components=components.components(),
                **form.cleaned_data,
            )
        except (ServiceError, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Course {course.course_id} created.")
            return redirect("catalog:course_detail", org_slug=request.org.slug, pk=course.pk)
    return _course_form(request, form, components, course=None)


@org_required(Role.ADMIN)
def course_edit(request, pk: int):
    course = _course(request, pk)
    initial = {
        "title": course.title,
        "description": course.description,
        "delivery_format": course.delivery_format,
        "active_from": course.active_from,
        "active_until": course.active_until,
    }
    form = CourseForm(request.POST or None, initial=initial)
    components = component_formset(
        organization=request.org,
        data=request.POST or None,
        initial=[
            {"credit_type": c.credit_type, "amount": c.amount} for c in course.components.all()
        ],
        blank_rows=2,
    )
    if request.method == "POST" and form.is_valid() and components.is_valid():
        try:
            services.course_update(
                actor=Actor.from_request(request),
                course=course,
                components=components.components(),
                **form.cleaned_data,
            )
        except (ServiceError, ValidationError) as exc:
            course.refresh_from_db()
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Course {course.course_id} saved.")
            return redirect("catalog:course_detail", org_slug=request.org.slug, pk=course.pk)
    return _course_form(request, form, components, course=course)


def _course_form(request, form, components, *, course):
    has_types = CreditType.objects.filter(organization=request.org).exists()
    return render(
        request,
        "catalog/course_form.html",
        {"form": form, "components": components, "course": course, "has_types": has_types},
    )


COURSE_OPTIONS = 20


def course_choices(org, q: str = "") -> list[Course]:
    """Up to 20 courses whose ID or title contains ``q`` (the entry form's course picker)."""
    courses = Course.objects.for_org(org).only("course_id", "title")
    q = q.strip()
    if q:
        courses = courses.filter(Q(course_id__icontains=q) | Q(title__icontains=q))
    return list(courses.order_by("course_id")[:COURSE_OPTIONS])


@org_required(*ENTRY_ROLES)
def course_options(request):
    """The picker's <option>s for what was typed (htmx swaps them into the datalist)."""
    q = request.GET.get("course_id", "") or request.GET.get("q", "")
    return render(
        request,
        "catalog/_course_options.html",
        {"courses": course_choices(request.org, q[:100])},
    )
