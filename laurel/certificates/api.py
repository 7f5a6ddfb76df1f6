"""JSON API for certificates: a ninja Router whose tenant is ``request.auth.organization``.

Mount it on the v1 API: ``api.add_router("/certificates", laurel.certificates.api.router)``.
Services raise ``ServiceError``; the API's error handlers turn it into the one error shape.
"""

from datetime import date, datetime
from decimal import Decimal

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from laurel.audit.services import Actor, client_ip
from laurel.certificates import rendering, selectors, services
from laurel.certificates.models import Certificate, CertificateJob

router = Router(tags=["certificates"])


class ComponentIO(Schema):
    code: str
    name: str = ""
    unit: str = ""
    amount: Decimal


class CertificateOut(Schema):
    id: int
    serial_number: str
    status: str
    state: str
    recipient_name: str
    recipient_email: str
    title: str
    course: str | None
    components: list[dict]
    completion_date: date
    issue_date: date
    expires_on: date | None
    revoke_reason: str
    replaced_by: str | None
    verification_url: str
    issued_at: datetime

    @staticmethod
    def resolve_state(obj, context) -> str:
        return obj.public_state(obj.organization.today())

    @staticmethod
    def resolve_course(obj) -> str | None:
        return obj.course.course_id if obj.course else None

    @staticmethod
    def resolve_replaced_by(obj) -> str | None:
        return obj.replaced_by.serial_number if obj.replaced_by else None


class CertificateIn(Schema):
    recipient_email: str
    recipient_name: str
    title: str
    completion_date: date
    components: list[ComponentIO] = []
    expires_on: date | None = None
    notify: bool = True


class RevokeIn(Schema):
    reason: str


class JobIn(Schema):
    kind: str = "pdf"
    certificate_ids: list[int]


class JobOut(Schema):
    id: int
    kind: str
    status: str
    total: int
    done: int
    file_size: int


class Filters(Schema):
    status: str | None = None
    q: str | None = None
    course_id: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None


def _org(request):
    return request.auth.organization


def _actor(request) -> Actor:
    return Actor(label=getattr(request.auth, "actor_label", "api"), ip=client_ip(request))


def _certs(request):
    return Certificate.objects.for_org(_org(request)).select_related(
        "course", "replaced_by", "organization"
    )


@router.get("", response=list[CertificateOut])
@paginate(PageNumberPagination, page_size=50, max_page_size=200)
def certificate_list(request, filters: Query[Filters]):
    """The organization's certificates, newest first."""
    return selectors.certificate_filter(
        _certs(request),
        today=_org(request).today(),
        q=filters.q or "",
        status=filters.status or "",
        course=filters.course_id or "",
        issued_from=filters.issued_from,
        issued_to=filters.issued_to,
    )


@router.get("/{int:cert_id}", response=CertificateOut)
def certificate_get(request, cert_id: int):
    return get_object_or_404(_certs(request), pk=cert_id)


@router.post("", response={201: CertificateOut})
def certificate_issue(request, payload: CertificateIn):
    """Issue a certificate to any person; it is signed and its public page is live at once."""
    org = _org(request)
    cert = services.certificate_issue(
        actor=_actor(request),
        organization=org,
        recipient_name=payload.recipient_name,
        recipient_email=payload.recipient_email,
        title=payload.title,
        completion_date=payload.completion_date,
        components=[
            services.Component(
                code=c.code.upper(), name=c.name or c.code, unit=c.unit, amount=c.amount
            )
            for c in payload.components
        ],
        expires_on=payload.expires_on,
        notify=payload.notify,
    )
    return Status(201, cert)


@router.post("/{int:cert_id}/revoke", response=CertificateOut)
def certificate_revoke(request, cert_id: int, payload: RevokeIn):
    cert = get_object_or_404(_certs(request), pk=cert_id)
    return services.certificate_revoke(
        actor=_actor(request), certificate=cert, reason=payload.reason
    )


@router.get("/{int:cert_id}/pdf", response={200: None})
def certificate_pdf(request, cert_id: int):
    cert = get_object_or_404(_certs(request).select_related("template_version"), pk=cert_id)
    response = HttpResponse(rendering.certificate_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial_number}.pdf"'
    return response


@router.get("/{int:cert_id}/credential", response={200: dict})
def certificate_credential(request, cert_id: int):
    """The signed OpenBadgeCredential (Open Badges 3.0)."""
    cert = get_object_or_404(_certs(request), pk=cert_id)
    return JsonResponse(cert.credential or {}, json_dumps_params={"ensure_ascii": False})


def _job_out(job: CertificateJob) -> dict:
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "file_size": job.file_size,
    }


@router.post("/files", response={202: JobOut})
def file_request(request, payload: JobIn):
    """Ask for a combined PDF (``pdf``) or a ZIP of PDFs (``zip``); poll it until done."""
    job = services.job_request(
        actor=_actor(request),
        organization=_org(request),
        kind=payload.kind,
        certificate_ids=payload.certificate_ids,
    )
    return Status(202, _job_out(job))


@router.get("/files/{int:job_id}", response=JobOut)
def file_get(request, job_id: int):
    job = get_object_or_404(CertificateJob.objects.filter(organization=_org(request)), pk=job_id)
    return _job_out(job)


@router.get("/files/{int:job_id}/download", response={200: None})
def file_download(request, job_id: int):
    job = get_object_or_404(
        CertificateJob.objects.filter(
            organization=_org(request), status=CertificateJob.Status.DONE
        ),
        pk=job_id,
    )
    return FileResponse(
        default_storage.open(job.file, "rb"),
        as_attachment=True,
        filename=job.file.rsplit("/", 1)[-1],
    )
