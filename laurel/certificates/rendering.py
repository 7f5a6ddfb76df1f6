"""Certificate PDFs: render from the certificate's own data and template version, cache bytes.

The cached file is derived: keyed by certificate id and the version's content hash, it can be
deleted at any time and is rebuilt identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from laurel.certificates.models import Certificate, CertificateTemplateVersion
from laurel.lib import pdf

_DATE_FORMATS = {"US": "%B {d}, %Y", "INTL": "{d} %B %Y", "ISO": "%Y-%m-%d"}


def format_date(day: date | None, style: str = "US") -> str:
    if day is None:
        return ""
    return day.strftime(_DATE_FORMATS.get(style, _DATE_FORMATS["US"])).replace("{d}", str(day.day))


def format_amount(amount) -> str:
    value = Decimal(str(amount)).normalize()
    return f"{value:f}"


def branding_for(version: CertificateTemplateVersion) -> pdf.Branding:
    return pdf.Branding(
        organization_name=version.organization_name,
        accent_color=version.accent_color,
        signatory_name=version.signatory_name,
        signatory_title=version.signatory_title,
        footer_text=version.footer_text,
        logo=bytes(version.logo) if version.logo else None,
        signature=bytes(version.signature) if version.signature else None,
    )


def certificate_data(cert: Certificate, date_style: str) -> pdf.CertificateData:
    return pdf.CertificateData(
        serial_number=cert.serial_number,
        recipient_name=cert.recipient_name,
        title=cert.title,
        completion_date=format_date(cert.completion_date, date_style),
        issue_date=format_date(cert.issue_date, date_style),
        expiry_date=format_date(cert.expires_on, date_style) or None,
        verification_code=cert.verification_code,
        verification_url=cert.verification_url,
        components=[
            pdf.CreditComponent(
                amount=format_amount(c["amount"]), unit=c.get("unit", ""), credit_type=c["name"]
            )
            for c in cert.components
        ],
    )


def status_mark(cert: Certificate) -> str:
    """The word across a certificate that is no longer valid ("REVOKED", "REPLACED")."""
    return "" if cert.status == Certificate.Status.VALID else cert.status.upper()


def cache_path(cert: Certificate) -> str:
    version_hash = cert.template_version.content_hash[:16]
    mark = status_mark(cert)
    suffix = f"-{mark.lower()}" if mark else ""
    return f"certificates/pdf/{cert.organization_id}/{cert.pk}-{version_hash}{suffix}.pdf"


def certificate_pdf(cert: Certificate) -> bytes:
    """The certificate's PDF, from the cache or rendered (and cached) now. A revoked or
    replaced certificate is a separate rendering marked across the page; the bytes of the
    valid one stay as they were."""
    path = cache_path(cert)
    if default_storage.exists(path):
        with default_storage.open(path, "rb") as handle:
            return handle.read()
    mark = status_mark(cert)
    if mark:
        version = cert.template_version
        data = pdf.render_one(
            certificate_data(cert, cert.organization.date_format),
            branding_for(version),
            version.design,
            version.paper,
            watermark=mark,
        )
    else:
        data = render_certificates([cert])
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    return data


def certificate_png(cert: Certificate) -> bytes:
    """Page one of the certificate as a PNG (the verification page, link previews): rendered
    through the same Typst templates as the PDF and cached beside it."""
    path = cache_path(cert).replace("/pdf/", "/png/").removesuffix(".pdf") + ".png"
    if default_storage.exists(path):
        with default_storage.open(path, "rb") as handle:
            return handle.read()
    version = cert.template_version
    data = pdf.render_png(
        certificate_data(cert, cert.organization.date_format),
        branding_for(version),
        version.design,
        version.paper,
        watermark=status_mark(cert),  # a revoked certificate's image says so, like its PDF
    )
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    return data


def sample_png(branding: pdf.Branding, design: str, paper: str, organization) -> bytes:
    """The template editor's preview: sample data marked SAMPLE, page one as a PNG."""
    return pdf.render_png(_sample_data(organization), branding, design, paper, watermark="SAMPLE")


def render_certificates(certs: Sequence[Certificate]) -> bytes:
    """Render certificates into one PDF, grouping runs that share a template version."""
    if not certs:
        raise ValueError("nothing to render")
    chunks: list[bytes] = []
    run: list[Certificate] = []
    for cert in certs:
        if run and run[-1].template_version_id != cert.template_version_id:
            chunks.append(_render_run(run))
            run = []
        run.append(cert)
    chunks.append(_render_run(run))
    # Typst's output is reproducible; a pikepdf save is not (its /ID comes from the clock),
    # so a single run is returned as rendered and a certificate's PDF never changes.
    return chunks[0] if len(chunks) == 1 else pdf.combine(chunks)


def _render_run(certs: list[Certificate]) -> bytes:
    version = certs[0].template_version
    style = certs[0].organization.date_format
    data = [certificate_data(c, style) for c in certs]
    if len(data) == 1:
        return pdf.render_one(data[0], branding_for(version), version.design, version.paper)
    return pdf.render_many(data, branding_for(version), version.design, version.paper)


def sample_pdf(branding: pdf.Branding, design: str, paper: str, organization) -> bytes:
    """A preview with sample data, marked SAMPLE."""
    return pdf.render_one(_sample_data(organization), branding, design, paper, watermark="SAMPLE")


def _sample_data(organization) -> pdf.CertificateData:
    today = organization.today()
    style = organization.date_format
    return pdf.CertificateData(
        serial_number=f"{organization.course_id_prefix}-C-000000",
        recipient_name="Alexandra Q. Example",
        title="Sample course: Ethics in Everyday Practice",
        completion_date=format_date(today, style),
        issue_date=format_date(today, style),
        verification_code="SAMPLE-CODE",
        verification_url=f"{settings.SITE_URL}/v/SAMPLE",
        components=[pdf.CreditComponent("1.5", "hours", "Ethics")],
    )
