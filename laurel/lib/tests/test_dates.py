import datetime as dt

import pytest

from laurel.lib.dates import DateProblem, date_parser, excel_serial_to_date, parse_date

D = dt.date(2026, 3, 5)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-05",
        "2026-3-5",
        "2026/03/05",
        " 2026-03-05 ",
        "2026-03-05 14:30:00",
        "2026-03-05T14:30:00Z",
        "20260305",
        "05-Mar-2026",
        "5-mar-2026",
        "05-MAR-2026",
        "5 March 2026",
        "5th March 2026",
        "March 5, 2026",
        "Mar 5 2026",
        "mar. 5, 2026",
        "46086",
        "46086.5",
    ],
)
@pytest.mark.parametrize("date_format", ["US", "EU", "INTL", "ISO"])
def test_unambiguous_dates_read_the_same_under_every_format(text, date_format):
    assert parse_date(text, date_format=date_format) == D


@pytest.mark.parametrize(
    ("text", "date_format", "expected"),
    [
        ("03/05/2026", "US", D),
        ("3/5/2026", "US", D),
        ("03/05/2026", "EU", dt.date(2026, 5, 3)),
        ("03/05/2026", "INTL", dt.date(2026, 5, 3)),
        ("05.03.2026", "EU", D),
        ("05-03-2026", "EU", D),
        ("12/31/2026", "US", dt.date(2026, 12, 31)),
        ("31/12/2026", "EU", dt.date(2026, 12, 31)),
        ("3/5/2026 10:00 AM", "US", D),
    ],
)
def test_numeric_dates_follow_the_organizations_declared_order(text, date_format, expected):
    assert parse_date(text, date_format=date_format) == expected


@pytest.mark.parametrize(
    ("text", "date_format", "message"),
    [
        ("13/05/2026", "US", "write it as 2026-05-13"),
        ("05/13/2026", "EU", "write it as 2026-05-13"),
        ("05/03/2026", "ISO", "YYYY-MM-DD"),
        ("03/05/26", "US", "four-digit year"),
        ("05-Mar-26", "EU", "four-digit year"),
        ("2026-02-29", "ISO", "not a real date"),
        ("31/02/2026", "EU", "not a valid date"),
        ("05-Foo-2026", "ISO", "not an English month"),
        ("", "US", "missing"),
        ("   ", "US", "missing"),
        ("yesterday", "US", "not a date we can read"),
        ("1", "US", "not a date we can read"),
        ("99999", "US", "not a date"),
        ("12345", "US", "not a date"),
        ("x" * 100, "US", "not a date"),
    ],
)
def test_unusable_dates_raise_a_message_for_the_user(text, date_format, message):
    with pytest.raises(DateProblem, match=f"(?i){message}"):
        parse_date(text, date_format=date_format)


def test_a_date_impossible_in_the_declared_order_is_never_swapped_silently():
    with pytest.raises(DateProblem) as caught:
        parse_date("13/05/2026", date_format="US")
    assert "MM/DD/YYYY" in str(caught.value)


def test_date_problem_is_a_value_error():
    assert issubclass(DateProblem, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2026, 3, 5, 23, 59), D),
        (D, D),
        (46086, D),
        (46086.99, D),
    ],
)
def test_spreadsheet_cell_values_are_accepted(value, expected):
    assert parse_date(value, date_format="US") == expected


@pytest.mark.parametrize("value", [True, None, 1.5, 10**9, object()])
def test_other_values_are_not_dates(value):
    with pytest.raises(DateProblem):
        parse_date(value)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),
        (25569, dt.date(1970, 1, 1)),
        (46086, D),
    ],
)
def test_excel_serials_use_the_1900_system_with_its_leap_year_bug(serial, expected):
    assert excel_serial_to_date(serial) == expected


@pytest.mark.parametrize("serial", [0, 60, -5, 10**12])
def test_impossible_excel_serials_are_refused(serial):
    with pytest.raises(DateProblem):
        excel_serial_to_date(serial)


def test_unknown_date_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown date_format"):
        parse_date("2026-03-05", date_format="UK")


@pytest.mark.parametrize("value", ["03/05/2026", "2026-03-05", dt.datetime(2026, 3, 5), 46086])
def test_date_parser_is_parse_date_bound_to_a_format(value):
    assert date_parser("US")(value) == parse_date(value, date_format="US") == D


def test_date_parser_refuses_an_unknown_format_at_once():
    with pytest.raises(ValueError, match="unknown date_format"):
        date_parser("UK")
