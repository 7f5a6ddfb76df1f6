"""Error reporting to Sentry (or a Sentry-compatible service) when SENTRY_DSN is set."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

# Request parts that may carry what people typed or secrets; never sent.
DROP_REQUEST_KEYS = ("data", "cookies", "query_string")


def scrub(event, hint):
    """Remove request bodies, cookies and query strings and any user fields but the id."""
    request = event.get("request") or {}
    for key in DROP_REQUEST_KEYS:
        request.pop(key, None)
    headers = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in {"authorization", "cookie", "x-api-key"}:
            headers.pop(name)
    user = event.get("user")
    if user:
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return event


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        # send_default_pii stays off (its default; the option is deprecated in favour of
        # this): no user e-mails or IPs, no request bodies, no local variables of stack
        # frames (they can hold import rows or passwords).
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,
    )
