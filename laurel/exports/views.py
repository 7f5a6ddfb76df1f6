"""An export's page (progress, then the download) and its file, for the organization's
members whose role may see that kind of export."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from laurel.exports.kinds import KINDS
from laurel.exports.models import ExportJob
from laurel.exports.services import export_resume_stale
from laurel.web.tenancy import ANY_MEMBER, org_required


def _org_job(request, pk: int) -> ExportJob:
    job = get_object_or_404(ExportJob.objects.filter(organization=request.org), pk=pk)
    kind = KINDS.get(job.kind)
    if kind is None or (kind.roles and not request.membership.has_role(*kind.roles)):
        raise Http404("No such export")
    return job


@org_required(*ANY_MEMBER)
def job_detail(request, pk: int):
    job = _org_job(request, pk)
    if job.is_stale():
        export_resume_stale()
        job.refresh_from_db()
    template = "exports/job.html#progress" if request.htmx else "exports/job.html"
    return render(request, template, {"job": job})


@org_required(*ANY_MEMBER)
def job_download(request, pk: int):
    job = _org_job(request, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        return redirect("exports:job", org_slug=request.org.slug, pk=job.pk)
    return FileResponse(
        default_storage.open(job.file, "rb"), as_attachment=True, filename=job.file_name
    )
