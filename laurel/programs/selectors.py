"""Reads of programs: requirement progress per enrollment, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from laurel.programs.models import (
    Completion,
    CreditReview,
    Enrollment,
    Offering,
    Program,
    Requirement,
    Tracker,
)

NO_STATUS = "No status"
AWAITING_GRADE = "Awaiting grade"
AWAITING_APPROVAL = "Awaiting approval"
COMPLETE = "Complete"

_LABEL = {
    Completion.Status.AWAITING_GRADE: AWAITING_GRADE,
    Completion.Status.AWAITING_APPROVAL: AWAITING_APPROVAL,
    Completion.Status.COMPLETE: COMPLETE,
}


@dataclass
class Row:
    requirement: Requirement
    status: str = NO_STATUS
    locked: bool = False
    completion: Completion | None = None
    hours: Decimal | None = None  # earned so far, for credit-hours requirements
    offerings: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE


@dataclass
class Progress:
    enrollment: Enrollment
    rows: list[Row]

    @property
    def all_complete(self) -> bool:
        return bool(self.rows) and all(r.complete for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.complete for r in self.rows)

    def row(self, requirement: Requirement) -> Row:
        return next(r for r in self.rows if r.requirement.pk == requirement.pk)


def progress_for(enrollments: list[Enrollment]) -> dict[int, Progress]:
    """Each enrollment's requirement rows (status, locked, hours) in six queries however many
    enrollments: requirements, offerings, completions, the live attendance at the offered
    events, the holders' accepted credits, and the self-reported ones a program's staff
    approved for the enrollment."""
    from laurel.credits.models import Credit, CreditComponent

    if not enrollments:
        return {}
    version_ids = {e.version_id for e in enrollments}
    requirements = defaultdict(list)
    by_id = {}
    for req in Requirement.objects.filter(version_id__in=version_ids).order_by("position"):
        requirements[req.version_id].append(req)
        by_id[req.pk] = req
    offerings = defaultdict(list)
    for offering in Offering.objects.filter(requirement_id__in=by_id).select_related(
        "course", "event__organization"
    ):
        offerings[offering.requirement_id].append(offering)
    attended = _attended(enrollments, offerings)
    latest: dict[tuple[int, int], Completion] = {}
    completions = Completion.objects.filter(enrollment__in=[e.pk for e in enrollments]).exclude(
        status=Completion.Status.SUPERSEDED
    )
    for completion in completions.order_by("created_at", "id"):
        latest[(completion.enrollment_id, completion.requirement_id)] = completion
    holder_ids = {e.holder_id for e in enrollments if e.holder_id}
    credits = defaultdict(list)
    if holder_ids:
        # Self-reported credit counts only once a program's staff approve it, which is a
        # completion of its own; the ledger rows here are those organizations delivered.
        components = (
            CreditComponent.objects.filter(
                credit__holder_id__in=holder_ids, credit__status=Credit.Status.ACCEPTED
            )
            .exclude(credit__source=Credit.Source.SELF_REPORT)
            .values_list(
                "credit__holder_id",
                "credit__course_id",
                "credit__completion_date",
                "credit_type__code",
                "amount_earned",
            )
        )
        for holder_id, *rest in components:
            credits[holder_id].append(rest)
    approved = defaultdict(list)  # approved self-reported credit, per enrollment
    if holder_ids:
        for enrollment_id, *rest in CreditReview.objects.filter(
            enrollment_id__in=[e.pk for e in enrollments],
            status=CreditReview.Status.APPROVED,
            credit__status=Credit.Status.ACCEPTED,
        ).values_list(
            "enrollment_id",
            "credit__course_id",
            "credit__completion_date",
            "credit__components__credit_type__code",
            "credit__components__amount_earned",
        ):
            approved[enrollment_id].append(rest)
    out = {}
    for enrollment in enrollments:
        mine = credits.get(enrollment.holder_id, []) + approved.get(enrollment.pk, [])
        end = enrollment.expires_on
        in_window = [
            c for c in mine if c[1] >= enrollment.enrolled_on and (end is None or c[1] <= end)
        ]
        rows = []
        blocked = False
        for req in requirements[enrollment.version_id]:
            row = Row(requirement=req, offerings=offerings[req.pk], locked=blocked)
            completion = latest.get((enrollment.pk, req.pk))
            if completion is not None and completion.status in _LABEL:
                row.completion = completion
                row.status = _LABEL[completion.status]
            elif req.kind == Requirement.Kind.CREDIT_HOURS:
                code = req.credit_type_code
                row.hours = sum((c[3] for c in in_window if c[2] == code), Decimal(0))
                if row.hours >= req.hours:
                    row.status = COMPLETE
            elif req.kind == Requirement.Kind.OFFERING and not (
                req.needs_grade or req.needs_approval or req.needs_attachment
            ):
                courses = {o.course_id for o in row.offerings if o.course_id}
                events = {o.event_id for o in row.offerings if o.event_id}
                if any(c[0] in courses for c in in_window) or any(
                    event_id in events
                    and day >= enrollment.enrolled_on
                    and (end is None or day <= end)
                    for event_id, day in attended.get(enrollment.pk, ())
                ):
                    row.status = COMPLETE
            if enrollment.version.ordered and not row.complete:
                blocked = True
            rows.append(row)
        out[enrollment.pk] = Progress(enrollment=enrollment, rows=rows)
    return out


def _attended(enrollments, offerings) -> dict[int, list[tuple[int, object]]]:
    """Enrollment id → (event id, completion date) of each offered event the person is
    Attended at (by the enrollment's e-mail or holder), in one query. Leaving Attended
    leaves this list, so the requirement is no longer Complete."""
    from laurel.events.models import Attendance, Registration

    events = {o.event_id: o.event for rows in offerings.values() for o in rows if o.event_id}
    if not events:
        return {}
    emails = {e.email for e in enrollments}
    holders = {e.holder_id for e in enrollments if e.holder_id}
    who = Q(registration__email__in=emails)
    if holders:
        who |= Q(registration__holder_id__in=holders)
    rows = (
        Attendance.objects.filter(
            who,
            registration__event_id__in=events,
            registration__status=Registration.Status.ATTENDED,
            revoked_at__isnull=True,
        )
        .values_list("registration__event_id", "registration__email", "registration__holder_id")
        .distinct()
    )
    by_email, by_holder = defaultdict(set), defaultdict(set)
    for event_id, email, holder_id in rows:
        by_email[email].add(event_id)
        if holder_id:
            by_holder[holder_id].add(event_id)
    out = {}
    for e in enrollments:
        ids = by_email.get(e.email, set()) | by_holder.get(e.holder_id, set())
        out[e.pk] = [(i, events[i].completion_date) for i in ids]
    return out


def _figures(counts: dict[str, int]) -> dict[str, int]:
    """The tracker figures from a count per enrollment status."""
    S = Enrollment.Status
    total = sum(counts.get(s, 0) for s in (S.ENROLLED, S.GRACE, S.EARNED, S.EXPIRED))
    return {
        "earned": counts.get(S.EARNED, 0),
        "total": total,
        "enrolled": counts.get(S.ENROLLED, 0),
        "grace": counts.get(S.GRACE, 0),
        "expired": counts.get(S.EXPIRED, 0),
        "cancelled": counts.get(S.CANCELLED, 0),
    }


def trackers(program: Program) -> dict[str, int]:
    """The four tracker figures of the program page, read from the counters (one query)."""
    counts = dict(Tracker.objects.filter(program=program).values_list("status", "count"))
    return _figures(counts)


def trackers_recount(program: Program) -> dict[str, int]:
    """The same figures counted from the enrollments (tests and the benchmark compare)."""
    from django.db.models import Count

    counts = dict(
        Enrollment.objects.filter(program=program)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return _figures(counts)


TRANSCRIPT_HEADER = [
    "organization",
    "program",
    "version",
    "cycle",
    "status",
    "enrolled_on",
    "deadline",
    "earned_on",
    "requirement",
    "requirement_status",
    "completed_on",
    "grade",
    "hours",
]


TRANSCRIPT_RELATED = ("program", "version", "organization", "certificate")

ENROLLEES_HEADER = [
    "email",
    "name",
    "status",
    "cycle",
    "version",
    "enrolled_on",
    "deadline",
    "expires_on",
    "earned_on",
]


def enrollee_filter(program, params):
    """A program's enrollments narrowed as its page's filter form says (``q``, ``status``)."""
    from django.db.models import Q

    from laurel.programs.forms import EnrolleeFilterForm
    from laurel.programs.models import Enrollment

    form = EnrolleeFilterForm(params or None)
    rows = Enrollment.objects.filter(program=program).select_related("version")
    if form.is_valid():
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"].strip()
            rows = rows.filter(Q(email__icontains=q) | Q(name__icontains=q))
        if form.cleaned_data["status"]:
            rows = rows.filter(status=form.cleaned_data["status"])
    return rows.order_by("email", "-cycle")


def transcript(enrollments) -> list[Progress]:
    """A person's programs, oldest enrollment first, each with its requirement rows."""
    enrollments = sorted(enrollments, key=lambda e: (e.enrolled_on, e.pk))
    progress = progress_for(enrollments)
    return [progress[e.pk] for e in enrollments]


def transcript_rows(items: list[Progress]):
    """One CSV row per requirement of each enrollment."""
    for p in items:
        e = p.enrollment
        for row in p.rows:
            c = row.completion
            yield [
                e.organization.name,
                e.version.name,
                e.version.number,
                e.cycle,
                e.get_status_display(),
                e.enrolled_on,
                e.deadline or "",
                e.earned_on or "",
                row.requirement.title,
                row.status,
                c.completed_on if c else "",
                c.grade if c and c.grade is not None else "",
                row.hours if row.hours is not None else "",
            ]


TRANSCRIPT_PDF_HEADER = ["Requirement", "Status", "Completed", "Grade", "Hours"]


def transcript_sections(items: list[Progress]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The PDF transcript's sections: per enrollment a title, its facts and requirement rows."""
    out = []
    for p in items:
        e = p.enrollment
        facts = [
            e.organization.name,
            e.get_status_display(),
            f"enrolled {e.enrolled_on:%Y-%m-%d}",
            f"deadline {e.deadline:%Y-%m-%d}" if e.deadline else "no deadline",
        ]
        if e.cycle > 1:
            facts.append(f"cycle {e.cycle}")
        if e.earned_on:
            facts.append(f"earned {e.earned_on:%Y-%m-%d}")
        if e.certificate_id:
            facts.append(f"certificate {e.certificate.serial_number}")
        rows = []
        for row in p.rows:
            c = row.completion
            hours = ""
            if row.hours is not None:
                hours = f"{row.hours.normalize():f} of {row.requirement.hours.normalize():f}"
                hours += f" {row.requirement.credit_type_code}"
            rows.append(
                [
                    row.requirement.title,
                    row.status,
                    f"{c.completed_on:%Y-%m-%d}" if c else "",
                    f"{c.grade.normalize():f}" if c and c.grade is not None else "",
                    hours,
                ]
            )
        out.append((f"{e.version.name} (version {e.version.number})", facts, rows))
    return out
