"""Parse the calendar dates people type into spreadsheets.

Accepted: ISO ``2026-03-05`` (also ``2026/03/05``, ``20260305`` and an ISO date-time whose time
is ignored), numeric day/month dates ``05/03/2026`` read in the organization's declared order,
``05-Mar-2026`` / ``5 March 2026``, ``March 5, 2026``, Excel serial numbers (1900 date system)
and ``date``/``datetime`` objects as openpyxl returns them. Two-digit years are refused:
``03/05/26`` could be 1926 or 2026 and a credit's completion date must not be guessed.

A numeric date whose day and month could be swapped is read in the organization's
``date_format`` order and never guessed; one that is impossible in that order (``13/05/2026``
under ``US``) is an error that suggests the other reading instead of silently swapping.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

US = "US"  # MM/DD/YYYY
EU = "EU"  # DD/MM/YYYY
INTL = "INTL"  # same order as EU
ISO = "ISO"  # only year-first dates; 05/03/2026 is refused as ambiguous
DATE_FORMATS = (US, EU, INTL, ISO)

# Excel serials accepted as dates: 1950-01-01 .. 2100-12-31. Outside that, a number in a
# date column is far more likely to be a mistake (an amount, an ID) than a date.
EXCEL_SERIAL_MIN = 18264
EXCEL_SERIAL_MAX = 73415

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_ISO = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"  # a time is ignored
)
_NUMERIC = re.compile(
    r"(\d{1,2})([-/.])(\d{1,2})\2(\d{1,4})(?: \d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp][Mm])?)?"
)
_DAY_MONTH_NAME = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[-/ .]+([A-Za-z]{3,9})\.?[-/ .,]+(\d{2,4})")
_MONTH_NAME_DAY = re.compile(r"([A-Za-z]{3,9})\.? +(\d{1,2})(?:st|nd|rd|th)?,? +(\d{2,4})")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")

_EXCEL_EPOCH = dt.date(1899, 12, 30)


class DateProblem(ValueError):
    """A value that is not a usable date; ``str(exc)`` is a message fit for the user."""


def parse_date(value: object, *, date_format: str = ISO) -> dt.date:
    """Return ``value`` as a date, or raise ``DateProblem`` with a user-facing message."""
    if isinstance(value, str):
        return _parse_text(value, date_format)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(value, str(value))
    raise DateProblem("This is not a date.")


def date_parser(date_format: str) -> Callable[[object], dt.date]:
    """``parse_date`` bound to one ``date_format``: the fast converter for a whole import."""
    if date_format not in DATE_FORMATS:
        raise ValueError(f"unknown date_format {date_format!r}")
    parse_text = _parse_text

    def parse(value: object) -> dt.date:
        if value.__class__ is str:
            return parse_text(value, date_format)
        return parse_date(value, date_format=date_format)

    return parse


def excel_serial_to_date(serial: float) -> dt.date:
    """Convert an Excel 1900-system serial (with its fictitious 1900-02-29) to a date."""
    whole = int(serial)
    if whole < 1:
        raise DateProblem(f"{serial} is not an Excel date.")
    if whole == 60:
        raise DateProblem("Excel's 29 February 1900 does not exist.")
    if whole < 60:  # Lotus 1-2-3 counted 1900 as a leap year; Excel kept the bug.
        return dt.date(1899, 12, 31) + dt.timedelta(days=whole)
    try:
        return _EXCEL_EPOCH + dt.timedelta(days=whole)
    except OverflowError:
        raise DateProblem(f"{serial} is not an Excel date.")


def _from_serial(serial: float, shown: str) -> dt.date:
    if not EXCEL_SERIAL_MIN <= serial < EXCEL_SERIAL_MAX + 1:
        raise DateProblem(f"{shown!r} is not a date. Use a date such as 2026-03-05.")
    return excel_serial_to_date(serial)


@lru_cache(maxsize=8192)
def _parse_text(text: str, date_format: str) -> dt.date:
    if date_format not in DATE_FORMATS:
        raise ValueError(f"unknown date_format {date_format!r}")
    value = text.strip()
    if not value:
        raise DateProblem("The date is missing.")
    if len(value) > 40:
        raise DateProblem("This is not a date. Use a date such as 2026-03-05.")
    if match := _ISO.fullmatch(value):
        return _build(value, int(match[1]), int(match[3]), int(match[4]))
    if match := _NUMERIC.fullmatch(value):
        return _numeric(value, match, date_format)
    if match := _DAY_MONTH_NAME.fullmatch(value):
        return _named(value, match[1], match[2], match[3])
    if match := _MONTH_NAME_DAY.fullmatch(value):
        return _named(value, match[2], match[1], match[3])
    if _SERIAL.fullmatch(value):
        return _from_serial(float(value), value)
    if match := _COMPACT.fullmatch(value):
        return _build(value, int(match[1]), int(match[2]), int(match[3]))
    raise DateProblem(
        f"{value!r} is not a date we can read. Use a date such as 2026-03-05 or 05-Mar-2026."
    )


def _numeric(value: str, match: re.Match[str], date_format: str) -> dt.date:
    first, second, year_text = int(match[1]), int(match[3]), match[4]
    year = _four_digit_year(value, year_text)
    if date_format == ISO:
        raise DateProblem(
            f"{value!r} is not in your organization's date format (YYYY-MM-DD). Write dates as "
            "YYYY-MM-DD, for example 2026-03-05, or change the organization's date format."
        )
    if date_format == US:
        month, day, pattern = first, second, "MM/DD/YYYY"
    else:
        day, month, pattern = first, second, "DD/MM/YYYY"
    try:
        return dt.date(year, month, day)
    except ValueError:
        pass
    hint = ""
    try:
        swapped = dt.date(year, day, month)
    except ValueError:
        pass
    else:
        other = "DD/MM/YYYY" if date_format == US else "MM/DD/YYYY"
        hint = f" If it is {other}, write it as {swapped.isoformat()}."
    raise DateProblem(
        f"{value!r} is not a valid date in your organization's date format ({pattern}).{hint}"
    )


def _named(value: str, day_text: str, month_text: str, year_text: str) -> dt.date:
    month = _MONTHS.get(month_text.casefold())
    if month is None:
        raise DateProblem(f"{value!r}: {month_text!r} is not an English month name.")
    return _build(value, _four_digit_year(value, year_text), month, int(day_text))


def _four_digit_year(value: str, year_text: str) -> int:
    if len(year_text) != 4:
        raise DateProblem(f"{value!r} needs a four-digit year, such as 2026.")
    return int(year_text)


def _build(value: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateProblem(f"{value!r} is not a real date.")
