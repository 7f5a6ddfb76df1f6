"""Read Zoom and Microsoft Teams attendance reports as the tools export them.

    report = read_meeting_report(upload, max_bytes=10_000_000)
    if report is None: ...  # not a meeting report: an ordinary roster
    for person in report.participants: person.email, person.minutes, person.rows

Pure library: no Django. What the exports look like (fixtures in
``laurel/lib/tests/fixtures/meeting_reports/``):

- **Zoom** "Participants" export: optionally a meeting preamble (a ``Meeting ID, Topic,
  Start Time, …`` heading, one row of values, a blank line), then ``Name (Original Name),
  User Email, Join Time, Leave Time, Duration (Minutes), Guest, …`` with one row per join;
  with "show unique users" a ``Total Duration (Minutes)`` column and no times. Newer
  exports write the headings in lower case (``Name (original name), Email, …``).
- **Teams, 2022 on** ("v2"): UTF-16 LE, tab-separated, whatever the ``.csv`` name says, in
  numbered sections: ``1. Summary`` (``Meeting title``, ``Start time``, … as key/value
  rows), ``2. Participants`` (one row a person: ``First Join``, ``Last Leave``,
  ``In-Meeting Duration`` as ``1h 5m 12s``, ``Email``, ``Participant ID (UPN)``, ``Role``)
  and ``3. In-Meeting Activities`` (one row a join: ``Join Time``, ``Leave Time``,
  ``Duration``).
- **Teams, 2021** ("v1"): a ``Meeting Summary`` block of key/value rows, then ``Full Name,
  Join Time, Leave Time, Duration, Email, Role, Participant ID (UPN)``.

Minutes: a person's join/leave intervals are merged before they are added up, so a second
device or a reconnect that overlaps is not counted twice. A table without per-join times
(Zoom's unique users, Teams' participants section alone) sums its duration column, read as
the tool writes it: ``64``, ``64.5``, ``1:04:30``, ``1h 4m 30s``, ``45 mins``. Dates are
read in whichever day/month/year order fits every date of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO

from laurel.lib.tabular import FileProblem, detect_delimiter, detect_encoding

__all__ = [
    "MeetingReport",
    "Participant",
    "ReportProblem",
    "parse_duration",
    "read_meeting_report",
    "sniff_meeting_report",
]


@dataclass(frozen=True, slots=True)
class Participant:
    """One person of a report, all their rows taken together."""

    email: str  # lower case
    name: str
    seconds: int
    rows: tuple[int, ...]  # row numbers as a spreadsheet shows them

    @property
    def minutes(self) -> Decimal:
        return (Decimal(self.seconds) / 60).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class ReportProblem:
    """A row that cannot count, with a message for the person importing the report."""

    row: int
    name: str
    email: str
    message: str


@dataclass(slots=True)
class MeetingReport:
    tool: str  # "zoom", "teams" or "report" (a participant table of another tool)
    layout: str  # e.g. "Zoom participants", "Teams (2022 and later)"
    title: str = ""
    started: str = ""  # as the report writes it
    participants: list[Participant] = field(default_factory=list)
    problems: list[ReportProblem] = field(default_factory=list)


# --- durations --------------------------------------------------------------------------

_CLOCK = re.compile(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)|(\d+):(\d{2})")
_UNIT = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)\b", re.IGNORECASE
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def parse_duration(text: str) -> int:
    """Seconds in a duration as meeting tools write it: minutes (``64``, ``64.5``),
    ``h:mm:ss``, ``h:mm`` (never m:ss), ``1h 5m 12s`` or ``1 hr 5 mins``. Raises ``ValueError``."""
    value = text.strip()
    if _NUMBER.fullmatch(value):
        return round(float(value.replace(",", ".")) * 60)
    clock = _CLOCK.fullmatch(value)
    if clock:
        if clock.group(4) is not None:  # h:mm
            if int(clock.group(5)) >= 60:
                raise ValueError(f"{text!r} is not a duration")
            return int(clock.group(4)) * 3600 + int(clock.group(5)) * 60
        hours = int(clock.group(1))
        minutes, seconds = int(clock.group(2)), float(clock.group(3))
        if minutes >= 60 or seconds >= 60:
            raise ValueError(f"{text!r} is not a duration")
        return round(hours * 3600 + minutes * 60 + seconds)
    parts = _UNIT.findall(value)
    if parts and not _UNIT.sub("", value).strip(" ,"):
        total = 0.0
        for amount, unit in parts:
            scale = {"h": 3600, "m": 60, "s": 1}[unit[0].lower()]
            total += float(amount.replace(",", ".")) * scale
        return round(total)
    raise ValueError(f"{text!r} is not a duration (write minutes, h:mm:ss or 1h 5m 12s)")


# --- dates and times --------------------------------------------------------------------

_STAMP = re.compile(
    r"(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4}),?\s+"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\.\d+)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2}|\(?[A-Z]{2,5}\)?)?"
)
_T_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(.*)")
_ORDERS = ("mdy", "dmy", "ymd")


def _stamp_parts(text: str) -> tuple[int, int, int, int, int, int] | None:
    """The numbers of a join/leave time: (a, b, c) of the date in file order, h, m, s."""
    text = text.strip()
    iso = _T_STAMP.fullmatch(text)
    if iso:
        text = f"{iso.group(1)}-{iso.group(2)}-{iso.group(3)} {iso.group(4)}"
    match = _STAMP.fullmatch(text)
    if not match:
        return None
    hour, minute, second = int(match["h"]), int(match["mi"]), int(match["s"] or 0)
    ampm = (match["ampm"] or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    return int(match["a"]), int(match["b"]), int(match["c"]), hour, minute, second


def _to_datetime(parts: tuple[int, int, int, int, int, int], order: str) -> datetime | None:
    a, b, c, hour, minute, second = parts
    year, month, day = {"mdy": (c, a, b), "dmy": (c, b, a), "ymd": (a, b, c)}[order]
    if year < 100:
        year += 2000
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _date_order(stamps: list[tuple[int, int, int, int, int, int]]) -> str:
    """The first day/month/year order in which every date of the file is a date."""
    for order in _ORDERS:
        if all(_to_datetime(parts, order) for parts in stamps):
            return order
    return _ORDERS[0]


# --- reading the file -------------------------------------------------------------------

_NAME = ("name (original name)", "user name (original name)", "full name", "name",
         "display name", "participant", "participant name", "attendee name")  # fmt: skip
_EMAIL = ("user email", "email", "email address", "e-mail", "attendee email")
_UPN = ("participant id (upn)", "upn")
_JOIN = ("join time", "joined", "join")
_LEAVE = ("leave time", "left", "leave")
_FIRST_JOIN = ("first join", "first join time")
_LAST_LEAVE = ("last leave", "last leave time")
_DURATION = ("duration (minutes)", "total duration (minutes)", "duration", "in-meeting duration",
             "time in session (minutes)", "duration (mins)", "attendance duration",
             "total duration")  # fmt: skip
_SECTION = re.compile(r"\d+\.\s+\S.*")
_KEY_VALUE_TITLE = ("meeting title", "topic", "title")
_KEY_VALUE_START = ("start time", "meeting start time")


def _norm(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').lower().split())


def _find(headings: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in headings:
            return headings.index(name)
    return None


@dataclass(slots=True)
class _Table:
    heading_row: int
    section: str
    columns: dict[str, int]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def per_join(self) -> bool:
        return "join" in self.columns and "leave" in self.columns


def _participant_columns(headings: list[str]) -> dict[str, int] | None:
    columns = {
        key: index
        for key, names in (
            ("name", _NAME),
            ("email", _EMAIL),
            ("upn", _UPN),
            ("join", _JOIN),
            ("leave", _LEAVE),
            ("first_join", _FIRST_JOIN),
            ("last_leave", _LAST_LEAVE),
            ("duration", _DURATION),
        )
        if (index := _find(headings, names)) is not None
    }
    has_person = "name" in columns and ("email" in columns or "upn" in columns)
    has_time = "duration" in columns or ("join" in columns and "leave" in columns)
    return columns if has_person and has_time else None


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    start = 1
    try:
        for cells in reader:
            yield start, [c.strip() for c in cells]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileProblem(f"Row {start} could not be read ({exc}). Check its quotes.", row=start)


def _decode(source: bytes | IO[bytes], max_bytes: int) -> str | None:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes):
            raise TypeError("read_meeting_report needs a binary file")
    if len(data) > max_bytes:
        raise FileProblem(f"The file is larger than {max_bytes / 1_000_000:.1f} MB.")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return None  # a workbook: meeting tools export text
    encoding = detect_encoding(data[:65536])
    errors = "replace" if encoding.startswith("utf-16") else "laurel-cp1252"
    return codecs.decode(data, encoding, errors).lstrip("\ufeff")


def read_meeting_report(source: bytes | IO[bytes], *, max_bytes: int) -> MeetingReport | None:
    """Read a Zoom or Teams attendance report; ``None`` when the file has no participant
    table (an ordinary roster, say). Raises ``FileProblem`` for a file that cannot be read."""
    text = _decode(source, max_bytes)
    if text is None:
        return None
    heading_line = next(
        (
            line
            for line in text.splitlines()
            if _participant_columns([_norm(c) for c in re.split(r"[\t,;]", line)])
        ),
        None,
    )
    if heading_line is None:
        return None
    delimiter = detect_delimiter(heading_line)

    tables: list[_Table] = []
    table: _Table | None = None
    section = ""
    meta: dict[str, str] = {}
    preamble: list[str] | None = None
    for number, cells in _records(text, delimiter):
        if not any(cells):
            table = None  # a blank line ends a table
            continue
        headings = [_norm(c) for c in cells]
        while headings and not headings[-1]:
            headings.pop()
        if len(headings) == 1 and (
            _SECTION.fullmatch(headings[0]) or headings[0].endswith("summary")
        ):
            section, table = headings[0], None
            continue
        columns = _participant_columns(headings)
        if columns:
            table = _Table(number, section, columns)
            tables.append(table)
        elif table is not None:
            table.rows.append((number, cells))
        elif preamble is not None:
            meta.update(zip(preamble, cells, strict=False))
            preamble = None
        elif "meeting id" in headings and "topic" in headings:
            preamble = headings  # Zoom: the values follow on the next row
        elif len(headings) == 2:
            meta.setdefault(headings[0], cells[1])  # Teams: key/value rows of the summary

    chosen = next((t for t in tables if t.per_join and t.rows), None) or next(
        (t for t in tables if t.rows), tables[0]
    )
    report = MeetingReport(tool="report", layout="Participant report")
    headings_all = text[:4096].lower()
    if "(original name)" in headings_all or "meeting id" in meta or "topic" in meta:
        report.tool, report.layout = "zoom", "Zoom participants"
    elif "1. summary" in headings_all or "in-meeting" in headings_all:
        report.tool, report.layout = "teams", "Teams (2022 and later)"
    elif "meeting summary" in headings_all or "participant id (upn)" in headings_all:
        report.tool, report.layout = "teams", "Teams (2021)"
    report.title = next((meta[k] for k in _KEY_VALUE_TITLE if meta.get(k)), "")
    report.started = next((meta[k] for k in _KEY_VALUE_START if meta.get(k)), "")
    _add_up(chosen, report)
    return report


def _add_up(table: _Table, report: MeetingReport) -> None:
    """Each person's seconds: merged join/leave intervals, or the sum of their durations."""
    cols = table.columns

    def cell(cells: list[str], key: str) -> str:
        index = cols.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    stamps = []
    for _, cells in table.rows:
        for key in ("join", "leave", "first_join", "last_leave"):
            parts = _stamp_parts(cell(cells, key)) if cell(cells, key) else None
            if parts:
                stamps.append(parts)
    order = _date_order(stamps)

    people: dict[str, dict] = {}
    for number, cells in table.rows:
        name = cell(cells, "name")
        email = cell(cells, "email").lower()
        if "@" not in email and "@" in cell(cells, "upn"):
            email = cell(cells, "upn").lower()
        if not email:
            report.problems.append(
                ReportProblem(
                    number,
                    name,
                    "",
                    f"{name or 'This participant'} has no email address in the report, so"
                    " they cannot be matched to a registration (a guest who joined without"
                    " signing in?).",
                )
            )
            continue
        try:
            interval, seconds = _row_time(cells, cell, order)
        except ValueError as exc:
            report.problems.append(ReportProblem(number, name, email, str(exc)))
            continue
        person = people.setdefault(email, {"name": name, "rows": [], "spans": [], "sum": 0})
        person["rows"].append(number)
        if interval is not None:
            person["spans"].append(interval)
        else:
            person["sum"] += seconds
    for email, person in people.items():
        seconds = person["sum"] + _union_seconds(person["spans"])
        report.participants.append(
            Participant(email, person["name"], seconds, tuple(person["rows"]))
        )


def _row_time(cells, cell, order) -> tuple[tuple[datetime, datetime] | None, int]:
    """A row's join/leave interval (when the table has one per join) or its duration."""
    for join_key, leave_key in (("join", "leave"), ("first_join", "last_leave")):
        join_text, leave_text = cell(cells, join_key), cell(cells, leave_key)
        if not (join_text and leave_text):
            continue
        join_parts, leave_parts = _stamp_parts(join_text), _stamp_parts(leave_text)
        join = _to_datetime(join_parts, order) if join_parts else None
        leave = _to_datetime(leave_parts, order) if leave_parts else None
        if join is None or leave is None:
            bad = join_text if join is None else leave_text
            raise ValueError(f"{bad!r} is not a date and time.")
        if leave < join:
            raise ValueError(
                f"The leave time ({leave_text}) is before the join time ({join_text})."
            )
        if join_key == "join":
            return (join, leave), 0
    duration = cell(cells, "duration")
    if not duration:
        raise ValueError("The row has neither join and leave times nor a duration.")
    return None, parse_duration(duration)


def _union_seconds(spans: list[tuple[datetime, datetime]]) -> int:
    total = 0
    end: datetime | None = None
    start: datetime | None = None
    for join, leave in sorted(spans):
        if end is None or join > end:
            if end is not None:
                total += int((end - start).total_seconds())
            start, end = join, leave
        elif leave > end:
            end = leave
    if end is not None:
        total += int((end - start).total_seconds())
    return total


def sniff_meeting_report(head: bytes) -> bool:
    """Whether a file's first bytes hold a meeting report's participant table (a join or
    leave time or a duration next to a name and an e-mail), without reading it all."""
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return False
    try:
        encoding = detect_encoding(head)
    except FileProblem:
        return False
    errors = "replace" if encoding.startswith("utf-16") else "laurel-cp1252"
    text = codecs.getincrementaldecoder(encoding)(errors=errors).decode(head, final=False)
    return any(
        _participant_columns([_norm(c) for c in re.split(r"[\t,;]", line)])
        for line in text.lstrip("\ufeff").splitlines()[:60]
    )
