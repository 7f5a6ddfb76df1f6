"""Stream rows out of the CSV, TSV and XLSX files people upload for imports.

``read_table`` opens an upload (bytes or a binary file object), works out what it is from its
content (never its name), finds the heading row and maps headings onto canonical fields;
``Table.records`` then streams one ``Row`` per data row. Nothing here holds the whole file in
memory or logs cell contents. Every unusable input raises ``FileProblem``, whose text can be
shown to the user as is.

Row numbers are the row numbers a spreadsheet program shows: the first record of the file is
row 1 and every record counts, blank ones included. A quoted value with embedded line breaks
stays one row, numbered where its record starts, exactly as Excel displays it.

Text files: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text", usually
tab-separated), otherwise Windows-1252. The encoding is chosen from the first 64 KiB; if a
UTF-8 file later contains a byte that is not UTF-8, that byte is read as Windows-1252 (the
usual cause: a row pasted from another program) instead of failing half-way through.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Any, NamedTuple, NoReturn

SAMPLE_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 10
# A file's shape limits: a header of hundreds of thousands of columns took GBs to map and
# show. Real credit files have a dozen columns and short lines.
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 32 * 1024
MAX_LINE_CHARS = 1024 * 1024  # a text line (one physical line of a CSV row)
DELIMITERS = (",", ";", "\t")

# XLSX (zip) limits, checked from the central directory before anything is decompressed.
XLSX_MAX_UNCOMPRESSED = 1024 * 1024 * 1024
XLSX_MAX_RATIO = 200  # worksheet XML compresses 5-50x; deflate bombs reach ~1000x
XLSX_MAX_ENTRIES = 2000

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx


class FileProblem(ValueError):
    """An upload that cannot be read; ``str(exc)`` is a message fit for the user."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class MappingProblem(FileProblem):
    """The headings do not cover the required fields; ``mapping`` says what is missing."""

    def __init__(self, message: str, *, mapping: HeadingMap) -> None:
        super().__init__(message)
        self.mapping = mapping


# --- headings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A canonical column: its name in code, its label for people, and accepted headings."""

    name: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = True


CREDIT_FIELDS = (
    Field("course_id", "Course ID", ("Course ID", "CourseID", "CEU ID", "Course", "Course Number")),
    Field("email", "Email", ("E-mail", "Email Address", "Email", "E-mail Address")),
    Field(
        "completion_date",
        "Completion date",
        ("Date Completed", "Completion Date", "Completed", "Date"),
    ),
    Field("name", "Name", ("Name", "Full Name", "Learner Name"), required=False),
    Field(
        "amount_earned",
        "Amount earned",
        ("Amount", "Hours", "Credits Earned", "Amount Earned"),
        required=False,
    ),
    Field("credit_type", "Credit type", ("Credit Type", "Type", "Credit Code"), required=False),
    Field("note", "Note", ("Note", "Notes", "Comment", "Comments"), required=False),
    Field(
        "member_id",
        "Member ID",
        ("Member ID", "Member Number", "Member No", "Membership Number", "NRDS", "NRDS ID"),
        required=False,
    ),
)

_NOT_ALNUM = re.compile(r"[\W_]+")


def normalize_heading(text: str) -> str:
    """Reduce a heading to lowercase letters and digits: ``"E-mail Address"`` → ``emailaddress``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _NOT_ALNUM.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))


@dataclass(frozen=True)
class HeadingMap:
    """How the file's columns map onto fields, and what the user still has to decide."""

    fields: tuple[Field, ...]
    headings: tuple[str, ...]
    columns: dict[str, int]  # field name -> 0-based column index
    missing: tuple[str, ...]  # required field names with no column
    unmapped: tuple[str, ...]  # non-empty headings mapped to no field
    duplicates: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> headings

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicates

    def problem(self) -> str:
        """A sentence telling the user what to fix, or ``""`` when the mapping is usable."""
        labels = {f.name: f.label for f in self.fields}
        parts = []
        if not self.columns:
            expected = ", ".join(f.label for f in self.fields if f.required)
            parts.append(f"None of the column headings were recognised; expected {expected}.")
        elif self.missing:
            names = ", ".join(labels[name] for name in self.missing)
            parts.append(f"Missing required column(s): {names}.")
        for name, headings in self.duplicates.items():
            listed = ", ".join(repr(h) for h in headings)
            parts.append(f"Several columns could be {labels[name]}: {listed}; choose one.")
        return " ".join(parts)


def map_headings(
    headings: Iterable[str],
    fields: Iterable[Field],
    *,
    overrides: Mapping[str, str | None] | None = None,
) -> HeadingMap:
    """Map headings to fields by alias; ``overrides`` (heading → field name or None) win."""
    fields = tuple(fields)
    headings = tuple(headings)
    by_name = {f.name: f for f in fields}
    aliases: dict[str, str] = {}
    for f in fields:
        for alias in (f.name, f.label, *f.aliases):
            aliases.setdefault(normalize_heading(alias), f.name)
    chosen: dict[str, str | None] = {}
    for heading, name in (overrides or {}).items():
        if name and name not in by_name:
            raise FileProblem(f"{name!r} is not a column this import understands.")
        chosen[normalize_heading(heading)] = name or None

    claims: dict[str, list[int]] = {}
    unmapped = []
    for index, heading in enumerate(headings):
        key = normalize_heading(heading)
        name = chosen[key] if key in chosen else aliases.get(key)
        if name is None:
            if heading:
                unmapped.append(heading)
            continue
        claims.setdefault(name, []).append(index)
    columns = {name: indexes[0] for name, indexes in claims.items()}
    duplicates = {
        name: tuple(headings[i] for i in indexes)
        for name, indexes in claims.items()
        if len(indexes) > 1
    }
    missing = tuple(f.name for f in fields if f.required and f.name not in columns)
    return HeadingMap(fields, headings, columns, missing, tuple(unmapped), duplicates)


# --- rows -------------------------------------------------------------------------------


class CellError(NamedTuple):
    """One unusable value, located the way the user will look for it."""

    field: str | None
    column: str  # the heading as written in the file ("" for a row-level problem)
    column_letter: str  # A, B, ... AA
    value: object
    message: str


class Row(NamedTuple):
    """A data row: ``values`` converted, ``raw`` as read (trimmed), ``errors`` if any."""

    number: int
    values: dict[str, Any]
    raw: dict[str, Any]
    errors: tuple[CellError, ...]


Converter = Callable[[Any], Any]


def column_letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class Table:
    """An open upload positioned after its heading row. Use as a context manager."""

    def __init__(
        self,
        *,
        kind: str,
        rows: Iterator[list[Any]],
        closer: Callable[[], None],
        read_error: Callable[[Exception, int | None], FileProblem | None] = lambda e, n: None,
        fields: tuple[Field, ...] | None,
        overrides: Mapping[str, str | None] | None,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
        sheet_names: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind  # "csv", "tsv" or "xlsx"
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
        self.sheet_names = sheet_names
        self._close = closer
        self._read_error = read_error
        try:
            try:
                found = _find_header(enumerate(rows, 1), fields, overrides)
            except Exception as exc:
                self._reraise(exc, None)
            self.header_row, self.headings, self._rows = found
            self.mapping = (
                map_headings(self.headings, fields, overrides=overrides) if fields else None
            )
        except BaseException:
            closer()
            raise

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._close()

    def _reraise(self, exc: Exception, row: int | None) -> NoReturn:
        """Raise the parser's own exceptions as a ``FileProblem`` naming the row."""
        problem = None if isinstance(exc, FileProblem) else self._read_error(exc, row)
        if problem is None:
            raise exc
        raise problem from exc

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(row number, cells)`` for the rows after the headings, blank ones skipped.

        Like ``records()``, this consumes the table: use one of them, once.
        """
        strip = self.kind != "xlsx"
        number = self.header_row
        try:
            for number, cells in self._rows:
                if strip:
                    cells = [c.strip() for c in cells]
                if any(c != "" for c in cells):
                    yield number, cells
        except Exception as exc:
            self._reraise(exc, number + 1)

    def records(self, converters: Mapping[str, Converter] | None = None) -> Iterator[Row]:
        """Iterate a ``Row`` per data row; a converter's ``ValueError`` becomes a ``CellError``.

        Raises ``MappingProblem`` at once if the headings do not cover the required fields.
        Empty cells stay ``""``: a required field that is empty is an error, an optional one
        is left alone (converters run on non-empty values only). Rows whose mapped cells are
        all empty are skipped as blank.
        """
        mapping = self.mapping
        if mapping is None:
            raise TypeError("records() needs the table to be opened with fields")
        if not mapping.ok:
            raise MappingProblem(mapping.problem(), mapping=mapping)
        converters = converters or {}
        unknown = set(converters) - {f.name for f in mapping.fields}
        if unknown:
            raise TypeError(f"converters for unknown fields: {sorted(unknown)}")
        return self._records(mapping, converters)

    def _records(self, mapping: HeadingMap, converters: Mapping[str, Converter]) -> Iterator[Row]:
        need = max(mapping.columns.values()) + 1
        width = len(self.headings)
        pairs = tuple(mapping.columns.items())
        where = {
            name: (self.headings[index], column_letter(index))
            for name, index in mapping.columns.items()
        }
        required = tuple(f.name for f in mapping.fields if f.required)
        plan = tuple(
            (name, convert, *where[name]) for name, convert in converters.items() if name in where
        )
        too_long = CellError(
            None,
            "",
            column_letter(width),
            None,
            "This row has more values than there are column headings "
            "(an unquoted comma or semicolon inside a value?).",
        )
        is_text = self.kind != "xlsx"
        new_row = tuple.__new__  # Row(...) goes through a Python-level __new__; this is hot
        number = self.header_row
        try:
            for number, cells in self._rows:
                size = len(cells)
                if not size:
                    continue  # a blank line
                if size < need:
                    cells = cells + [""] * (need - size)
                if is_text:
                    raw = {name: cells[i].strip() for name, i in pairs}
                else:
                    raw = {name: cells[i] for name, i in pairs}
                if not any(raw.values()):
                    continue
                errors: tuple[CellError, ...] = ()
                if is_text and "\x00" in "".join(raw.values()):
                    errors, raw = _nul_errors(raw, where)
                if size > width and any(c.strip() for c in cells[width:] if isinstance(c, str)):
                    errors += (too_long,)
                if "" in raw.values():
                    for name in required:
                        if raw[name] == "":
                            heading, letter = where[name]
                            errors += (
                                CellError(name, heading, letter, "", f"{heading} is empty."),
                            )
                if plan:
                    values = raw.copy()
                    for name, convert, heading, letter in plan:
                        value = raw[name]
                        if value != "":
                            try:
                                values[name] = convert(value)
                            except ValueError as exc:
                                errors += (CellError(name, heading, letter, value, str(exc)),)
                else:
                    values = raw
                yield new_row(Row, (number, values, raw, errors))
        except Exception as exc:
            self._reraise(exc, number + 1)


def _nul_errors(
    raw: dict[str, str], where: dict[str, tuple[str, str]]
) -> tuple[tuple[CellError, ...], dict[str, str]]:
    """A NUL character cannot be stored (PostgreSQL refuses it, SQLite would keep it): the
    cell is an error, and the row keeps its value without the NULs so it can be shown."""
    errors = tuple(
        CellError(
            name,
            where[name][0],
            where[name][1],
            value.replace("\x00", ""),
            f"{where[name][0]} contains a NUL character (\\0).",
        )
        for name, value in raw.items()
        if "\x00" in value
    )
    return errors, {name: value.replace("\x00", "") for name, value in raw.items()}


def _find_header(
    rows: Iterator[tuple[int, list[Any]]],
    fields: tuple[Field, ...] | None,
    overrides: Mapping[str, str | None] | None,
) -> tuple[int, list[str], Iterator[tuple[int, list[Any]]]]:
    """Pick the heading row: the first non-blank row, or with ``fields`` the first of the
    first few non-blank rows that has a recognisable heading (skipping title rows)."""
    seen: list[tuple[int, list[Any], list[str]]] = []
    for number, cells in rows:
        headings = _headings(cells)
        if not headings:
            continue
        if len(headings) > MAX_COLUMNS:
            raise FileProblem(
                f"Row {number} has more than {MAX_COLUMNS} columns; a credit file needs a "
                "few. Remove the empty or unused columns and upload it again.",
                row=number,
            )
        if sum(len(h) for h in headings) > MAX_HEADER_CHARS:
            raise FileProblem(
                f"The headings in row {number} are longer than {MAX_HEADER_CHARS // 1024} KB "
                "in all; is this the right file?",
                row=number,
            )
        seen.append((number, cells, headings))
        if fields is None or map_headings(headings, fields, overrides=overrides).columns:
            return number, headings, rows
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise FileProblem("The file is empty: it has no rows.")
    number, _, headings = seen[0]
    if any(_looks_like_data(h) for h in headings):
        raise FileProblem(
            f"Row {number} looks like data, not column headings. "
            "Add a first row with headings such as Course ID, Email, Date Completed.",
            row=number,
        )
    later = ((n, cells) for n, cells, _ in seen[1:])
    return number, headings, chain(later, rows)


def _headings(cells: list[Any]) -> list[str]:
    headings = [str(c).replace("\ufeff", "").strip() for c in cells]
    while headings and not headings[-1]:
        headings.pop()
    return headings


_DATA_LIKE = re.compile(r"[^@\s]+@[^@\s]+|\d+([-/.]\d+)*")


def _looks_like_data(heading: str) -> bool:
    return bool(_DATA_LIKE.fullmatch(heading))


# --- opening an upload ------------------------------------------------------------------


def read_table(
    source: bytes | IO[bytes],
    *,
    max_bytes: int,
    fields: Iterable[Field] | None = None,
    overrides: Mapping[str, str | None] | None = None,
    sheet: str | None = None,
    xlsx_max_uncompressed: int = XLSX_MAX_UNCOMPRESSED,
) -> Table:
    """Open an upload (bytes or a binary file) of at most ``max_bytes`` and find its headings.

    Raises ``FileProblem`` for anything unusable. With ``fields`` the headings are mapped
    (``table.mapping``) and ``table.records()`` becomes available. ``sheet`` picks an XLSX
    worksheet by name (default: the first visible one).
    """
    fields = tuple(fields) if fields is not None else None
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(bytes(source))
    size = _known_size(source)
    if size is not None and size > max_bytes:
        raise FileProblem(
            f"The file is {_mb(size)}; the largest file accepted is {_mb(max_bytes)}."
        )
    try:
        head = source.read(SAMPLE_BYTES)
    except OSError:
        raise FileProblem("The file could not be read.")
    if not isinstance(head, bytes):
        raise TypeError("read_table needs a binary file")
    if len(head) > max_bytes:
        raise FileProblem(f"The file is larger than {_mb(max_bytes)}.")
    if not head.strip():
        raise FileProblem("The file is empty.")
    if head.startswith(_ZIP_MAGIC):
        return _open_xlsx(
            source,
            head,
            max_bytes=max_bytes,
            fields=fields,
            overrides=overrides,
            sheet=sheet,
            max_uncompressed=xlsx_max_uncompressed,
        )
    if head.startswith(_OLE_MAGIC):
        raise FileProblem(
            "This looks like an old Excel .xls file or a password-protected workbook. "
            "Save it as .xlsx (without a password) or as CSV and upload it again."
        )
    return _open_text(source, head, max_bytes=max_bytes, fields=fields, overrides=overrides)


def _known_size(source: IO[bytes]) -> int | None:
    size = getattr(source, "size", None)  # Django's UploadedFile
    if isinstance(size, int):
        return size
    try:
        if source.seekable():
            here = source.tell()
            end = source.seek(0, io.SEEK_END)
            source.seek(here)
            return end - here
    except (OSError, AttributeError, ValueError):
        pass
    return None


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class _Replay(io.RawIOBase):
    """The bytes already sampled, then the rest of the source, refusing to pass max_bytes."""

    def __init__(self, head: bytes, rest: IO[bytes], max_bytes: int) -> None:
        self._head = memoryview(head)
        self._rest = rest
        self._left = max_bytes - len(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        self._left -= len(data)
        if self._left < 0:
            raise FileProblem("The file is larger than the largest file accepted.")
        buffer[: len(data)] = data
        return len(data)


# --- text files -------------------------------------------------------------------------

_CP1252 = tuple(bytes([i]).decode("cp1252", errors="ignore") or chr(i) for i in range(256))


def _windows_1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(_CP1252[b] for b in bad), exc.end


codecs.register_error("laurel-cp1252", _windows_1252_fallback)


def detect_encoding(sample: bytes) -> str:
    """Choose a codec from a file's first bytes: BOMs first, then UTF-8, else Windows-1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        even, odd = sample[0:2000:2], sample[1:2000:2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
        raise FileProblem("This is not a text file: upload a CSV or an Excel .xlsx file.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one used most, outside quotes, on the heading line.

    The heading line is the first of the first five lines that contains any of them (so a
    title line above the headings does not decide); ties go to tab, then semicolon.
    """
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    lines = 0
    previous = ""
    for char in text:
        if char == '"':
            quoted = not quoted
        elif quoted:
            pass
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n":
            if previous == "\r" and char == "\n":
                continue
            if any(counts.values()):
                break
            lines += 1
            if lines >= 5:
                break
        previous = char
    best = max(counts.values())
    if best == 0:
        return ","
    for delimiter in ("\t", ";", ","):
        if counts[delimiter] == best:
            return delimiter
    return ","  # pragma: no cover


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _csv_problem(exc: Exception, row: int | None) -> FileProblem | None:
    if not isinstance(exc, csv.Error):
        return None
    where = f"Row {row}" if row else "The top of the file"
    return FileProblem(f"{where} could not be read ({exc}). Check its quotes.", row=row)


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines for the csv module, refusing one longer than ``MAX_LINE_CHARS``
    instead of reading a line of a whole file's size into memory."""
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise FileProblem(
                f"Line {number} is longer than {MAX_LINE_CHARS // (1024 * 1024)} MB; "
                "this does not look like a credit file.",
                row=number,
            )
        yield line


def _open_text(
    source: IO[bytes],
    head: bytes,
    *,
    max_bytes: int,
    fields: tuple[Field, ...] | None,
    overrides: Mapping[str, str | None] | None,
) -> Table:
    encoding = detect_encoding(head)
    errors = "replace" if encoding.startswith("utf-16") else "laurel-cp1252"
    sample = codecs.getincrementaldecoder(encoding)(errors=errors).decode(head, final=False)
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 100):
        raise FileProblem("This is not a text file: upload a CSV or an Excel .xlsx file.")
    delimiter = detect_delimiter(sample.lstrip("\ufeff"))
    buffered = io.BufferedReader(_Replay(head, source, max_bytes), buffer_size=SAMPLE_BYTES)
    text = io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline="")
    reader = csv.reader(
        _bounded_lines(text), delimiter=delimiter, quotechar='"', skipinitialspace=True
    )

    return Table(
        kind="tsv" if delimiter == "\t" else "csv",
        rows=reader,
        read_error=_csv_problem,
        closer=text.close,
        fields=fields,
        overrides=overrides,
        encoding=encoding,
        delimiter=delimiter,
    )


# --- XLSX -------------------------------------------------------------------------------


def check_zip(
    archive: zipfile.ZipFile,
    *,
    max_uncompressed: int = XLSX_MAX_UNCOMPRESSED,
    max_ratio: int = XLSX_MAX_RATIO,
    max_entries: int = XLSX_MAX_ENTRIES,
) -> None:
    """Refuse zip bombs from the central directory alone, before any member is read."""
    entries = archive.infolist()
    if len(entries) > max_entries:
        raise FileProblem(f"The workbook has too many parts ({len(entries)}).")
    total = 0
    for info in entries:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise FileProblem("The workbook is encrypted. Remove its password and try again.")
        if info.file_size > 1_000_000 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise FileProblem("The workbook is compressed suspiciously well; it was not opened.")
    if total > max_uncompressed:
        raise FileProblem(
            f"The workbook expands to {_mb(total)}; the limit is {_mb(max_uncompressed)}."
        )


def _seekable_copy(source: IO[bytes], head: bytes, max_bytes: int) -> IO[bytes]:
    try:
        if source.seekable():
            source.seek(-len(head), io.SEEK_CUR)
            return source
    except (OSError, AttributeError, ValueError):
        pass
    copy = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
    copy.write(head)
    left = max_bytes - len(head)
    while chunk := source.read(1024 * 1024):
        left -= len(chunk)
        if left < 0:
            copy.close()
            raise FileProblem(f"The file is larger than {_mb(max_bytes)}.")
        copy.write(chunk)
    copy.seek(0)
    return copy


def _open_xlsx(
    source: IO[bytes],
    head: bytes,
    *,
    max_bytes: int,
    fields: tuple[Field, ...] | None,
    overrides: Mapping[str, str | None] | None,
    sheet: str | None,
    max_uncompressed: int,
) -> Table:
    import openpyxl  # imported here: CSV-only callers should not pay for it

    stream = _seekable_copy(source, head, max_bytes)
    try:
        return _open_workbook(
            openpyxl,
            stream,
            fields=fields,
            overrides=overrides,
            sheet=sheet,
            max_uncompressed=max_uncompressed,
            owned=stream is not source,
        )
    except BaseException:
        if stream is not source:
            stream.close()
        raise


def _open_workbook(
    openpyxl: Any,
    stream: IO[bytes],
    *,
    fields: tuple[Field, ...] | None,
    overrides: Mapping[str, str | None] | None,
    sheet: str | None,
    max_uncompressed: int,
    owned: bool,
) -> Table:
    try:
        archive = zipfile.ZipFile(stream)
    except Exception:  # BadZipFile, NotImplementedError, struct errors... on damaged input
        raise FileProblem("This zip file is damaged; it is not a readable Excel workbook.")
    with archive:
        check_zip(archive, max_uncompressed=max_uncompressed)
        names = set(archive.namelist())
    if "mimetype" in names and "content.xml" in names:
        raise FileProblem("OpenDocument spreadsheets are not supported: save as .xlsx or CSV.")
    if "xl/workbook.xml" not in names:
        raise FileProblem("This zip file is not an Excel .xlsx workbook.")
    stream.seek(0)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # openpyxl raises anything from KeyError to XML errors on bad files
        raise FileProblem("This Excel file is damaged or not a workbook we can read.")
    try:
        worksheet = _pick_sheet(workbook, sheet)
        worksheet.reset_dimensions()  # some writers record a wrong size; read every row
    except FileProblem:
        workbook.close()
        raise
    except Exception:
        workbook.close()
        raise FileProblem("This Excel file is damaged or not a workbook we can read.")

    def rows() -> Iterator[list[Any]]:
        number = 0
        try:
            for values in worksheet.iter_rows(values_only=True):
                number += 1
                # Only the columns a heading row may have, and one more to notice more:
                # cells beyond are never converted (iter_rows(max_col=) would pad every row).
                yield [_xlsx_value(v) for v in values[: MAX_COLUMNS + 1]]
        except FileProblem:
            raise
        except Exception:
            raise FileProblem(
                f"The workbook could not be read after row {number}; it may be damaged.",
                row=number + 1,
            )

    def close() -> None:
        workbook.close()
        if owned:
            stream.close()

    return Table(
        kind="xlsx",
        rows=rows(),
        closer=close,
        fields=fields,
        overrides=overrides,
        sheet=worksheet.title,
        sheet_names=tuple(workbook.sheetnames),
    )


def _pick_sheet(workbook: Any, name: str | None) -> Any:
    if name is not None:
        for worksheet in workbook.worksheets:
            if worksheet.title == name:
                return worksheet
        raise FileProblem(f"The workbook has no sheet called {name!r}.")
    for worksheet in workbook.worksheets:
        if worksheet.sheet_state == "visible":
            return worksheet
    raise FileProblem("The workbook has no worksheets.")


def _xlsx_value(value: Any) -> Any:
    """Cells as text, except dates and date-times, which stay objects for the date parser."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "year"):  # date or datetime
        return value
    return str(value)
