"""Reads of the ledger: totals, progress against requirements, filtered lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, Sum

from laurel.credits.models import Credit, CreditComponent, Dashboard, DashboardMinimum
from laurel.notifications.models import Suppression


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
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.required - self.earned)

    @property
    def percent(self) -> int:
        if not self.required:
            return 100
        return min(100, int(self.earned * 100 / self.required))


def dashboard_progress(dashboard: Dashboard) -> list[Progress]:
    """Progress against the dashboard's requirement set, counting credits in its window."""
    in_window = dashboard.credits.filter(_window(dashboard))
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
    credits,
    *,
    organization=None,
    status: str = "",
    course: str = "",
    email: str = "",
    date_from=None,
    date_to=None,
    delivery: str = "",
):
    if delivery == "undeliverable":
        credits = credits.with_delivery().filter(undeliverable=True)
    if status:
        credits = credits.filter(status=status)
    if course and course.strip():
        credits = credits.filter(course_id__in=matching_course_ids(organization, course))
    if email and email.strip():
        credits = credits.filter(email_match(email))
    if date_from:
        credits = credits.filter(completion_date__gte=date_from)
    if date_to:
        credits = credits.filter(completion_date__lte=date_to)
    return credits


def matching_course_ids(organization, text: str) -> list[int]:
    """The ids of ``organization``'s courses whose course ID is ``text`` or whose title
    contains it: resolved on the small course table first, so the ledger is filtered by
    ``course_id IN (…)`` on its index instead of through a join no index serves. At most
    500 courses (a word matching more narrows nothing)."""
    from laurel.catalog.models import Course

    text = text.strip()
    courses = Course.objects.for_org(organization) if organization else Course.objects.all()
    return list(
        courses.filter(Q(course_id__iexact=text) | Q(title__icontains=text))
        .order_by("course_id")
        .values_list("pk", flat=True)[:500]
    )


def email_match(text: str) -> Q:
    """A whole address matches exactly, anything else as the start of an address: both
    served by the (organization, recipient_email) index. Addresses are stored lower-case."""
    text = text.strip().lower()
    local, _, domain = text.partition("@")
    if local and "." in domain:
        return Q(recipient_email=text)
    return Q(recipient_email__startswith=text)


def credit_history(credit: Credit):
    from laurel.audit.models import AuditEvent

    return AuditEvent.objects.for_object(credit).select_related("actor").order_by("at", "id")


# --- The holder's locker ----------------------------------------------------------------------


@dataclass
class DashboardSummary:
    """A dashboard with its totals and progress, computed without a query per dashboard."""

    dashboard: Dashboard
    totals: list[Total]
    progress: list[Progress]
    credit_count: int


def _merge(rows) -> list[Total]:
    """Per-type sums (``code``, ``name``, ``unit``, ``amount``) merged by code and unit: the
    same code in two organizations is one line when the unit matches."""
    merged: dict[tuple[str, str], Total] = {}
    for r in sorted(rows, key=lambda r: (r["code"], r["unit"])):
        if r["amount"] is None:
            continue
        key = (r["code"], r["unit"])
        prev = merged.get(key)
        amount = r["amount"] + (prev.amount if prev else 0)
        merged[key] = Total(key[0], r["name"], key[1], amount)
    return list(merged.values())


def _window(dashboard: Dashboard, prefix: str = "") -> Q:
    window = Q()
    if dashboard.window_start:
        window &= Q(**{f"{prefix}completion_date__gte": dashboard.window_start})
    if dashboard.window_end:
        window &= Q(**{f"{prefix}completion_date__lte": dashboard.window_end})
    return window


def dashboard_summaries(holder, dashboards) -> list[DashboardSummary]:
    """Totals and progress for each of ``holder``'s ``dashboards``, summed by the database
    (same rules as ``dashboard_progress``): three queries however many dashboards and credits
    there are, and no credit row ever reaches Python."""
    dashboards = list(dashboards)
    if not dashboards:
        return []
    ids = [d.pk for d in dashboards]
    # In-window amounts in the same pass: one CASE per dashboard with a window.
    in_window = Q()
    for d in dashboards:
        in_window |= Q(credit__dashboard_id=d.pk) & _window(d, "credit__")
    rows = (
        CreditComponent.objects.filter(
            credit__holder=holder,
            credit__status=Credit.Status.ACCEPTED,
            credit__dashboard_id__in=ids,
        )
        .values(
            dashboard=F("credit__dashboard_id"),
            code=F("credit_type__code"),
            name=F("credit_type__name"),
            unit=F("credit_type__unit"),
        )
        .annotate(amount=Sum("amount_earned"), in_window=Sum("amount_earned", filter=in_window))
        .order_by()
    )
    by_dashboard: dict[int, list[dict]] = {}
    for r in rows:
        by_dashboard.setdefault(r["dashboard"], []).append(r)
    counts = dict(
        Credit.objects.filter(holder=holder, status=Credit.Status.ACCEPTED, dashboard_id__in=ids)
        .values_list("dashboard_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    minimums: dict[int, list] = {}
    for m in DashboardMinimum.objects.filter(dashboard_id__in=ids):
        minimums.setdefault(m.dashboard_id, []).append(m)
    out = []
    for d in dashboards:
        mine = by_dashboard.get(d.pk, [])
        windowed = _merge({**r, "amount": r["in_window"]} for r in mine)
        lines = []
        if d.required_total is not None:
            earned = sum((t.amount for t in windowed), Decimal(0))
            lines.append(Progress("Total", d.required_total, earned))
        for minimum in minimums.get(d.pk, []):
            earned = sum(
                (t.amount for t in windowed if t.code == minimum.credit_type_code), Decimal(0)
            )
            lines.append(Progress(f"At least {minimum.credit_type_code}", minimum.amount, earned))
        out.append(
            DashboardSummary(
                dashboard=d,
                totals=_merge(mine),
                progress=lines,
                credit_count=counts.get(d.pk, 0),
            )
        )
    return out


def transcript_credits(holder, dashboard: Dashboard | None = None):
    """Credits filed in the holder's dashboards (accepted, or revoked after filing), grouped
    by dashboard: what a transcript lists."""
    credits = (
        Credit.objects.for_holder(holder)
        .filter(
            dashboard__isnull=False,
            status__in=[Credit.Status.ACCEPTED, Credit.Status.REVOKED],
        )
        .select_related("organization", "course", "dashboard")
        .prefetch_related(
            Prefetch("components", queryset=CreditComponent.objects.select_related("credit_type"))
        )
        .order_by(
            # Open dashboards first on every database (PostgreSQL sorts NULLs last).
            F("dashboard__archived_at").asc(nulls_first=True),
            "dashboard__name",
            "dashboard_id",
            "completion_date",
            "id",
        )
    )
    if dashboard is not None:
        credits = credits.filter(dashboard=dashboard)
    return credits


TRANSCRIPT_HEADER = [
    "Organization",
    "Course ID",
    "Title",
    "Completion date",
    "Credit type",
    "Amount earned",
    "Unit",
    "Status",
    "Dashboard",
]


def transcript_rows(credits):
    """One row per credit component, in ``TRANSCRIPT_HEADER`` order."""
    for credit in credits:
        for c in credit.components.all():
            yield [
                credit.organization.name,
                credit.course.course_id if credit.course_id else "",
                credit.title,
                credit.completion_date.isoformat(),
                c.credit_type.code,
                f"{c.amount_earned.normalize():f}",
                c.credit_type.unit,
                credit.get_status_display(),
                credit.dashboard.name if credit.dashboard_id else "",
            ]


HOLDER_ACTIONS = {
    "credit.entered": "Recorded by {org}",
    "credit.offered": "Offered to you (address verified)",
    "credit.accepted": "Accepted into {dashboard}",
    "credit.rejected": "Rejected",
    "credit.moved": "Moved from {from_dashboard} to {dashboard}",
    "credit.revoked": "Revoked by {org}",
    "credit.voided": "Withdrawn by {org}",
    "credit.notification_resent": "{org} sent the notification again",
}


@dataclass(frozen=True)
class HistoryLine:
    at: object
    text: str
    reason: str = ""


def holder_history(credit: Credit, holder) -> list[HistoryLine]:
    """The credit's state changes in words for its holder: no staff names, no other
    holder's dashboards."""
    events = [e for e in credit_history(credit) if e.action in HOLDER_ACTIONS]
    names = dict(Dashboard.objects.for_holder(holder).values_list("pk", "name"))

    def dashboard_name(snapshot) -> str:
        pk = (snapshot or {}).get("dashboard")
        return f"“{names[pk]}”" if pk in names else "a dashboard"

    lines = []
    for e in events:
        text = HOLDER_ACTIONS[e.action].format(
            org=credit.organization.name,
            dashboard=dashboard_name(e.after),
            from_dashboard=dashboard_name(e.before),
        )
        reason = "" if e.action == "credit.voided" else (e.after or {}).get("reason", "")
        lines.append(HistoryLine(e.at, text, reason))
        if e.action == "credit.entered" and (e.after or {}).get("status") == "offered":
            lines.append(HistoryLine(e.at, "Offered to you"))
    return lines


# --- The organization's side ------------------------------------------------------------------

AGE_BUCKETS = [
    # (key, label, at least days, under days)
    ("week", "Under 7 days", 0, 7),
    ("month", "7–30 days", 7, 30),
    ("quarter", "30–90 days", 30, 90),
    ("older", "Older than 90 days", 90, None),
]


def _age(now, low: int, high: int | None) -> Q:
    age = Q(created_at__lte=now - timedelta(days=low))
    if high is not None:
        age &= Q(created_at__gt=now - timedelta(days=high))
    return age


def claims_by_age(credits, *, now) -> list[dict]:
    """Counts of held and offered credits per waiting-time bucket, in one query."""
    aggregates = {}
    for key, _, low, high in AGE_BUCKETS:
        for status in (Credit.Status.HELD, Credit.Status.OFFERED):
            aggregates[f"{key}_{status}"] = Count(
                "pk", filter=_age(now, low, high) & Q(status=status)
            )
    counts = credits.aggregate(**aggregates)
    out = []
    for key, label, low, high in AGE_BUCKETS:
        held, offered = counts[f"{key}_held"], counts[f"{key}_offered"]
        out.append(
            {
                "key": key,
                "label": label,
                "held": held,
                "offered": offered,
                "total": held + offered,
                "low": low,
                "high": high,
            }
        )
    return out


def claims_in_bucket(credits, *, now, bucket: dict):
    return credits.filter(_age(now, bucket["low"], bucket["high"]))


LEDGER_HEADER = [
    "Credit",
    "Recipient e-mail",
    "Recipient name",
    "Course ID",
    "Title",
    "Completion date",
    "Credit earned",
    "Credit offered",
    "Status",
    "Source",
    "Recorded at (UTC)",
    "Answered at (UTC)",
    "Reason",
    "Undeliverable",
]


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def _undeliverable(credit) -> str:
    """Why mail to the recipient bounces (the suppression's summary), or "" when it does not.
    Needs ``Credit.objects.with_delivery(reason=True)``."""
    code = getattr(credit, "undeliverable_reason", None)
    if not code:
        return ""
    return Suppression(reason=code, status_text=credit.undeliverable_status or "").summary


def ledger_rows(credits):
    """The filtered ledger as CSV rows (``LEDGER_HEADER`` order).
    Credits need ``with_delivery(reason=True)`` for the "Undeliverable" column."""
    for credit in credits:
        components = list(credit.components.all())
        yield [
            credit.pk,
            credit.recipient_email,
            credit.recipient_name,
            credit.course.course_id if credit.course_id else "",
            credit.title,
            credit.completion_date.isoformat(),
            "; ".join(f"{c.amount_earned.normalize():f} {c.credit_type.code}" for c in components),
            "; ".join(f"{c.amount_offered.normalize():f} {c.credit_type.code}" for c in components),
            credit.get_status_display(),
            credit.get_source_display(),
            _utc(credit.created_at),
            _utc(credit.answered_at),
            credit.revoke_reason or credit.reject_reason,
            _undeliverable(credit),
        ]
