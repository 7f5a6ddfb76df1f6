"""Workflows for credit types and courses."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor, audit_record
from laurel.catalog.models import Course, CourseComponent, CourseIdCounter, CreditType


@transaction.atomic
def credit_type_create(
    *, actor: Actor, organization: Organization, code: str, name: str, unit: str = "hours"
) -> CreditType:
    code = code.strip().upper()
    if CreditType.objects.filter(organization=organization, code=code).exists():
        raise ServiceError(f"Credit type {code} already exists.", field="code", code="duplicate")
    ct = CreditType(organization=organization, code=code, name=name.strip(), unit=unit.strip())
    ct.full_clean()
    ct.save()
    audit_record(
        actor=actor,
        action="credit_type.created",
        obj=ct,
        organization=organization,
        after={"code": code, "name": ct.name, "unit": ct.unit},
    )
    return ct


@transaction.atomic
def credit_type_update(
    *, actor: Actor, credit_type: CreditType, name: str, unit: str
) -> CreditType:
    before = {"name": credit_type.name, "unit": credit_type.unit}
    credit_type.name, credit_type.unit = name.strip(), unit.strip()
    credit_type.full_clean()
    credit_type.save()
    audit_record(
        actor=actor,
        action="credit_type.updated",
        obj=credit_type,
        organization=credit_type.organization,
        before=before,
        after={"name": credit_type.name, "unit": credit_type.unit},
    )
    return credit_type


def course_id_allocate(*, organization: Organization, year: int) -> str:
    """Next course ID for the organization and year; call inside a transaction."""
    yy = year % 100
    counter, _ = CourseIdCounter.objects.get_or_create(organization=organization, year=yy)
    CourseIdCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    counter.refresh_from_db(fields=["last"])
    return f"{organization.course_id_prefix}-{yy:02d}-{counter.last:05d}"


def _set_components(course: Course, components: dict[CreditType, Decimal]) -> None:
    if not components:
        raise ServiceError("A course grants at least one credit type.", field="components")
    for ct in components:
        if ct.organization_id != course.organization_id:
            raise ServiceError("Unknown credit type.", field="components")
    course.components.all().delete()
    CourseComponent.objects.bulk_create(
        CourseComponent(course=course, credit_type=ct, amount=Decimal(amount))
        for ct, amount in components.items()
    )


@transaction.atomic
def course_create(
    *,
    actor: Actor,
    organization: Organization,
    title: str,
    active_from,
    components: dict[CreditType, Decimal],
    description: str = "",
    delivery_format: str = Course.Format.SELF_PACED,
    active_until=None,
    course_id: str | None = None,
) -> Course:
    course = Course(
        organization=organization,
        course_id=course_id
        or course_id_allocate(organization=organization, year=organization.today().year),
        title=title.strip(),
        description=description,
        delivery_format=delivery_format,
        active_from=active_from,
        active_until=active_until,
    )
    course.full_clean()
    course.save()
    _set_components(course, components)
    audit_record(
        actor=actor,
        action="course.created",
        obj=course,
        organization=organization,
        after=_course_state(course),
    )
    return course


@transaction.atomic
def course_update(
    *, actor: Actor, course: Course, components: dict[CreditType, Decimal], **fields
) -> Course:
    before = _course_state(course)
    for name in ("title", "description", "delivery_format", "active_from", "active_until"):
        if name in fields:
            setattr(course, name, fields[name])
    course.full_clean()
    course.save()
    _set_components(course, components)
    audit_record(
        actor=actor,
        action="course.updated",
        obj=course,
        organization=course.organization,
        before=before,
        after=_course_state(course),
    )
    return course


def _course_state(course: Course) -> dict:
    return {
        "title": course.title,
        "delivery_format": course.delivery_format,
        "active_from": str(course.active_from),
        "active_until": str(course.active_until) if course.active_until else None,
        "components": {c.credit_type.code: str(c.amount) for c in course.components.all()},
    }
