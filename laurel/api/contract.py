"""What every API operation shares: human operation ids, the errors any of them can answer,
and one pagination scheme (page numbers with ``next``/``previous`` links)."""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import QuerySet
from ninja import Field, NinjaAPI, Path, Schema
from ninja.pagination import PaginationBase

from laurel.api.errors import ERROR_REF, error_schemas
from laurel.lib.paging import bounded_count

# Statuses any operation can answer, whatever it does: the key is missing (401), the body
# cannot be parsed (400), is too big (413) or of a type it does not take (415), a field is
# not valid (422). 404 and 409 are declared by the operations that can answer them.
COMMON_ERRORS = {
    "400": "The body cannot be parsed (malformed JSON or multipart), or a text value in the "
    "query or body holds the NUL character (refused before any operation runs).",
    "401": "No valid API key; the `WWW-Authenticate` header says how to send one.",
    "413": "The body is larger than the server accepts.",
    "415": "The body's Content-Type is not one this operation takes.",
    "422": "A parameter or field is not valid; `details` lists each one.",
}
# Any operation can meet a NUL character in its query string (laurel.web.middleware), so
# 400 is declared everywhere; only a body can be too large or of the wrong type.
BODY_ONLY = {"413", "415"}
MAX_PAGE = 1_000_000
# How far past a page's start ``count`` is exact (docs/api.md, "Pagination").
COUNT_LOOKAHEAD = 1000
# Ids in paths and bodies: larger ones cannot name a row (and overflow SQLite's integer).
MAX_ID = 2**63 - 1
ObjectId = Annotated[int, Path(..., ge=1, le=MAX_ID)]


class LaurelApi(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # The view's own name (``credit_list``), not its module path.
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(error_schemas())
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                # ninja keys responses by int; JSON turns them into strings anyway.
                responses = {str(k): v for k, v in operation.get("responses", {}).items()}
                operation["responses"] = responses
                for status, description in COMMON_ERRORS.items():
                    if status == "401" and not operation.get("security"):
                        continue
                    if status in BODY_ONLY and "requestBody" not in operation:
                        continue
                    response = responses.setdefault(str(status), {})
                    response["description"] = description
                    response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
                if "401" in responses:
                    responses["401"]["headers"] = {
                        "WWW-Authenticate": {
                            "schema": {"type": "string"},
                            "description": 'Bearer realm="api"',
                        }
                    }
                for response in responses.values():
                    response.setdefault("headers", {})["X-Request-ID"] = {
                        "schema": {"type": "string"},
                        "description": "The request's id: the one sent, or one made up.",
                    }
        return schema


class PageParams(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, description="1-based.")
    page_size: int | None = Field(None, ge=1, le=MAX_PAGE, description="At most 200.")


class Page(Schema):
    count: int = Field(
        ...,
        description="Items in the list, exact up to 1,000 past this page's start; a longer "
        "list answers that start + 1,000 (a lower bound).",
    )
    next: str | None = Field(None, description="URL of the next page; null on the last.")
    previous: str | None = Field(None, description="URL of the previous page.")
    items: list[Any]


class LinkPagination(PaginationBase):
    """``?page=`` (1-based) and ``?page_size=``; the answer links the next and previous page."""

    Input = PageParams
    Output = Page
    items_attribute = "items"

    def __init__(self, page_size: int = 50, max_page_size: int = 200, **kwargs: Any) -> None:
        self.page_size = page_size
        self.max_page_size = max_page_size
        super().__init__(**kwargs)

    def paginate_queryset(self, queryset: QuerySet, pagination: Input, request, **params: Any):
        size = min(pagination.page_size or self.page_size, self.max_page_size)
        return page_of(request, queryset, page=pagination.page, size=size)


def page_of(request, queryset: QuerySet, *, page: int, size: int) -> dict:
    """One page of ``queryset`` in the API's list shape; for lists paginated by hand.

    ``count`` is bounded: exact up to ``COUNT_LOOKAHEAD`` items past this page's start, that
    start plus ``COUNT_LOOKAHEAD`` beyond (a lower bound), so no list pays an exact COUNT over
    a million rows; ``next`` is always exact."""
    offset = (page - 1) * size
    count, _ = bounded_count(queryset, offset=offset, lookahead=max(COUNT_LOOKAHEAD, size))
    return {
        "count": count,
        "next": page_link(request, page + 1) if offset + size < count else None,
        "previous": page_link(request, page - 1) if page > 1 else None,
        "items": queryset[offset : offset + size],
    }


def page_link(request, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
