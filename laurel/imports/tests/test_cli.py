"""``laurel import credits FILE --org SLUG``: counts, exit status, JSON summary."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from laurel.credits.models import Credit
from laurel.imports.models import ImportJob

GOOD = (
    "Course ID,Email,Date Completed\n"
    "NNA-26-00001,ann@example.org,2025-02-01\n"
    "NNA-26-00002,bob@example.org,2025-02-01\n"
)
WITH_PROBLEMS = GOOD + "NNA-26-09999,cy@example.org,2025-02-01\nNNA-26-00001,oops,2025-02-01\n"


def run(*args):
    """Run the command; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def write(tmp_path):
    def make(content, name="credits.csv"):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return make


def test_a_clean_file_commits_with_yes_and_exits_zero(org, courses, holder, write):
    code, out, err = run("credits", write(GOOD), "--org", "northwind", "--yes")
    assert code == 0, err
    assert "Will be delivered; e-mail will be invited" in out
    assert "Delivered, offered to an account" in out
    assert Credit.objects.count() == 2
    assert "Validating" in err  # the progress line


def test_rejected_rows_exit_one_and_json_has_every_count(org, courses, holder, write):
    code, out, err = run("credits", write(WITH_PROBLEMS), "--org", "northwind", "--yes", "--json")
    assert code == 1
    summary = json.loads(out)
    expected = {
        "rows": 4,
        "deliverable": 0,
        "invite": 2,
        "unknown_course": 1,
        "invalid": 1,
        "duplicate_in_file": 0,
        "duplicate_existing": 0,
        "offered": 1,
        "held": 1,
    }
    assert {k: summary[k] for k in expected} == expected
    assert all(isinstance(summary[k], int) for k in expected)
    assert summary["committed"] is True
    assert Credit.objects.count() == 2


def test_without_yes_and_without_a_terminal_nothing_is_committed(org, courses, write):
    code, out, err = run("credits", write(GOOD), "--org", "northwind")
    assert code == 0
    assert "Not committed" in out
    assert Credit.objects.count() == 0
    assert ImportJob.objects.get().status == "validated"


def test_verify_only_changes_nothing(org, courses, write):
    code, out, _ = run("credits", write(WITH_PROBLEMS), "--org", "northwind", "--verify-only",
                       "--yes", "--json")  # fmt: skip
    assert code == 1
    assert json.loads(out)["committed"] is False
    assert Credit.objects.count() == 0


def test_running_the_same_file_twice_changes_nothing_the_second_time(org, courses, write):
    path = write(GOOD)
    assert run("credits", path, "--org", "northwind", "--yes")[0] == 0
    code, out, _ = run("credits", path, "--org", "northwind", "--yes", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["existing_import"] is True
    assert Credit.objects.count() == 2
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["--org", "nowhere"], GOOD, "No organization"),
        (["--org", "northwind"], b"\x00\x01\x02garbage" * 50, "not a text file"),
        (["--org", "northwind"], "Course ID,Teilnehmer\nx,y\n", "Missing required column"),
    ],
)
def test_unusable_input_exits_two(args, content, message, org, courses, write):
    code, out, err = run("credits", write(content), *args)
    assert code == 2
    assert message in err
    assert Credit.objects.count() == 0


def test_a_missing_file_exits_two_with_json_error(org, tmp_path):
    code, out, _ = run("credits", str(tmp_path / "nope.csv"), "--org", "northwind", "--json")
    assert code == 2
    assert "Cannot read" in json.loads(out)["error"]
