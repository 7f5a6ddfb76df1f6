"""Requests carrying a NUL character in a text value are refused before any view runs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from laurel.lib.ratelimit import wants_json

MESSAGE = "Text may not contain the NUL character (\\0); remove it and try again."


class RefuseNulMiddleware:
    """PostgreSQL cannot store NUL in text (a 500) and SQLite silently keeps it; neither is
    ever meant. Query strings, form fields (not uploaded files) and JSON bodies are checked;
    forms also refuse it field by field (Django's CharField), this covers every other path."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            if wants_json(request):
                return JsonResponse(
                    {"error": {"code": "nul_character", "message": MESSAGE, "details": None}},
                    status=400,
                )
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def _has_nul(self, request) -> bool:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
        if request.method not in {"POST", "PUT", "PATCH"}:
            return False
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                return any("\x00" in v for _, vs in request.POST.lists() for v in vs)
            except Exception:
                # A malformed or oversized body: forget the failed parse so that the view meets
                # the same error and reports it in its own way (the API: 400 or 413 as JSON).
                for attr in ("_post", "_files"):
                    request.__dict__.pop(attr, None)
                return False
        if "json" in content_type:
            length = request.META.get("CONTENT_LENGTH") or "0"
            if not length.isdigit() or int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                return False  # too large: refused elsewhere, never read here
            body = request.body
            return b"\\u0000" in body or b"\x00" in body
        return False


QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by its timeout
BUSY_RETRY_AFTER = 30


def is_statement_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "sqlstate", None) == QUERY_CANCELED


class StatementTimeoutMiddleware:
    """A page whose query ran past the web statement timeout (``WEB_STATEMENT_TIMEOUT``,
    docs/scale.md) answers 503 with a page saying so, not a 500 — the request was too
    big for now, nothing is broken; the API answers in its one error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import OperationalError
        from django.shortcuts import render

        if not isinstance(exception, OperationalError) or not is_statement_timeout(exception):
            return None
        seconds = settings.WEB_STATEMENT_TIMEOUT
        if wants_json(request):
            response = JsonResponse(
                {
                    "error": {
                        "code": "timeout",
                        "message": f"The request took longer than {seconds} s and was stopped; "
                        "narrow it (filters, a smaller page) or try again later.",
                        "details": None,
                    }
                },
                status=503,
            )
        else:
            response = render(request, "503.html", {"seconds": seconds}, status=503)
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
