"""What can be exported: each kind names its rows (set-based: tuples from streamed queries,
never a model object per row), the query to count them and who may download its files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from laurel.accounts.models import Organization, Role


@dataclass(frozen=True)
class ExportKind:
    name: str
    title: str
    # From the organization and the request's parameters (a ledger's filters, an import's
    # id): the header, the rows, and the queryset whose size decides stream or job.
    header: Callable[[Organization, dict], Sequence[str]]
    rows: Callable[[Organization, dict], Iterable[Sequence[object]]]
    count_queryset: Callable[[Organization, dict], QuerySet]
    file_stem: str  # formatted with the parameters: "import-{job}-report"
    roles: tuple = ()  # the roles that may see and download (admins always may; () = any)
    # The same rows as one PostgreSQL query (SQL, parameters) for ``COPY … TO STDOUT``, used
    # by the background writer on PostgreSQL; the database then forms every cell.
    copy_sql: Callable[[Organization, dict], tuple[str, list]] | None = None

    def file_name(self, organization: Organization, params: dict) -> str:
        stem = self.file_stem.format(**params)
        return f"{organization.slug}-{stem}-{organization.today().isoformat()}.csv"


# --- the credit ledger (its filters as the ledger page has them) ------------------------------


def _ledger_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.credits.forms import LedgerFilterForm
    from laurel.credits.models import Credit
    from laurel.credits.selectors import ledger_filter

    credits = Credit.objects.for_org(organization)
    form = LedgerFilterForm(params or None)
    if form.is_bound:
        form.is_valid()
        credits = ledger_filter(credits, **form.cleaned_data)
    return credits


def _ledger_rows(organization: Organization, params: dict):
    from laurel.credits.selectors import ledger_rows

    return ledger_rows(_ledger_queryset(organization, params))


def _ledger_copy_sql(organization: Organization, params: dict):
    from laurel.credits.selectors import ledger_copy_sql

    return ledger_copy_sql(_ledger_queryset(organization, params))


def _ledger_header(organization: Organization, params: dict):
    from laurel.credits.selectors import LEDGER_HEADER

    return LEDGER_HEADER


# --- an import's per-row report ({"job": id}) ------------------------------------------------


def _import_job(organization: Organization, params: dict):
    from laurel.imports.models import ImportJob

    return ImportJob.objects.for_org(organization).get(pk=params["job"])


def _report_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.imports.models import ImportRow

    return ImportRow.objects.filter(job=_import_job(organization, params))


def _report_header(organization: Organization, params: dict):
    from laurel.imports.services import report_header

    return report_header(_import_job(organization, params))


def _report_rows(organization: Organization, params: dict):
    from laurel.imports.services import report_rows

    return report_rows(_import_job(organization, params), header=False)


# --- certificates: ticked ones ({"ids": [...]}) or all matching the list's filters ------------


def _certificates_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.certificates.forms import CertificateFilterForm
    from laurel.certificates.models import Certificate
    from laurel.certificates.selectors import certificate_filter

    certs = Certificate.objects.for_org(organization)
    if params.get("all") != "1":
        return certs.filter(pk__in=[int(i) for i in params.get("ids", [])])
    form = CertificateFilterForm(params or None)
    if form.is_valid():
        certs = certificate_filter(certs, today=organization.today(), **form.cleaned_data)
    return certs


def _certificates_header(organization: Organization, params: dict):
    from laurel.certificates.selectors import CSV_HEADER

    return CSV_HEADER


def _certificates_rows(organization: Organization, params: dict):
    from laurel.certificates.selectors import certificate_csv_rows

    queryset = _certificates_queryset(organization, params)
    return certificate_csv_rows(queryset, today=organization.today(), header=False)


# --- the audit trail (admins; its page's filters) --------------------------------------------

AUDIT_HEADER = [
    "at",
    "actor",
    "actor_email",
    "action",
    "object_type",
    "object_id",
    "object",
    "ip",
    "before",
    "after",
]


def _audit_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.audit.forms import AuditFilterForm
    from laurel.audit.models import AuditEvent
    from laurel.audit.selectors import event_filter, people_for

    events = AuditEvent.objects.for_org(organization)
    form = AuditFilterForm(params or None, people=people_for(organization))
    if form.is_valid():
        events = event_filter(events, tz=organization.tz, **form.cleaned_data)
    return events


def _audit_rows(organization: Organization, params: dict):
    import json

    tz = organization.tz
    rows = (
        _audit_queryset(organization, params)
        .order_by("-at", "-id")
        .values_list(
            "at",
            "actor_label",
            "actor__email",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "ip",
            "before",
            "after",
        )
    )
    for at, label, email, action, otype, oid, orepr, ip, before, after in rows.iterator(2000):
        yield (
            at.astimezone(tz).isoformat(timespec="seconds"),
            label,
            email,
            action,
            otype,
            oid,
            orepr,
            ip,
            "" if before is None else json.dumps(before, sort_keys=True, default=str),
            "" if after is None else json.dumps(after, sort_keys=True, default=str),
        )


# --- programs: one person's transcript ({"email": ...}), a program's enrollees ---------------


def _transcript_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.programs.models import Enrollment

    email = (params.get("email") or "").strip().lower()
    return Enrollment.objects.for_org(organization).filter(email=email)


def _transcript_header(organization: Organization, params: dict):
    from laurel.programs.selectors import TRANSCRIPT_HEADER

    return TRANSCRIPT_HEADER


def _transcript_rows(organization: Organization, params: dict):
    from laurel.programs.selectors import TRANSCRIPT_RELATED, transcript, transcript_rows

    queryset = _transcript_queryset(organization, params).select_related(*TRANSCRIPT_RELATED)
    return transcript_rows(transcript(list(queryset)))


def _enrollees_queryset(organization: Organization, params: dict) -> QuerySet:
    from laurel.programs.models import Program
    from laurel.programs.selectors import enrollee_filter

    program = Program.objects.for_org(organization).get(pk=params["program"])
    return enrollee_filter(program, params)


def _enrollees_header(organization: Organization, params: dict):
    from laurel.programs.selectors import ENROLLEES_HEADER

    return ENROLLEES_HEADER


def _enrollees_rows(organization: Organization, params: dict):
    rows = _enrollees_queryset(organization, params).values_list(
        "email",
        "name",
        "status",
        "cycle",
        "version__number",
        "enrolled_on",
        "grace_starts_on",
        "expires_on",
        "earned_on",
    )
    for email, name, status, cycle, version, enrolled, grace, expires, earned in rows.iterator(
        2000
    ):
        # The deadline people see: the start of grace, or expiry without grace.
        yield (email, name, status, cycle, version, enrolled, grace or expires, expires, earned)


KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in [
        ExportKind(
            name="ledger",
            title="Credit ledger",
            header=_ledger_header,
            rows=_ledger_rows,
            count_queryset=_ledger_queryset,
            file_stem="credits",
            copy_sql=_ledger_copy_sql,
        ),
        ExportKind(
            name="import_report",
            title="Import report",
            header=_report_header,
            rows=_report_rows,
            count_queryset=_report_queryset,
            file_stem="import-{job}-report",
            roles=(Role.STAFF,),
        ),
        ExportKind(
            name="certificates",
            title="Certificates",
            header=_certificates_header,
            rows=_certificates_rows,
            count_queryset=_certificates_queryset,
            file_stem="certificates",
            roles=(Role.CERT_MANAGER,),
        ),
        ExportKind(
            name="audit",
            title="Audit trail",
            header=lambda organization, params: AUDIT_HEADER,
            rows=_audit_rows,
            count_queryset=_audit_queryset,
            file_stem="audit",
            roles=(Role.ADMIN,),
        ),
        ExportKind(
            name="transcript",
            title="Program transcript",
            header=_transcript_header,
            rows=_transcript_rows,
            count_queryset=_transcript_queryset,
            file_stem="transcript",
        ),
        ExportKind(
            name="enrollees",
            title="Program enrollees",
            header=_enrollees_header,
            rows=_enrollees_rows,
            count_queryset=_enrollees_queryset,
            file_stem="program-{program}-enrollees",
        ),
    ]
}
