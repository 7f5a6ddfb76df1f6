"""What can be exported: each kind names its rows (set-based: tuples from streamed queries,
never a model object per row), the query to count them and who may download its files."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from laurel.accounts.models import Organization


@dataclass(frozen=True)
class ExportKind:
    name: str
    title: str
    header: Sequence[str]
    # The rows to export and the queryset whose size decides stream or job, from the
    # organization and the request's parameters (a ledger's filters).
    rows: Callable[[Organization, dict], Iterable[Sequence[object]]]
    count_queryset: Callable[[Organization, dict], QuerySet]
    file_stem: str
    roles: tuple = ()  # the roles that may see and download (admins always may; () = any)

    def file_name(self, organization: Organization) -> str:
        return f"{organization.slug}-{self.file_stem}-{organization.today().isoformat()}.csv"


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


def _ledger_header():
    from laurel.credits.selectors import LEDGER_HEADER

    return LEDGER_HEADER


class _LazyHeader(Sequence):
    """The header as its app defines it, read when first used (no import at load time)."""

    def __init__(self, make: Callable[[], Sequence[str]]):
        self.make = make

    def __getitem__(self, index):
        return self.make()[index]

    def __len__(self) -> int:
        return len(self.make())


KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in [
        ExportKind(
            name="ledger",
            title="Credit ledger",
            header=_LazyHeader(_ledger_header),
            rows=_ledger_rows,
            count_queryset=_ledger_queryset,
            file_stem="credits",
        ),
    ]
}
