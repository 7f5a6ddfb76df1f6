"""Reads of certificates, always scoped to one organization."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from laurel.certificates.models import Certificate
from laurel.lib.csvfile import iter_csv


def certificate_filter(
    queryset: QuerySet,
    *,
    today: date,
    q: str = "",
    status: str = "",
    course: str = "",
    issued_from: date | None = None,
    issued_to: date | None = None,
    **_ignored,
) -> QuerySet:
    if q:
        q = q.strip()
        queryset = queryset.filter(
            Q(recipient_name__icontains=q)
            | Q(recipient_email__icontains=q)
            | Q(serial_number__icontains=q)
            | Q(title__icontains=q)
        )
    if status == "expired":
        queryset = queryset.filter(status=Certificate.Status.VALID, expires_on__lt=today)
    elif status == "valid":
        queryset = queryset.filter(status=Certificate.Status.VALID).exclude(expires_on__lt=today)
    elif status:
        queryset = queryset.filter(status=status)
    if course:
        queryset = queryset.filter(course__course_id__iexact=course.strip())
    if issued_from:
        queryset = queryset.filter(issue_date__gte=issued_from)
    if issued_to:
        queryset = queryset.filter(issue_date__lte=issued_to)
    return queryset


CSV_HEADER = [
    "serial_number",
    "status",
    "recipient_name",
    "recipient_email",
    "title",
    "course_id",
    "completion_date",
    "issue_date",
    "expires_on",
    "credit",
    "verification_url",
    "revoke_reason",
]


def certificate_csv_rows(queryset: QuerySet, *, today: date):
    yield CSV_HEADER
    for cert in queryset.select_related("course").iterator(chunk_size=2000):
        yield [
            cert.serial_number,
            cert.public_state(today),
            cert.recipient_name,
            cert.recipient_email,
            cert.title,
            cert.course.course_id if cert.course else "",
            cert.completion_date.isoformat(),
            cert.issue_date.isoformat(),
            cert.expires_on.isoformat() if cert.expires_on else "",
            "; ".join(f"{c['amount']} {c['code']}" for c in cert.components),
            cert.verification_url,
            cert.revoke_reason,
        ]


def certificate_csv(queryset: QuerySet, *, today: date):
    return iter_csv(certificate_csv_rows(queryset, today=today))
