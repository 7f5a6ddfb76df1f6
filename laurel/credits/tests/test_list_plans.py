"""Each big list is read on its index: PostgreSQL's plan for a seeded ledger and audit trail.

Seeded set-based (tens of thousands of rows, three organizations) and ANALYZEd, so the
planner chooses as it would in production; the assertions are on the plan (index named, no
sequential scan of the big table, no sort of it), never on time. SQLite has no such plans.
"""

import pytest
from django.db import connection

from laurel.api.contract import COUNT_LOOKAHEAD
from laurel.audit import selectors as audit_selectors
from laurel.audit.forms import AuditFilterForm
from laurel.audit.models import AuditEvent
from laurel.credits import selectors
from laurel.credits.models import Credit
from laurel.lib.paging import bounded_count
from tests.factories import make_course, make_org, make_user

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL plans (SQLite has no such planner)"
)

ROWS_PER_ORG = 10_000


@pytest.fixture
def world(db):
    orgs = [make_org() for _ in range(3)]
    courses = {org.pk: [make_course(org, title=f"Topic {i}") for i in range(20)] for org in orgs}
    admin = make_user("auditor@example.com")
    with connection.cursor() as cursor:
        for org in orgs:
            ids = [c.pk for c in courses[org.pk]]
            cursor.execute(
                """
                INSERT INTO credits_credit (organization_id, course_id, activity_key, title,
                    recipient_email, recipient_name, completion_date, status, source,
                    source_ref, note, created_at, reject_reason, revoke_reason)
                SELECT %s, (%s::bigint[])[1 + n %% 20], 'course:' || n %% 20, 'Topic',
                    'person' || n || '@example.com', '', DATE '2020-01-01' + n %% 2000,
                    (ARRAY['held','offered','accepted','rejected'])[1 + n %% 4], 'import',
                    '', '', now(), '', ''
                FROM generate_series(1, %s) AS n
                """,
                [org.pk, ids, ROWS_PER_ORG],
            )
            cursor.execute(
                """
                INSERT INTO audit_auditevent (organization_id, actor_id, actor_label, action,
                    object_type, object_id, object_repr, at)
                SELECT %s, %s, '', 'credit.entered', 'credits.credit', n::text, 'x',
                    now() - n * interval '1 minute'
                FROM generate_series(1, %s) AS n
                """,
                [org.pk, admin.pk, ROWS_PER_ORG],
            )
        cursor.execute("ANALYZE credits_credit, audit_auditevent")
    return orgs[1], courses[orgs[1].pk], admin


def plan(queryset) -> str:
    return queryset.explain()


def ledger(org):
    """What the ledger page and ``GET /credits`` read (views._filtered_ledger, api._credits)."""
    return Credit.objects.for_org(org).with_delivery().select_related("course")


def assert_on_index(text: str, index: str, table: str = "credits_credit") -> None:
    assert index in text, text
    assert f"Seq Scan on {table}" not in text, text


def test_ledger_first_page_walks_the_organization_index_without_sorting(world):
    org, _, _ = world
    text = plan(ledger(org)[:50])
    assert_on_index(text, "credit_org_recent")
    assert "Sort" not in text, text


def test_ledger_by_status_walks_its_index(world):
    org, _, _ = world
    credits = selectors.ledger_filter(ledger(org), organization=org, status="held")
    text = plan(credits[:50])
    assert_on_index(text, "credit_org_status_recent")
    assert "Sort" not in text, text


def test_ledger_by_course_id_is_resolved_then_read_on_the_course_index(world):
    org, courses, _ = world
    credits = selectors.ledger_filter(ledger(org), organization=org, course=courses[3].course_id)
    where = str(credits.query).rsplit(" WHERE ", 1)[1]
    assert f'"credits_credit"."course_id" IN ({courses[3].pk})' in where
    assert "catalog_course" not in where  # ids resolved first, not matched through a join
    text = plan(credits[:50])
    assert_on_index(text, "credit_course_recent")
    assert "Sort" not in text, text


def test_ledger_by_email_prefix_and_exact_address_use_an_email_index(world):
    org, _, _ = world
    for text in ("person123", "person1234@example.com"):
        credits = selectors.ledger_filter(ledger(org), organization=org, email=text)
        text = plan(credits[:50])
        assert "credit_email_status" in text or "credit_org_email" in text, text
        assert "Seq Scan on credits_credit" not in text, text


def test_bounded_count_never_scans_the_ledger(world):
    org, _, _ = world
    credits = ledger(org)
    assert bounded_count(credits) == (COUNT_LOOKAHEAD, True)
    query = credits[: COUNT_LOOKAHEAD + 1]
    text = plan(query.values("pk"))
    assert_on_index(text, "credit_org_recent")


def test_audit_trail_page_walks_its_index_and_choices_need_no_query(
    world, django_assert_num_queries
):
    org, _, admin = world
    events = AuditEvent.objects.for_org(org).select_related("actor")
    text = plan(events[:100])
    assert_on_index(text, "audit_org_recent", table="audit_auditevent")
    assert "Sort" not in text, text
    by_person = audit_selectors.event_filter(events, tz=org.tz, person=str(admin.pk))
    assert "auth_user" not in str(by_person.query).split("WHERE")[1]  # an id, not a join
    with django_assert_num_queries(0):
        form = AuditFilterForm(people=[])
        assert len(form.fields["object_type"].choices) > 5
        assert len(form.fields["action"].choices) > 5


def test_certificate_list_walks_its_index(world):
    """``GET /api/v1/certificates`` and the certificates page: newest first, on the index."""
    from laurel.certificates.models import Certificate
    from laurel.certificates.tests.conftest import issue

    org, _, _ = world
    first = issue(org, notify=False)
    columns = [
        f.column
        for f in Certificate._meta.concrete_fields
        if f.column not in ("id", "serial_number", "verification_code", "status_list_index")
        and f.column not in ("issued_at", "credit_id")
    ]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO certificates_certificate ({listed}, serial_number, verification_code,
                status_list_index, issued_at, credit_id)
            SELECT {listed}, serial_number || '-' || n, verification_code || n,
                status_list_index + n, issued_at - n * interval '1 minute', NULL
            FROM certificates_certificate, generate_series(1, %s) AS n WHERE id = %s
            """,  # noqa: S608 (column names from the model)
            [ROWS_PER_ORG, first.pk],
        )
        cursor.execute("ANALYZE certificates_certificate")
    text = plan(Certificate.objects.for_org(org).select_related("course")[:50])
    assert_on_index(text, "certificate_org_recent", table="certificates_certificate")
    assert "Sort" not in text, text


def test_ledger_by_email_reads_few_matches_on_the_org_email_index_then_sorts(world):
    """A prefix matching few rows is read on (organization, e-mail) and sorted, whatever the
    estimate: never a walk of ``credit_org_recent`` filtering every row by the prefix."""
    org, _, _ = world
    credits = selectors.ledger_filter(ledger(org), organization=org, email="person12")
    text = plan(credits[:50])
    assert_on_index(text, "credit_org_email")
    assert "credit_org_recent" not in text, text
    assert "Sort" in text, text
    rows = list(credits.values_list("completion_date", "id"))
    assert len(rows) == 111  # person12, person120..129, person1200..1299 in this organization
    assert rows == sorted(rows, reverse=True)


def test_ledger_by_a_broad_email_prefix_keeps_the_ordered_walk(world):
    """Thousands of matches: no sort of all of them; the page is found walking in order."""
    org, _, _ = world
    credits = selectors.ledger_filter(ledger(org), organization=org, email="person")
    text = plan(credits[:50])
    assert "+ 0" not in str(credits.query), text
    rows = list(credits[:50].values_list("completion_date", "id"))
    assert rows == sorted(rows, reverse=True)
