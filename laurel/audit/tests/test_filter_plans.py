"""The audit trail's action and person filters read their own index in the page's order, so
a rare action or person costs a page, not a scan of the whole trail (PostgreSQL plans for a
seeded, ANALYZEd trail; assertions on the plan, never on time)."""

import pytest
from django.db import connection

from laurel.audit import selectors
from laurel.audit.models import AuditEvent
from laurel.lib.paging import bounded_count
from tests.factories import make_org, make_user

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL plans (SQLite has no such planner)"
)


@pytest.fixture
def trail(db):
    orgs = [make_org() for _ in range(2)]
    importer, rare = make_user("importer@example.com"), make_user("rare@example.com")
    with connection.cursor() as cursor:
        for org in orgs:
            cursor.execute(
                """
                INSERT INTO audit_auditevent (organization_id, actor_id, actor_label, action,
                    object_type, object_id, object_repr, at)
                SELECT %s, CASE WHEN n %% 2 = 0 THEN %s END, '', 'credit.entered',
                    'credits.credit', n::text, 'x', now() - n * interval '1 minute'
                FROM generate_series(1, 20000) AS n
                """,
                [org.pk, importer.pk],
            )
        AuditEvent.objects.create(
            organization=orgs[1], actor=rare, action="certificate.issued", object_type="x"
        )
        cursor.execute("ANALYZE audit_auditevent")
    return orgs[1], rare


def _assert_on(index: str, text: str) -> None:
    assert index in text, text
    assert "Seq Scan on audit_auditevent" not in text, text
    assert "Sort" not in text, text


@pytest.mark.parametrize(
    "filters, index",
    [
        ({"action": "certificate.issued"}, "audit_org_action_recent"),
        ({"person": "rare"}, "audit_org_actor_recent"),
    ],
)
def test_filtered_trail_and_its_count_read_the_filters_index(trail, filters, index):
    org, rare = trail
    if "person" in filters:
        filters = {"person": str(rare.pk)}
    events = selectors.event_filter(
        AuditEvent.objects.for_org(org).select_related("actor"), tz=org.tz, **filters
    )
    _assert_on(index, events[:100].explain())
    assert index in events.values("pk").order_by()[:1001].explain()
    assert bounded_count(events)[0] >= 1
