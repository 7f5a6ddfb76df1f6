"""One rate limiter for every limit, counted in Django's cache so every process shares it.

The cache is the database cache by default (no extra service) or Redis with ``CACHE_URL``.
Counts are fixed windows: ``amount`` hits per ``seconds``, the window starting at a multiple
of ``seconds``. The client's address comes from :func:`client_ip`, which trusts
``X-Forwarded-For`` only through ``TRUSTED_PROXY_COUNT`` proxies.

Limits are named in ``settings.LAUREL_RATE_LIMITS`` (``{"verify": "60/60", ...}``);
allauth's own limits (login, sign-up, password reset) use the same cache and the same address.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Usage:
    """Where one counter stands after a hit: what the ``RateLimit-*`` headers report."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


class RateLimited(Exception):
    def __init__(self, usage: Usage):
        super().__init__(f"rate limited for {usage.reset} s")
        self.usage = usage


def parse_rate(text: str) -> tuple[int, int]:
    """``"60/60"`` → 60 hits per 60 seconds."""
    amount, _, seconds = text.partition("/")
    amount_v, seconds_v = int(amount), int(seconds)
    if amount_v < 1 or seconds_v < 1:
        raise ValueError(f"a rate needs a positive amount and period, not {text!r}")
    return amount_v, seconds_v


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT = n`` the n-th
    address from the right of ``X-Forwarded-For`` (the one our nearest trusted proxy saw).

    Anything to the left of that is written by the client and never trusted.
    """
    remote = request.META.get("REMOTE_ADDR") or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        # Fewer hops than proxies we trust: the request did not come through all of them.
        return remote
    return forwarded[-count]


def hit(name: str, ident: str) -> Usage:
    """Count one hit of limit ``name`` for ``ident`` (an address, a key id, a credit id)."""
    amount, seconds = parse_rate(settings.LAUREL_RATE_LIMITS[name])
    now = time.time()
    window = int(now // seconds)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    key = f"laurel:rl:{name}:{digest}:{window}"
    if isinstance(caches["default"], RedisCache):
        # Redis: INCR is atomic and keeps the key's expiry.
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first hit
            count = 1 if cache.add(key, 1, timeout=seconds + 1) else cache.incr(key)
    else:
        # The database cache (and others) read then write: two processes racing can
        # under-count by a hit, which a limit can live with. The expiry is given again on
        # every write (BaseCache.incr would reset it to the default 300 s).
        count = (cache.get(key) or 0) + 1
        cache.set(key, count, timeout=max(1, int((window + 1) * seconds - now)) + 1)
    reset = max(1, math.ceil((window + 1) * seconds - now))
    return Usage(
        allowed=count <= amount, limit=amount, remaining=max(0, amount - count), reset=reset
    )


def check(name: str, ident: str) -> Usage:
    """:func:`hit`, raising :class:`RateLimited` when over the limit."""
    usage = hit(name, ident)
    if not usage.allowed:
        raise RateLimited(usage)
    return usage


def wants_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return request.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def too_many_requests(request: HttpRequest, usage: Usage | None = None) -> HttpResponse:
    """HTTP 429 with ``Retry-After``: a page for people, the API's error shape for machines."""
    retry_after = usage.reset if usage else 60
    message = f"Too many requests. Try again in {retry_after} seconds."
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "error": {
                    "code": "throttled",
                    "message": message,
                    "details": {"retry_after": retry_after},
                }
            },
            status=429,
        )
    else:
        html = render_to_string(
            "429.html", {"retry_after": retry_after, "message": message}, request=request
        )
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(retry_after)
    if usage:
        for header, value in usage.headers().items():
            response[header] = value
    response["Cache-Control"] = "no-store"
    return response


def limit(name: str, *, key=None, methods: tuple[str, ...] | None = None):
    """View decorator: count each request against ``name`` per client address (or per
    ``key(request, **kwargs)``), answering 429 when over. ``methods`` limits only those."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is None or request.method in methods:
                ident = key(request, **kwargs) if key else client_ip(request)
                usage = hit(name, ident)
                if not usage.allowed:
                    return too_many_requests(request, usage)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RateLimitHeadersMiddleware:
    """Add ``RateLimit-*`` headers to responses whose request counted against a limit that
    reports them (the API sets ``request.rate_limit``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        usage = getattr(request, "rate_limit", None)
        if isinstance(usage, Usage):
            for header, value in usage.headers().items():
                response.setdefault(header, value)
        return response
