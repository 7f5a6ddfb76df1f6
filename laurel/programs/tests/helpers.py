"""Small factories for program tests."""

from __future__ import annotations

from decimal import Decimal

from laurel.audit.services import Actor
from laurel.programs.models import Program, Requirement
from laurel.programs.services import (
    Definition,
    RequirementSpec,
    program_create,
    program_set_status,
)

STAFF = Actor.system("test")


def make_program(org, *, code="RN-CERT", active=True, requirements=None, **options) -> Program:
    """An Active program; by default one manual requirement (an exam with a grade)."""
    options.setdefault("window_months", 12)
    options.setdefault("grace_days", 30)
    definition = Definition(
        name=options.pop("name", f"Program {code}"),
        requirements=tuple(
            requirements
            or (
                RequirementSpec(
                    kind=Requirement.Kind.MANUAL,
                    title="Exam",
                    needs_grade=True,
                    min_grade=Decimal("70"),
                ),
            )
        ),
        **options,
    )
    program = program_create(actor=STAFF, organization=org, code=code, definition=definition)
    if active:
        program_set_status(actor=STAFF, program=program, status=Program.Status.ACTIVE)
    return program


def hours(code: str, amount: str, title: str | None = None) -> RequirementSpec:
    return RequirementSpec(
        kind=Requirement.Kind.CREDIT_HOURS,
        title=title or f"{amount} {code} hours",
        credit_type_code=code,
        hours=Decimal(amount),
    )


def manual(title: str, **kw) -> RequirementSpec:
    return RequirementSpec(kind=Requirement.Kind.MANUAL, title=title, **kw)


def offering(title: str, *courses, **kw) -> RequirementSpec:
    return RequirementSpec(
        kind=Requirement.Kind.OFFERING, title=title, course_ids=tuple(c.pk for c in courses), **kw
    )
