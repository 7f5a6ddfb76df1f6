"""An API reference page drawn from the OpenAPI schema on the server: no script, no CDN."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.shortcuts import render
from ninja.openapi.docs import DocsBase

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Param:
    name: str
    where: str
    type: str
    required: bool
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    anchor: str
    fields: list[Param] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)

    @property
    def path_parts(self) -> list[str]:
        """The path cut after each slash, so a long one can wrap on a phone."""
        return [part + "/" for part in self.path.split("/")[:-1]] + [self.path.split("/")[-1]]


def _type(prop: dict, schemas: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type(p, schemas) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}), schemas)}"
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    kind = prop.get("type", "any")
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def _body_fields(operation: dict, schemas: dict) -> list[Param]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return [
        Param(name, "body", _type(prop, schemas), name in required, prop.get("description", ""))
        for name, prop in schema.get("properties", {}).items()
    ]


def operations_from_schema(schema: dict) -> list[Operation]:
    schemas = schema.get("components", {}).get("schemas", {})
    out = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                Param(
                    p["name"],
                    p["in"],
                    _type(p.get("schema", {}), schemas),
                    p.get("required", False),
                    p.get("description", ""),
                )
                for p in op.get("parameters", [])
            ]
            out.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    anchor=op.get("operationId", f"{method}-{path}"),
                    fields=params + _body_fields(op, schemas),
                    responses=[
                        (code, r.get("description", "")) for code, r in op["responses"].items()
                    ],
                )
            )
    return out


class OperationList(DocsBase):
    """Renders ``api/docs.html``; the full schema stays a link away at openapi.json."""

    def render_page(self, request, api, **kwargs):
        schema = api.get_openapi_schema(path_params=kwargs)
        return render(
            request,
            "api/docs.html",
            {
                "api": api,
                "info": schema.get("info", {}),
                "operations": operations_from_schema(schema),
                "openapi_url": self.get_openapi_url(api, kwargs),
            },
        )
