"""JSON API for certificates: a ninja Router whose tenant is ``request.auth.organization``.

Mount it on the v1 API: ``api.add_router("/certificates", laurel.certificates.api.router)``.
Services raise ``ServiceError``; the API's error handlers turn it into the one error shape.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from laurel.api.contract import MAX_ID, LinkPagination, ObjectId
from laurel.api.errors import ErrorOut
from laurel.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent_response
from laurel.api.schemas import AmountIn, AmountOut, EmailIn, EmailOut, IsoDate
from laurel.audit.services import Actor, client_ip
from laurel.certificates import rendering, selectors, services
from laurel.certificates.models import Certificate, CertificateJob

router = Router(tags=["certificates"])

CertificateStatus = Literal[tuple(Certificate.Status.values)]  # type: ignore[valid-type]
CertificateState = Literal["valid", "expired", "revoked", "replaced"]
JobKind = Literal[tuple(CertificateJob.Kind.values)]  # type: ignore[valid-type]
JobStatus = Literal[tuple(CertificateJob.Status.values)]  # type: ignore[valid-type]
CertificateId = Annotated[int, Field(ge=1, le=MAX_ID)]
NOT_FOUND = {404: ErrorOut}
BODY_ERRORS = {404: ErrorOut, 409: ErrorOut}


class CertificateComponentIn(Schema):
    code: str = Field(..., min_length=1, max_length=16, examples=["CE"])
    name: str = Field("", max_length=100)
    unit: str = Field("", max_length=30)
    amount: AmountIn


class CertificateComponentOut(Schema):
    code: str
    name: str = ""
    unit: str = ""
    amount: AmountOut


class CertificateOut(Schema):
    id: int
    serial_number: str
    status: CertificateStatus
    state: CertificateState
    recipient_name: str
    recipient_email: EmailOut
    title: str
    course: str | None
    components: list[CertificateComponentOut]
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
    recipient_email: EmailIn
    recipient_name: str = Field(..., min_length=1, max_length=200, pattern=r"\S")
    title: str = Field(..., min_length=1, max_length=300, pattern=r"\S")
    completion_date: IsoDate = Field(..., description="Not after today.")
    components: list[CertificateComponentIn] = Field([], max_length=20)
    expires_on: IsoDate | None = Field(None, description="After today, when given.")
    notify: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "recipient_email": "ada@example.com",
                    "recipient_name": "Ada Lovelace",
                    "title": "Safe lifting",
                    "completion_date": "2026-03-01",
                    "components": [{"code": "CE", "unit": "hours", "amount": "2.00"}],
                }
            ]
        }
    }


class CertificateRevokeIn(Schema):
    reason: str = Field(
        ..., min_length=1, max_length=500, pattern=r"\S", examples=["Issued in error."]
    )


class JobIn(Schema):
    kind: JobKind = "pdf"
    certificate_ids: list[CertificateId] = Field(..., min_length=1, max_length=5000)

    model_config = {"json_schema_extra": {"examples": [{"kind": "zip", "certificate_ids": [1]}]}}


class JobOut(Schema):
    id: int
    kind: JobKind
    status: JobStatus
    total: int
    done: int
    file_size: int


class CertificateFilters(Schema):
    status: Literal["valid", "expired", "revoked", "replaced"] | None = None
    q: str | None = None
    course_id: str | None = None
    issued_from: IsoDate | None = None
    issued_to: IsoDate | None = None


def _org(request):
    return request.auth.organization


def _actor(request) -> Actor:
    return Actor(label=getattr(request.auth, "actor_label", "api"), ip=client_ip(request))


def _certs(request):
    return Certificate.objects.for_org(_org(request)).select_related(
        "course", "replaced_by", "organization"
    )


@router.get("", response=list[CertificateOut], summary="List certificates")
@paginate(LinkPagination, page_size=50, max_page_size=200)
def certificate_list(request, filters: Query[CertificateFilters]):
    """The organization's certificates, newest first; `q` searches name, e-mail and serial.

    Example: `GET /api/v1/certificates?status=valid&issued_from=2026-01-01`."""
    return selectors.certificate_filter(
        _certs(request),
        today=_org(request).today(),
        q=filters.q or "",
        status=filters.status or "",
        course=filters.course_id or "",
        issued_from=filters.issued_from,
        issued_to=filters.issued_to,
    )


@router.get(
    "/{int:cert_id}", response={200: CertificateOut, **NOT_FOUND}, summary="Get a certificate"
)
def certificate_get(request, cert_id: ObjectId):
    """One certificate and its state today. Example: `GET /api/v1/certificates/7`."""
    return get_object_or_404(_certs(request), pk=cert_id)


@router.post(
    "",
    response={201: CertificateOut},
    summary="Issue a certificate",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def certificate_issue(request, payload: CertificateIn):
    """Issue a certificate to any person; it is signed and its public page is live at once.

    A completion date after today or an expiry date not after today is a 422."""
    org = _org(request)

    def work():
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
        return CertificateOut.from_orm(_certs(request).get(pk=cert.pk)).model_dump(mode="json")

    return idempotent_response(
        request, path="/certificates", payload=payload.model_dump(mode="json"), work=work
    )


@router.post(
    "/{int:cert_id}/revoke",
    response={200: CertificateOut, **BODY_ERRORS},
    summary="Revoke a certificate",
)
def certificate_revoke(request, cert_id: ObjectId, payload: CertificateRevokeIn):
    """Revoke with a reason the verification page shows; an already revoked one is a 409.

    Example body: `{"reason": "Issued in error."}`."""
    cert = get_object_or_404(_certs(request), pk=cert_id)
    return services.certificate_revoke(
        actor=_actor(request), certificate=cert, reason=payload.reason
    )


@router.get(
    "/{int:cert_id}/pdf",
    response={200: None, **NOT_FOUND},
    summary="Download a certificate's PDF",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The PDF.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def certificate_pdf(request, cert_id: ObjectId):
    """The certificate as a PDF file. Example: `GET /api/v1/certificates/7/pdf`."""
    cert = get_object_or_404(_certs(request).select_related("template_version"), pk=cert_id)
    response = HttpResponse(rendering.certificate_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial_number}.pdf"'
    return response


@router.get(
    "/{int:cert_id}/credential",
    response={200: dict, **NOT_FOUND},
    summary="Get a certificate's Open Badge",
)
def certificate_credential(request, cert_id: ObjectId):
    """The signed OpenBadgeCredential (Open Badges 3.0), as JSON-LD.

    Example: `GET /api/v1/certificates/7/credential`."""
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


@router.post(
    "/files",
    response={202: JobOut, **NOT_FOUND},
    summary="Request a combined PDF or ZIP",
    openapi_extra={"parameters": [IDEMPOTENCY_PARAMETER]},
)
def file_request(request, payload: JobIn):
    """Ask for a combined PDF (`pdf`) or a ZIP of PDFs (`zip`); poll it until done.

    Ids of other organizations' certificates are left out; none of this organization's is a
    404."""

    def work():
        job = services.job_request(
            actor=_actor(request),
            organization=_org(request),
            kind=payload.kind,
            certificate_ids=payload.certificate_ids,
        )
        return _job_out(job)

    return idempotent_response(
        request,
        path="/certificates/files",
        payload=payload.model_dump(mode="json"),
        work=work,
        status=202,
    )


@router.get(
    "/files/{int:job_id}", response={200: JobOut, **NOT_FOUND}, summary="Get a file request"
)
def file_get(request, job_id: ObjectId):
    """A file request's status and progress. Example: `GET /api/v1/certificates/files/3`."""
    job = get_object_or_404(CertificateJob.objects.filter(organization=_org(request)), pk=job_id)
    return _job_out(job)


@router.get(
    "/files/{int:job_id}/download",
    response={200: None, **NOT_FOUND},
    summary="Download a finished file",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The combined PDF or the ZIP.",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/zip": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def file_download(request, job_id: ObjectId):
    """The file once the request is done (404 before). Example: `GET …/files/3/download`."""
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
