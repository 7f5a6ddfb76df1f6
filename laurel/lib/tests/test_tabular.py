import codecs
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.chart import BarChart

from laurel.lib.dates import date_parser, parse_date
from laurel.lib.emails import normalize_email
from laurel.lib.tabular import (
    CREDIT_FIELDS,
    SAMPLE_BYTES,
    Field,
    FileProblem,
    MappingProblem,
    column_letter,
    detect_delimiter,
    map_headings,
    normalize_heading,
    read_table,
)

MB = 1_000_000
CHECKS = {"email": normalize_email, "completion_date": date_parser("US")}


def records(data, **kwargs):
    kwargs.setdefault("max_bytes", MB)
    with read_table(data, fields=CREDIT_FIELDS, **kwargs) as table:
        return list(table.records(CHECKS))


def rows_of(data, **kwargs):
    return [(row.number, row.raw) for row in records(data, **kwargs)]


JANE = {"course_id": "NAR-1", "email": "jane@example.org", "completion_date": "03/05/2026"}
JOSE = {"course_id": "NAR-2", "email": "jose@example.org", "completion_date": "03/06/2026"}


def text_file(delimiter=",", newline="\r\n"):
    lines = [
        delimiter.join(["Course ID", "Email", "Date Completed"]),
        delimiter.join(JANE.values()),
        delimiter.join(JOSE.values()),
    ]
    return newline.join(lines) + newline


# --- files as people produce them ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        pytest.param(text_file().encode(), "utf-8", ",", id="utf8-crlf"),
        pytest.param(text_file(newline="\n").encode(), "utf-8", ",", id="utf8-lf"),
        pytest.param(text_file(newline="\r").encode(), "utf-8", ",", id="utf8-cr"),
        pytest.param(codecs.BOM_UTF8 + text_file().encode(), "utf-8-sig", ",", id="utf8-bom"),
        pytest.param(text_file(";").encode(), "utf-8", ";", id="semicolon"),
        pytest.param(
            codecs.BOM_UTF16_LE + text_file("\t").encode("utf-16-le"),
            "utf-16",
            "\t",
            id="utf16le-unicode-text",
        ),
        pytest.param(
            codecs.BOM_UTF16_BE + text_file("\t").encode("utf-16-be"),
            "utf-16",
            "\t",
            id="utf16be",
        ),
        pytest.param(text_file("\t").encode("utf-16-le"), "utf-16-le", "\t", id="utf16le-no-bom"),
        pytest.param(text_file("\t").encode(), "utf-8", "\t", id="tsv"),
        pytest.param(text_file().encode("cp1252"), "utf-8", ",", id="ascii"),
    ],
)
def test_common_text_files_read_the_same(data, encoding, delimiter):
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert (table.encoding, table.delimiter) == (encoding, delimiter)
        assert table.kind == ("tsv" if delimiter == "\t" else "csv")
        got = [(row.number, row.raw) for row in table.records()]
    assert got == [(2, JANE), (3, JOSE)]


def test_windows_1252_file_keeps_accented_names():
    data = "Course ID;E-mail;Date;Name\r\nNAR-1;jose@example.org;03/05/2026;José Müller\r\n"
    with read_table(data.encode("cp1252"), max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.encoding == "cp1252"
        [row] = table.records()
    assert row.raw["name"] == "José Müller"


def test_a_non_utf8_byte_after_the_sample_is_read_as_windows_1252_not_a_crash():
    filler = "".join(f"NAR-1,p{i}@example.org,03/05/2026,Person\r\n" for i in range(3000))
    assert len(filler) > SAMPLE_BYTES
    data = ("Course ID,Email,Date,Name\r\n" + filler).encode() + (
        "NAR-1,jose@example.org,03/05/2026,José\r\n".encode("cp1252")
    )
    rows = records(data, max_bytes=10 * MB)
    assert rows[-1].raw["name"] == "José"
    assert rows[-1].number == 3002
    assert not any(row.errors for row in rows)


def test_embedded_newlines_blank_lines_and_stray_spaces():
    data = (
        b"\r\n"
        b"  course id ,  E-MAIL  , date completed , Full Name, Notes\r\n"
        b'NAR-1 ,  jane@example.org , 03/05/2026 ,"Jane\r\nDoe", "said ""hi"""\r\n'
        b"\r\n"
        b"   \r\n"
        b",,,,\r\n"
        b'NAR-2,jose@example.org,03/06/2026,"Jos\xc3\xa9, Jr.",\r\n'
    )
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.header_row == 2
        rows = list(table.records())
    assert [row.number for row in rows] == [3, 7]
    assert rows[0].raw == {**JANE, "name": "Jane\r\nDoe", "note": 'said "hi"'}
    assert rows[1].raw["name"] == "José, Jr."


def test_title_rows_above_the_headings_are_skipped():
    data = b"Credits for March\r\nexported by LMS\r\nCourse,Email Address,Completed\r\n" + (
        b"NAR-1,jane@example.org,03/05/2026\r\n"
    )
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.header_row == 3
        assert [row.number for row in table.records()] == [4]


def test_row_numbers_count_the_records_a_spreadsheet_shows():
    lines = ["Course ID,Email,Date"] + [f"NAR-{i},p{i}@example.org,2026-03-05" for i in range(5)]
    lines.insert(3, "")
    data = "\n".join(lines).encode()
    assert [n for n, _ in rows_of(data)] == [2, 3, 5, 6, 7]


def test_short_rows_are_padded_and_extra_values_are_reported():
    data = (
        b"Course ID,Email,Date,Name\nNAR-1,jane@example.org\nNAR-2,jo@example.org,2026-03-05,Jo,x\n"
    )
    short, long = records(data)
    assert short.raw["completion_date"] == ""
    assert [e.field for e in short.errors] == ["completion_date"]
    assert "Date is empty" in short.errors[0].message
    assert [e.column_letter for e in long.errors] == ["E"]
    assert "more values than" in long.errors[0].message


def test_converted_values_and_errors_point_at_column_and_value():
    data = (
        b"Course ID,E-mail,Date Completed\n"
        b"NAR-1, Jane@Example.ORG ,03/05/2026\n"
        b"NAR-1,jane,13/05/2026\n"
    )
    good, bad = records(data)
    assert good.values["email"] == "jane@example.org"
    assert good.values["completion_date"] == dt.date(2026, 3, 5)
    assert good.raw["email"] == "Jane@Example.ORG"
    assert good.errors == ()
    by_field = {e.field: e for e in bad.errors}
    assert (by_field["email"].column, by_field["email"].column_letter) == ("E-mail", "B")
    assert by_field["email"].value == "jane"
    assert by_field["completion_date"].column_letter == "C"
    assert "MM/DD/YYYY" in by_field["completion_date"].message


def test_optional_empty_cells_are_left_empty_and_not_converted():
    fields = [Field("email", "Email"), Field("date", "Date", required=False)]
    data = b"email,date\njane@example.org,\n"
    with read_table(data, max_bytes=MB, fields=fields) as table:
        [row] = table.records({"email": normalize_email, "date": parse_date})
    assert row.values == {"email": "jane@example.org", "date": ""}
    assert row.errors == ()


def test_a_single_mapped_column_works():
    fields = [Field("email", "Email")]
    with read_table(
        b"Email\njane@example.org\n\nbob@example.org\n", max_bytes=MB, fields=fields
    ) as t:
        assert [(r.number, r.raw) for r in t.records()] == [
            (2, {"email": "jane@example.org"}),
            (4, {"email": "bob@example.org"}),
        ]


def test_rows_without_fields_yields_trimmed_cells():
    with read_table(b"a;b\n 1 ; 2 \n\n3;4\n", max_bytes=MB) as table:
        assert table.headings == ["a", "b"]
        assert list(table.rows()) == [(2, ["1", "2"]), (4, ["3", "4"])]
        assert table.mapping is None


def test_reads_from_a_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._data.readinto(buffer)

    assert rows_of(Pipe(text_file().encode())) == [(2, JANE), (3, JOSE)]


# --- delimiters and headings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3", ","),
        ("a;b;c\n1,5;2,5;3", ";"),
        ("a\tb\tc", "\t"),
        ('"Name, full";Email;Date\n', ";"),
        ('"a;b;c",d\n', ","),
        ("Email\njane@example.org\n", ","),
        ("Report\r\n\r\na;b;c\r\n", ";"),
        ("", ","),
    ],
)
def test_delimiter_is_counted_outside_quotes_on_the_heading_line(text, expected):
    assert detect_delimiter(text) == expected


@pytest.mark.parametrize(
    ("heading", "normal"),
    [
        ("E-mail Address", "emailaddress"),
        ("  EMAIL_ADDRESS ", "emailaddress"),
        ("Course ID*", "courseid"),
        ("course.id", "courseid"),
        ("Émail", "email"),
        ("\ufeffCourse ID", "courseid"),
    ],
)
def test_headings_are_normalised_before_matching(heading, normal):
    assert normalize_heading(heading) == normal


@pytest.mark.parametrize(
    "headings",
    [
        ["Course ID", "Email", "Date Completed"],
        ["courseid", "E-MAIL", "completion_date"],
        ["CEU ID", "Email Address", "Date"],
        ["Course Number", "e-mail address", "Completed", "Hours", "Learner Name", "Credit Type"],
    ],
)
def test_common_aliases_map_to_the_credit_fields(headings):
    mapping = map_headings(headings, CREDIT_FIELDS)
    assert mapping.ok
    assert set(mapping.columns) >= {"course_id", "email", "completion_date"}
    assert mapping.unmapped == ()


def test_mapping_reports_missing_and_unmapped_columns():
    mapping = map_headings(["Course ID", "Mail", "Datum", ""], CREDIT_FIELDS)
    assert mapping.columns == {"course_id": 0}
    assert mapping.missing == ("email", "completion_date")
    assert mapping.unmapped == ("Mail", "Datum")
    assert "Missing required column(s): Email, Completion date" in mapping.problem()


def test_user_overrides_win_over_aliases():
    mapping = map_headings(
        ["Course", "Mail", "Datum", "Date"],
        CREDIT_FIELDS,
        overrides={"mail": "email", "Datum": "completion_date", "Date": None},
    )
    assert mapping.ok
    assert mapping.columns == {"course_id": 0, "email": 1, "completion_date": 2}
    assert mapping.unmapped == ("Date",)


def test_two_columns_for_one_field_must_be_resolved():
    mapping = map_headings(["Course ID", "Email", "E-mail", "Date"], CREDIT_FIELDS)
    assert not mapping.ok
    assert mapping.duplicates == {"email": ("Email", "E-mail")}
    with (
        read_table(
            b"Course ID,Email,E-mail,Date\nx,y,z,w\n", max_bytes=MB, fields=CREDIT_FIELDS
        ) as t,
        pytest.raises(MappingProblem, match="Several columns could be Email"),
    ):
        t.records()


def test_override_naming_an_unknown_field_is_refused():
    with pytest.raises(FileProblem, match="not a column"):
        map_headings(["x"], CREDIT_FIELDS, overrides={"x": "salary"})


def test_unrecognised_headings_ask_the_user_to_map_columns():
    data = b"Kurs,Mail,Datum\nNAR-1,jane@example.org,2026-03-05\n"
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.mapping.columns == {}
        with pytest.raises(MappingProblem, match="None of the column headings") as caught:
            table.records()
    assert caught.value.mapping.unmapped == ("Kurs", "Mail", "Datum")
    overrides = {"Kurs": "course_id", "Mail": "email", "Datum": "completion_date"}
    assert rows_of(data, overrides=overrides) == [
        (2, {"course_id": "NAR-1", "email": "jane@example.org", "completion_date": "2026-03-05"})
    ]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


# --- unusable files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"  \r\n\r\n\t", "empty", id="whitespace"),
        pytest.param(codecs.BOM_UTF8 + b"\r\n\r\n", "no rows", id="bom-and-blank-lines"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a text file", id="png"),
        pytest.param(bytes(range(256)) * 8, "not a text file", id="binary"),
        pytest.param(b"%PDF-1.7\n\x00\x01\x02\x03" * 50, "not a text file", id="pdf-ish"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old Excel .xls", id="xls"),
        pytest.param(b"NAR-1,jane@example.org,2026-03-05\n", "looks like data", id="no-header"),
        pytest.param(b"12345,2026-03-05\n", "looks like data", id="numbers-no-header"),
        pytest.param(b"PK\x03\x04garbage", "damaged", id="broken-zip"),
        pytest.param(b'Course ID,Email\n"NAR-1,"\x00\n', None, id="nul-in-quoted"),
    ],
)
def test_unusable_files_raise_file_problem(data, message):
    try:
        with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
            list(table.records())
    except FileProblem as problem:
        if message:
            assert message in str(problem)
    else:
        assert message is None


def test_a_file_larger_than_max_bytes_is_refused_before_parsing():
    class Upload(io.BytesIO):
        size = 50 * MB

        def read(self, *args):
            raise AssertionError("must not be read")

    with pytest.raises(FileProblem, match="largest file accepted is 10.0 MB"):
        read_table(Upload(), max_bytes=10 * MB)
    with pytest.raises(FileProblem, match="largest"):
        read_table(text_file().encode(), max_bytes=20)


def test_a_stream_of_unknown_size_is_cut_off_at_max_bytes():
    class Pipe(io.RawIOBase):
        def __init__(self):
            self._data = io.BytesIO(("Course ID,Email,Date\n" + "a,b,c\n" * 100_000).encode())

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._data.readinto(buffer)

    table = read_table(Pipe(), max_bytes=100_000, fields=CREDIT_FIELDS)
    with table, pytest.raises(FileProblem, match="larger than"):
        list(table.records())


def test_a_badly_quoted_huge_field_is_a_file_problem_with_a_row_number():
    data = b'Course ID,Email,Date\nNAR-1,"jane@example.org,2026-03-05\n' + b"x" * 200_000
    with pytest.raises(FileProblem, match="Row 2") as caught:
        records(data)
    assert caught.value.row == 2


# --- XLSX -----------------------------------------------------------------------------------


def xlsx(*sheets, hidden_first=False):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    if hidden_first:
        workbook.worksheets[0].sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


CREDIT_SHEET = (
    "Credits",
    [
        ["Course ID", " E-mail ", "Date Completed", "Hours", None],
        [12345, " Jane@Example.org", dt.datetime(2026, 3, 5), 1.5, None],
        [None, None, None, None, None],
        ["NAR-2", "jose@example.org", 46086, 2.0, None],
        ["NAR-3", "bob@example.org", "03/05/2026", 3, None],
    ],
)


def test_xlsx_rows_keep_date_cells_and_stringify_numbers():
    with read_table(xlsx(CREDIT_SHEET), max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert (table.kind, table.sheet, table.encoding) == ("xlsx", "Credits", None)
        rows = list(table.records(CHECKS))
    assert [row.number for row in rows] == [2, 4, 5]
    assert rows[0].raw == {
        "course_id": "12345",
        "email": "Jane@Example.org",
        "completion_date": dt.datetime(2026, 3, 5),
        "amount_earned": "1.5",
    }
    assert rows[1].raw["amount_earned"] == "2"
    assert [row.values["completion_date"] for row in rows] == [dt.date(2026, 3, 5)] * 3
    assert not any(row.errors for row in rows)


def test_xlsx_is_detected_by_content_and_read_from_a_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            return self._data.readinto(buffer)

    assert len(records(Pipe(xlsx(CREDIT_SHEET)))) == 3


def test_xlsx_sheet_choice_skips_hidden_sheets_and_can_be_named():
    other = ("Other", [["Course ID", "Email", "Date"], ["X-1", "x@example.org", "2026-01-02"]])
    data = xlsx(other, CREDIT_SHEET, hidden_first=True)
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.sheet == "Credits"
        assert table.sheet_names == ("Other", "Credits")
    assert rows_of(data, sheet="Other")[0][1]["course_id"] == "X-1"
    with pytest.raises(FileProblem, match="no sheet called 'Nope'"):
        read_table(data, max_bytes=MB, sheet="Nope")


def test_xlsx_with_only_a_chart_sheet_is_a_file_problem():
    workbook = openpyxl.Workbook()
    chart = workbook.create_chartsheet("Chart")
    chart.add_chart(BarChart())
    workbook.remove(workbook.worksheets[0])
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(FileProblem, match="no worksheets"):
        read_table(out.getvalue(), max_bytes=MB)


def test_xlsx_empty_sheet_is_a_file_problem():
    with pytest.raises(FileProblem, match="empty"):
        read_table(xlsx(("Empty", [])), max_bytes=MB)


def zip_of(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_bomb_is_refused_before_decompressing():
    bomb = zip_of([("[Content_Types].xml", b"<x/>"), ("xl/workbook.xml", bytes(50 * MB))])
    assert len(bomb) < 100_000
    with pytest.raises(FileProblem, match="suspiciously"):
        read_table(bomb, max_bytes=MB)


def test_zip_that_expands_beyond_the_limit_is_refused():
    data = xlsx(CREDIT_SHEET)
    with pytest.raises(FileProblem, match="expands to"):
        read_table(data, max_bytes=MB, xlsx_max_uncompressed=1000)


def test_zip_with_too_many_entries_is_refused():
    data = zip_of([(f"f{i}", b"") for i in range(2001)])
    with pytest.raises(FileProblem, match="too many parts"):
        read_table(data, max_bytes=MB)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("report.csv", b"a,b\n")], "not an Excel .xlsx"),
        ([("mimetype", b"application/vnd.oasis"), ("content.xml", b"<x/>")], "OpenDocument"),
        ([("[Content_Types].xml", b"<x/>"), ("xl/workbook.xml", b"not xml")], "damaged"),
    ],
)
def test_zip_files_that_are_not_workbooks_are_refused(entries, message):
    with pytest.raises(FileProblem, match=message):
        read_table(zip_of(entries), max_bytes=MB)


# --- robustness -----------------------------------------------------------------------------


def consume(data):
    try:
        with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
            for row in table.records(CHECKS):
                assert isinstance(row.number, int)
    except FileProblem as problem:
        assert str(problem)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_only_yield_rows_or_file_problem(data):
    consume(data)


csvish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                ",",
                ";",
                "\t",
                '"',
                '""',
                "\r\n",
                "\n",
                "\r",
                " ",
                "Course ID",
                "Email",
                "Date",
                "E-mail",
                "jane@example.org",
                "03/05/2026",
                "13/45/2026",
                "46086",
                "José",
                "\x00",
                "\ufeff",
                "=1+1",
                "\u2028",
            ]
        ),
        st.text(max_size=10),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csvish, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_random_csvish_text_only_yields_rows_or_file_problem(text, encoding):
    consume(text.encode(encoding, errors="replace"))


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.integers(min_value=0, max_value=3000))
def test_corrupted_xlsx_only_yields_rows_or_file_problem(junk, position):
    data = bytearray(xlsx(CREDIT_SHEET))
    position = min(position, len(data) - 1)
    data[position : position + len(junk)] = junk
    consume(bytes(data))


# --- fixture files as real programs save them ----------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("name", "numbers"),
    [
        ("excel_csv_utf8.csv", [2, 3]),
        ("excel_unicode_text.txt", [2, 3]),
        ("excel_eu_cp1252.csv", [2, 3]),
        ("mac_cr.csv", [2, 3]),
        ("quirks.csv", [3, 6]),
    ],
)
def test_fixture_files_give_the_same_credits(name, numbers):
    with (FIXTURES / name).open("rb") as source:
        rows = records(source)
    assert [row.number for row in rows] == numbers
    assert [row.values["email"] for row in rows] == ["jane@example.org", "bob@example.org"]
    assert [row.values["completion_date"] for row in rows] == [
        dt.date(2026, 3, 5),
        dt.date(2026, 3, 6),
    ]
    assert rows[0].values["course_id"] == "NAR-26-00042"
    assert rows[0].values["name"].replace("\n", " ") == "José Núñez"
    assert not any(row.errors for row in rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_long_files_decode_across_the_sample_boundary(encoding, shift):
    rows = [f"NAR-{i},p{i}@example.org,2026-03-05,{'x' * shift}Zoë Ñuñez" for i in range(4000)]
    data = ("Course ID,Email,Date,Name\r\n" + "\r\n".join(rows)).encode(encoding)
    assert len(data) > SAMPLE_BYTES
    got = records(data)
    assert len(got) == 4000
    assert {row.values["name"][shift:] for row in got} == {"Zoë Ñuñez"}
    assert got[-1].number == 4001


def test_text_with_many_control_characters_is_not_a_text_file():
    with pytest.raises(FileProblem, match="not a text file"):
        read_table(b"Course ID,Email\n" + b"\x01\x02\x03\x04\x05\x06" * 100, max_bytes=MB)


def test_utf16_big_endian_without_bom_is_recognised():
    data = text_file("\t").encode("utf-16-be")
    with read_table(data, max_bytes=MB, fields=CREDIT_FIELDS) as table:
        assert table.encoding == "utf-16-be"
        assert [row.raw for row in table.records()] == [JANE, JOSE]


def test_records_needs_fields_and_known_converters():
    with read_table(text_file().encode(), max_bytes=MB) as table, pytest.raises(TypeError):
        table.records()
    table = read_table(text_file().encode(), max_bytes=MB, fields=CREDIT_FIELDS)
    with table, pytest.raises(TypeError, match="unknown fields"):
        table.records({"salary": int})


def test_a_non_seekable_xlsx_is_cut_off_at_max_bytes():
    rows = [["Course ID", "Email", "Date"]] + [
        [f"NAR-{i}", f"p{i}@example.org", f"note {i} " * 5] for i in range(20_000)
    ]
    data = xlsx(("Big", rows))
    assert len(data) > SAMPLE_BYTES

    class Pipe(io.RawIOBase):
        def __init__(self):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            return self._data.readinto(buffer)

    with pytest.raises(FileProblem, match="larger than"):
        read_table(Pipe(), max_bytes=len(data) - 1)
    with read_table(Pipe(), max_bytes=len(data), fields=CREDIT_FIELDS) as table:
        assert sum(1 for _ in table.records()) == 20_000


def test_xlsx_booleans_read_as_text_and_never_computed_formulas_as_empty():
    # Values, not formulas: a workbook saved by Excel carries each formula's last result;
    # one written by a library that never computed it has none to give.
    data = xlsx(("S", [["Email", "Flag", "Sum"], ["jane@example.org", True, "=1+1"]]))
    with read_table(data, max_bytes=MB) as table:
        assert list(table.rows()) == [(2, ["jane@example.org", "TRUE", ""])]


def test_encrypted_zip_members_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("xl/workbook.xml")
        info.flag_bits |= 0x1
        archive.writestr(info, b"<x/>")
    data = bytearray(out.getvalue())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # zipfile cannot write encrypted members: set the flag by hand
    with pytest.raises(FileProblem, match="encrypted"):
        read_table(bytes(data), max_bytes=MB)


@pytest.mark.parametrize(
    ("columns", "message"),
    [(4000, "more than 200 columns"), (300_000, "longer than 1 MB")],  # the probe's bomb
)
def test_a_header_with_too_many_columns_is_refused_before_mapping(columns, message):
    header = ",".join(f"c{i}" for i in range(columns)) + "\n"
    with pytest.raises(FileProblem, match=message):
        read_table(header.encode() + b"1,2,3\n", max_bytes=10**8, fields=())


def test_a_header_longer_than_its_cap_is_refused():
    header = ",".join(["x" * 1000] * 50) + "\n"
    with pytest.raises(FileProblem, match="longer than 32 KB"):
        read_table(header.encode(), max_bytes=10**8)


def test_a_single_enormous_line_is_refused_without_reading_it_whole():
    data = b"Course ID,Email\n" + b"a" * (3 * 1024 * 1024) + b"\n"
    with (
        pytest.raises(FileProblem, match="longer than 1 MB"),
        read_table(data, max_bytes=10**8) as t,
    ):
        list(t.rows())


def test_an_xlsx_row_with_too_many_columns_is_refused():
    workbook = openpyxl.Workbook()
    workbook.active.append([f"h{i}" for i in range(1000)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(FileProblem, match="more than 200 columns"):
        read_table(buffer.getvalue(), max_bytes=10**8)
