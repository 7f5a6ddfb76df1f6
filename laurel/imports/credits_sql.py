"""The credits import's commit on PostgreSQL: one statement per chunk, no rows in Python.

A chunk is a range of row numbers. One statement with data-modifying CTEs reads the chunk's
checked rows from the preview table, inserts the credits (the partial unique index turns a
credit that already exists into a skipped duplicate), their components, one audit event per
credit, and writes every row's outcome (invitations and member IDs go first, in
``invite``). Python only works out the handful of (course, amount, credit type)
combinations a chunk uses.

References are checked set-based instead of by per-row foreign keys (see
docs/decisions/0004-ledger-write-path.md): the organization and the chunk's courses are
locked ``FOR KEY SHARE`` for the chunk's transaction, the courses are joined by
organization (a course deleted since validation fails its rows), and holders come from a
join with the verified addresses.

SQLite keeps the row-by-row path in ``kinds.CreditsKind.commit_chunk``; both write the same
rows (the tests run on both databases).
"""

from __future__ import annotations

import json

from django.db import IntegrityError, connection, transaction
from psycopg import errors

from laurel.imports import bulk
from laurel.integrations.services import subscriptions, webhooks_dispatch_after_commit

# The chunk's rows whose course is still this organization's, with the holder of their
# e-mail (``src``), are read by every part of the statement. The holder is looked up in the
# unique index of verified addresses row by row (a subquery, which ``enable_nestloop = off``
# leaves alone): a hash join read every account of the database for every range.
SRC_SQL = """
    SELECT r.number, r.email, r.course_pk, r.completion_date AS day, r.name, r.note,
           r.amount_earned, r.credit_type, r.category, c.title,
           (SELECT e.user_id FROM account_emailaddress e
            WHERE e.email = r.email AND e.verified) AS holder
    FROM imports_importrow r
    JOIN catalog_course c ON c.id = r.course_pk AND c.organization_id = %(org)s
    WHERE r.job_id = %(job)s AND r.number > %(after)s AND r.number <= %(upto)s
      AND r.included AND r.outcome = '' AND r.category IN ('deliverable', 'invite')
"""

INSERT_CREDITS_SQL = """
    INSERT INTO credits_credit (
        {id_column}organization_id, course_id, activity_key, title, recipient_email,
        recipient_name, holder_id, completion_date, status, source, source_ref, note,
        created_by_id, created_at, offered_at, answered_at, revoked_at, reject_reason,
        revoke_reason, dashboard_id)
    SELECT {id_value}%(org)s, s.course_pk, 'course:' || s.course_pk, s.title, s.email, s.name,
           s.holder, s.day, CASE WHEN s.holder IS NULL THEN 'held' ELSE 'offered' END,
           'import', %(source_ref)s, s.note, %(actor)s,
           %(now)s, CASE WHEN s.holder IS NULL THEN NULL ELSE %(now)s::timestamptz END,
           NULL, NULL, '', '', NULL
    FROM {source} s"""

# Everything after the credits reads ``hit``: the rows that got a credit, with its id and
# status.
AFTER_CREDITS_SQL = """
comp AS (
    INSERT INTO credits_creditcomponent (credit_id, credit_type_id, amount_offered, amount_earned)
    SELECT h.id, p.credit_type_id, p.offered, p.earned
    FROM hit h JOIN laurel_stage_plan p
      ON p.course_pk = h.course_pk AND p.amount IS NOT DISTINCT FROM h.amount_earned
     AND p.code = h.credit_type
),
shown AS (
    SELECT DISTINCT ON (course_pk, amount, code) course_pk, amount, code, shown
    FROM laurel_stage_plan
),
aud AS (
    INSERT INTO audit_auditevent (
        organization_id, actor_id, actor_label, action, object_type, object_id, object_repr,
        before, after, ip, at)
    SELECT %(org)s, %(actor)s, %(label)s, 'credit.entered', 'credits.credit', h.id::text,
           left(h.title || ' → ' || h.email || ' (' || to_char(h.day, 'YYYY-MM-DD') || ')', 200),
           NULL,
           jsonb_build_object('status', h.status, 'email', h.email, 'source', 'import',
                              'import', %(job)s, 'components', p.shown),
           NULL, %(now)s
    FROM hit h JOIN shown p
      ON p.course_pk = h.course_pk AND p.amount IS NOT DISTINCT FROM h.amount_earned
     AND p.code = h.credit_type
),{webhooks}
"""

# Any credit may already exist (entered since validation, or by an import running side by
# side): ``ON CONFLICT DO NOTHING`` leaves those rows out of ``hit`` and their rows become
# ``skipped_duplicate``.
COMMIT_SQL = (  # built from the constants above, no data
    "WITH\nsrc AS ("  # noqa: S608
    + SRC_SQL
    + "),\nins AS ("
    + INSERT_CREDITS_SQL.format(id_column="", id_value="", source="src")
    + """
    ORDER BY s.number
    ON CONFLICT DO NOTHING
    RETURNING id, course_id, recipient_email, completion_date, status
),
hit AS (
    SELECT s.number, s.email, s.day, s.title, s.course_pk, s.amount_earned, s.credit_type,
           i.id, i.status
    FROM src s
    JOIN ins i ON i.course_id = s.course_pk AND i.recipient_email = s.email
              AND i.completion_date = s.day
),"""
    + AFTER_CREDITS_SQL
    + """outcome AS (
    UPDATE imports_importrow r
    SET outcome = COALESCE(h.status, 'skipped_duplicate'), credit_id = h.id
    FROM src s LEFT JOIN hit h ON h.number = s.number
    WHERE r.job_id = %(job)s AND r.number = s.number
      AND r.number > %(after)s AND r.number <= %(upto)s
)
SELECT (SELECT count(*) FROM src),
       (SELECT count(*) FROM hit WHERE status = 'offered'),
       (SELECT count(*) FROM hit WHERE status = 'held')
"""
)

# The same rows when no credit of the range exists yet, which is the rule: every row gets a
# credit, so the credits' ids are drawn from their sequence up front (in row order, as the
# insert above would) and nothing is joined back from ``RETURNING``; a plain INSERT also
# skips ``ON CONFLICT``'s speculative insertion. Should a credit exist after all, the unique
# index refuses the INSERT (after waiting for a transaction inserting the same credit side
# by side) and ``commit_range`` runs ``COMMIT_SQL`` instead, so the outcome is the same.
COMMIT_NEW_SQL = (  # built from the constants above, no data
    "WITH\nhit AS MATERIALIZED (\n    SELECT nextval(%(sequence)s::regclass) AS id, s.*,\n"  # noqa: S608
    "           CASE WHEN s.holder IS NULL THEN 'held' ELSE 'offered' END AS status\n"
    "    FROM ("
    + SRC_SQL
    + "        ORDER BY r.number) s\n),\nins AS ("
    + INSERT_CREDITS_SQL.format(id_column="id, ", id_value="s.id, ", source="hit")
    + "\n),"
    + AFTER_CREDITS_SQL
    + """outcome AS (
    UPDATE imports_importrow r
    SET outcome = h.status, credit_id = h.id
    FROM hit h
    WHERE r.job_id = %(job)s AND r.number = h.number
      AND r.number > %(after)s AND r.number <= %(upto)s
)
SELECT count(*), count(*) FILTER (WHERE status = 'offered'),
       count(*) FILTER (WHERE status = 'held')
FROM hit
"""
)

# credit.held / credit.offered webhook events and their deliveries, set-based in the same
# statement (only when an endpoint of the organization listens). Their data is made from
# the credit when sent (``laurel.integrations.events.render_lazy``): ~50 bytes an event.
WEBHOOKS_SQL = """
hook AS (
    INSERT INTO integrations_webhookmessage (
        organization_id, event_type, payload, credit_id, created_at)
    SELECT %(org)s, 'credit.' || h.status, NULL, h.id, %(now)s
    FROM hit h
    WHERE 'credit.' || h.status = ANY(%(hook_types)s::text[])
    ORDER BY h.number
    RETURNING id, event_type
),
hook_delivery AS (
    INSERT INTO integrations_webhookdelivery (
        endpoint_id, message_id, status, attempts, next_attempt_at, last_status_code,
        last_error, created_at, delivered_at)
    SELECT e.endpoint, m.id, 'pending', 0, %(now)s, NULL, '', %(now)s, NULL
    FROM hook m
    JOIN unnest(%(hook_endpoints)s::bigint[], %(hook_types)s::text[]) AS e(endpoint, type)
      ON e.type = m.event_type
    ORDER BY m.id  -- the dispatcher sends an endpoint's deliveries by their id
),"""

# Invitations come first, for the whole import, split by e-mail hash into parts that can run
# side by side: were they written with the credits, a range would wait for every other range
# that invites one of its e-mails to commit, and the ranges would run one after another.
INVITE_SQL = """
WITH mid AS (
    -- The last non-empty member ID the file gives each e-mail of this part.
    SELECT DISTINCT ON (r.email) r.email, r.member_id
    FROM imports_importrow r
    WHERE r.job_id = %(job)s AND r.included AND r.outcome = ''
      AND r.category IN ('deliverable', 'invite') AND r.member_id <> ''
      AND mod(hashtext(r.email) & 2147483647, %(parts)s) = %(part)s
    ORDER BY r.email, r.number DESC
),
conn AS (
    INSERT INTO accounts_connection (organization_id, email, status, invited_at, member_id)
    SELECT %(org)s, n.email, 'invited', %(now)s::timestamptz, COALESCE(m.member_id, '')
    FROM (
        SELECT DISTINCT r.email
        FROM imports_importrow r
        WHERE r.job_id = %(job)s AND r.included AND r.outcome = '' AND r.category = 'invite'
          AND mod(hashtext(r.email) & 2147483647, %(parts)s) = %(part)s
    ) n LEFT JOIN mid m ON m.email = n.email
    ORDER BY n.email
    ON CONFLICT DO NOTHING
    RETURNING id, email
),
conn_aud AS (
    INSERT INTO audit_auditevent (
        organization_id, actor_id, actor_label, action, object_type, object_id, object_repr,
        before, after, ip, at)
    SELECT %(org)s, %(actor)s, %(label)s, 'connection.invited', 'accounts.connection',
           c.id::text, left(c.email, 200), NULL,
           jsonb_build_object('email', c.email, 'import', %(job)s), NULL, %(now)s
    FROM conn c
),
-- Existing connections whose member ID the file changes (the statement's snapshot does not
-- see the invitations above, which got theirs on insert). The parts are disjoint by e-mail,
-- so side-by-side parts never wait on each other's connections.
old AS (
    SELECT c.id, c.email, c.member_id AS before, m.member_id AS after
    FROM accounts_connection c JOIN mid m ON m.email = c.email
    WHERE c.organization_id = %(org)s AND c.member_id <> m.member_id
    FOR UPDATE OF c
),
mid_set AS (
    UPDATE accounts_connection c SET member_id = o.after
    FROM old o WHERE c.id = o.id
    RETURNING c.id
),
mid_aud AS (
    INSERT INTO audit_auditevent (
        organization_id, actor_id, actor_label, action, object_type, object_id, object_repr,
        before, after, ip, at)
    SELECT %(org)s, %(actor)s, %(label)s, 'connection.member_id_set', 'accounts.connection',
           o.id::text, left(o.email, 200), jsonb_build_object('member_id', o.before),
           jsonb_build_object('member_id', o.after, 'import', %(job)s), NULL, %(now)s
    FROM old o
)
SELECT count(*) FROM conn
"""

# Rows whose course is gone (deleted, or moved out of the organization) since validation.
FAIL_GONE_SQL = """
UPDATE imports_importrow r
SET outcome = 'failed', reason = 'The course no longer exists in this organization.'
WHERE r.job_id = %(job)s AND r.number > %(after)s AND r.number <= %(upto)s
  AND r.included AND r.outcome = '' AND r.category IN ('deliverable', 'invite')
  AND NOT EXISTS (
      SELECT 1 FROM catalog_course c WHERE c.id = r.course_pk AND c.organization_id = %(org)s)
"""

COMBINATIONS_SQL = """
SELECT DISTINCT r.course_pk, r.amount_earned, r.credit_type
FROM imports_importrow r
WHERE r.job_id = %(job)s AND r.number > %(after)s AND r.number <= %(upto)s
  AND r.included AND r.outcome = '' AND r.category IN ('deliverable', 'invite')
"""

LOCK_SQL = """
SELECT 1 FROM accounts_organization WHERE id = %(org)s FOR KEY SHARE;
"""

LOCK_COURSES_SQL = """
SELECT id FROM catalog_course
WHERE organization_id = %(org)s AND id = ANY(%(courses)s::bigint[])
ORDER BY id FOR KEY SHARE
"""


_SEQUENCE: list[str] = []


def _credit_sequence(cursor) -> str:
    """The name of the sequence the ledger's ids come from (looked up once a process)."""
    if not _SEQUENCE:
        cursor.execute("SELECT pg_get_serial_sequence('credits_credit', 'id')")
        _SEQUENCE.append(cursor.fetchone()[0])
    return _SEQUENCE[0]


def commit_range(job, after, upto, *, courses, earned_amounts, actor_user_id, actor_label, now):
    """Commit rows ``after < number <= upto`` of ``job``; returns the counts.

    ``courses`` maps course pk → ``CourseInfo``; ``earned_amounts(course, amount, code)``
    gives (credit type pk, offered, earned) per component, the single-entry rule.
    """
    params = {
        "job": job.pk,
        "org": job.organization_id,
        "after": after,
        "upto": upto,
        "actor": actor_user_id,
        "label": actor_label,
        "source_ref": job.source_ref,
        "now": now,
    }
    with connection.cursor() as cursor:
        # Hash joins between the CTEs: without statistics on them the planner would loop.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(COMBINATIONS_SQL, params)
        combos = cursor.fetchall()
        if not combos:
            return {"rows": 0}
        cursor.execute(LOCK_SQL, params)
        wanted = sorted({course_pk for course_pk, _, _ in combos if course_pk in courses})
        cursor.execute(LOCK_COURSES_SQL, {**params, "courses": wanted})
        present = {pk for (pk,) in cursor.fetchall()}
        plan = []
        for course_pk, amount, code in combos:
            if course_pk not in present:
                continue
            course = courses[course_pk]
            earned = earned_amounts(course, amount, code)
            shown = json.dumps(
                {c: str(e) for (_, c, _), (_, _, e) in zip(course.components, earned, strict=True)}
            )
            for ct, offered, earned_amount in earned:
                plan.append((course_pk, amount, code, ct, offered, earned_amount, shown))
        bulk.stage(
            cursor,
            "plan",
            ("course_pk", "amount", "code", "credit_type_id", "offered", "earned", "shown"),
            ("bigint", "numeric", "text", "bigint", "numeric", "numeric", "jsonb"),
            plan,
        )
        cursor.execute(FAIL_GONE_SQL, params)
        failed = cursor.rowcount
        hooks = subscriptions(job.organization_id, ("credit.held", "credit.offered"))
        if hooks:
            params["hook_endpoints"] = [endpoint for endpoint, _ in hooks]
            params["hook_types"] = [event_type for _, event_type in hooks]
            webhooks_dispatch_after_commit()
        webhooks = WEBHOOKS_SQL if hooks else ""
        try:
            # A savepoint, so that a refused INSERT leaves the range's transaction usable.
            with transaction.atomic():
                cursor.execute(
                    COMMIT_NEW_SQL.replace("{webhooks}", webhooks),
                    {**params, "sequence": _credit_sequence(cursor)},
                )
                rows, offered, held = cursor.fetchone()
        except IntegrityError as exc:
            if not isinstance(exc.__cause__, errors.UniqueViolation):
                raise
            cursor.execute(COMMIT_SQL.replace("{webhooks}", webhooks), params)
            rows, offered, held = cursor.fetchone()
    return {
        "rows": rows + failed,
        "offered": offered,
        "held": held,
        "skipped_duplicate": rows - offered - held,
        "failed": failed,
    }


def invite(job, *, part, parts, actor_user_id, actor_label, now) -> int:
    """Connect the import's new e-mails whose hash falls in ``part`` (an invitation each, with
    its audit event) and record the file's member IDs on their connections; returns how many
    were new."""
    with connection.cursor() as cursor:
        cursor.execute(
            INVITE_SQL,
            {
                "job": job.pk,
                "org": job.organization_id,
                "actor": actor_user_id,
                "label": actor_label,
                "now": now,
                "part": part,
                "parts": parts,
            },
        )
        return cursor.fetchone()[0]


# --- digests --------------------------------------------------------------------------------

DIGEST_SQL = """
WITH delivered AS (
    SELECT r.email, r.category, r.completion_date, r.credit_id, t.title,
           row_number() OVER (PARTITION BY r.email ORDER BY r.completion_date, r.credit_id) AS n
    FROM imports_importrow r
    JOIN laurel_stage_titles t ON t.course_pk = r.course_pk
    WHERE r.job_id = %(job)s AND r.outcome IN ('offered', 'held') AND r.credit_id IS NOT NULL
      AND mod(hashtext(r.email) & 2147483647, %(parts)s) = %(part)s
),
per AS (
    SELECT email, count(*) AS total, bool_or(category = 'invite') AS invite,
        jsonb_agg(jsonb_build_array(title, to_char(completion_date, 'YYYY-MM-DD')) ORDER BY n)
            FILTER (WHERE n <= %(shown)s) AS items
    FROM delivered GROUP BY email
)
INSERT INTO notifications_outboxmessage (
    organization_id, kind, to_email, reply_to, subject, body_text, body_html, attachments,
    context, dedupe_key, status, attempts, last_error, created_at, sent_at)
SELECT %(org)s, %(kind)s, p.email, %(reply_to)s,
       left(replace(v.subject, %(count_marker)s, p.total::text), 300), '', '', '[]'::jsonb,
       jsonb_build_object('count', p.total, 'invite', p.invite, 'items', p.items),
       %(prefix)s || p.email, 'queued', 0, '', %(now)s, NULL
FROM per p JOIN laurel_stage_variants v ON v.single = (p.total = 1) AND v.invite = p.invite
ON CONFLICT (dedupe_key) DO NOTHING
"""


def digests_insert(job, renderer, *, titles, now, part=0, parts=1) -> int:
    """Queue one digest per recipient of ``job``'s delivered credits; returns how many.

    ``part`` of ``parts``: the recipients whose e-mail hashes to it, so that the parts can
    run side by side on several connections."""
    from laurel.imports.digest import COUNT, SHOWN_ITEMS

    org = job.organization
    with connection.cursor() as cursor:
        # A recipient's credits are sorted and aggregated in memory, not in temp files, and
        # the staged tables (no statistics) are hashed, not looped over per row. The rows'
        # outcomes say what was delivered: the ledger itself is not read.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL enable_nestloop = off")
        bulk.stage(
            cursor,
            "titles",
            ("course_pk", "title"),
            ("bigint", "text"),
            titles,
        )
        bulk.stage(
            cursor,
            "variants",
            ("single", "invite", "subject"),
            ("boolean", "boolean", "text"),
            renderer.subjects(),
        )
        cursor.execute(
            DIGEST_SQL,
            {
                "job": job.pk,
                "org": org.pk,
                "kind": renderer.template,
                "reply_to": org.reply_to or "",
                "shown": SHOWN_ITEMS,
                "count_marker": COUNT,
                "prefix": f"import:{job.pk}:",
                "now": now,
                "part": part,
                "parts": parts,
            },
        )
        return cursor.rowcount
