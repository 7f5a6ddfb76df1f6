"""Bounded pagination: exact counts while cheap, "N+" past the look-ahead, pages still work."""

import pytest
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.models import AuditEvent
from laurel.lib.paging import BoundedPaginator
from tests.factories import make_member, make_org

pytestmark = pytest.mark.django_db


def _events(org, n):
    AuditEvent.objects.bulk_create(
        AuditEvent(organization=org, action="x", object_type="t", object_id=str(i))
        for i in range(n)
    )
    return AuditEvent.objects.for_org(org).order_by("pk")


@pytest.mark.parametrize(
    "number, count, more, first",
    [(1, 5, True, 0), (3, 9, True, 4), (5, 12, False, 8), (6, 12, False, 10), (99, 5, True, 0)],
)
def test_count_is_exact_up_to_the_lookahead_past_the_page(number, count, more, first):
    events = _events(make_org(), 12)
    paginator = BoundedPaginator(events, 2, lookahead=5)
    page = paginator.get_page(number)
    assert (paginator.count, paginator.more) == (count, more)
    assert [e.object_id for e in page.object_list] == [str(first), str(first + 1)]


def test_the_page_shows_a_lower_bound_and_a_next_link(client, monkeypatch):
    org = make_org()
    _events(org, 12)
    monkeypatch.setattr("laurel.audit.views.EVENTS_PER_PAGE", 2)
    monkeypatch.setattr("laurel.lib.paging.LOOKAHEAD", 5)
    client.force_login(make_member(org, Role.ADMIN))
    url = reverse("audit:event_list", args=[org.slug])
    page = client.get(url).content.decode()
    assert "Page 1 of 3+ (5+ in all)" in page and "page=2" in page
    last = client.get(url, {"page": 6}).content.decode()
    assert "Page 6 of 6 (12 in all)" in last and "Next" not in last
