"""Demo certification programs, so a newcomer sees every tracker and the approvals queue.
Called by ``laurel/demo.py`` after the organization's holders and credits exist."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from laurel.audit.services import Actor
from laurel.programs import services
from laurel.programs.models import Enrollment, Program, Requirement
from laurel.programs.services import Definition, RequirementSpec

ACTOR = Actor.system("demo")


def _spec(kind, title, **kw) -> RequirementSpec:
    return RequirementSpec(kind=kind, title=title, **kw)


def _active(org, code: str, definition: Definition) -> Program:
    program = services.program_create(
        actor=ACTOR, organization=org, code=code, definition=definition
    )
    return services.program_set_status(actor=ACTOR, program=program, status="active")


def load(org, *, emails: list[str], courses, anchor: date) -> list[Program]:
    """Three programs: an ordered certification with ~150 enrollees in every tracker state,
    a maintenance program with essays and self-reported credit awaiting approval, and one
    with two versions."""
    if Program.objects.for_org(org).exists():
        return []
    rn = _active(
        org,
        "RN-CERT",
        Definition(
            name="Certified Wound Care Nurse",
            description="An introductory course, 12 contact hours (2 of them ethics) and an exam.",
            window_months=12,
            grace_days=60,
            ordered=True,
            requirements=(
                _spec(
                    Requirement.Kind.OFFERING, "Introductory course", course_ids=(courses[0].pk,)
                ),
                _spec(
                    Requirement.Kind.CREDIT_HOURS, "12 CE hours", credit_type_code="CE", hours=12
                ),
                _spec(
                    Requirement.Kind.CREDIT_HOURS, "2 ethics hours", credit_type_code="ETH", hours=2
                ),
                _spec(
                    Requirement.Kind.MANUAL,
                    "Certification exam",
                    needs_grade=True,
                    min_grade=Decimal(70),
                    needs_approval=True,
                ),
            ),
        ),
    )
    people = emails[:150]
    # Enrollment dates spread over two years back from the anchor: the oldest are past their
    # deadline (grace) or their grace period too (expired).
    for n, email in enumerate(people):
        enrolled_on = anchor - timedelta(days=30 + (n * 5) % 720)
        services.enrollments_create(
            actor=ACTOR, program=rn, people=[(email, "")], enrolled_on=enrolled_on, notify=False
        )
    for n, enrollment in enumerate(Enrollment.objects.filter(program=rn).order_by("email")):
        if n % 5 == 0 and enrollment.status == Enrollment.Status.ENROLLED:
            services.enrollment_earn(
                actor=ACTOR,
                enrollment=enrollment,
                earned_on=min(anchor, enrollment.enrolled_on + timedelta(days=200)),
                issue_certificate=n < 20,
                notify=False,
            )
    services.deadlines_sweep(today=anchor, notify=False)

    maint = _active(
        org,
        "RN-MAINT",
        Definition(
            name="Wound care recertification",
            description="24 hours every 2 years, 3 of them ethics, and a reflective essay.",
            window_months=24,
            grace_days=30,
            maintenance=True,
            requirements=(
                _spec(
                    Requirement.Kind.CREDIT_HOURS, "24 CE hours", credit_type_code="CE", hours=24
                ),
                _spec(
                    Requirement.Kind.CREDIT_HOURS, "3 ethics hours", credit_type_code="ETH", hours=3
                ),
                _spec(Requirement.Kind.MANUAL, "Reflective essay", needs_approval=True),
            ),
        ),
    )
    enrolled = services.enrollments_create(
        actor=ACTOR,
        program=maint,
        people=[(e, "") for e in emails[:12]],
        enrolled_on=anchor - timedelta(days=300),
        notify=False,
    )
    essay = maint.current_version.requirements.get(title="Reflective essay")
    for enrollment in sorted(enrolled, key=lambda e: e.email)[:6]:
        services.completion_record(
            actor=ACTOR,
            enrollment=enrollment,
            requirement=essay,
            completed_on=enrollment.enrolled_on + timedelta(days=90),
            notes="Essay submitted by e-mail.",
        )

    _self_reports(enrolled[:5], anchor)

    cpr = _active(
        org,
        "CPR-INSTR",
        Definition(
            name="CPR instructor",
            window_months=6,
            requirements=(_spec(Requirement.Kind.MANUAL, "Supervised teaching"),),
        ),
    )
    services.enrollments_create(
        actor=ACTOR,
        program=cpr,
        # A small demo (tests load a handful of holders) reuses the first addresses.
        people=[(e, "") for e in (emails[12:20] or emails[:8])],
        enrolled_on=anchor - timedelta(days=20),
        notify=False,
    )
    services.program_update(
        actor=ACTOR,
        program=cpr,
        definition=Definition(
            name="CPR instructor",
            window_months=9,
            requirements=(
                _spec(Requirement.Kind.MANUAL, "Supervised teaching"),
                _spec(Requirement.Kind.MANUAL, "Written test", needs_grade=True),
            ),
        ),
    )
    return [rn, maint, cpr]


def _self_reports(enrollments, anchor: date) -> None:
    """Holders report CE earned elsewhere: it waits in the approvals queue of their program."""
    from django.core.files.base import ContentFile

    from laurel.credits.services import dashboard_create, self_report_create

    providers = ("County Hospital", "State Nurses Association", "Online CE Library")
    for n, enrollment in enumerate(e for e in enrollments if e.holder_id):
        holder = enrollment.holder
        dashboard = holder.dashboards.first() or dashboard_create(
            holder=holder, name="Wound care license"
        )
        self_report_create(
            holder=holder,
            title=("Pressure injury prevention", "Ethics in wound care", "Diabetic foot care")[
                n % 3
            ],
            provider=providers[n % 3],
            completion_date=max(enrollment.enrolled_on, anchor - timedelta(days=40 + n * 9)),
            hours={"CE": Decimal(6), "ETH": Decimal(1)} if n % 3 == 1 else {"CE": Decimal(8)},
            dashboard=dashboard,
            certificate=ContentFile(
                b"%PDF-1.4\n% demo certificate\n%%EOF\n", name="certificate.pdf"
            ),
        )
