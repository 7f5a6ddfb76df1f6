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


def test_the_real_duties_run_without_error_twice_in_a_row(caplog):
    from datetime import date, timedelta

    from laurel.audit.services import Actor
    from laurel.certificates.services import certificate_issue
    from laurel.notifications.models import OutboxMessage
    from tests.factories import make_org

    org = make_org()
    certificate_issue(
        actor=Actor.system("test"),
        organization=org,
        recipient_name="Ada Lovelace",
        recipient_email="ada@example.com",
        title="Ethics",
        completion_date=date(2025, 3, 1),
        expires_on=org.today() + timedelta(days=20),
        notify=False,
    )
    assert housekeeping.run_due({}, 0.0) == [d.path for d in housekeeping.DUTIES]
    assert housekeeping.run_due({}, 0.0) == [d.path for d in housekeeping.DUTIES]
    assert "failed" not in caplog.text
    assert OutboxMessage.objects.filter(kind="certificate_expiring").count() == 1
