"""Reads of the ledger: totals, progress against requirements, filtered lists."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from laurel.credits.models import Credit, CreditComponent, Dashboard


@dataclass(frozen=True)
class Total:
    code: str
    name: str
    unit: str
    amount: Decimal


def totals_for(credits) -> list[Total]:
    """Sum of amounts earned per credit type over ``credits`` that count (accepted)."""
    rows = (
        CreditComponent.objects.filter(credit__in=credits.counting())
        .values("credit_type__code", "credit_type__name", "credit_type__unit")
        .annotate(total=Sum("amount_earned"))
        .order_by("credit_type__code")
    )
    merged: dict[tuple[str, str], Total] = {}
    for r in rows:  # the same code in two organizations is one line when the unit matches
        key = (r["credit_type__code"], r["credit_type__unit"])
        prev = merged.get(key)
        amount = r["total"] + (prev.amount if prev else 0)
        merged[key] = Total(key[0], r["credit_type__name"], key[1], amount)
    return list(merged.values())


@dataclass(frozen=True)
class Progress:
    label: str
    required: Decimal
    earned: Decimal

    @property
    def met(self) -> bool:
        return self.earned >= self.required

    @property
    def percent(self) -> int:
        if not self.required:
            return 100
        return min(100, int(self.earned * 100 / self.required))


def dashboard_progress(dashboard: Dashboard) -> list[Progress]:
    """Progress against the dashboard's requirement set, counting credits in its window."""
    window = Q()
    if dashboard.window_start:
        window &= Q(completion_date__gte=dashboard.window_start)
    if dashboard.window_end:
        window &= Q(completion_date__lte=dashboard.window_end)
    in_window = dashboard.credits.filter(window)
    totals = totals_for(in_window)
    lines = []
    if dashboard.required_total is not None:
        earned = sum((t.amount for t in totals), Decimal(0))
        lines.append(Progress("Total", dashboard.required_total, earned))
    for minimum in dashboard.minimums.all():
        earned = sum((t.amount for t in totals if t.code == minimum.credit_type_code), Decimal(0))
        lines.append(Progress(f"At least {minimum.credit_type_code}", minimum.amount, earned))
    return lines


def ledger_filter(
    credits, *, status: str = "", course: str = "", email: str = "", date_from=None, date_to=None
):
    if status:
        credits = credits.filter(status=status)
    if course:
        credits = credits.filter(course__course_id__iexact=course.strip())
    if email:
        credits = credits.filter(recipient_email__icontains=email.strip().lower())
    if date_from:
        credits = credits.filter(completion_date__gte=date_from)
    if date_to:
        credits = credits.filter(completion_date__lte=date_to)
    return credits


def credit_history(credit: Credit):
    from laurel.audit.models import AuditEvent

    return AuditEvent.objects.for_object(credit).select_related("actor").order_by("at", "id")
