"""The attendees import: rosters and Zoom/Teams reports set attendance through the service."""

from __future__ import annotations

import codecs
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.certificates.models import Certificate
from laurel.credits.models import Credit
from laurel.events.models import Attendance, Registration
from laurel.events.tests.helpers import make_event, register
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow

S = Registration.Status
C = ImportRow.Category
REPORTS = Path(__file__).parents[2] / "lib" / "tests" / "fixtures" / "meeting_reports"


@pytest.fixture
def event(org):
    return make_event(
        org, title="Fair Housing", tracks={"COEC 3.0": {"COEC": "3"}, "COEN 3.0": {"COEN": "3"}}
    )


def run_import(committed, org, event, content, *, name="roster.csv", commit=True, **options):
    """Upload, validate and (with ``commit``) commit as the background tasks would."""
    if isinstance(content, str):
        content = content.encode()
    extra = {k: options.pop(k) for k in ("status",) if k in options}
    with committed():
        job, _ = services.import_create(
            actor=Actor.system("test"),
            organization=org,
            kind="attendees",
            upload=SimpleUploadedFile(name, content),
            file_name=name,
            options={"event": event.pk, **extra},
            **options,
        )
    job.refresh_from_db()
    if commit and job.can_commit():
        with committed():
            services.import_commit_start(actor=Actor.system("test"), job=job)
        job.refresh_from_db()
    return job


def rows(job):
    return {r.number: r for r in ImportRow.objects.filter(job=job)}


def live_credits(email):
    return Credit.objects.filter(recipient_email=email, source=Credit.Source.ATTENDANCE).exclude(
        status__in=[Credit.Status.REVOKED, Credit.Status.VOIDED]
    )


def test_a_roster_row_imported_as_attended_awards_exactly_what_marking_does(org, event, committed):
    roster = (
        "Email,Name,Status,Track\n"
        "ann@example.com,Ann Agent,Attended,COEC 3.0\n"
        "bob@example.com,Bob Broker,Registered,COEN 3.0\n"
    )

    job = run_import(committed, org, event, roster)

    assert job.status == ImportJob.Status.COMMITTED, job.error
    ann = Registration.objects.get(event=event, email="ann@example.com")
    bob = Registration.objects.get(event=event, email="bob@example.com")
    assert (ann.status, ann.track.name, bob.status) == (S.ATTENDED, "COEC 3.0", S.REGISTERED)
    [credit] = live_credits("ann@example.com")
    assert [(c.credit_type.code, c.amount_earned) for c in credit.components.all()] == [
        ("COEC", Decimal("3.00"))
    ]
    assert Certificate.objects.filter(recipient_email="ann@example.com").count() == 1
    assert Attendance.objects.filter(registration=ann, revoked_at__isnull=True).count() == 1
    assert not live_credits("bob@example.com").exists()
    assert [m.to for m in mail.outbox if "Fair Housing" in m.subject] == [["ann@example.com"]]
    assert (job.count("registered"), job.count("marked")) == (2, 1)


def test_one_status_for_the_whole_file_and_no_status_at_all(org, event, committed):
    register(event, "ann@example.com", "bob@example.com", track="COEC 3.0")
    roster = "Email\nann@example.com\nbob@example.com\n"

    refused = run_import(committed, org, event, roster, commit=False)
    assert refused.status == ImportJob.Status.FAILED
    assert "no Status column" in refused.error

    job = run_import(committed, org, event, roster + "\n", status="No-show")
    assert set(Registration.objects.filter(event=event).values_list("status", flat=True)) == {
        S.NO_SHOW
    }
    assert job.count("marked") == 2


def test_rows_that_cannot_count_say_why_and_nothing_is_awarded_twice(org, event, committed):
    other = make_event(org, title="Ethics Day", tracks={"ETH 2.0": {"ETH": "2"}})
    register(event, "done@example.com", track="COEC 3.0")
    run_import(committed, org, event, "Email,Status\ndone@example.com,Attended\n")
    roster = (
        "Email,Status,Track\n"
        "done@example.com,Attended,COEC 3.0\n"  # 2: already attended
        "new@example.com,Attended,ETH 2.0\n"  # 3: another event's track
        "who@example.com,Attended,\n"  # 4: new person, no track on a tracked event
        "x@example.com,Maybe,COEC 3.0\n"  # 5: unknown status
        "new@example.com,Attended,COEC 3.0\n"  # 6: fine
        "new@example.com,Attended,COEC 3.0\n"  # 7: repeated
    )

    job = run_import(committed, org, event, roster, commit=False)

    got = rows(job)
    assert got[2].category == C.DUPLICATE_EXISTING and "Already Attended" in got[2].reason
    assert got[3].category == C.INVALID
    assert f"track of another event ({other.title})" in got[3].reason
    assert got[4].category == C.INVALID and "give their track" in got[4].reason
    assert got[5].category == C.INVALID and "not a status" in got[5].reason
    assert got[6].category == C.INVITE
    assert got[7].category == C.DUPLICATE_IN_FILE and "row 6" in got[7].reason
    assert live_credits("done@example.com").count() == 1


def test_a_zoom_report_marks_those_above_the_minimum_and_explains_the_rest(org, committed):
    event = make_event(org, title="Ethics online", components={"ETH": "3"}, minimum_minutes=60)
    register(event, "maria.schmidt@example.com", "aoife@example.ie", "jose.nunez@example.com")

    job = run_import(
        committed, org, event, (REPORTS / "zoom_with_meeting_data.csv").read_bytes(),
        name="participants_85218486288.csv",
    )  # fmt: skip

    statuses = dict(Registration.objects.filter(event=event).values_list("email", "status"))
    assert statuses == {
        "maria.schmidt@example.com": S.ATTENDED,
        "jose.nunez@example.com": S.ATTENDED,
        "aoife@example.ie": S.REGISTERED,  # 35 minutes of the 60 required
    }
    reasons = {r.email or r.name: r.reason for r in rows(job).values() if r.category == C.INVALID}
    assert "requires at least 60" in reasons["aoife@example.ie"]
    assert "has no registration" in reasons["education@northern-realtors.example"]
    assert "no email address" in reasons["Dial-in 555 0100"]
    maria = Registration.objects.get(event=event, email="maria.schmidt@example.com")
    assert maria.attendances.get().minutes == 179


def test_partial_credit_follows_minutes_and_never_exceeds_the_component(org, committed):
    # A 3-hour event: Aoife's 35 minutes earn 35/180 of 3.0; Maria's 179.5 stay under 3.0.
    event = make_event(org, components={"ETH": "3"}, partial_credit=True)
    register(event, "maria.schmidt@example.com", "aoife@example.ie")

    run_import(committed, org, event, (REPORTS / "teams_2021.csv").read_bytes())

    earned = {
        c.recipient_email: c.components.get().amount_earned
        for c in Credit.objects.filter(source=Credit.Source.ATTENDANCE)
    }
    assert earned == {
        "aoife@example.ie": Decimal("0.58"),
        "maria.schmidt@example.com": Decimal("2.99"),
    }
    assert all(a <= Decimal("3") for a in earned.values())


def test_a_teams_utf16_report_is_read_through_the_same_kind(org, committed):
    event = make_event(org, components={"ETH": "3"})
    register(event, "maria.schmidt@example.com", "jose.nunez@example.com")

    job = run_import(committed, org, event, (REPORTS / "teams_2022.csv").read_bytes())

    assert job.status == ImportJob.Status.COMMITTED, job.error
    assert set(Registration.objects.filter(event=event).values_list("status", flat=True)) == {
        S.ATTENDED
    }


def test_undo_reverses_the_attendance_through_the_service(org, event, committed):
    register(event, "bob@example.com", track="COEN 3.0")
    roster = "Email,Status,Track\nann@example.com,Attended,COEC 3.0\nbob@example.com,Attended,\n"
    job = run_import(committed, org, event, roster)
    assert live_credits("ann@example.com").count() == live_credits("bob@example.com").count() == 1

    with committed():
        services.import_undo(actor=Actor.system("test"), job=job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE
    statuses = dict(Registration.objects.filter(event=event).values_list("email", "status"))
    assert statuses == {"ann@example.com": S.CANCELLED, "bob@example.com": S.REGISTERED}
    assert not live_credits("ann@example.com").exists()
    revoked = Credit.objects.get(recipient_email="bob@example.com")
    assert revoked.status == Credit.Status.REVOKED
    assert Certificate.objects.filter(status=Certificate.Status.VALID).count() == 0


def test_an_event_of_another_organization_is_refused(org, outsider, committed):
    from laurel.accounts.models import Organization

    elsewhere = make_event(Organization.objects.get(slug="southwind"), components={"CE": "1"})

    with pytest.raises(ServiceError, match="Choose the event"):
        services.import_create(
            actor=Actor.system("test"),
            organization=org,
            kind="attendees",
            upload=SimpleUploadedFile("r.csv", b"Email,Status\na@example.com,Attended\n"),
            file_name="r.csv",
            options={"event": elsewhere.pk},
        )


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_cli_imports_attendees_with_the_credits_json_keys(org, event, tmp_path):
    path = tmp_path / "roster.tsv"
    text = "Email\tStatus\tTrack\nann@example.com\tAttended\tCOEC 3.0\nx@example.com\tSoon\t\n"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))

    code, out, err = cli(
        "attendees", str(path), "--org", org.slug, "--event", str(event.pk), "--yes", "--json"
    )

    assert code == 1, err  # one row rejected
    summary = json.loads(out)
    assert summary["invalid"] == 1 and summary["marked"] == 1 and summary["committed"] is True
    for key in ("rows", "deliverable", "invite", "offered", "held", "excluded", "import_id"):
        assert key in summary
    assert Registration.objects.get(email="ann@example.com").status == S.ATTENDED

    code, out, _ = cli("attendees", str(path), "--org", org.slug, "--event", "999999", "--json")
    assert code == 2 and "Choose the event" in json.loads(out)["error"]


def test_a_session_cell_marks_that_session_and_its_undo_takes_only_that_session(org, committed):
    conf = make_event(
        org, title="Conference", sessions=[("Ethics", {"COEC": "1.5"}), ("Law", {"LAW": "1"})]
    )
    ethics, law = conf.sessions.order_by("starts_at")
    [dee] = register(conf, "dee@example.com")
    roster = (
        "Email,Status,Session\n"
        "dee@example.com,Attended,ethics\n"  # 2: one session, as written in any case
        "new@example.com,Attended,Law\n"  # 3: registered, then Attended at Law only
        "dee@example.com,No-show,Law\n"  # 4: a session takes Attended only
        "dee@example.com,Attended,Keynote\n"  # 5: no such session
        "dee@example.com,Attended,Ethics\n"  # 6: same person and session as row 2
    )
    preview = run_import(committed, org, conf, roster, commit=False)
    got = rows(preview)
    assert got[2].category == C.DELIVERABLE and got[2].reason == "Attended at Ethics."
    assert got[3].category == C.INVITE and "Attended at Law" in got[3].reason
    assert got[4].category == C.INVALID and "set the status to Attended" in got[4].reason
    assert got[5].category == C.INVALID and "Its sessions: Ethics, Law" in got[5].reason
    assert got[6].category == C.DUPLICATE_IN_FILE and "row 2" in got[6].reason

    job = run_import(committed, org, conf, roster.replace("Session\n", "Session,Note\n"))
    assert job.status == ImportJob.Status.COMMITTED, job.error
    live = Attendance.objects.filter(revoked_at__isnull=True)
    assert sorted(live.values_list("registration__email", "session__title")) == [
        ("dee@example.com", "Ethics"), ("new@example.com", "Law"),
    ]  # fmt: skip
    assert sorted(live_credits("dee@example.com").values_list("activity_key", flat=True)) == [
        f"session:{ethics.pk}"
    ]
    assert Registration.objects.get(email="new@example.com").status == S.ATTENDED

    # A second file naming the same session changes nothing.
    again = run_import(
        committed,
        org,
        conf,
        "Email,Status,Session\ndee@example.com,Attended,Ethics\n",
        commit=False,
    )
    assert rows(again)[2].category == C.DUPLICATE_EXISTING

    # A later roster marks Law for Dee, already Attended: undoing it takes Law only.
    later = run_import(committed, org, conf, "Email,Session,Status\ndee@example.com,Law,Attended\n")
    assert live_credits("dee@example.com").count() == 2
    with committed():
        services.import_undo(actor=Actor.system("test"), job=later)
    dee.refresh_from_db()
    assert dee.status == S.ATTENDED
    assert list(live_credits("dee@example.com").values_list("activity_key", flat=True)) == [
        f"session:{ethics.pk}"
    ]
    # Undoing the first import puts Dee back to Registered and cancels the newcomer.
    with committed():
        services.import_undo(actor=Actor.system("test"), job=job)
    statuses = dict(Registration.objects.filter(event=conf).values_list("email", "status"))
    assert statuses == {"dee@example.com": S.REGISTERED, "new@example.com": S.CANCELLED}
    assert not Attendance.objects.filter(revoked_at__isnull=True).exists()
