"""Bearer authentication with organization API keys."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from ninja.security import HttpBearer

from laurel.api.models import KEY_PREFIX, ApiKey, hash_secret
from laurel.lib import ratelimit

TOUCH_EVERY = timedelta(minutes=1)
_NO_SUCH_KEY = hash_secret("no such key")


def api_key_authenticate(token: str) -> ApiKey | None:
    """The usable key that ``token`` (``lrl_<prefix>_<secret>``) names, or None."""
    parts = (token or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    _, prefix, secret = parts
    api_key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
    # Compare even when no key has this prefix, so both paths do the same work.
    matches = hmac.compare_digest(
        hash_secret(secret), api_key.secret_hash if api_key else _NO_SUCH_KEY
    )
    if api_key is None or not matches or not api_key.is_active:
        return None
    _touch(api_key)
    return api_key


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute: a busy key must not write on every request."""
    now = timezone.now()
    if api_key.last_used_at and api_key.last_used_at > now - TOUCH_EVERY:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY)
    if ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now):
        api_key.last_used_at = now


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer lrl_…``; ``request.auth`` is the ApiKey."""

    def authenticate(self, request, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(token)
        if api_key is not None:
            # Counted per key in the shared cache; the headers go on every answer (middleware).
            request.rate_limit = ratelimit.check("api", f"api-key:{api_key.pk}")
        return api_key
