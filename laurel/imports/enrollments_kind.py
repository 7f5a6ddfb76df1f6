"""The enrollments kind: people enrolled in certification programs (``laurel.programs``).

One row = one person in one program (e-mail, program code, optional enrollment date, default
today, and name), optionally with one completion record of a requirement (its title, the
completion date, a grade). Several rows may name the same person and program, one per
requirement done. Rows reuse ``ImportRow``: the program code as written in ``course_ref`` and
resolved in ``program_id``, the enrollment date in ``enrolled_on``, the requirement's title in
``note``, its completion date in ``completion_date`` and the grade in ``amount_earned``.

The commit goes through the programs services (``enrollments_create``, ``completion_record``),
one row at a time in its own savepoint: an address with no account is enrolled all the same
and invited (the enrollment waits for the verified e-mail, like held credit). Running a chunk
again enrolls nobody twice and records no completion twice.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction

from laurel.accounts.models import Connection
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.imports.kinds import ROW_COLUMNS, ImportKind, _shown, parse_amount
from laurel.imports.models import ImportRow
from laurel.lib.dates import parse_date
from laurel.lib.emails import normalize_email
from laurel.lib.tabular import Field

C = ImportRow.Category
O = ImportRow.Outcome  # noqa: E741

ENROLLMENT_FIELDS = (
    Field("email", "Email", ("E-mail", "Email Address", "Email", "E-mail Address")),
    Field("program", "Program", ("Program", "Program Code", "Certification Program")),
    Field(
        "enrolled_on",
        "Enrolled",
        ("Enrolled", "Enrollment Date", "Enrolled On", "Date Enrolled"),
        required=False,
    ),
    Field("name", "Name", ("Name", "Full Name", "Enrollee Name"), required=False),
    Field("requirement", "Requirement", ("Requirement", "Requirement Title"), required=False),
    Field(
        "completed_on",
        "Completed",
        ("Completed", "Completed On", "Completion Date", "Date Completed"),
        required=False,
    ),
    Field("grade", "Grade", ("Grade", "Score"), required=False),
)


def _key(title: str) -> str:
    return " ".join(title.split()).casefold()


class EnrollmentsKind(ImportKind):
    name = "enrollments"
    label = "Program enrollments"
    fields = ENROLLMENT_FIELDS
    example = {
        "email": "jane.doe@example.org",
        "program": "RN-CERT",
        "enrolled_on": "2026-03-05",
        "name": "Jane Doe",
        "requirement": "",
        "completed_on": "",
        "grade": "",
    }
    row_columns = (*ROW_COLUMNS, "program_id", "enrolled_on")
    commit_columns = (
        "number",
        "email",
        "program_id",
        "enrolled_on",
        "name",
        "note",
        "completion_date",
        "amount_earned",
    )

    def converters(self, organization) -> dict:
        as_date = partial(parse_date, date_format=organization.date_format)
        return {
            "email": normalize_email,
            "enrolled_on": as_date,
            "completed_on": as_date,
            "grade": parse_amount,
        }

    def classify(self, job, records):
        from laurel.programs.models import Completion, Enrollment, Program, Requirement

        org = job.organization
        today = org.today()
        programs = {
            p.code.upper(): p
            for p in Program.objects.for_org(org).select_related("current_version")
        }
        requirements = {}  # (program pk, title key) → Requirement of the current version
        for req in Requirement.objects.filter(
            version_id__in=[p.current_version_id for p in programs.values()]
        ).select_related("version"):
            requirements[(req.version.program_id, _key(req.title))] = req
        enrolled = set(
            Enrollment.objects.for_org(org)
            .filter(status__in=Enrollment.OPEN)
            .values_list("program_id", "email")
        )
        done = {
            (program_id, email, _key(title))
            for program_id, email, title in Completion.objects.filter(
                enrollment__organization=org,
                enrollment__status__in=Enrollment.OPEN,
                status=Completion.Status.COMPLETE,
            ).values_list("enrollment__program_id", "enrollment__email", "requirement__title")
        }
        connected = set(Connection.objects.filter(organization=org).values_list("email", flat=True))
        seen: dict[tuple, int] = {}
        job_id = job.pk
        headings = {f.name: f.label for f in self.fields}
        for number, values, raw, errors in records:
            get = raw.get
            code = str(get("program", "")).strip().upper()[:64]
            if errors:
                err = errors[0]
                yield (
                    job_id, number, C.INVALID.value, False, "", str(get("email", ""))[:254],
                    code, None, None, str(get("name", ""))[:200], None, "", "",
                    err.column[:100], _shown(err.value), err.message[:500], None, None, None,
                )  # fmt: skip
                continue
            email = values["email"]
            name = " ".join(str(values.get("name", "")).split())[:200]
            since = values.get("enrolled_on") or today
            title = " ".join(str(values.get("requirement", "")).split())[:500]
            completed = values.get("completed_on") or None
            grade = values.get("grade")
            grade = None if grade == "" else grade
            program = programs.get(code)
            req = requirements.get((program.pk, _key(title))) if program and title else None
            problem = None
            if "@" not in email:
                problem = ("email", email, "Not an e-mail address.")
            elif program is not None and program.status != Program.Status.ACTIVE:
                problem = ("program", code, f"Program {code} is not Active.")
            elif since > today:
                problem = ("enrolled_on", since.isoformat(), "The date is in the future.")
            elif title and program is not None and req is None:
                problem = ("requirement", title, f"Program {code} has no requirement “{title}”.")
            elif req is not None and req.kind == Requirement.Kind.CREDIT_HOURS:
                problem = ("requirement", title, "Credit hours are counted from the ledger.")
            elif title and completed is None:
                problem = ("completed_on", "", "Give the date the requirement was completed.")
            elif completed is not None and not title:
                problem = ("requirement", "", "Name the requirement that was completed.")
            elif completed is not None and completed > today:
                problem = ("completed_on", completed.isoformat(), "The date is in the future.")
            elif completed is not None and completed < since:
                problem = ("completed_on", completed.isoformat(), "Before the enrollment date.")
            elif grade is not None and (req is None or not req.needs_grade):
                problem = ("grade", str(grade), "This requirement takes no grade.")
            elif grade is not None and req.min_grade is not None and grade < req.min_grade:
                problem = ("grade", str(grade), f"Below the minimum of {req.min_grade:f}.")
            if problem:
                field, value, reason = problem
                yield (
                    job_id, number, C.INVALID.value, False, "", email, code, None, completed,
                    name, grade, "", title, headings[field], str(value)[:200], reason[:500],
                    None, None, since,
                )  # fmt: skip
                continue
            if program is None:
                yield (
                    job_id, number, C.UNKNOWN_COURSE.value, False, "", email, code, None,
                    completed, name, grade, "", title, headings["program"], code,
                    "No program with this code.", None, None, since,
                )  # fmt: skip
                continue
            key = (program.pk, email, _key(title))
            if key in seen:
                category = C.DUPLICATE_IN_FILE.value
                reason = f"Same person, program and requirement as row {seen[key]}."
            elif not title and (program.pk, email) in enrolled:
                category, reason = C.DUPLICATE_EXISTING.value, "Enrolled already."
            elif title and key in done:
                category, reason = C.DUPLICATE_EXISTING.value, "This requirement is complete."
            else:
                seen[key] = number
                category = C.DELIVERABLE.value if email in connected else C.INVITE.value
                reason = ""
            yield (
                job_id, number, category, category in (C.DELIVERABLE.value, C.INVITE.value), "",
                email, code, None, completed, name, grade, "", title, "", "", reason, None,
                program.pk, since,
            )  # fmt: skip

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        """Enroll (or find the open enrollment of) each row's person and record its
        completion, one savepoint per row: a refused row fails alone with its reason."""
        from laurel.programs.models import Completion, Enrollment, Program
        from laurel.programs.services import completion_record, enrollments_create

        org = job.organization
        if actor_user_id:
            actor = Actor(user=job.uploaded_by or get_user_model().objects.get(pk=actor_user_id))
        else:
            actor = Actor.system(actor_label)
        programs = {
            p.pk: p
            for p in Program.objects.for_org(org)
            .filter(pk__in={r[2] for r in rows})
            .select_related("current_version", "organization")
        }
        counts = {"enrolled": 0, "completed": 0, "skipped_duplicate": 0, "failed": 0}
        for number, email, program_id, since, name, title, completed, grade in rows:
            program = programs.get(program_id)
            outcome, reason = O.SKIPPED_DUPLICATE, ""
            try:
                with transaction.atomic():
                    if program is None:
                        raise ServiceError("The program no longer exists.")
                    enrollment = Enrollment.objects.filter(
                        program=program, email=email, status__in=Enrollment.OPEN
                    ).first()
                    if enrollment is None:
                        [enrollment] = enrollments_create(
                            actor=actor,
                            program=program,
                            people=[(email, name)],
                            enrolled_on=since,
                            notify=not job.suppress_notifications,
                        )
                        outcome = O.ENROLLED
                    if title:
                        req = next(
                            r
                            for r in enrollment.version.requirements.all()
                            if _key(r.title) == _key(title)
                        )
                        live = (
                            Completion.objects.filter(enrollment=enrollment, requirement=req)
                            .exclude(status__in=[Completion.Status.SUPERSEDED, "returned"])
                            .exists()
                        )
                        if not live:
                            completion_record(
                                actor=actor,
                                enrollment=enrollment,
                                requirement=req,
                                completed_on=completed,
                                grade=grade,
                            )
                            if outcome != O.ENROLLED:
                                outcome = O.COMPLETED
            except StopIteration:
                outcome = O.FAILED
                reason = f"The enrollee's version has no requirement “{title}”."
            except ServiceError as exc:
                outcome, reason = O.FAILED, exc.message[:500]
            counts[outcome.value] += 1
            update = {"outcome": outcome}
            if reason:
                update["reason"] = reason
            ImportRow.objects.filter(job_id=job.pk, number=number).update(**update)
        return counts
