"""Owner-scoped reads for imports: another organization's import is a 404."""

from __future__ import annotations

import io

from django.db.models import Q
from django.shortcuts import get_object_or_404

from laurel.imports.kinds import KINDS
from laurel.imports.models import ImportJob, ImportRow
from laurel.lib.csvfile import write_csv


def job_for_org(org, pk: int) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.for_org(org).select_related("organization", "uploaded_by"), pk=pk
    )


def rows_for(job: ImportJob, *, category: str = "", outcome: str = "", q: str = ""):
    rows = ImportRow.objects.filter(job=job)
    if category:
        rows = rows.filter(category=category)
    if outcome:
        rows = rows.filter(outcome=outcome)
    q = q.strip()
    if q:
        if q.isdigit():
            rows = rows.filter(Q(number=int(q)) | Q(course_ref__icontains=q))
        else:
            rows = rows.filter(
                Q(email__icontains=q.lower()) | Q(course_ref__icontains=q) | Q(name__icontains=q)
            )
    return rows.order_by("number")


def template_file(kind: str, fmt: str) -> tuple[bytes, str]:
    """The headings and one example row, as CSV or XLSX bytes with their content type."""
    spec = KINDS[kind]
    headings = [f.label for f in spec.fields]
    example = [spec.example.get(f.name, "") for f in spec.fields]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(spec.label)
        sheet.append(headings)
        sheet.append(example)
        out = io.BytesIO()
        book.save(out)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return out.getvalue(), mime
    return write_csv([headings, example]).encode("utf-8-sig"), "text/csv"
