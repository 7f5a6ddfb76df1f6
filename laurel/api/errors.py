"""The API's one error shape: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.operation import PathView

from laurel.accounts.services import ServiceError
from laurel.credits.services import DuplicateCredit
from laurel.lib import ratelimit
from laurel.lib.request_id import current_request_id

logger = logging.getLogger("django.request")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}
WWW_AUTHENTICATE = 'Bearer realm="api"'
# A ServiceError's code says what kind of refusal it is; most are a 422.
SERVICE_STATUS = {"state": 409, "duplicate": 409, "not_found": 404}


class ErrorBody(Schema):
    code: str = Field(..., examples=["validation_error"])
    message: str = Field(..., examples=["The request is not valid."])
    details: dict | list | None = Field(
        None, description="What was wrong, field by field, when that is known."
    )
    request_id: str | None = Field(
        None, description="The request's X-Request-ID: quote it when asking for help."
    )


class ErrorOut(Schema):
    error: ErrorBody


ERROR_REF = "#/components/schemas/ErrorOut"


def error_schemas() -> dict:
    """ErrorOut and ErrorBody as OpenAPI components, for operations that only inherit them."""
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"ErrorOut": schema, **defs}


def error_body(code: str, message: str, details=None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": current_request_id(),
        }
    }


def error_response(status: int, code: str, message: str, details=None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, details), status=status)
    if status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


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
        response = respond(
            request, 401, "unauthorized", "Send a valid API key: Authorization: Bearer lrl_…"
        )
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response

    @api.exception_handler(RequestDataTooBig)
    def too_large(request, exc: RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        return respond(request, 413, "too_large", f"The largest body accepted is {limit} MB.")

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request, exc: MultiPartParserError):
        return respond(request, 400, "bad_request", f"The multipart body cannot be read: {exc}")

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
    the bare API root) has the error shape too, not plain text or an HTML page; refuse a
    body of a type the operation does not take (415); answer HEAD like GET, without a body."""
    path_view = _path_view_of(view)

    def wrapper(request, *args, **kwargs):
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        refusal = _unsupported_media_type(path_view, request)
        if refusal is not None:
            return refusal
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return api_not_found(request)
        finally:
            if head:
                request.method = "HEAD"
        if head and not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
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


def _path_view_of(view) -> PathView | None:
    # ninja's URL view is a closure over its PathView (the operations behind one path).
    for cell in getattr(view, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def _media_types(operation) -> set[str]:
    sources = {model.__ninja_param_source__ for model in operation.models}
    if sources & {"file", "form"}:
        return {"multipart/form-data", "application/x-www-form-urlencoded"}
    if "body" in sources:
        return {"application/json"}
    return set()


def _unsupported_media_type(path_view, request) -> JsonResponse | None:
    """A 415 when the request has a body the matched operation cannot read."""
    if path_view is None or request.method not in ("POST", "PUT", "PATCH"):
        return None
    operation = next((op for op in path_view.operations if request.method in op.methods), None)
    if operation is None:
        return None
    accepted = _media_types(operation)
    sent = (request.content_type or "").lower()
    if not accepted or sent in accepted:
        return None
    if not sent and not request.headers.get("Content-Length", "0").strip("0"):
        return None  # no body at all: the operation's own validation says what is missing
    return error_response(
        415,
        "unsupported_media_type",
        f"Send the body as {' or '.join(sorted(accepted))}.",
        {"accepted": sorted(accepted)},
    )


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any other address under /api/v1/."""
    return error_response(404, "not_found", "No such API endpoint.")
