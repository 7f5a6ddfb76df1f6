"""Reads of recognition, owner-scoped through ``for_org``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q

from laurel.lib.csvfile import iter_csv
from laurel.recognition.models import Ceremony, Cohort, CourseTaker

State = CourseTaker.State


@dataclass(slots=True)
class TakerRow:
    pk: int
    name: str
    email: str
    cohort: Cohort
    percent: int
    completed_on: date | None
    certified: bool
    certificate_id: int | None
    state: str


@dataclass
class GenerationData:
    completers: list[TakerRow] = field(default_factory=list)
    approaching: list[TakerRow] = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)

    @property
    def not_completed(self) -> int:
        return self.left_out[State.NOT_COMPLETED]

    @property
    def uncertified(self) -> int:
        return self.left_out[State.UNCERTIFIED]


def generation_data(ceremony: Ceremony, today: date) -> GenerationData:
    """Completers and course-takers approaching certification of the ceremony's cohorts,
    and counts of those left out. Three queries whatever the number of cohorts; the left-out
    are counted in SQL, never loaded."""
    cohorts = {c.pk: c for c in ceremony.cohorts.all()}
    open_ids = [pk for pk, c in cohorts.items() if c.closes_on >= today]
    data = GenerationData()
    takers = CourseTaker.objects.filter(cohort_id__in=list(cohorts))
    completer = Q(completed_on__isnull=False, certified=True)
    approaching = Q(completed_on__isnull=True, cohort_id__in=open_ids)
    counts = takers.aggregate(
        uncertified=Count("pk", filter=Q(completed_on__isnull=False, certified=False)),
        not_completed=Count("pk", filter=Q(completed_on__isnull=True) & ~Q(cohort_id__in=open_ids)),
    )
    data.left_out[State.UNCERTIFIED] = counts["uncertified"]
    data.left_out[State.NOT_COMPLETED] = counts["not_completed"]
    rows = (
        takers.filter(completer | approaching)
        .order_by("cohort_id", "name", "email")
        .values_list(
            "pk",
            "cohort_id",
            "name",
            "email",
            "percent",
            "completed_on",
            "certified",
            "certificate_id",
        )  # fmt: skip
    )
    completers, approaching_rows = data.completers, data.approaching
    for pk, cohort_id, name, email, percent, completed_on, certified, cert_id in rows:
        cohort = cohorts[cohort_id]
        if completed_on:
            completers.append(
                TakerRow(pk, name, email, cohort, percent, completed_on, certified, cert_id,
                         State.COMPLETER)
            )  # fmt: skip
        else:
            approaching_rows.append(
                TakerRow(pk, name, email, cohort, percent, completed_on, certified, cert_id,
                         State.APPROACHING)
            )  # fmt: skip
    return data


def selection_csv(rows: list[TakerRow]):
    header = ["Name", "Email", "Cohort", "Certificate", "Status", "Progress", "Completed"]
    body = (
        [
            r.name,
            r.email,
            r.cohort.name,
            r.cohort.certificate_title,
            State(r.state).label,
            f"{r.percent}%",
            r.completed_on.isoformat() if r.completed_on else "",
        ]
        for r in rows
    )
    return iter_csv([header, *body])


def program_groups(ceremony: Ceremony, today: date) -> list[tuple[str, list[str]]]:
    """Completers' names by certificate type, for the printed program."""
    groups: dict[str, list[str]] = {}
    for row in generation_data(ceremony, today).completers:
        groups.setdefault(row.cohort.certificate_title, []).append(row.name or row.email)
    return [(title, sorted(names, key=str.casefold)) for title, names in sorted(groups.items())]


def pins_queue(issuer):
    """Scheduled ceremonies whose pins are not mailed, with completers per certificate type."""
    ceremonies = list(
        Ceremony.objects.filter(
            partnership__issuer=issuer,
            kind=Ceremony.Kind.CEREMONY,
            status=Ceremony.Status.SCHEDULED,
        )
        .select_related("partnership__partner")
        .order_by("starts_at")
    )
    counts = (
        CourseTaker.objects.filter(
            cohort__ceremonies__in=ceremonies, completed_on__isnull=False, certified=True
        )
        .values("cohort__ceremonies", "cohort__certificate_title")
        .annotate(n=Count("pk"))
    )
    by_ceremony: dict[int, dict[str, int]] = {}
    for row in counts:
        by_ceremony.setdefault(row["cohort__ceremonies"], {})[row["cohort__certificate_title"]] = (
            row["n"]
        )
    for ceremony in ceremonies:
        ceremony.pin_counts = sorted(by_ceremony.get(ceremony.pk, {}).items())
    return ceremonies


def pins_csv(ceremonies):
    header = ["Ceremony", "Partner", "Date", "Certificate", "Pins", "Contact", "Email", "Address"]
    rows = []
    for c in ceremonies:
        for title, n in c.pin_counts or [("", 0)]:
            rows.append(
                [
                    c.name,
                    c.partnership.partner.name,
                    c.local_start.date().isoformat() if c.local_start else "",
                    title,
                    n,
                    c.mailing_contact,
                    c.mailing_email,
                    " / ".join(c.mailing_address.splitlines()),
                ]
            )
    return iter_csv([header, *rows])


def dashboard(org):
    return (
        Ceremony.objects.for_org(org)
        .exclude(status=Ceremony.Status.CANCELLED)
        .select_related("partnership__partner", "last_job")
        .annotate(cohort_count=Count("cohorts"))
        .order_by("-created_at")
    )


def cohort_list(org):
    return (
        Cohort.objects.for_org(org)
        .select_related("partnership__partner")
        .annotate(
            taker_count=Count("takers"),
            completer_count=Count(
                "takers", filter=Q(takers__completed_on__isnull=False, takers__certified=True)
            ),
        )
    )
