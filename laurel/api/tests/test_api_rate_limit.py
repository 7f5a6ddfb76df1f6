"""The API counts requests per key in the shared cache and says where each key stands."""

import pytest

from laurel.api.services import api_key_create
from laurel.audit.services import Actor
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def _key(org, name="LMS"):
    return api_key_create(actor=Actor.system("test"), organization=org, name=name)


def _get(client, key):
    return client.get("/api/v1/courses", headers={"Authorization": f"Bearer {key.full_key}"})


def test_api_answers_carry_ratelimit_headers_and_429_past_the_limit(client, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "api": "3/60"}
    org = make_org("nna")
    key, other = _key(org), _key(org, "Other")
    responses = [_get(client, key) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r["RateLimit-Limit"] == "3" for r in responses)
    assert 0 < int(responses[0]["RateLimit-Reset"]) <= 60
    limited = responses[-1]
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "throttled"
    assert "Try again in" in limited.json()["error"]["message"]
    # Per key: another key of the same organization, from the same address, is untouched.
    assert _get(client, other).status_code == 200
