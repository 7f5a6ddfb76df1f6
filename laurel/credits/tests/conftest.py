import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    """allauth keeps its rate limits (e.g. one confirmation e-mail per address every few
    minutes) in the cache; a test must not inherit another test's limits."""
    cache.clear()
    yield
    cache.clear()
