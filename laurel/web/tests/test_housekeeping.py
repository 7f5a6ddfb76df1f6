import pytest
from django.utils.module_loading import import_string

from laurel.web import housekeeping

pytestmark = pytest.mark.django_db


def test_every_duty_names_a_function_that_exists():
    for duty in housekeeping.DUTIES:
        assert callable(import_string(duty.path)), duty.path


def test_duties_run_when_due_and_not_again_before_their_interval():
    calls = []
    clock: dict[str, float] = {}
    first = housekeeping.run_due(clock, 1000.0, call=calls.append)
    assert first == [d.path for d in housekeeping.DUTIES]
    assert housekeeping.run_due(clock, 1001.0, call=calls.append) == []
    shortest = min(housekeeping.DUTIES, key=lambda d: d.every_seconds)
    later = housekeeping.run_due(clock, 1000.0 + shortest.every_seconds, call=calls.append)
    assert shortest.path in later


def test_a_failing_duty_does_not_stop_the_others(caplog):
    def call(path):
        if path == housekeeping.DUTIES[0].path:
            raise RuntimeError("boom")

    ran = housekeeping.run_due({}, 0.0, call=call)
    assert ran == [d.path for d in housekeeping.DUTIES[1:]]
    assert "boom" in caplog.text


def test_the_real_duties_run_on_an_empty_database():
    assert housekeeping.run_due({}, 0.0) == [d.path for d in housekeeping.DUTIES]
