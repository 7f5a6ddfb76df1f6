"""CSV helpers shared by every export and import.

Exports are formula-safe: a cell a spreadsheet would evaluate (starting with ``= + - @``, or a
tab/carriage return that some programs strip first) is prefixed with an apostrophe, the
OWASP-recommended neutralisation. Reading uploaded files lives in ``laurel.lib.tabular``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: object) -> str:
    """Return ``value`` as text that no spreadsheet will evaluate as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def write_csv(rows: Iterable[Iterable[object]], *, out: io.TextIOBase | None = None) -> str:
    """Write ``rows`` as formula-safe CSV; return the text when ``out`` is not given."""
    buffer = out if out is not None else io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([formula_safe(cell) for cell in row])
    return buffer.getvalue() if out is None else ""


class Echo:
    """A file-like object whose write returns the line, for StreamingHttpResponse."""

    def write(self, value: str) -> str:
        return value


def iter_csv(rows: Iterable[Iterable[object]]) -> Iterable[str]:
    """Yield formula-safe CSV lines one at a time (for streaming large exports)."""
    writer = csv.writer(Echo(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([formula_safe(cell) for cell in row])
