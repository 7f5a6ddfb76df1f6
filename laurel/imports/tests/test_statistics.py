"""After an import's commit or undo the planner knows how big the tables it wrote became."""

import pytest
from django.db import connection

from laurel.audit.services import Actor
from laurel.imports import services
from laurel.imports.tests.test_commit import THREE_FOR_ANN
from laurel.lib import dbstats

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_class statistics")


def _forget_statistics(*tables):
    """As after a fresh deploy: the planner believes these tables are empty."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")  # noqa: S608
    return {t: dbstats.planner_rows(t) for t in tables}


@on_postgres
def test_commit_and_undo_refresh_the_statistics_of_the_tables_they_wrote(
    org, admin, courses, validated, commit
):
    job = validated(org, THREE_FOR_ANN, user=admin)
    known = _forget_statistics("credits_credit", "credits_creditcomponent", "audit_auditevent")
    assert known["credits_credit"] <= 0 and known["credits_creditcomponent"] <= 0
    commit(job, admin)
    assert dbstats.planner_rows("credits_credit") == 4
    assert dbstats.planner_rows("credits_creditcomponent") >= 4
    assert dbstats.planner_rows("audit_auditevent") >= known["audit_auditevent"] + 4
    services.import_undo(actor=Actor(user=admin), job=job, reason="Wrong file")
    assert dbstats.planner_rows("credits_credit") == 4  # analyzed again: still four rows


@on_postgres
def test_a_small_write_to_a_big_table_leaves_its_statistics_to_autovacuum(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (actor_label, action, object_type, object_id, "
            "object_repr, at) SELECT '', 'x', 't', n::text, '', now() "
            "FROM generate_series(1, 1000) n"
        )
    assert dbstats.analyze_after_bulk_write({"audit_auditevent": 1000}) == ["audit_auditevent"]
    assert dbstats.planner_rows("audit_auditevent") == 1000
    assert dbstats.analyze_after_bulk_write({"audit_auditevent": 50}) == []  # 5 %: not worth it
    assert dbstats.analyze_after_bulk_write({"audit_auditevent": 0}) == []


def test_sqlite_optimizes_cheaply_after_a_bulk_write(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite")
    assert dbstats.analyze_after_bulk_write({"credits_credit": 10}) == ["credits_credit"]


def _insert_audit_events(count):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (actor_label, action, object_type, object_id, "
            "object_repr, at) SELECT '', 'x', 't', n::text, '', now() "
            "FROM generate_series(1, %s) n",
            [count],
        )


@on_postgres
def test_inside_a_transaction_the_tables_are_analyzed_on_its_own_connection(db):
    # Another connection would not see the 1,000 uncommitted rows.
    _insert_audit_events(1000)
    written = {"audit_auditevent": 1000, "credits_credit": 1000}
    assert dbstats.analyze_after_bulk_write(written, connections=2) == sorted(written)
    assert dbstats.planner_rows("audit_auditevent") == 1000


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_committed_writes_are_analyzed_side_by_side_on_several_connections():
    _insert_audit_events(700)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_outboxmessage (kind, to_email, reply_to, subject, "
            "body_text, body_html, attachments, status, attempts, last_error, created_at, "
            "deferrals) SELECT 'k', n::text || '@x.org', '', '', '', '', '[]', 'queued', 0, "
            "'', now(), 0 FROM generate_series(1, 300) n"
        )
    written = {"audit_auditevent": 700, "notifications_outboxmessage": 300}
    assert dbstats.analyze_after_bulk_write(written, connections=2) == sorted(written)
    assert dbstats.planner_rows("audit_auditevent") == 700
    assert dbstats.planner_rows("notifications_outboxmessage") == 300
