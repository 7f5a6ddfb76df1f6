"""One rate limiter, counted in a cache every process shares, by a client address that only
trusted proxies can speak for."""

import socket

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from laurel.lib import ratelimit
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_limits_are_counted_in_the_database_cache_by_default(settings):
    assert settings.CACHES["default"]["BACKEND"].endswith("db.DatabaseCache")
    assert "laurel_cache" in connection.introspection.table_names()
    ratelimit.hit("check", "198.51.100.1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM laurel_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert any("laurel:rl:check:" in key for key in keys)


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_with_cache_url_counts_live_in_redis_for_every_process(settings):
    import redis

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "check": "2/60"}
    cache.clear()
    try:
        results = [ratelimit.hit("check", "203.0.113.5").allowed for _ in range(3)]
        # Another process (here: a separate connection) sees the same counter.
        raw = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        counters = [k for k in raw.keys("*") if b"laurel:rl:check:" in k]
        assert results == [True, True, False]
        assert len(counters) == 1 and int(raw.get(counters[0])) == 3
    finally:
        cache.clear()


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.1"),  # no trusted proxy: the header is the client's word
        (1, "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        (2, "1.1.1.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),  # fewer hops than proxies: not through them all
        (1, "", "10.0.0.1"),
    ],
)
def test_client_ip_trusts_only_the_configured_number_of_proxies(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_ip(request) == expected


def test_sign_up_over_the_limit_is_a_429_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "2/m/ip"}
    codes = [
        client.post(
            reverse("account_signup"),
            {"full_name": "N", "email": f"new{i}@example.com", "password1": "x", "password2": "y"},
        ).status_code
        for i in range(3)
    ]
    assert codes[-1] == 429


def test_password_reset_over_the_limit_is_a_429_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "2/m/ip"}
    make_user("nurse@example.com")
    responses = [
        client.post(reverse("account_reset_password"), {"email": "nurse@example.com"})
        for _ in range(3)
    ]
    assert responses[-1].status_code == 429
    assert "Too many requests" in responses[-1].content.decode()
    assert responses[-1]["Retry-After"]
