import csv
import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pypdf
import pytest
from django.core import mail
from django.urls import reverse

from laurel.audit.models import AuditEvent
from laurel.recognition.models import Ceremony, CourseTaker
from laurel.recognition.tests.factories import feed, make_cast, make_cohort

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    cast = make_cast()
    today = date.today()
    feed(cast.issuer, cast.river_cohort, [
        ("ann@river.edu", 100, today - timedelta(days=2), True, "Ann Arbor"),
        ("=cmd@river.edu", 100, today - timedelta(days=2), True, "=HYPERLINK(1)"),
        ("bo@river.edu", 55, None, False, "Bo Beam"),
        ("cy@river.edu", 100, today - timedelta(days=3), False, "Cy Nocert"),
    ])  # fmt: skip
    return cast


def url(name, org, *args):
    return reverse(f"recognition:{name}", args=[org.slug, *args])


def step_one(client, cast, action="next", kind=None):
    start, end = cast.river_cohort.end_date - timedelta(days=5), cast.river_cohort.end_date
    path = url("new", cast.river) + ("?kind=request" if kind else "")
    return client.post(
        path,
        {
            "range_start": start.isoformat(),
            "range_end": end.isoformat(),
            "cohorts": [cast.river_cohort.pk],
            "action": action,
        },
    )


def details(day, **extra):
    return {
        "day": day.isoformat(),
        "at": "15:00",
        "time_zone": "America/Chicago",
        "format": "in_person",
        "venue": "Great Hall",
        "mailing_contact": "Pat Post",
        "mailing_email": "pat@river.edu",
        "mailing_address": "1 River Rd\nRiver City, PA",
        **extra,
    }


def test_partner_schedules_a_ceremony_in_two_steps_and_gets_a_confirmation(client, cast, committed):
    client.force_login(cast.river_admin)
    response = client.get(
        url("new", cast.river),
        {
            "range_start": (cast.river_cohort.end_date - timedelta(days=1)).isoformat(),
            "range_end": cast.river_cohort.end_date.isoformat(),
        },
    )
    assert "River Spring" in response.content.decode()
    assert "Hill Spring" not in response.content.decode()  # another partner's cohort
    response = step_one(client, cast)
    ceremony = Ceremony.objects.get()
    assert response.url == url("details", cast.river, ceremony.pk)
    page = client.get(response.url).content.decode()
    earliest = cast.river.today() + timedelta(days=14)
    assert f"{earliest:%B} {earliest.day}, {earliest.year}" in page
    with committed():
        response = client.post(
            url("details", cast.river, ceremony.pk),
            details(earliest, action="submit", representative_requested="on"),
        )
    assert response.status_code == 302
    ceremony.refresh_from_db()
    assert ceremony.status == Ceremony.Status.SCHEDULED
    assert ceremony.display_status() == "Scheduled / Pending"
    assert ceremony.local_start.tzinfo.key == "America/Chicago"
    (message,) = [m for m in mail.outbox if m.to == [cast.river_admin.email]]
    assert "Ceremony scheduled" in message.subject
    assert url("generate", cast.river, ceremony.pk) in message.body
    dash = client.get(url("dashboard", cast.river)).content.decode()
    assert "Scheduled / Pending" in dash and ceremony.name in dash


def test_save_as_draft_at_each_step(client, cast):
    client.force_login(cast.river_admin)
    step_one(client, cast, action="draft")
    ceremony = Ceremony.objects.get()
    assert ceremony.status == "draft"
    day = cast.river.today() + timedelta(days=30)
    client.post(url("details", cast.river, ceremony.pk), details(day, action="draft"))
    ceremony.refresh_from_db()
    assert ceremony.status == "draft" and ceremony.venue == "Great Hall"
    assert "Draft" in client.get(url("dashboard", cast.river)).content.decode()


def test_a_date_range_without_cohorts_says_so(client, cast):
    client.force_login(cast.river_admin)
    response = client.get(
        url("new", cast.river), {"range_start": "2001-01-01", "range_end": "2001-02-01"}
    )
    assert "No cohorts end between these dates" in response.content.decode()


@pytest.mark.parametrize("days, ok", [(13, False), (14, True)])
def test_the_14_day_rule_counts_from_today_in_the_partners_time_zone(client, cast, days, ok):
    # 02:00 UTC on March 10 is still March 9 in Los Angeles: "today" there is the 9th.
    cast.river.time_zone = "America/Los_Angeles"
    cast.river.save()
    now = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)
    client.force_login(cast.river_admin)
    step_one(client, cast, action="draft")
    ceremony = Ceremony.objects.get()
    day = date(2027, 3, 9) + timedelta(days=days)
    # Only the organizations' clock moves (the session's must not expire).
    clock = SimpleNamespace(now=lambda: now)
    with mock.patch("laurel.accounts.models.timezone", clock):
        response = client.post(
            url("details", cast.river, ceremony.pk), details(day, action="submit")
        )
    ceremony.refresh_from_db()
    if ok:
        assert ceremony.status == "scheduled"
    else:
        assert ceremony.status == "draft"
        page = response.content.decode()
        assert "must be on or after March 23, 2027" in page
        assert "ask the issuing organization" in page


def test_an_issuing_admin_overrides_the_14_day_rule_with_a_reason(client, cast):
    client.force_login(cast.river_admin)
    step_one(client, cast, action="draft")
    ceremony = Ceremony.objects.get()
    soon = cast.river.today() + timedelta(days=3)
    # The partner's admin has no override field; a reason they send is ignored.
    client.post(
        url("details", cast.river, ceremony.pk), details(soon, action="submit", override_reason="x")
    )
    ceremony.refresh_from_db()
    assert ceremony.status == "draft"
    client.force_login(cast.issuer_admin)
    response = client.post(url("details", cast.issuer, ceremony.pk), details(soon, action="submit"))
    assert "must be on or after" in response.content.decode()
    client.post(
        url("details", cast.issuer, ceremony.pk),
        details(soon, action="submit", override_reason="Dean's schedule"),
    )
    ceremony.refresh_from_db()
    assert ceremony.status == "scheduled" and ceremony.override_reason == "Dean's schedule"
    event = AuditEvent.objects.get(action="ceremony.date_rule_overridden")
    assert event.after["reason"] == "Dean's schedule" and event.actor == cast.issuer_admin


def _scheduled(client, cast, committed):
    client.force_login(cast.river_admin)
    step_one(client, cast, action="draft")
    ceremony = Ceremony.objects.get()
    with committed():
        client.post(
            url("details", cast.river, ceremony.pk),
            details(cast.river.today() + timedelta(days=20), action="submit"),
        )
    ceremony.refresh_from_db()
    return ceremony


def test_issuing_staff_mark_pins_mailed_and_the_contact_is_emailed(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    Ceremony.objects.filter(pk=ceremony.pk).update(mailing_contact="=1+2 Pat")
    client.force_login(cast.issuer_staff)
    page = client.get(url("pins", cast.issuer)).content.decode()
    assert ceremony.name in page and "2 × Certificate in Effective College Instruction" in page
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(client.get(url("pins_csv", cast.issuer)).streaming_content).decode()
            )
        )
    )
    assert rows[1][4] == "2" and rows[1][7] == "1 River Rd / River City, PA"
    assert rows[1][5] == "'=1+2 Pat"  # formula-safe for the fulfilment house's spreadsheet
    with committed():
        client.post(url("pins_mailed", cast.issuer, ceremony.pk), {"tracking_number": "1Z999"})
    ceremony.refresh_from_db()
    assert (
        ceremony.status == "pins_mailed" and ceremony.display_status() == "Scheduled / Pins mailed"
    )
    (message,) = [m for m in mail.outbox if m.to == ["pat@river.edu"]]
    assert "1Z999" in message.body
    assert (
        url("pins_mailed", cast.issuer, ceremony.pk)
        not in client.get(url("pins", cast.issuer)).content.decode()
    )
    # Partners have no pins queue.
    client.force_login(cast.river_admin)
    assert client.get(url("pins", cast.river)).status_code == 404


def test_past_is_computed_from_the_date(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    later = ceremony.starts_at + timedelta(hours=1)
    assert ceremony.display_status(later) == "Past"
    assert ceremony.display_status(later - timedelta(hours=2)) == "Scheduled / Pending"


def test_ics_has_the_ceremony_in_utc(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    body = client.get(url("ics", cast.river, ceremony.pk)).content.decode()
    start = ceremony.starts_at.astimezone(UTC)
    assert f"DTSTART:{start:%Y%m%dT%H%M%SZ}" in body
    assert "LOCATION:Great Hall" in body and body.startswith("BEGIN:VCALENDAR\r\n")


def test_a_certificate_request_goes_draft_to_created(client, cast, committed):
    client.force_login(cast.river_admin)
    with committed():
        response = step_one(client, cast, action="create", kind="request")
    request_ = Ceremony.objects.get()
    assert request_.kind == "request" and request_.status == "created"
    assert response.url == url("generate", cast.river, request_.pk)
    assert request_.display_status(datetime(2100, 1, 1, tzinfo=UTC)) == "Created"  # never expires


def test_generation_page_lists_completers_and_approaching_and_counts_left_out(
    client, cast, committed
):
    ceremony = _scheduled(client, cast, committed)
    page = client.get(url("generate", cast.river, ceremony.pk)).content.decode()
    assert "Completers (2)" in page and "Approaching certification (1)" in page
    assert "Ann Arbor" in page and "Bo Beam" in page and "55%" in page
    assert "Cy Nocert" not in page
    assert "<strong>1</strong> who completed without certification" in page


def test_one_certificate_pdf_then_a_combined_pdf_and_the_last_file(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    ann = CourseTaker.objects.get(email="ann@river.edu")
    bo = CourseTaker.objects.get(email="bo@river.edu")
    response = client.post(url("taker_pdf", cast.river, ceremony.pk, ann.pk))
    assert response["Content-Type"] == "application/pdf"
    ann.refresh_from_db()
    assert ann.certificate.organization == cast.issuer
    assert ann.certificate.title == "Certificate in Effective College Instruction"
    with committed():
        response = client.post(
            url("generate", cast.river, ceremony.pk), {"takers": [ann.pk, bo.pk], "action": "pdf"}
        )
    assert response.url == url("last_file_status", cast.river, ceremony.pk)
    ann.refresh_from_db()
    assert CourseTaker.objects.get(pk=bo.pk).certificate is not None  # approaching: staff may
    download = client.get(url("last_file", cast.river, ceremony.pk))
    assert download.status_code == 200
    pdf = pypdf.PdfReader(io.BytesIO(b"".join(download.streaming_content)))
    assert len(pdf.pages) == 2
    message = [m for m in mail.outbox if "ready" in m.subject][-1]
    assert url("last_file", cast.river, ceremony.pk) in message.body
    # The same course-taker's certificate is reused, never issued twice.
    client.post(url("taker_pdf", cast.river, ceremony.pk, ann.pk))
    assert ann.certificate_id == CourseTaker.objects.get(pk=ann.pk).certificate_id


def test_selection_csv_is_formula_safe(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    ids = list(CourseTaker.objects.values_list("pk", flat=True))
    response = client.post(
        url("generate", cast.river, ceremony.pk), {"takers": ids, "action": "csv"}
    )
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text and "Cy Nocert" not in text


def test_program_lists_completers_by_certificate_type(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    response = client.get(url("program", cast.river, ceremony.pk))
    text = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Certificate in Effective College Instruction" in text and "Ann Arbor" in text
    assert "Bo Beam" not in text


def test_partners_do_not_see_each_other_the_issuer_sees_both(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    client.force_login(cast.hill_admin)
    assert (
        url("generate", cast.hill, ceremony.pk)
        not in client.get(url("dashboard", cast.hill)).content.decode()
    )
    for name, args in [
        ("generate", [ceremony.pk]),
        ("ics", [ceremony.pk]),
        ("program", [ceremony.pk]),
        ("cohort", [cast.river_cohort.pk]),
        ("edit", [ceremony.pk]),
    ]:
        assert client.get(url(name, cast.hill, *args)).status_code == 404, name
    cohorts = client.get(url("cohorts", cast.hill)).content.decode()
    assert "Hill Spring" in cohorts and "River Spring" not in cohorts
    client.force_login(cast.issuer_staff)
    cohorts = client.get(url("cohorts", cast.issuer)).content.decode()
    assert "Hill Spring" in cohorts and "River Spring" in cohorts
    assert (
        url("generate", cast.issuer, ceremony.pk)
        in client.get(url("dashboard", cast.issuer)).content.decode()
    )


def test_dashboard_row_has_a_details_panel_and_a_menu_with_the_actions(client, cast, committed):
    ceremony = _scheduled(client, cast, committed)
    page = client.get(url("dashboard", cast.river)).content.decode()
    assert f'aria-label="Actions for {ceremony.name}"' in page
    assert page.count(url("generate", cast.river, ceremony.pk)) == 2  # panel and menu
    assert page.count(url("cancel", cast.river, ceremony.pk)) == 2


def test_list_pages_do_not_grow_queries_with_rows(
    client, cast, committed, django_assert_max_num_queries
):
    ceremony = _scheduled(client, cast, committed)
    more = [
        make_cohort(cast.p_river, f"Extra {n}", end=cast.river_cohort.end_date) for n in range(8)
    ]
    for n, cohort in enumerate(more):
        feed(
            cast.issuer,
            cohort,
            [(f"p{n}-{i}@river.edu", 100, date.today(), True) for i in range(5)],
        )
    ceremony.cohorts.add(*more)
    for _ in range(5):
        step_one(client, cast, action="draft")
    with django_assert_max_num_queries(12):
        page = client.get(url("generate", cast.river, ceremony.pk))
    assert "Completers (42)" in page.content.decode()
    with django_assert_max_num_queries(12):
        assert client.get(url("dashboard", cast.river)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("cohorts", cast.river)).status_code == 200
