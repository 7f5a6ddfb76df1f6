"""Reads of certificates, always scoped to one organization."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q, QuerySet

from laurel.certificates.models import Certificate


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


def certificate_csv_rows(queryset: QuerySet, *, today: date, header: bool = True):
    """The certificates as CSV rows (``CSV_HEADER``), set-based: tuples from one streamed
    query, the public state and verification link made from them as the model makes them."""
    if header:
        yield CSV_HEADER
    rows = queryset.order_by("serial_number").values_list(
        "serial_number", "status", "expires_on", "recipient_name", "recipient_email", "title",
        "course__course_id", "completion_date", "issue_date", "components", "verification_code",
        "revoke_reason",
    )  # fmt: skip
    valid, site = Certificate.Status.VALID, settings.SITE_URL
    for (
        serial,
        status,
        expires,
        name,
        email,
        title,
        course,
        done,
        issued,
        parts,
        code,
        why,
    ) in rows.iterator(chunk_size=2000):
        if status == valid and expires is not None and expires < today:
            status = "expired"
        yield [
            serial, status, name, email, title, course or "", done.isoformat(),
            issued.isoformat(), expires.isoformat() if expires else "",
            "; ".join(f"{c['amount']} {c['code']}" for c in parts or ()),
            f"{site}/v/{code}", why,
        ]  # fmt: skip


def certificates_for_holder(user) -> QuerySet:
    """Every certificate issued to one of the holder's verified addresses, across
    organizations, newest first (an unverified address shows nothing)."""
    return (
        Certificate.objects.filter(recipient_email__in=user.verified_emails())
        .select_related("organization", "replaced_by", "course")
        .order_by("-issued_at", "-id")
    )


def linkedin_add_url(cert: Certificate) -> str:
    """LinkedIn's "Add licence or certification" link, filled in."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": cert.title,
        "organizationName": cert.organization.name,
        "issueYear": cert.issue_date.year,
        "issueMonth": cert.issue_date.month,
        "certUrl": cert.verification_url,
        "certId": cert.serial_number,
    }
    if cert.expires_on:
        params["expirationYear"] = cert.expires_on.year
        params["expirationMonth"] = cert.expires_on.month
    return "https://www.linkedin.com/profile/add?" + urlencode(params)


def linkedin_share_url(cert: Certificate) -> str:
    return "https://www.linkedin.com/sharing/share-offsite/?" + urlencode(
        {"url": cert.verification_url}
    )
