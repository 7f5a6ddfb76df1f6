"""One middleware per request: its metrics and one log line. The request id comes from
``laurel.lib.request_id.RequestIdMiddleware`` (earlier in MIDDLEWARE) through the log filter.

The log line names the view (its URL name), never the path or query string, which can carry
tokens (password-reset keys, verification links); never bodies or form fields.
"""

from __future__ import annotations

import logging
import time

from django.db import connections

from laurel.operations import metrics

log = logging.getLogger("laurel.request")


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
        counter = _QueryCounter()
        started = time.perf_counter()
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
