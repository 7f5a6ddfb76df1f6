"""What an organization's home page counts. Every figure is one filtered count on an indexed
column, stopped at ``CAP`` rows, so the page stays cheap with millions of credits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from laurel.lib import paging

CAP = 1000  # counts stop here and read "1,000+"


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{CAP:,}+" if self.capped else f"{self.value:,}"


def bounded_count(queryset, cap: int = CAP) -> Count:
    """COUNT over at most ``cap + 1`` rows (``laurel.lib.paging.bounded_count``)."""
    return Count(*paging.bounded_count(queryset, lookahead=cap))


def home_counts(org) -> dict[str, object]:
    from laurel.certificates.models import Certificate
    from laurel.credits.models import Credit
    from laurel.imports.models import ImportJob

    now = timezone.now()
    today = org.today()
    from laurel.credits.selectors import AGE_BUCKETS, claims_in_bucket

    credits = Credit.objects.filter(organization=org)
    held = credits.filter(status=Credit.Status.HELD)
    month_start = datetime.combine(today.replace(day=1), time.min, tzinfo=org.tz)
    certificates = Certificate.objects.filter(organization=org)
    imports = ImportJob.objects.filter(organization=org)
    return {
        "offered": bounded_count(credits.filter(status=Credit.Status.OFFERED)),
        # The claims page's waiting-time groups, held credits only (seed 000: "archived").
        "held_by_age": [
            (
                key,
                label,
                bounded_count(claims_in_bucket(held, now=now, bucket={"low": low, "high": high})),
            )
            for key, label, low, high in AGE_BUCKETS
        ],
        "imports_running": bounded_count(imports.filter(status__in=ImportJob.RUNNING)),
        "imports_ready": bounded_count(imports.filter(status=ImportJob.Status.VALIDATED)),
        "certificates_month": bounded_count(
            certificates.filter(status__in=Certificate.Status.values, issued_at__gte=month_start)
        ),
        "expiring": bounded_count(
            certificates.filter(
                status=Certificate.Status.VALID,
                expires_on__gte=today,
                expires_on__lte=today + timedelta(days=60),
            )
        ),
    }


def recent_activity(org, limit: int = 10):
    from laurel.audit.models import AuditEvent

    return list(AuditEvent.objects.for_org(org).select_related("actor")[:limit])
