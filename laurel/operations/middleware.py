"""One middleware per request: a request id, the request's metrics and one log line.

The log line names the view (its URL name), never the path or query string, which can carry
tokens (password-reset keys, verification links); never bodies or form fields.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.db import connections

from laurel.operations import metrics
from laurel.operations.context import request_id_var

log = logging.getLogger("laurel.request")
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request) -> str:
    """The id another middleware set (``request.request_id``, issue 13's X-Request-ID), else
    the client's or proxy's ``X-Request-ID`` header when it is sane, else a new one."""
    for candidate in (
        getattr(request, "request_id", None),
        request.META.get("HTTP_X_REQUEST_ID"),
    ):
        if isinstance(candidate, str) and SAFE_ID.match(candidate):
            return candidate
    return uuid.uuid4().hex


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request_id_of(request)
        token = request_id_var.set(rid)
        counter = _QueryCounter()
        started = time.perf_counter()
        try:
            with connections["default"].execute_wrapper(counter):
                response = self.get_response(request)
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            view = (match.view_name if match else "") or "unresolved"
            metrics.observe(
                view=view,
                method=request.method,
                status=response.status_code,
                seconds=seconds,
                queries=counter.count,
            )
            org = getattr(request, "org", None)
            user = getattr(request, "user", None)
            log.info(
                "%s %s %s %.0f ms",
                request.method,
                view,
                response.status_code,
                seconds * 1000,
                extra={
                    "view": view,
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "queries": counter.count,
                    "org": getattr(org, "slug", None),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            request_id_var.reset(token)
