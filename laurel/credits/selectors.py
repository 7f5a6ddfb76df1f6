"""Reads of the ledger: totals, progress against requirements, filtered lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    Sum,
)

from laurel.credits.models import Credit, CreditComponent, Dashboard, DashboardMinimum
from laurel.lib.csvfile import FORMULA_TRIGGERS
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
        if organization is not None and _few(credits):
            credits = credits.order_by(*SORTED_NOT_WALKED)
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


# The ledger's order (-completion_date, -id) as expressions no index provides: PostgreSQL
# then reads the matching rows on the filter's own index and sorts them, instead of walking
# ``credit_org_recent`` in order looking for them. Its estimate of a prefix's matches can be
# off twenty-fold ("person1234%": 10,105 estimated, 555 real, 121,850 rows walked at 1M).
SORTED_NOT_WALKED = (
    ExpressionWrapper(F("completion_date") + 0, output_field=DateField()).desc(),
    ExpressionWrapper(F("id") + 0, output_field=BigIntegerField()).desc(),
)
FEW = 1000


def _few(credits) -> bool:
    """At most ``FEW`` rows match (counted on the index, stopping at ``FEW + 1``): on
    PostgreSQL only; SQLite keeps the plain order (its ``date + 0`` is a number)."""
    if connection.vendor != "postgresql":
        return False
    return credits.values("pk").order_by()[: FEW + 1].count() <= FEW


def email_match(text: str) -> Q:
    """A whole address matches exactly, anything else as the start of an address: both
    served by the (organization, recipient_email) index ``credit_org_email``. Addresses are
    stored lower-case."""
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
                credit.issuer_label,
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
    "credit.self_reported": "Reported by you (self-reported)",
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
            org=credit.issuer_label,
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


def _undeliverable(reason: str | None, status_text: str | None) -> str:
    """Why mail to the recipient bounces (the suppression's summary), or "" when it does not."""
    if not reason:
        return ""
    return Suppression(reason=reason, status_text=status_text or "").summary


def _amounts(parts, field: int) -> str:
    return "; ".join(f"{p[field].normalize():f} {p[0]}" for p in parts)


def ledger_rows(credits, *, chunk: int = 5000):
    """The filtered ledger as CSV rows (``LEDGER_HEADER`` order), set-based: the credits and
    their components come as plain tuples from two streamed queries in the same order,
    merged here, so no model object is built per row (an export of a million rows)."""
    status = dict(Credit.Status.choices)
    source = dict(Credit.Source.choices)
    order = ("-completion_date", "-id")
    # Bounced addresses are few: one query, not a lookup per row.
    bounced = {
        email: _undeliverable(reason, text)
        for email, reason, text in Suppression.objects.filter(
            reason__in=Suppression.BOUNCE_REASONS,
            email__in=credits.order_by().values("recipient_email"),
        )
        .order_by("created_at")
        .values_list("email", "reason", "status_text")
    }
    rows = (
        credits.order_by(*order)
        .values_list(
            "pk", "recipient_email", "recipient_name", "course__course_id", "title",
            "completion_date", "status", "source", "created_at", "answered_at",
            "revoke_reason", "reject_reason",
        )
        .iterator(chunk)
    )  # fmt: skip
    parts = (
        CreditComponent.objects.filter(credit__in=credits.order_by().values("pk"))
        .order_by(*(f"{o[0]}credit__{o[1:]}" for o in order), "credit_type__code")
        .values_list(
            "credit__completion_date", "credit_id", "credit_type__code", "amount_earned",
            "amount_offered",
        )
        .iterator(chunk)
    )  # fmt: skip
    part = next(parts, None)
    for pk, email, name, course_id, title, day, st, so, at, answered, rv, rj in rows:
        mine = []
        # Both streams run in descending (date, id); a component of a credit entered between
        # the two queries sorts before its neighbours and is skipped, not mistaken for theirs.
        while part is not None and (part[0], part[1]) >= (day, pk):
            if part[1] == pk:
                mine.append(part[2:])
            part = next(parts, None)
        yield [
            pk, email, name, course_id or "", title, day.isoformat(),
            _amounts(mine, 1), _amounts(mine, 2), status.get(st, st), source.get(so, so),
            _utc(at), _utc(answered), rv or rj, bounced.get(email, ""),
        ]  # fmt: skip


def _safe_sql(expression: str) -> str:
    """SQL for ``formula_safe(expression)``, empty as NULL (COPY writes NULL as nothing,
    as Python's csv writer writes "", while it would quote an empty string). The first
    character is tested with ``ascii()`` against the code points of ``FORMULA_TRIGGERS``
    (an integer comparison; ``left(…, 1) IN (…)`` built a string per cell)."""
    codes = ", ".join(str(ord(c)) for c in sorted(FORMULA_TRIGGERS))
    return (
        f"CASE WHEN ascii({expression}) IN ({codes}) THEN '''' || {expression} "
        f"ELSE NULLIF({expression}, '') END"
    )


def _label_sql(column: str, choices) -> tuple[str, list]:
    whens = " ".join("WHEN %s THEN %s" for _ in choices)
    return f"CASE {column} {whens} ELSE {column} END", [v for pair in choices for v in pair]


# What ``ledger_copy_sql`` reads from the filtered credits, with the course's ID.
_LEDGER_COLUMNS = (
    "id", "recipient_email", "recipient_name", "title", "completion_date", "status",
    "source", "created_at", "answered_at", "revoke_reason", "reject_reason",
)  # fmt: skip


def ledger_copy_sql(credits) -> tuple[str, list]:
    """``ledger_rows`` as one PostgreSQL query for ``COPY … TO STDOUT``: the same cells,
    formula-safe, written by the database (a million rows without Python per row).

    The query expects the session settings ``copy_rows`` gives it (``TimeZone`` UTC and
    ``DateStyle`` ISO): dates and times are the columns' own text output, cut to
    ``YYYY-MM-DD HH:MM``, as ``to_char`` per cell took a quarter of the query's time."""
    inner, inner_params = credits.order_by().values("pk").query.sql_with_params()
    # The filtered credits are read once, as the queryset's own query (its filters and the
    # course join), not as ``credits_credit WHERE id IN (…)``: that joined a million ids
    # back to the table they came from.
    rows, rows_params = (
        credits.order_by()
        .values(*_LEDGER_COLUMNS, course_code=F("course__course_id"))
        .query.sql_with_params()
    )
    status, status_params = _label_sql("c.status", Credit.Status.choices)
    source, source_params = _label_sql("c.source", Credit.Source.choices)
    reason, reason_params = _label_sql("s.reason", Suppression.Reason.choices)
    bounces = list(Suppression.BOUNCE_REASONS)

    def amount(field: str) -> str:
        return f"trim_scale(p.{field})::text || ' ' || t.code"

    def utc(column: str) -> str:  # timestamptz as text in UTC: "2026-03-01 09:30:00+00"
        return f"left({column}::text, 16)"

    # Components and bounced addresses are aggregated once and hash-joined: a lookup per
    # credit (LATERAL) took most of a million-row export. The components come to
    # ``string_agg`` already sorted (credit, type code) by a subquery, not with
    # ``string_agg(… ORDER BY code)``: on PostgreSQL 15 that starts a sort for every credit,
    # which EXPLAIN ANALYZE showed as half the aggregate's time (the aggregate keeps its
    # input's order; the Python rows are compared with these cells in a test).
    sql = f"""
        WITH comp AS (
            SELECT credit_id, string_agg(earned, '; ') AS earned,
                   string_agg(offered, '; ') AS offered
            FROM (
                SELECT p.credit_id, {amount("amount_earned")} AS earned,
                       {amount("amount_offered")} AS offered
                FROM credits_creditcomponent p
                JOIN catalog_credittype t ON t.id = p.credit_type_id
                WHERE p.credit_id IN ({inner})
                ORDER BY p.credit_id, t.code
            ) ordered
            GROUP BY credit_id
        ),
        sup AS (
            SELECT DISTINCT ON (s.email) s.email, ({reason})
                   || COALESCE(NULLIF(' — ' || s.status_text, ' — '), '') AS summary
            FROM notifications_suppression s WHERE s.reason IN (%s, %s)
            ORDER BY s.email, s.created_at DESC, s.id DESC
        )
        SELECT c.id, {_safe_sql("c.recipient_email")}, {_safe_sql("c.recipient_name")},
               {_safe_sql("c.course_code")}, {_safe_sql("c.title")}, c.completion_date,
               {_safe_sql("comp.earned")}, {_safe_sql("comp.offered")},
               {status}, {source},
               {utc("c.created_at")}, {utc("c.answered_at")},
               {_safe_sql("COALESCE(NULLIF(c.revoke_reason, ''), c.reject_reason)")},
               {_safe_sql("sup.summary")}
        FROM ({rows}) c
        LEFT JOIN comp ON comp.credit_id = c.id
        LEFT JOIN sup ON sup.email = c.recipient_email
        ORDER BY c.completion_date DESC, c.id DESC
    """  # noqa: S608 - every value is a parameter; the SQL is this module's
    params = [
        *inner_params, *reason_params, *bounces, *status_params, *source_params, *rows_params
    ]  # fmt: skip
    return sql, params


def holder_credit_types(holder) -> dict[str, tuple[str, str]]:
    """The credit types in the holder's own credits (offered or answered), by code: what a
    dashboard minimum can be about (a code nobody ever granted them could never be met)."""
    rows = (
        CreditComponent.objects.filter(credit__in=Credit.objects.for_holder(holder))
        .values_list("credit_type__code", "credit_type__name", "credit_type__unit")
        .distinct()
    )
    return {code: (name, unit) for code, name, unit in rows}
