from datetime import date, timedelta

import pytest
from django.urls import reverse

from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.recognition.canvas import CanvasClient, CanvasError, next_link
from laurel.recognition.models import CanvasConnection, CourseTaker, SyncReport
from laurel.recognition.services import canvas_connect, canvas_sync, canvas_sync_due
from laurel.recognition.tests.factories import make_cast
from laurel.recognition.tests.fake_canvas import TOKEN, FakeCanvas, Student

pytestmark = pytest.mark.django_db


def students(n, *, start=1, completed=0, passing=True):
    out = []
    for i in range(start, start + n):
        done = i - start < completed
        out.append(
            Student(
                id=i,
                name=f"Student {i}",
                email=f"s{i}@river.edu",
                final_score=(90.0 if passing else 50.0) if done else 40.0,
                requirement_count=10,
                completed_count=10 if done else 4,
                completed_at="2026-01-15T18:00:00Z" if done else None,
            )
        )
    return out


@pytest.fixture
def canvas():
    fake = FakeCanvas(courses={"1001": students(250, completed=30), "2001": students(5, start=900)})
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def cast(canvas):
    cast = make_cast()
    canvas_connect(
        actor=Actor(user=cast.issuer_admin),
        organization=cast.issuer,
        base_url=canvas.base_url,
        token=TOKEN,
    )
    return cast


def test_the_token_is_stored_encrypted_and_never_audited(cast):
    conn = CanvasConnection.objects.get()
    assert TOKEN not in conn.token_encrypted
    event = AuditEvent.objects.get(action="canvas.connected")
    assert TOKEN not in str(event.after)


def test_sync_reads_every_page_and_records_a_report(cast, canvas):
    report = canvas_sync(organization=cast.issuer, trigger="on demand")
    assert report.status == "done", report.errors
    assert (report.cohorts, report.added, report.changed, report.completed) == (2, 255, 0, 30)
    # 250 students at 100 a page: 3 pages each of enrollments and progress, plus 2 for course 2001.
    assert report.requests == 8
    taker = CourseTaker.objects.get(email="s1@river.edu")
    assert (taker.percent, taker.completed_on, taker.certified) == (100, date(2026, 1, 15), True)
    assert CourseTaker.objects.get(email="s100@river.edu").percent == 40
    cast.river_cohort.refresh_from_db()
    assert cast.river_cohort.last_synced_at is not None
    again = canvas_sync(organization=cast.issuer)
    assert (again.added, again.changed, again.completed) == (0, 0, 0)


def test_backs_off_on_a_rate_limit_403_then_goes_on(cast, canvas):
    canvas.rate_limited = 2
    waits = []
    client = CanvasClient(canvas.base_url, TOKEN, sleep=waits.append)
    report = canvas_sync(organization=cast.issuer, client=client)
    assert report.status == "done" and report.added == 255
    assert waits == [1, 2]


@pytest.mark.parametrize(
    "fault, message", [("500", "answered 500"), ("malformed", "malformed JSON"), ("loop", "loop")]
)
def test_a_broken_course_is_a_recorded_error_and_keeps_the_last_good_progress(
    cast, canvas, fault, message
):
    canvas_sync(organization=cast.issuer)
    canvas.courses["1001"][0].completed_count = 1  # would change, if it were read
    canvas.faults["1001"] = fault
    client = CanvasClient(canvas.base_url, TOKEN, sleep=lambda s: None, max_retries=1)
    report = canvas_sync(organization=cast.issuer, client=client)
    assert report.status == "errors"
    assert message in report.errors[0]["message"] and report.errors[0]["cohort"] == "River Spring"
    assert CourseTaker.objects.get(email="s1@river.edu").percent == 100


def test_a_refused_token_fails_the_run(cast, canvas):
    canvas.token = "rotated"
    report = canvas_sync(organization=cast.issuer)
    assert report.status == "failed" and "401" in report.errors[0]["message"]
    assert CourseTaker.objects.count() == 0


def test_closed_cohorts_are_not_read(cast, canvas):
    cast.hill_cohort.closes_on = date.today() - timedelta(days=1)
    cast.hill_cohort.save()
    report = canvas_sync(organization=cast.issuer)
    assert report.cohorts == 1 and not CourseTaker.objects.filter(cohort=cast.hill_cohort).exists()


def test_the_daily_duty_runs_once_a_day(cast, canvas):
    assert canvas_sync_due() == 1
    assert canvas_sync_due() == 0
    SyncReport.objects.update(
        started_at=SyncReport.objects.get().started_at - timedelta(days=1, minutes=1)
    )
    assert canvas_sync_due() == 1


def test_link_header_parsing():
    header = (
        '<https://c.example/api/v1/x?page=1>; rel="current",'
        '<https://c.example/api/v1/x?page=2>; rel="next"'
    )
    assert next_link(header) == "https://c.example/api/v1/x?page=2"
    assert next_link('<https://c.example/api/v1/x?page=1>; rel="last"') is None


def test_a_link_to_another_host_is_refused(canvas):
    client = CanvasClient(canvas.base_url, TOKEN)
    with pytest.raises(CanvasError, match="another host"):
        client._get("http://evil.example/api/v1/x")


def test_canvas_page_saves_shows_reports_and_syncs_on_demand(client, cast, canvas, committed):
    client.force_login(cast.issuer_admin)
    page = reverse("recognition:canvas", args=[cast.issuer.slug])
    with committed():
        client.post(page, {"action": "sync"})
    body = client.get(page).content.decode()
    assert "255 added" in body and "30 completed" in body
    cohorts = client.get(reverse("recognition:cohorts", args=[cast.river.slug]))
    client.force_login(cast.river_admin)
    cohorts = client.get(
        reverse("recognition:cohort", args=[cast.river.slug, cast.river_cohort.pk])
    )
    assert "Last synced: never" not in cohorts.content.decode()
    # A partner has no Canvas page.
    assert client.get(reverse("recognition:canvas", args=[cast.river.slug])).status_code == 404
