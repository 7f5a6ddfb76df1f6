"""Checks of the documents people attach (a completion's evidence, a self-reported
certificate): a size limit, and a PDF, PNG or JPEG by its content, not its name."""

from __future__ import annotations

from django.conf import settings

DOCUMENT_TYPES = {
    "application/pdf": b"%PDF",
    "image/png": b"\x89PNG",
    "image/jpeg": b"\xff\xd8\xff",
}


def document_problem(upload, *, max_bytes: int | None = None) -> str | None:
    """Why ``upload`` is refused, or None when it is a PDF or image within the size limit."""
    limit = max_bytes or settings.LAUREL_PROGRAM_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        return f"The file is larger than {limit // (1024 * 1024)} MB."
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in DOCUMENT_TYPES.values()):
        return "Attach a PDF, PNG or JPEG file."
    return None
