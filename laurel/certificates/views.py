"""Certificate pages: the public verification page and files, and the organization's admin."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laurel.accounts.models import Role, organization_by_any_slug
from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.catalog.models import Course
from laurel.certificates import openbadges, rendering, selectors, services
from laurel.certificates.forms import (
    CertificateFilterForm,
    IssueForm,
    PolicyForm,
    ReasonForm,
    ReplaceForm,
    TemplateForm,
    VerifyForm,
)
from laurel.certificates.models import (
    Certificate,
    CertificateJob,
    CertificateNameWait,
    CertificatePolicy,
    CertificateTemplate,
)
from laurel.exports.services import export_respond
from laurel.lib import pdf as pdflib
from laurel.lib import ratelimit
from laurel.lib.paging import BoundedPaginator
from laurel.web.confirm import confirm_page
from laurel.web.tenancy import org_required

CERT_ROLES = (Role.CERT_MANAGER,)  # admins pass every role check
MAX_CREDENTIAL_BYTES = openbadges.MAX_CREDENTIAL_BYTES
TOO_LARGE = f"The credential is larger than {MAX_CREDENTIAL_BYTES // 1024} KB."


# --- public -------------------------------------------------------------------------------


def _public_certificate(request, code: str) -> Certificate:
    cert = (
        Certificate.objects.select_related("organization", "replaced_by")
        .filter(verification_code=code)
        .first()
    )
    if cert is None:
        raise Http404("No such certificate")
    return cert


STATUS_WORDS = {
    "valid": "Verified",
    "expired": "Expired",
    "revoked": "Revoked",
    "replaced": "Replaced",
}


def linkedin_url(cert: Certificate) -> str:
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


@require_GET
@ratelimit.limit("verify")
def verify_page(request, code: str):
    try:
        cert = _public_certificate(request, code)
    except Http404:
        # A mistyped code: say so kindly and offer to look again.
        response = render(request, "certificates/verify_missing.html", {"code": code}, status=404)
        response["X-Robots-Tag"] = "noindex"
        return response
    state = cert.public_state(cert.organization.today())
    response = render(
        request,
        "certificates/verify.html",
        {
            "cert": cert,
            "state": state,
            "checked_at": timezone.now(),
            "linkedin_url": linkedin_url(cert),
            "date_style": cert.organization.date_format,
            "status_words": STATUS_WORDS[state],
            "site_url": settings.SITE_URL,
        },
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@ratelimit.limit("verify")
def verify_pdf(request, code: str):
    cert = _public_certificate(request, code)
    return pdf_response(cert)


@require_GET
@ratelimit.limit("verify")
def verify_png(request, code: str):
    """Page one as an image: shown first on the verification page and in link previews."""
    cert = _public_certificate(request, code)
    response = HttpResponse(rendering.certificate_png(cert), content_type="image/png")
    response["Cache-Control"] = "public, max-age=300"  # a revocation shows within minutes
    return response


def pdf_response(cert: Certificate, *, inline: bool = True) -> HttpResponse:
    response = HttpResponse(rendering.certificate_pdf(cert), content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{cert.serial_number}.pdf"'
    return response


@require_GET
@ratelimit.limit("verify")
def verify_credential(request, code: str):
    cert = _public_certificate(request, code)
    if not cert.credential:
        raise Http404("No credential")
    response = JsonResponse(cert.credential, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{cert.verification_code}.json"'
    return response


def _check_report(credential) -> dict:
    checks = openbadges.verify_credential(credential)
    return {
        "valid": all(c.passed for c in checks),
        "checks": [{"name": c.name, "passed": c.passed, "message": c.message} for c in checks],
    }


# Side-effect free JSON endpoint for machines (no session, no cookies used), so no CSRF token.
@csrf_exempt
@require_POST
@ratelimit.limit("check")
def verify_api(request):
    length = request.META.get("CONTENT_LENGTH") or "0"
    if (length.isdigit() and int(length) > MAX_CREDENTIAL_BYTES) or len(
        request.body
    ) > MAX_CREDENTIAL_BYTES:
        return JsonResponse({"error": {"code": "too_large", "message": TOO_LARGE}}, status=413)
    try:
        credential = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse(
            {"error": {"code": "invalid_json", "message": "The body is not JSON."}}, status=400
        )
    return JsonResponse(_check_report(credential))


@require_http_methods(["GET", "POST"])
@ratelimit.limit("check", methods=("POST",))
def verify_form(request):
    code = "".join(request.GET.get("code", "").split())[:64]
    if code:  # the lookup box on the wrong-code page
        return redirect("certificates:verify", code=code)
    form = VerifyForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["credential"]
        upload = form.cleaned_data["file"]
        if upload is not None:
            if upload.size > MAX_CREDENTIAL_BYTES:
                form.add_error("file", TOO_LARGE)
            else:
                text = upload.read().decode("utf-8", errors="replace")
        if not form.errors:
            try:
                report = _check_report(json.loads(text))
            except ValueError:
                form.add_error("credential", "Paste the credential's JSON (it starts with {).")
    return render(request, "certificates/verify_form.html", {"form": form, "report": report})


@require_GET
def did_json(request, org_slug: str):
    org = organization_by_any_slug(org_slug)
    if org is None:
        raise Http404("No such organization")
    document = openbadges.did_document(org, org_slug)
    if not document:
        raise Http404("No key yet")
    response = JsonResponse(document)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def status_list_json(request, org_slug: str):
    org = organization_by_any_slug(org_slug)
    if org is None:
        raise Http404("No such organization")
    credential = openbadges.status_list(org, org_slug)
    if credential is None:
        raise Http404("No status list yet")
    response = JsonResponse(credential)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "max-age=60"
    return response


# --- organization admin -------------------------------------------------------------------


def _org_cert(request, pk: int) -> Certificate:
    return get_object_or_404(
        Certificate.objects.for_org(request.org).select_related(
            "course", "template_version__template", "replaced_by", "credit"
        ),
        pk=pk,
    )


def _filtered(request, params) -> tuple[CertificateFilterForm, object]:
    form = CertificateFilterForm(params or None)
    certs = Certificate.objects.for_org(request.org).select_related("course")
    if form.is_valid():
        certs = selectors.certificate_filter(certs, today=request.org.today(), **form.cleaned_data)
    return form, certs


@org_required(*CERT_ROLES)
def certificate_list(request):
    form, certs = _filtered(request, request.GET)
    page = BoundedPaginator(certs, 50).get_page(request.GET.get("page"))  # "1,000+"
    last_job = (
        CertificateJob.objects.filter(organization=request.org, requested_by=request.user)
        .exclude(status=CertificateJob.Status.SUPERSEDED)
        .first()
    )
    context = {
        "form": form,
        "page": page,
        "today": request.org.today(),
        "filter_query": {k: v for k, v in request.GET.items() if k != "page"},
        "last_job": last_job,
        "needs_name_count": CertificateNameWait.objects.for_org(request.org).open().count(),
    }
    template = "certificates/list.html#rows" if request.htmx else "certificates/list.html"
    return render(request, template, context)


@org_required(*CERT_ROLES)
def certificate_detail(request, pk: int):
    cert = _org_cert(request, pk)
    history = AuditEvent.objects.filter(
        object_type="certificates.certificate", object_id=str(cert.pk)
    ).order_by("at")
    return render(
        request,
        "certificates/detail.html",
        {
            "cert": cert,
            "state": cert.public_state(request.org.today()),
            "history": history,
            "replace_form": ReplaceForm(
                initial={
                    "recipient_name": cert.recipient_name,
                    "title": cert.title,
                    "completion_date": cert.completion_date,
                    "expires_on": cert.expires_on,
                }
            ),
        },
    )


@org_required(*CERT_ROLES)
def certificate_pdf(request, pk: int):
    return pdf_response(_org_cert(request, pk), inline=False)


@require_http_methods(["GET", "POST"])
@org_required(*CERT_ROLES)
def certificate_revoke(request, pk: int):
    """GET: the confirmation (consequence, required reason); POST: revoke."""
    cert = _org_cert(request, pk)
    detail = reverse("certificates:detail", args=[request.org.slug, cert.pk])
    error = ""
    if request.method == "POST":
        form = ReasonForm(request.POST)
        try:
            if not form.is_valid():
                raise ServiceError("Say why the certificate is revoked.", field="reason")
            services.certificate_revoke(
                actor=Actor.from_request(request),
                certificate=cert,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            if exc.field != "reason":
                messages.error(request, exc.message)
                return redirect(detail)
            error = exc.message
        else:
            messages.success(
                request,
                f"Certificate {cert.serial_number} revoked; {cert.recipient_email} is e-mailed.",
            )
            return redirect(detail)
    return confirm_page(
        request,
        title=f"Revoke certificate {cert.serial_number}?",
        consequences=[
            f"{cert.recipient_name}'s certificate “{cert.title}” stops being valid.",
            "Its public verification page leads with “Revoked” and your reason; its PDF is "
            "marked REVOKED; its signed credential shows as revoked to anyone who checks.",
            f"{cert.recipient_email} is e-mailed, with your reason.",
            "It cannot be undone: to correct a certificate, replace it instead.",
        ],
        button="Revoke the certificate",
        cancel_url=detail,
        reason="required",
        reason_label="Reason (shown on the public verification page)",
        error=error,
        status=400 if error else 200,
    )


@require_POST
@org_required(*CERT_ROLES)
def certificate_replace(request, pk: int):
    cert = _org_cert(request, pk)
    form = ReplaceForm(request.POST)
    if form.is_valid():
        try:
            new = services.certificate_replace(
                actor=Actor.from_request(request), certificate=cert, **form.cleaned_data
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"{new.serial_number} issued; {cert.serial_number} now shows replaced."
            )
            return redirect("certificates:detail", org_slug=request.org.slug, pk=new.pk)
    else:
        messages.error(request, "Fill in the reason, name, title and completion date.")
    return redirect("certificates:detail", org_slug=request.org.slug, pk=cert.pk)


@org_required(*CERT_ROLES)
def certificate_issue(request):
    form = IssueForm(request.POST or None, organization=request.org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        components = []
        if data["credit_amount"] is not None:
            components.append(
                services.Component(
                    code=data["credit_type"].upper(),
                    name=data["credit_type"],
                    unit=data["credit_unit"] or "",
                    amount=Decimal(data["credit_amount"]),
                )
            )
        try:
            cert = services.certificate_issue(
                actor=Actor.from_request(request),
                organization=request.org,
                recipient_name=data["recipient_name"],
                recipient_email=data["recipient_email"],
                title=data["title"],
                completion_date=data["completion_date"],
                components=components,
                expires_on=data["expires_on"],
                template=data["template"],
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Certificate {cert.serial_number} issued.")
            return redirect("certificates:detail", org_slug=request.org.slug, pk=cert.pk)
    return render(request, "certificates/issue.html", {"form": form})


def _selection_params(request) -> dict:
    """The selection as an export's parameters: the ticked ids, or "all" with the filters."""
    if request.POST.get("all") == "1":
        skip = {"csrfmiddlewaretoken", "action", "ids"}
        return {k: v for k, v in request.POST.items() if k not in skip}
    return {"ids": [int(i) for i in request.POST.getlist("ids") if i.isdigit()]}


def _selection(request):
    """The certificates a bulk action applies to: ticked ones, or all matching the filters."""
    if request.POST.get("all") == "1":
        _, certs = _filtered(request, request.POST)
        return certs
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    return Certificate.objects.for_org(request.org).filter(pk__in=ids)


@require_POST
@org_required(*CERT_ROLES)
def certificate_bulk(request):
    action = request.POST.get("action")
    if action == "csv":
        return export_respond(request, kind="certificates", params=_selection_params(request))
    certs = _selection(request)
    try:
        job = services.job_request(
            actor=Actor.from_request(request),
            organization=request.org,
            kind=action or "",
            certificate_ids=list(certs.values_list("pk", flat=True)),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("certificates:list", org_slug=request.org.slug)
    return redirect("certificates:job", org_slug=request.org.slug, pk=job.pk)


def _org_job(request, pk: int) -> CertificateJob:
    return get_object_or_404(
        CertificateJob.objects.filter(organization=request.org, requested_by=request.user), pk=pk
    )


@org_required(*CERT_ROLES)
def job_detail(request, pk: int):
    job = _org_job(request, pk)
    if job.is_stale():
        from laurel.certificates.tasks import job_resume_stale

        job_resume_stale()
        job.refresh_from_db()
    template = "certificates/job.html#progress" if request.htmx else "certificates/job.html"
    return render(request, template, {"job": job})


@org_required(*CERT_ROLES)
def job_download(request, pk: int):
    return _download(request, _org_job(request, pk))


def _download(request, job: CertificateJob):
    if job.status != CertificateJob.Status.DONE or not job.file:
        if job.status == CertificateJob.Status.SUPERSEDED:
            messages.info(request, "A newer file replaced this one; here is your latest.")
            return redirect("certificates:job_last", org_slug=request.org.slug)
        return redirect("certificates:job", org_slug=request.org.slug, pk=job.pk)
    filename = job.file.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(job.file, "rb"), as_attachment=True, filename=filename)


@org_required(*CERT_ROLES)
def job_last(request):
    job = CertificateJob.objects.filter(
        organization=request.org, requested_by=request.user, status=CertificateJob.Status.DONE
    ).first()
    if job is None:
        messages.info(request, "You have no file yet: select certificates and ask for one.")
        return redirect("certificates:list", org_slug=request.org.slug)
    return _download(request, job)


# --- templates ----------------------------------------------------------------------------


@org_required(Role.ADMIN)
def template_list(request):
    templates = CertificateTemplate.objects.filter(organization=request.org).prefetch_related(
        "versions"
    )
    return render(request, "certificates/templates.html", {"templates": templates})


def _template_initial(template: CertificateTemplate | None) -> dict:
    if template is None:
        return {"name": "", "design": "classic", "paper": "letter", "accent_color": "#1f4e79"}
    return {
        f: getattr(template, f)
        for f in ("name", "design", "paper", "accent_color", "signatory_name")
        + ("signatory_title", "footer_text")
    }


@org_required(Role.ADMIN)
def template_edit(request, pk: int | None = None):
    template = (
        get_object_or_404(CertificateTemplate, organization=request.org, pk=pk) if pk else None
    )
    form = TemplateForm(
        request.POST or None, request.FILES or None, initial=_template_initial(template)
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        actor = Actor.from_request(request)
        try:
            images = {}
            for name in ("logo", "signature"):
                upload = data.pop(name)
                if upload is not None:
                    images[name] = services.image_bytes(upload, field=name)
            clear_logo, clear_signature = data.pop("clear_logo"), data.pop("clear_signature")
            if template is None:
                template = services.template_create(
                    actor=actor,
                    organization=request.org,
                    is_default=not CertificateTemplate.objects.filter(
                        organization=request.org
                    ).exists(),
                    **images,
                    **data,
                )
            else:
                services.template_update(
                    actor=actor,
                    template=template,
                    clear_logo=clear_logo,
                    clear_signature=clear_signature,
                    **images,
                    **data,
                )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            version = template.current_version()
            messages.success(
                request,
                f"Saved as version {version.number}. Certificates already issued keep their look.",
            )
            return redirect("certificates:template_edit", org_slug=request.org.slug, pk=template.pk)
    return render(
        request,
        "certificates/template_edit.html",
        {
            "form": form,
            "template": template,
            "preview_query": urlencode({"template": template.pk} if template else {}),
        },
    )


@require_POST
@org_required(Role.ADMIN)
def template_default(request, pk: int):
    template = get_object_or_404(CertificateTemplate, organization=request.org, pk=pk)
    services.template_make_default(actor=Actor.from_request(request), template=template)
    messages.success(request, f"“{template.name}” is now the default template.")
    return redirect("certificates:templates", org_slug=request.org.slug)


PREVIEW_FIELDS = ("design", "paper", "accent_color", "signatory_name", "signatory_title")


@require_POST
@org_required(Role.ADMIN)
def template_preview_frame(request):
    """The htmx fragment: the unsaved form rendered as an image (POSTed: the values, a long
    footer among them, never travel in an address)."""
    png = _preview_png(request, request.POST)
    if isinstance(png, HttpResponse):
        return png
    return render(
        request,
        "certificates/template_edit.html#preview",
        {"preview_src": "data:image/png;base64," + base64.b64encode(png).decode()},
    )


@require_GET
@org_required(Role.ADMIN)
def template_preview(request):
    """Page one with sample data as a PNG, in the saved template's look unless overridden."""
    png = _preview_png(request, request.GET)
    if isinstance(png, HttpResponse):
        return png
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-cache"
    return response


def _preview_png(request, values) -> bytes | HttpResponse:
    template = None
    if str(values.get("template", "")).isdigit():
        template = CertificateTemplate.objects.filter(
            organization=request.org, pk=int(values["template"])
        ).first()
    version = template.current_version() if template else None
    saved = _template_initial(template)
    saved.setdefault("footer_text", "")
    value = {f: values.get(f, saved.get(f, "")) for f in (*PREVIEW_FIELDS, "footer_text")}
    design = value["design"] or "classic"
    paper = value["paper"] or "letter"
    if design not in pdflib.DESIGNS or paper not in pdflib.PAPERS:
        raise Http404("Unknown design")
    try:
        branding = pdflib.Branding(
            organization_name=request.org.name,
            accent_color=value["accent_color"] or "#1f4e79",
            signatory_name=value["signatory_name"][:120],
            signatory_title=value["signatory_title"][:120],
            footer_text=value["footer_text"][:500],
            logo=bytes(version.logo) if version and version.logo else None,
            signature=bytes(version.signature) if version and version.signature else None,
        )
    except ValueError:
        return HttpResponse("Choose a colour like #1f4e79.", status=400, content_type="text/plain")
    return rendering.sample_png(branding, design, paper, request.org)


# --- issuing policies ---------------------------------------------------------------------


@org_required(Role.ADMIN)
def policy_edit(request, course_pk: int):
    course = get_object_or_404(Course.objects.for_org(request.org), pk=course_pk)
    policy = services.policy_for(course)
    form = PolicyForm(
        request.POST or None,
        organization=request.org,
        initial={
            "issue_on": policy.issue_on,
            "template": policy.template,
            "expires_after_days": policy.expires_after_days,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.policy_set(actor=Actor.from_request(request), course=course, **form.cleaned_data)
        messages.success(request, f"Certificate policy of {course.course_id} saved.")
        return redirect("certificates:policies", org_slug=request.org.slug)
    return render(request, "certificates/policy_edit.html", {"form": form, "course": course})


@org_required(Role.ADMIN)
def policy_list(request):
    courses = Course.objects.for_org(request.org).order_by("course_id")
    policies = {
        p.course_id: p for p in CertificatePolicy.objects.filter(course__organization=request.org)
    }
    rows = [(c, policies.get(c.pk) or CertificatePolicy(course=c)) for c in courses]
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "certificates/policies.html", {"page": page})
