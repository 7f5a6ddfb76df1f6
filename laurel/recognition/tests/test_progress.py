from datetime import date, timedelta

import pytest

from laurel.audit.models import AuditEvent
from laurel.recognition.models import CourseTaker
from laurel.recognition.services import ProgressRecord, progress_apply
from laurel.recognition.tests.factories import SYSTEM, feed, make_cast

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    return make_cast()


def test_progress_adds_changes_and_counts_completions_once(cast):
    done = date.today() - timedelta(days=1)
    first = feed(
        cast.issuer,
        cast.river_cohort,
        [("ann@x.edu", 40, None, False), ("bo@x.edu", 100, done, True)],
    )
    assert (first.added, first.changed, first.completed) == (2, 0, 1)
    second = feed(
        cast.issuer,
        cast.river_cohort,
        [("ann@x.edu", 80, None, False), ("bo@x.edu", 100, done, True)],
    )
    assert (second.added, second.changed, second.unchanged, second.completed) == (0, 1, 1, 0)
    ann = CourseTaker.objects.get(email="ann@x.edu")
    assert ann.percent == 80
    assert AuditEvent.objects.filter(action="course_taker.progress").count() == 3


def test_the_same_batch_twice_changes_nothing(cast):
    rows = [("ann@x.edu", 40, None, False)]
    feed(cast.issuer, cast.river_cohort, rows)
    events = AuditEvent.objects.count()
    again = feed(cast.issuer, cast.river_cohort, rows)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 1)
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    "record, message",
    [
        (dict(cohort="999999", email="a@x.edu", percent=5), "No cohort"),
        (dict(email="not-an-email", percent=5), "not an e-mail"),
        (dict(email="a@x.edu", percent=101), "between 0 and 100"),
        (dict(email="a@x.edu", percent=-1), "between 0 and 100"),
        (dict(email="a@x.edu", percent="lots"), "not a number"),
        (dict(email="a@x.edu", percent=5, completed_on=date.today() + timedelta(days=3)), "future"),
    ],
)
def test_bad_records_are_reported_and_keep_the_last_good_progress(cast, record, message):
    feed(cast.issuer, cast.river_cohort, [("a@x.edu", 30, None, False)])
    record.setdefault("cohort", cast.river_cohort.pk)
    result = progress_apply(
        actor=SYSTEM, organization=cast.issuer, records=[ProgressRecord(**record)]
    )
    assert result.errors and message in result.errors[0][1]
    assert CourseTaker.objects.get(email="a@x.edu").percent == 30


def test_a_cohort_is_found_by_its_lms_reference_but_only_the_issuers(cast):
    result = progress_apply(
        actor=SYSTEM,
        organization=cast.issuer,
        records=[ProgressRecord(cohort="1001", email="c@x.edu", percent=10)],
    )
    assert result.added == 1
    # A partner cannot feed progress: the cohorts are the issuer's.
    result = progress_apply(
        actor=SYSTEM,
        organization=cast.river,
        records=[ProgressRecord(cohort=cast.river_cohort.pk, email="d@x.edu", percent=10)],
    )
    assert result.added == 0 and "No cohort" in result.errors[0][1]


def test_states_of_course_takers(cast):
    today = date.today()
    cohort = cast.river_cohort
    feed(cast.issuer, cohort, [
        ("done@x.edu", 100, today, True),
        ("nocert@x.edu", 100, today, False),
        ("going@x.edu", 60, None, False),
    ])  # fmt: skip
    states = {t.email: t.state(today) for t in CourseTaker.objects.all()}
    assert states == {
        "done@x.edu": "completer",
        "nocert@x.edu": "uncertified",
        "going@x.edu": "approaching",
    }
    later = cohort.closes_on + timedelta(days=1)
    assert CourseTaker.objects.get(email="going@x.edu").state(later) == "not_completed"
