"""Import kinds: what a file of one kind contains, how its rows are judged and committed.

The pipeline (``services``) streams the file, stores one ``ImportRow`` per data row and
commits in chunks; a kind supplies the columns, the per-row classification and the
set-based commit of one chunk. Credits is the first kind; certificates, attendees,
enrollments and LMS progress plug in the same way (``KINDS``).

Row validation is hand-written rather than a pydantic model per row: at a million rows the
pipeline has ~16 µs per row for everything, and building a pydantic model costs about that
alone (measured: 14 µs for this schema). ``CreditRow`` documents the schema with pydantic
and the API reuses it; the hot loop checks the same rules directly.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone
from pydantic import BaseModel, Field

from laurel.accounts.models import Connection
from laurel.catalog.models import Course, CourseComponent
from laurel.credits.models import Credit
from laurel.imports import bulk
from laurel.imports.models import ImportRow
from laurel.lib.dates import date_parser
from laurel.lib.emails import normalize_email
from laurel.lib.tabular import CREDIT_FIELDS, read_table
from laurel.notifications.models import Suppression

CENT = Decimal("0.01")
C = ImportRow.Category

# Column order of the tuples a kind yields for ImportRow (see ``services.RowWriter``).
ROW_COLUMNS = (
    "job_id",
    "number",
    "category",
    "included",
    "outcome",
    "email",
    "course_ref",
    "course_pk",
    "completion_date",
    "name",
    "amount_earned",
    "credit_type",
    "note",
    "column",
    "value",
    "reason",
    "credit_id",
)


class CreditRow(BaseModel):
    """The credits file schema (documentation and API); the hot loop applies these rules."""

    course_id: str = Field(max_length=64)
    email: str = Field(max_length=254)
    completion_date: date
    name: str = Field("", max_length=200)
    amount_earned: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=2)
    credit_type: str = Field("", max_length=16)
    note: str = Field("", max_length=500)
    member_id: str = Field("", max_length=64)  # blank: the connection's stays as it is


def parse_amount(value: object) -> Decimal:
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else str(value)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number.")
    if not amount.is_finite() or amount < 0:
        raise ValueError("The amount earned must be zero or more.")
    if amount >= 100000:
        raise ValueError("The amount earned is too large.")
    return amount.quantize(CENT, ROUND_HALF_UP)


def member_id_problem(value: str) -> str | None:
    """Why a member ID cell cannot be recorded (the rules of ``connection_set_member_id``)."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "A member ID cannot contain control characters (tabs, line breaks)."
    if len(value) > 64:
        return "A member ID has at most 64 characters."
    return None


@dataclass(frozen=True, slots=True)
class CourseInfo:
    pk: int
    course_id: str
    title: str
    active_from: date
    active_until: date | None
    components: tuple[tuple[int, str, Decimal], ...]  # (credit type pk, code, amount)

    @property
    def total(self) -> Decimal:
        return sum((a for _, _, a in self.components), Decimal(0))


def load_courses(organization) -> dict[str, CourseInfo]:
    """The organization's courses by upper-cased course ID, with their components."""
    comps: dict[int, list] = {}
    for course_pk, ct_pk, code, amount in CourseComponent.objects.filter(
        course__organization=organization
    ).values_list("course_id", "credit_type_id", "credit_type__code", "amount"):
        comps.setdefault(course_pk, []).append((ct_pk, code, amount))
    out = {}
    for pk, course_id, title, active_from, active_until in Course.objects.for_org(
        organization
    ).values_list("pk", "course_id", "title", "active_from", "active_until"):
        out[course_id.upper()] = CourseInfo(
            pk, course_id, title, active_from, active_until, tuple(comps.get(pk, ()))
        )
    return out


def earned_amounts(
    course: CourseInfo, amount: Decimal | None, code: str
) -> list[tuple[int, Decimal, Decimal]]:
    """(credit type pk, offered, earned) per component, the rule of ``earned_components``."""
    if amount is None:
        return [(ct, a, a) for ct, _, a in course.components]
    if code:
        return [(ct, a, amount if c == code else a) for ct, c, a in course.components]
    total = course.total
    ratio = amount / total if total else Decimal(0)
    return [(ct, a, (a * ratio).quantize(CENT, ROUND_HALF_UP)) for ct, _, a in course.components]


# The columns ``services`` reads back for one commit chunk (credits kind).
COMMIT_COLUMNS = (
    "number",
    "email",
    "course_pk",
    "completion_date",
    "name",
    "amount_earned",
    "credit_type",
    "note",
    "category",
)


class ImportKind:
    name: str
    label: str
    fields: tuple
    example: dict
    row_columns: tuple = ROW_COLUMNS  # order of the tuples ``classify`` yields
    commit_columns: tuple = COMMIT_COLUMNS  # order of the rows ``commit_chunk`` receives
    # PostgreSQL: ``commit_range(job, after, upto, ...)`` commits a range of row numbers in
    # SQL; a kind without one commits the rows ``commit_chunk`` is handed.
    commit_range = None
    # PostgreSQL, before the ranges: ``invite_part(job, part, parts, ...)`` connects the new
    # e-mails of one hash part and returns how many.
    invite_part = None

    def prepare_commit(self, job) -> None:
        """Fill the caches ``commit_range`` reads, before ranges run side by side."""

    digests = False  # one digest e-mail per recipient after the commit (credits)

    def converters(self, organization) -> dict:
        return {}

    def check_options(self, organization, options: dict) -> dict:
        """The kind's own options of an upload (e.g. the event of an attendee import),
        checked against the organization; ``ServiceError`` for a bad one."""
        return {}

    def open_table(self, job, source, *, max_bytes, overrides):
        """Open the stored upload as a ``tabular.Table`` (a kind may read other layouts)."""
        return read_table(source, max_bytes=max_bytes, fields=self.fields, overrides=overrides)

    # ``undo(actor=, job=) -> counts``: a kind that undoes through its own service.
    undo = None

    def classify(self, job, records):
        raise NotImplementedError

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        raise NotImplementedError


class CreditsKind(ImportKind):
    name = "credits"
    label = "Credits"
    digests = True
    row_columns = (*ROW_COLUMNS, "member_id")
    commit_columns = (*COMMIT_COLUMNS, "member_id")
    fields = CREDIT_FIELDS
    example = {
        "course_id": "NNA-26-00042",
        "email": "jane.doe@example.org",
        "completion_date": "2026-03-05",
        "name": "Jane Doe",
        "amount_earned": "",
        "credit_type": "",
        "note": "",
        "member_id": "",
    }

    def converters(self, organization) -> dict:
        return {
            "email": normalize_email,
            # date_parser: parse_date bound to the format, str straight to its cached reader.
            "completion_date": date_parser(organization.date_format),
            "amount_earned": parse_amount,
        }

    # --- validation -------------------------------------------------------------------

    def classify(self, job, records):
        """Yield one ImportRow tuple (``ROW_COLUMNS`` order) per record, in file order."""
        org = job.organization
        today = org.today()
        courses = load_courses(org)
        if job.submitted_by_provider_id:
            # A provider's roster may credit only the courses approved for that provider.
            own = set(
                Course.objects.for_org(org)
                .filter(submission__provider_id=job.submitted_by_provider_id)
                .values_list("pk", flat=True)
            )
            not_theirs = {ref for ref, c in courses.items() if c.pk not in own}
            courses = {ref: c for ref, c in courses.items() if c.pk in own}
        else:
            not_theirs = set()
        foreign: dict[str, str | None] = {}  # course IDs of other organizations, cached
        connected = set(Connection.objects.filter(organization=org).values_list("email", flat=True))
        # Keys are hashes of (course, email, date): 64-bit, so a million rows fit in ~70 MB;
        # a collision (p ≈ 1e-8 per million rows) would only mislabel a row as a duplicate.
        existing = set()
        for key, email, day in (
            Credit.objects.for_org(org)
            .exclude(status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED])
            .values_list("activity_key", "recipient_email", "completion_date")
            .iterator(chunk_size=20000)
        ):
            if key.startswith("course:"):
                existing.add(hash((int(key[7:]), email, day)))
        seen: dict[int, int] = {}
        # The suppression list is small next to an import: one read, then set lookups.
        suppressed = {
            s.email: s.summary
            for s in Suppression.objects.filter(reason__in=Suppression.BOUNCE_REASONS)
        }
        job_id = job.pk
        dup_existing, dup_file = C.DUPLICATE_EXISTING.value, C.DUPLICATE_IN_FILE.value
        invalid, unknown = C.INVALID.value, C.UNKNOWN_COURSE.value
        deliverable, invite = C.DELIVERABLE.value, C.INVITE.value
        headings = {f.name: f.label for f in self.fields}
        for number, values, raw, errors in records:
            get = raw.get
            course_ref = str(get("course_id", ""))[:64]
            if errors:
                err = errors[0]
                yield (
                    job_id, number, invalid, False, "", str(get("email", ""))[:254], course_ref,
                    None, None, str(get("name", ""))[:200], None, "", "",
                    err.column[:100], _shown(err.value), err.message[:500], None,
                    str(get("member_id", ""))[:64],
                )  # fmt: skip
                continue
            email = values["email"]
            day = values["completion_date"]
            name = str(values.get("name", ""))[:200]
            amount = values.get("amount_earned")
            if amount == "":
                amount = None  # no amount: full credit (0 is a real amount)
            code = str(values.get("credit_type", "")).upper()[:16]
            note = str(values.get("note", ""))[:500]
            member_id = str(values.get("member_id", "")).strip()
            course = courses.get(course_ref.upper())
            problem = None
            # An empty member ID (most files have no such column) is never a problem.
            if member_id and (member_problem := member_id_problem(member_id)):
                problem = (invalid, "member_id", member_id, member_problem)
                member_id = member_id[:64]
            elif course is None:
                if course_ref not in foreign:
                    foreign[course_ref] = (
                        Course.objects.filter(course_id__iexact=course_ref)
                        .exclude(organization=org)
                        .values_list("course_id", flat=True)
                        .first()
                    )
                reason = (
                    f"{course_ref} is not one of this provider's approved courses."
                    if course_ref.upper() in not_theirs
                    else f"{course_ref} belongs to another organization."
                    if foreign[course_ref]
                    else f"No course {course_ref} in this organization."
                )
                problem = (unknown, "course_id", course_ref, reason)
            elif day > today:
                problem = (invalid, "completion_date", day.isoformat(),
                           "The completion date is in the future.")  # fmt: skip
            elif day < course.active_from or (course.active_until and day > course.active_until):
                reason = (
                    f"{course.course_id} can only be credited from {course.active_from:%Y-%m-%d}."
                    if day < course.active_from
                    else f"{course.course_id} could only be credited until "
                    f"{course.active_until:%Y-%m-%d}."
                )
                problem = (unknown, "completion_date", day.isoformat(), reason)
            elif amount is not None or code:
                problem = _amount_problem(course, amount, code)
            if problem:
                category, field, value, reason = problem
                yield (
                    job_id, number, category, False, "", email, course_ref,
                    course.pk if course else None, day, name, amount, code, note,
                    headings.get(field, field), str(value)[:200], reason[:500], None, member_id,
                )  # fmt: skip
                continue
            key = hash((course.pk, email, day))
            if key in existing:
                category, reason = dup_existing, "This credit is already in the ledger."
            elif key in seen:
                category, reason = dup_file, f"Same credit as row {seen[key]}."
            elif email in suppressed:
                category = C.UNDELIVERABLE.value
                reason = f"Mail to this address bounced: {suppressed[email]}"[:500]
            else:
                seen[key] = number
                category = deliverable if email in connected else invite
                reason = ""
            yield (
                job_id, number, category, category in (deliverable, invite), "", email,
                course_ref, course.pk, day, name, amount, code, note, "", "", reason, None,
                member_id,
            )  # fmt: skip

    # --- commit -----------------------------------------------------------------------

    def prepare_commit(self, job) -> None:
        _courses_by_pk(job)

    def commit_range(self, job, after, upto, *, actor_user_id, actor_label) -> dict:
        """PostgreSQL: commit rows ``after < number <= upto`` in one statement."""
        from laurel.imports import credits_sql

        return credits_sql.commit_range(
            job,
            after,
            upto,
            courses={c.pk: c for c in _courses_by_pk(job)},
            earned_amounts=earned_amounts,
            actor_user_id=actor_user_id,
            actor_label=actor_label,
            now=timezone.now(),
        )

    def invite_part(self, job, part, parts, *, actor_user_id, actor_label) -> int:
        from laurel.imports import credits_sql

        return credits_sql.invite(
            job,
            part=part,
            parts=parts,
            actor_user_id=actor_user_id,
            actor_label=actor_label,
            now=timezone.now(),
        )

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        """Create the credits for ``rows`` (number, email, course_pk, date, name, amount, code,
        note, category, member_id), set-based; return counts. Runs inside the chunk's
        transaction."""
        org = job.organization
        courses = {c.pk: c for c in _courses_by_pk(job)}
        # The last non-empty member ID per e-mail, as the PostgreSQL path picks it.
        member_ids = {r[1]: r[9] for r in rows if r[9]}
        gone = [r[0] for r in rows if r[2] not in courses]
        if gone:  # a course deleted since validation: those rows fail, the rest go on
            ImportRow.objects.filter(job=job, number__in=gone).update(
                outcome=ImportRow.Outcome.FAILED,
                reason="The course no longer exists in this organization.",
            )
            rows = [r for r in rows if r[2] in courses]
        emails = {r[1] for r in rows}
        holders = bulk.verified_holders(emails)
        now = timezone.now()
        source_ref = job.source_ref
        held, offered = Credit.Status.HELD.value, Credit.Status.OFFERED.value
        values = []
        for _number, email, course_pk, day, name, _amount, _code, note, _cat, _mid in rows:
            course = courses[course_pk]
            holder = holders.get(email)
            values.append(
                (
                    org.pk, course_pk, f"course:{course_pk}", course.title, email, name,
                    holder, day, offered if holder else held, Credit.Source.IMPORT.value,
                    source_ref, note, actor_user_id, now, now if holder else None, "", "",
                )
            )  # fmt: skip
        created = bulk.insert_returning(
            "credits_credit",
            (
                "organization_id", "course_id", "activity_key", "title", "recipient_email",
                "recipient_name", "holder_id", "completion_date", "status", "source",
                "source_ref", "note", "created_by_id", "created_at", "offered_at",
                "reject_reason", "revoke_reason",
            ),
            values,
            returning=("id", "course_id", "recipient_email", "completion_date", "status"),
            pg_types=(
                "bigint", "bigint", "text", "text", "text", "text", "bigint", "date", "text",
                "text", "text", "text", "bigint", "timestamptz", "timestamptz", "text", "text",
            ),
        )  # fmt: skip
        by_key = {}
        for credit_id, course_pk, email, day, status in created:
            if isinstance(day, str):  # SQLite returns text from a raw RETURNING
                day = date.fromisoformat(day)
            by_key[(course_pk, email, day)] = (credit_id, status)
        outcomes, components, events = [], [], []
        counts = {"offered": 0, "held": 0, "skipped_duplicate": 0, "failed": len(gone)}
        # Rows share a handful of (course, amount, type) combinations: work each out once.
        plans: dict[tuple, tuple[list, str]] = {}
        tail = f', "source": "import", "import": {job.pk}, "components": '
        for number, email, course_pk, day, _name, amount, code, _note, _cat, _mid in rows:
            hit = by_key.get((course_pk, email, day))
            if hit is None:
                outcomes.append((number, "skipped_duplicate", None))
                counts["skipped_duplicate"] += 1
                continue
            credit_id, status = hit
            outcomes.append((number, status, credit_id))
            counts[status] += 1
            course = courses[course_pk]
            plan = plans.get((course_pk, amount, code))
            if plan is None:
                earned = earned_amounts(course, amount, code)
                shown = {
                    c: str(e)
                    for (_, c, _), (_, _, e) in zip(course.components, earned, strict=True)
                }  # noqa: E501
                plan = plans[(course_pk, amount, code)] = (earned, json.dumps(shown))
            earned, shown_json = plan
            for ct, offered_amount, earned_amount in earned:
                components.append((credit_id, ct, offered_amount, earned_amount))
            # The audit payload as json.dumps would write it, built from parts: the e-mail is
            # the only free text and json.dumps escapes it.
            after = f'{{"status": "{status}", "email": {json.dumps(email)}{tail}{shown_json}}}'
            events.append(
                (
                    org.pk, actor_user_id, actor_label, "credit.entered", "credits.credit",
                    str(credit_id), f"{course.title} → {email} ({day.isoformat()})"[:200],
                    after, now,
                )
            )  # fmt: skip
        bulk.copy_insert(
            "credits_creditcomponent",
            ("credit_id", "credit_type_id", "amount_offered", "amount_earned"),
            components,
        )
        # Invitations: a connection row per new e-mail, with its own audit event.
        new_emails = sorted({r[1] for r in rows if r[8] == C.INVITE})
        # Existing connections whose member ID the file changes, before the invitations.
        changed = [
            (conn_id, email, before)
            for conn_id, email, before in Connection.objects.filter(
                organization=org, email__in=member_ids
            ).values_list("pk", "email", "member_id")
            if before != member_ids[email]
        ]
        invited = bulk.insert_returning(
            "accounts_connection",
            ("organization_id", "email", "status", "invited_at", "member_id"),
            [
                (org.pk, e, Connection.Status.INVITED.value, now, member_ids.get(e, ""))
                for e in new_emails
            ],
            returning=("id", "email"),
            pg_types=("bigint", "text", "text", "timestamptz", "text"),
        )
        for conn_id, email in invited:
            events.append(
                (
                    org.pk, actor_user_id, actor_label, "connection.invited",
                    "accounts.connection", str(conn_id), email[:200],
                    json.dumps({"email": email, "import": job.pk}), now,
                )
            )  # fmt: skip
        bulk.copy_insert(
            "audit_auditevent",
            (
                "organization_id", "actor_id", "actor_label", "action", "object_type",
                "object_id", "object_repr", "after", "at",
            ),
            events,
        )  # fmt: skip
        if changed:
            self._set_member_ids(job, changed, member_ids, actor_user_id, actor_label, now)
        bulk.update_outcomes(job.pk, outcomes)
        counts["invited"] = len(invited)
        self._emit_webhooks(job, rows, by_key)
        return counts

    def _set_member_ids(self, job, changed, member_ids, actor_user_id, actor_label, now):
        """Write the file's member IDs onto existing connections, an audit event each (the
        event of ``connection_set_member_id``); PostgreSQL does this in ``credits_sql``."""
        org_pk = job.organization_id
        conns = []
        events = []
        for conn_id, email, before in changed:
            after = member_ids[email]
            conns.append(Connection(pk=conn_id, member_id=after))
            events.append(
                (
                    org_pk, actor_user_id, actor_label, "connection.member_id_set",
                    "accounts.connection", str(conn_id), email[:200],
                    json.dumps({"member_id": before}),
                    json.dumps({"member_id": after, "import": job.pk}), now,
                )
            )  # fmt: skip
        Connection.objects.bulk_update(conns, ["member_id"], batch_size=500)
        bulk.copy_insert(
            "audit_auditevent",
            (
                "organization_id", "actor_id", "actor_label", "action", "object_type",
                "object_id", "object_repr", "before", "after", "at",
            ),
            events,
        )  # fmt: skip

    def _emit_webhooks(self, job, rows, by_key) -> None:
        """credit.held / credit.offered for the chunk's new credits, in one batch (the
        PostgreSQL path writes the same rows inside its statement)."""
        from laurel.integrations.services import webhooks_emit_credits

        events = []
        for _number, email, course_pk, day, *_ in rows:
            hit = by_key.get((course_pk, email, day))
            if hit is not None:
                events.append((f"credit.{hit[1]}", hit[0]))
        webhooks_emit_credits(organization=job.organization, events=events)


def _amount_problem(course: CourseInfo, amount: Decimal | None, code: str):
    codes = {c for _, c, _ in course.components}
    if code and code not in codes:
        return (C.INVALID.value, "credit_type", code, f"{course.course_id} does not grant {code}.")
    if amount is None:
        return None
    if code:
        limit = next(a for _, c, a in course.components if c == code)
    else:
        limit = course.total
    if amount > limit:
        return (
            C.INVALID.value,
            "amount_earned",
            amount,
            f"At most {limit.normalize():f} can be earned for {course.course_id}.",
        )
    return None


def _shown(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)[:200]


def _courses_by_pk(job):
    cache = getattr(job, "_course_cache", None)
    if cache is None:
        cache = list(load_courses(job.organization).values())
        job._course_cache = cache
    return cache


from laurel.imports.attendees_kind import AttendeesKind  # noqa: E402
from laurel.imports.certificates_kind import CertificatesKind  # noqa: E402
from laurel.imports.enrollments_kind import EnrollmentsKind  # noqa: E402
from laurel.imports.progress_kind import ProgressKind  # noqa: E402

KINDS: dict[str, ImportKind] = {
    "credits": CreditsKind(),
    "certificates": CertificatesKind(),
    "progress": ProgressKind(),
    "attendees": AttendeesKind(),
    "enrollments": EnrollmentsKind(),
}


def kind_for(name: str) -> ImportKind:
    return KINDS[name]
