"""The id of the request being served: taken from ``X-Request-ID`` (a proxy's or a client's)
or made up, echoed on the response, put in API error bodies and in every log record."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar, Token

from django.core.signals import request_finished

HEADER = "X-Request-ID"
# Printable, no spaces, bounded: the id goes into logs and headers as it came.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code runs for, or None outside a request."""
    return _request_id.get()


def bind(request_id: str | None) -> Token:
    """Make ``request_id`` the current one (a task run for a request); undo with ``unbind``."""
    return _request_id.set(request_id)


def unbind(token: Token) -> None:
    try:
        _request_id.reset(token)
    except ValueError:  # set in another context (cannot happen in a worker): just clear
        _request_id.set(None)


def request_id_from(value: str | None) -> str:
    value = (value or "").strip()
    return value if _ACCEPTED.match(value) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        # Cleared when the response is closed, not here: Django logs a 4xx/5xx ("Not Found:
        # /x") after the middleware has returned, and that record should carry the id too.
        _request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(**kwargs) -> None:
    _request_id.set(None)


request_finished.connect(_clear, dispatch_uid="laurel.lib.request_id.clear")


class RequestIdLogFilter(logging.Filter):
    """Adds ``record.request_id`` ("-" outside a request) for the log format to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True
