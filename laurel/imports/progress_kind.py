"""The progress kind: LMS progress of course-takers in cohorts (``laurel.recognition``).

One row = one course-taker's progress (e-mail, cohort, percent, completed date, certified,
optional name). The cohort is its id or LMS course reference in the importing (issuing)
organization. Rows reuse ``ImportRow``: the cohort as written in ``course_ref`` and resolved
in ``course_pk``, the percent in ``amount_earned``, the completed date in
``completion_date``, "certified" (or nothing) in ``note``.

The commit goes through ``recognition.services.progress_apply``, the one progress service
the API and the Canvas sync use. A row equal to the stored progress is shown as already
recorded, so uploading the same file again changes nothing. Progress cannot be undone (a
later feed overwrites it anyway): import the earlier values again instead.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from laurel.audit.services import Actor
from laurel.imports.kinds import ROW_COLUMNS, ImportKind, _shown
from laurel.imports.models import ImportRow
from laurel.lib.dates import parse_date
from laurel.lib.emails import normalize_email
from laurel.lib.tabular import Field

C = ImportRow.Category
O = ImportRow.Outcome  # noqa: E741
YES = {"yes", "y", "true", "1", "certified", "x"}
NO = {"", "no", "n", "false", "0"}

PROGRESS_FIELDS = (
    Field("email", "Email", ("E-mail", "Email Address", "Email", "Login ID")),
    Field(
        "cohort", "Cohort", ("Cohort", "Cohort ID", "Course Reference", "LMS Course", "Course ID")
    ),
    Field("percent", "Percent", ("Percent", "Progress", "Percent Complete", "Progress %")),
    Field(
        "completed_on",
        "Completed",
        ("Completed", "Completed On", "Completion Date", "Date Completed"),
        required=False,
    ),
    Field("certified", "Certified", ("Certified", "Certification"), required=False),
    Field("name", "Name", ("Name", "Full Name", "Student Name"), required=False),
)


def parse_percent(value) -> int:
    text = str(value).strip().rstrip("%").strip()
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a number.") from None
    if not 0 <= number <= 100:
        raise ValueError("The percent must be between 0 and 100.")
    return int(round(number))


def parse_certified(value) -> bool:
    text = str(value).strip().casefold()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"{value!r}: write yes or no.")


class ProgressKind(ImportKind):
    name = "progress"
    label = "LMS progress of course-takers"
    fields = PROGRESS_FIELDS
    example = {
        "email": "jane.doe@example.edu",
        "cohort": "12345",
        "percent": "100",
        "completed_on": "2026-03-05",
        "certified": "yes",
        "name": "Jane Doe",
    }
    row_columns = ROW_COLUMNS
    commit_columns = (
        "number",
        "email",
        "course_pk",
        "amount_earned",
        "completion_date",
        "note",
        "name",
    )

    def converters(self, organization) -> dict:
        from functools import partial

        return {
            "email": normalize_email,
            "percent": parse_percent,
            "completed_on": partial(parse_date, date_format=organization.date_format),
            "certified": parse_certified,
        }

    def classify(self, job, records):
        from laurel.recognition.models import Cohort, CourseTaker

        org = job.organization
        today = org.today()
        cohorts: dict[str, int] = {}
        for pk, ref in Cohort.objects.filter(partnership__issuer=org).values_list(
            "pk", "lms_course_id"
        ):
            cohorts[str(pk)] = pk
            if ref:
                cohorts[ref] = pk
        current = {
            (cohort_id, email): (percent, done, certified)
            for cohort_id, email, percent, done, certified in CourseTaker.objects.filter(
                cohort__partnership__issuer=org
            ).values_list("cohort_id", "email", "percent", "completed_on", "certified")
        }
        seen: dict[tuple, int] = {}
        job_id = job.pk
        headings = {f.name: f.label for f in self.fields}
        for number, values, raw, errors in records:
            get = raw.get
            ref = str(get("cohort", "")).strip()[:64]
            if errors:
                err = errors[0]
                yield (
                    job_id, number, C.INVALID.value, False, "", str(get("email", ""))[:254], ref,
                    None, None, str(get("name", ""))[:200], None, "", "", err.column[:100],
                    _shown(err.value), err.message[:500], None,
                )  # fmt: skip
                continue
            email = values["email"]
            name = " ".join(str(values.get("name", "")).split())[:200]
            percent = values["percent"]
            done = values.get("completed_on") or None
            certified = bool(values.get("certified") or False)
            note = "certified" if certified else ""
            cohort_pk = cohorts.get(ref)
            problem = None
            if "@" not in email:
                problem = ("email", email, "Not an e-mail address.")
            elif done is not None and done > today:
                problem = (
                    "completed_on",
                    done.isoformat(),
                    "The completion date is in the future.",
                )
            if problem:
                field, value, reason = problem
                yield (
                    job_id, number, C.INVALID.value, False, "", email, ref, None, done, name,
                    percent, "", note, headings[field], str(value)[:200], reason, None,
                )  # fmt: skip
                continue
            if cohort_pk is None:
                yield (
                    job_id, number, C.UNKNOWN_COURSE.value, False, "", email, ref, None, done,
                    name, percent, "", note, headings["cohort"], ref,
                    "No cohort with this id or LMS reference.", None,
                )  # fmt: skip
                continue
            key = (cohort_pk, email)
            if current.get(key) == (percent, done, certified):
                category, reason = C.DUPLICATE_EXISTING.value, "This progress is already recorded."
            elif key in seen:
                category, reason = (
                    C.DUPLICATE_IN_FILE.value,
                    f"Same person and cohort as row {seen[key]}.",
                )
            else:
                seen[key] = number
                category, reason = C.DELIVERABLE.value, ""
            yield (
                job_id, number, category, category == C.DELIVERABLE.value, "", email, ref,
                cohort_pk, done, name, percent, "", note, "", "", reason, None,
            )  # fmt: skip

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        from laurel.recognition.models import Cohort
        from laurel.recognition.services import ProgressRecord, progress_apply

        org = job.organization
        if actor_user_id:
            actor = Actor(user=job.uploaded_by or get_user_model().objects.get(pk=actor_user_id))
        else:
            actor = Actor.system(actor_label)
        cohorts = {
            str(c.pk): c
            for c in Cohort.objects.filter(partnership__issuer=org, pk__in={r[2] for r in rows})
        }
        records = [
            ProgressRecord(
                cohort=cohort_pk,
                email=email,
                percent=percent,
                completed_on=done,
                certified=note == "certified",
                name=name,
            )
            for _, email, cohort_pk, percent, done, note, name in rows
        ]
        result = progress_apply(actor=actor, organization=org, records=records, cohorts=cohorts)
        failed = {rows[i][0]: message for i, message in result.errors}
        recorded = [r[0] for r in rows if r[0] not in failed]
        ImportRow.objects.filter(job_id=job.pk, number__in=recorded).update(outcome=O.RECORDED)
        for number, message in failed.items():
            ImportRow.objects.filter(job_id=job.pk, number=number).update(
                outcome=O.FAILED, reason=message[:500]
            )
        return {"recorded": len(recorded), "failed": len(failed)}
