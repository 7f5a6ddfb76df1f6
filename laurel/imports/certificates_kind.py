"""The certificates kind: certifications earned elsewhere, issued as Laurel certificates.

One row = one certificate (e-mail, name, certification, awarded date, optional expiry and
optional credit). Rows reuse ``ImportRow``: the certification is kept whole in ``note``
(and its first 64 characters in ``course_ref`` for lists), the awarded date in
``completion_date``, the credit in ``amount_earned`` + ``credit_type``; ``expires_on`` and
``certificate_id`` are this kind's own columns.

**Duplicate rule**: a row duplicates an existing certificate when the organization already
has a *valid* certificate for the same e-mail, the same certification (whitespace-collapsed,
case-insensitive) and the same awarded date. The same rule finds repeats within the file,
and the commit applies it again row by row, so a chunk that runs twice issues nothing twice.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

from laurel.accounts.models import User
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.catalog.models import CreditType
from laurel.certificates.models import Certificate
from laurel.certificates.services import Component, certificate_issue
from laurel.imports.kinds import ROW_COLUMNS, ImportKind, _shown, parse_amount
from laurel.imports.models import ImportRow
from laurel.lib.dates import parse_date
from laurel.lib.emails import normalize_email
from laurel.lib.tabular import Field
from laurel.notifications.models import Suppression

C = ImportRow.Category
O = ImportRow.Outcome  # noqa: E741
TITLE_MAX = 300

CERTIFICATE_FIELDS = (
    Field("email", "Email", ("E-mail", "Email Address", "Email", "E-mail Address")),
    Field("name", "Name", ("Name", "Full Name", "Learner Name", "Recipient Name")),
    Field(
        "title",
        "Certification",
        (
            "Certification",
            "Certificate",
            "Credential",
            "Certification Name",
            "Certification Code",
            "Title",
        ),
    ),
    Field(
        "awarded",
        "Awarded",
        ("Awarded", "Date Awarded", "Awarded Date", "Issue Date", "Date Issued", "Date"),
    ),
    Field(
        "expires_on",
        "Expires",
        ("Expires", "Expiry Date", "Expiration Date", "Expires On"),
        required=False,
    ),
    Field("amount", "Credits", ("Credits", "Hours", "Amount", "Credit Amount"), required=False),
    Field("credit_type", "Credit type", ("Credit Type", "Type", "Credit Code"), required=False),
    # A certification program of the organization: the person's enrollment becomes Earned on
    # the awarded date (created if need be; docs/programs.md).
    Field(
        "program",
        "Program",
        ("Program", "Program Code", "Certification Program"),
        required=False,
    ),
)


def title_key(title: str) -> str:
    return " ".join(title.split()).casefold()


class CertificatesKind(ImportKind):
    name = "certificates"
    label = "Certificates earned elsewhere"
    fields = CERTIFICATE_FIELDS
    example = {
        "email": "jane.doe@example.org",
        "name": "Jane Doe",
        "title": "Certified Wound Care Nurse",
        "awarded": "2026-03-05",
        "expires_on": "2028-03-05",
        "amount": "10",
        "credit_type": "CE",
        "program": "",
    }
    row_columns = (*ROW_COLUMNS, "expires_on", "program_id")
    commit_columns = (
        "number",
        "email",
        "note",
        "completion_date",
        "name",
        "amount_earned",
        "credit_type",
        "expires_on",
        "program_id",
    )

    def converters(self, organization) -> dict:
        as_date = partial(parse_date, date_format=organization.date_format)
        return {
            "email": normalize_email,
            "awarded": as_date,
            "expires_on": as_date,
            "amount": parse_amount,
        }

    def classify(self, job, records):
        """Yield one ImportRow tuple (``row_columns`` order) per record, in file order."""
        org = job.organization
        today = org.today()
        types = set(CreditType.objects.filter(organization=org).values_list("code", flat=True))
        programs = _programs(org)
        existing = {
            (email, title_key(title), day)
            for email, title, day in Certificate.objects.for_org(org)
            .filter(status=Certificate.Status.VALID)
            .values_list("recipient_email", "title", "completion_date")
            .iterator(chunk_size=5000)
        }
        seen: dict[tuple, int] = {}
        # As for credits: an address that bounced is its own group, not issued to.
        suppressed = {
            s.email: s.summary
            for s in Suppression.objects.filter(reason__in=Suppression.BOUNCE_REASONS)
        }
        job_id = job.pk
        headings = {f.name: f.label for f in self.fields}
        for number, values, raw, errors in records:
            get = raw.get
            title = " ".join(str(get("title", "")).split())
            if errors:
                err = errors[0]
                yield (
                    job_id, number, C.INVALID.value, False, "", str(get("email", ""))[:254],
                    title[:64], None, None, str(get("name", ""))[:200], None, "", title[:500],
                    err.column[:100], _shown(err.value), err.message[:500], None, None, None,
                )  # fmt: skip
                continue
            email = values["email"]
            name = " ".join(str(values.get("name", "")).split())[:200]
            day = values["awarded"]
            expires = values.get("expires_on") or None
            amount = values.get("amount")
            amount = None if amount == "" else amount
            code = str(values.get("credit_type", "")).strip().upper()[:16]
            program_code = str(values.get("program", "")).strip().upper()
            program = programs.get(program_code) if program_code else None
            problem = None
            if program_code and program is None:
                problem = ("program", program_code, f"No program {program_code} here.")
            elif program is not None and program[1] == "draft":
                problem = ("program", program_code, f"Program {program_code} is a Draft.")
            elif len(title) > TITLE_MAX:
                problem = ("title", title[:200], f"At most {TITLE_MAX} characters.")
            elif day > today:
                problem = ("awarded", day.isoformat(), "The awarded date is in the future.")
            elif expires is not None and expires <= day:
                problem = ("expires_on", expires.isoformat(), "Expires before it was awarded.")
            elif expires is not None and expires <= today:
                problem = (
                    "expires_on",
                    expires.isoformat(),
                    "Already expired: only a certification still valid can be issued.",
                )
            elif code and code not in types:
                problem = ("credit_type", code, f"No credit type {code} in this organization.")
            elif code and amount is None:
                problem = ("amount", "", f"Give the number of {code} credits.")
            elif amount is not None and not code:
                problem = ("credit_type", "", "Give the credit type of the credits.")
            if problem:
                field, value, reason = problem
                yield (
                    job_id, number, C.INVALID.value, False, "", email, title[:64], None, day,
                    name, amount, code, title, headings[field], str(value)[:200], reason[:500],
                    None, expires, None,
                )  # fmt: skip
                continue
            key = (email, title_key(title), day)
            if key in existing:
                category = C.DUPLICATE_EXISTING.value
                reason = "This certificate was already issued."
            elif key in seen:
                category = C.DUPLICATE_IN_FILE.value
                reason = f"Same certificate as row {seen[key]}."
            elif email in suppressed:
                category = C.UNDELIVERABLE.value
                reason = f"Mail to this address bounced: {suppressed[email]}"[:500]
            else:
                seen[key] = number
                category, reason = C.DELIVERABLE.value, ""
            yield (
                job_id, number, category, category == C.DELIVERABLE.value, "", email, title[:64],
                None, day, name, amount, code, title, "", "", reason, None, expires,
                program[0] if program else None,
            )  # fmt: skip

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        """Issue one certificate per row (signed; ~25 ms each). Runs inside the chunk's
        transaction; a row whose certificate exists already (duplicate rule) is skipped."""
        org = job.organization
        if actor_user_id:
            user = job.uploaded_by or User.objects.get(pk=actor_user_id)
            actor = Actor(user=user)
        else:
            actor = Actor.system(actor_label)
        types = {t.code: t for t in CreditType.objects.filter(organization=org)}
        emails = {r[1] for r in rows}
        existing = {
            (email, title_key(title), day)
            for email, title, day in Certificate.objects.for_org(org)
            .filter(status=Certificate.Status.VALID, recipient_email__in=emails)
            .values_list("recipient_email", "title", "completion_date")
        }
        linked = set(
            ImportRow.objects.filter(
                job_id=job.pk, number__in=[r[0] for r in rows], certificate_id__isnull=False
            ).values_list("number", flat=True)
        )
        counts = {"issued": 0, "skipped_duplicate": 0, "failed": 0}
        for number, email, title, day, name, amount, code, expires, program_id in rows:
            if number in linked:  # issued by an earlier run of this chunk: keep its link
                counts["skipped_duplicate"] += 1
                continue
            key = (email, title_key(title), day)
            outcome, cert_id, reason = O.SKIPPED_DUPLICATE, None, ""
            if key in existing:
                reason = "This certificate was already issued."
            elif code and code not in types:
                outcome, reason = O.FAILED, f"The credit type {code} no longer exists."
            else:
                components = []
                if code and amount is not None:
                    ct = types[code]
                    components = [
                        Component(code=ct.code, name=ct.name, unit=ct.unit, amount=amount)
                    ]
                try:
                    with transaction.atomic():
                        cert = certificate_issue(
                            actor=actor,
                            organization=org,
                            recipient_name=name,
                            recipient_email=email,
                            title=title,
                            completion_date=day,
                            components=components,
                            expires_on=expires,
                            notify=not job.suppress_notifications,
                        )
                        if program_id is not None:
                            _program_earned(actor, org, program_id, email, name, day, cert)
                except ServiceError as exc:
                    outcome, reason = O.FAILED, exc.message[:500]
                else:
                    outcome, cert_id = O.ISSUED, cert.pk
                    existing.add(key)
            counts[outcome.value] += 1
            update = {"outcome": outcome, "certificate_id": cert_id}
            if reason:
                update["reason"] = reason
            ImportRow.objects.filter(job_id=job.pk, number=number).update(**update)
        return counts


def _programs(org) -> dict[str, tuple[int, str]]:
    """The organization's programs by upper-cased code: (pk, status)."""
    from laurel.programs.models import Program

    return {
        code.upper(): (pk, status)
        for pk, code, status in Program.objects.for_org(org).values_list("pk", "code", "status")
    }


def _program_earned(actor, org, program_id: int, email, name, day, cert) -> None:
    from laurel.programs.models import Program
    from laurel.programs.services import enrollment_record_earned

    program = Program.objects.for_org(org).select_related("current_version").get(pk=program_id)
    enrollment_record_earned(
        actor=actor, program=program, email=email, name=name, earned_on=day, certificate=cert
    )
