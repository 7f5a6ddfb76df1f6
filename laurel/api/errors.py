"""The API's one error shape: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from laurel.accounts.services import ServiceError
from laurel.credits.services import DuplicateCredit
from laurel.lib import ratelimit

logger = logging.getLogger("django.request")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "throttled",
}
# A ServiceError's code says what kind of refusal it is; most are a 422.
SERVICE_STATUS = {"state": 409, "duplicate": 409, "not_found": 404}


class ErrorBody(Schema):
    code: str
    message: str
    details: dict | list | None = None


class ErrorOut(Schema):
    error: ErrorBody


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details=None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(request, status, code, message, details=None):
        return api.create_response(request, error_body(code, message, details), status=status)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors
        ]
        return respond(request, 422, "validation_error", "The request is not valid.", details)

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc: AuthenticationError):
        return respond(
            request, 401, "unauthorized", "Send a valid API key: Authorization: Bearer lrl_…"
        )

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        code = CODES.get(exc.status_code, "error")
        return respond(request, exc.status_code, code, str(exc))

    @api.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return respond(request, 404, "not_found", "Not found.")

    @api.exception_handler(DuplicateCredit)
    def duplicate(request, exc: DuplicateCredit):
        return respond(request, 409, "duplicate", exc.message, {"existing_id": exc.existing.pk})

    @api.exception_handler(ratelimit.RateLimited)
    def throttled(request, exc: ratelimit.RateLimited):
        response = respond(
            request,
            429,
            "throttled",
            f"Too many requests for this API key. Try again in {exc.usage.reset} seconds.",
            {"retry_after": exc.usage.reset},
        )
        response["Retry-After"] = str(exc.usage.reset)
        request.rate_limit = exc.usage
        return response

    @api.exception_handler(ServiceError)
    def service_error(request, exc: ServiceError):
        status = SERVICE_STATUS.get(exc.code, 422)
        details = {"field": exc.field} if exc.field else None
        return respond(request, status, exc.code, exc.message, details)

    @api.exception_handler(Exception)
    def server_error(request, exc: Exception):
        if settings.DEBUG:
            raise exc
        # Still reported like any crash (logs, error trackers, the test client re-raises).
        logger.error("API error: %s", request.path, exc_info=exc)
        got_request_exception.send(sender=None, request=request)
        return respond(request, 500, "server_error", "Something went wrong on our side.")

    @api.exception_handler(DjangoValidationError)
    def model_validation_error(request, exc: DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return respond(request, 422, "invalid", "The request is not valid.", details)


def json_errors(view):
    """Wrap a ninja URL's view so what ninja answers outside an operation (a wrong method,
    the bare API root) has the error shape too, not plain text or an HTML page."""

    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return api_not_found(request)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here.",
                {"allowed": [m.strip() for m in allowed.split(",")]},
            )
            response["Allow"] = allowed
        return response

    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)
    return wrapper


def api_not_found(request, *args, **kwargs):
    """Any other address under /api/v1/."""
    return error_response(404, "not_found", "No such API endpoint.")
