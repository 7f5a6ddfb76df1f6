"""Zoom and Teams attendance reports, read from files shaped like the tools' exports."""

from __future__ import annotations

import codecs
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laurel.lib.meeting_reports import parse_duration, read_meeting_report
from laurel.lib.tabular import FileProblem

FIXTURES = Path(__file__).with_name("fixtures") / "meeting_reports"
MAX = 5_000_000


def read(name: str):
    report = read_meeting_report((FIXTURES / name).read_bytes(), max_bytes=MAX)
    assert report is not None
    return report


def minutes(report) -> dict[str, Decimal]:
    return {p.email: p.minutes for p in report.participants}


@pytest.mark.parametrize(
    ("name", "tool", "title"),
    [
        ("zoom_with_meeting_data.csv", "zoom", "Fair Housing, Ethics and You (COEC/COEN)"),
        ("zoom_participants_only.csv", "zoom", ""),
        ("zoom_unique_users.csv", "zoom", "Fair Housing and You"),
        ("teams_2022.csv", "teams", "Fair Housing, Ethics and You (COEC/COEN)"),
        ("teams_2021.csv", "teams", "Fair Housing and You"),
    ],
)
def test_each_export_is_recognised_with_its_meeting_title(name, tool, title):
    report = read(name)

    assert (report.tool, report.title) == (tool, title)
    assert minutes(report)["maria.schmidt@example.com"] in {Decimal("179.50"), Decimal("180")}


@pytest.mark.parametrize(
    "name", ["zoom_with_meeting_data.csv", "zoom_participants_only.csv", "teams_2022.csv"]
)
def test_a_person_who_left_and_rejoined_has_both_stretches_added_up(name):
    report = read(name)

    maria = next(p for p in report.participants if p.email == "maria.schmidt@example.com")
    # 08:58:30–10:30:10 and 10:34:05–12:01:55: 91m40s + 87m50s, the 4-minute gap not counted
    assert maria.minutes == Decimal("179.50")
    assert len(maria.rows) == 2


@pytest.mark.parametrize("name", ["zoom_with_meeting_data.csv", "teams_2022.csv"])
def test_two_devices_at_once_are_not_counted_twice(name):
    # José joins on his phone 09:00:12–11:00:12 and on his laptop 10:30–12:05 (with his
    # address in other capitals in the Zoom file): 3h 4m 48s, not 3h 35m.
    assert minutes(read(name))["jose.nunez@example.com"] == Decimal("184.80")


def test_teams_2022_reads_the_activities_section_not_the_summary_or_participants():
    report = read("teams_2022.csv")

    assert report.layout == "Teams (2022 and later)"
    assert report.started == "3/12/26, 8:55:02 AM"
    assert sorted(minutes(report)) == [
        "education@northern-realtors.example",
        "jose.nunez@example.com",
        "maria.schmidt@example.com",
    ]


def test_teams_2021_takes_the_address_from_the_upn_when_the_email_column_is_empty():
    report = read("teams_2021.csv")

    assert report.layout == "Teams (2021)"
    assert minutes(report)["maria.schmidt@example.com"] == Decimal("179.50")


def test_unique_users_export_sums_the_total_duration_column():
    assert minutes(read("zoom_unique_users.csv")) == {
        "maria.schmidt@example.com": Decimal("180.00"),
        "aoife@example.ie": Decimal("35.00"),
    }


def test_windows_1252_file_with_day_first_dates_keeps_accents_and_minutes():
    report = read("zoom_windows_1252.csv")

    assert {p.name: p.minutes for p in report.participants} == {
        "José Núñez": Decimal("120.00"),
        "Zoë Brontë": Decimal("45.00"),
    }


@pytest.mark.parametrize(
    ("name", "row", "who"),
    [("zoom_unique_users.csv", 7, "Dial-in 555 0100"), ("teams_2022.csv", 23, "Aoife")],
)
def test_a_participant_without_email_is_a_clear_problem_on_its_row(name, row, who):
    report = read(name)

    problem = next(p for p in report.problems if p.row == row)
    assert who in problem.name
    assert "no email address" in problem.message


def test_leave_before_join_is_a_row_problem_and_the_other_rows_still_count():
    report = read("zoom_leave_before_join.csv")

    assert [(p.row, p.email) for p in report.problems] == [(2, "maria.schmidt@example.com")]
    assert "leave time (03/12/2026 08:58:30 AM) is before the join time" in (
        report.problems[0].message
    )
    assert minutes(report) == {"aoife@example.ie": Decimal("35.00")}


def test_a_roster_is_not_a_meeting_report():
    roster = b"Email,First name,Last name,Status\nmaria@example.com,Maria,Schmidt,Attended\n"

    assert read_meeting_report(roster, max_bytes=MAX) is None


def test_a_file_over_the_size_limit_is_refused():
    with pytest.raises(FileProblem, match="larger than"):
        read_meeting_report((FIXTURES / "teams_2022.csv").read_bytes(), max_bytes=100)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("64", 3840),
        ("64.5", 3870),
        ("1:04:30", 3870),
        ("01:05", 3900),
        ("1h 5m 12s", 3912),
        ("35m", 2100),
        ("2h", 7200),
        ("45 mins", 2700),
        ("1 hr 5 mins", 3900),
        ("90 minutes", 5400),
        ("12s", 12),
    ],
)
def test_durations_as_each_tool_writes_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "1:75", "1h soon", "1:02:99"])
def test_unreadable_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# --- properties -------------------------------------------------------------------------


@settings(deadline=None)
@given(
    hours=st.integers(0, 30),
    mins=st.integers(0, 59),
    secs=st.integers(0, 59),
    style=st.sampled_from(["clock", "units", "words"]),
)
def test_any_duration_written_in_any_style_reads_back(hours, mins, secs, style):
    if style == "clock":
        text = f"{hours}:{mins:02d}:{secs:02d}"
    elif style == "units":
        text = " ".join(f"{n}{u}" for n, u in ((hours, "h"), (mins, "m"), (secs, "s")) if n) or "0s"
    else:
        text = (
            " ".join(f"{n} {u}" for n, u in ((hours, "hrs"), (mins, "mins"), (secs, "secs")) if n)
            or "0 mins"
        )

    assert parse_duration(text) == hours * 3600 + mins * 60 + secs


START = datetime(2026, 3, 12, 8, 0, 0)
visits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 240 * 60), st.integers(0, 90 * 60)),
    min_size=1,
    max_size=12,
)


def zoom_file(rows, preamble: bool) -> bytes:
    lines = []
    if preamble:
        lines += [
            "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants,",
            '85218486288,"Ethics, part 1",03/12/2026 08:00:00 AM,03/12/2026 01:00:00 PM,'
            "host@example.org,300,4,",
            "",
        ]
    lines.append("Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest")
    fmt = "%m/%d/%Y %I:%M:%S %p"
    for person, join, leave in rows:
        lines.append(
            f"Person {person},p{person}@example.org,{join.strftime(fmt)},{leave.strftime(fmt)},"
            f"{round((leave - join).total_seconds() / 60)},No"
        )
    return codecs.BOM_UTF8 + "\r\n".join(lines).encode()


def teams_file(rows) -> bytes:
    fmt = "%-m/%-d/%y, %-I:%M:%S %p"
    lines = [
        "1. Summary",
        "Meeting title\tEthics, part 1, with commas, many, of them",
        "Start time\t3/12/26, 8:00:00 AM",
        "",
        "2. Participants",
        "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole",
        "",
        "3. In-Meeting Activities",
        "Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole",
    ]
    for person, join, leave in rows:
        seconds = int((leave - join).total_seconds())
        lines.append(
            f"Person {person}\t{join.strftime(fmt)}\t{leave.strftime(fmt)}\t"
            f"{seconds // 3600}h {seconds % 3600 // 60}m {seconds % 60}s\t"
            f"p{person}@example.org\tAttendee"
        )
    return codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visits=visits, layout=st.sampled_from(["zoom", "zoom-preamble", "teams"]))
def test_minutes_are_the_time_covered_by_any_of_a_persons_rows(visits, layout):
    rows = [
        (person, START + timedelta(seconds=at), START + timedelta(seconds=at + length))
        for person, at, length in visits
    ]
    if layout == "teams":
        data = teams_file(rows)
    else:
        data = zoom_file(rows, preamble=layout == "zoom-preamble")

    report = read_meeting_report(data, max_bytes=MAX)

    # The oracle: every second that falls inside one of the person's rows, counted once.
    covered: dict[str, set[int]] = {}
    for person, at, length in visits:
        covered.setdefault(f"p{person}@example.org", set()).update(range(at, at + length))
    assert report is not None and report.problems == []
    assert {p.email: p.seconds for p in report.participants} == {
        email: len(seconds) for email, seconds in covered.items()
    }


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=300).map(str.encode))
def test_any_bytes_give_a_report_none_or_a_file_problem(data):
    try:
        report = read_meeting_report(data, max_bytes=MAX)
    except FileProblem:
        return
    if report is not None:
        assert all(p.seconds >= 0 for p in report.participants)
