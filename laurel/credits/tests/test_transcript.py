"""The holder's transcript: CSV (formula-safe) and a printable page."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from laurel.credits import services
from laurel.credits.models import Credit
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def holder():
    return make_user("nurse@example.com", full_name="Nora Nurse")


@pytest.fixture
def client(holder):
    client = Client()
    client.force_login(holder)
    return client


def file_credit(org, holder, dashboard, *, title="Wound care", components=None, day=1):
    course = make_course(org, components=components or {"CE": "3"}, title=title)
    credit = enter_credit(org, course, holder.email, completion_date=date(2025, 3, day))
    return services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def test_transcript_csv_lists_every_filed_credit_with_the_agreed_columns(org, holder, client):
    license_ = services.dashboard_create(holder=holder, name="Ohio RN")
    cpr = services.dashboard_create(holder=holder, name="CPR")
    credit = file_credit(org, holder, license_, components={"CE": "3", "ETH": "1"})
    file_credit(org, holder, cpr, title="Basic life support", day=2)
    pending = enter_credit(org, make_course(org, title="Not answered"), holder.email)
    assert pending.status == Credit.Status.OFFERED

    response = client.get(reverse("credits:transcript_csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header == [
        "Organization",
        "Course ID",
        "Title",
        "Completion date",
        "Credit type",
        "Amount earned",
        "Unit",
        "Status",
        "Dashboard",
    ]
    assert [
        "Northwind Nursing Association",
        credit.course.course_id,
        "Wound care",
        "2025-03-01",
        "ETH",
        "1",
        "hours",
        "Accepted",
        "Ohio RN",
    ] in rows
    assert sorted(r[8] for r in rows) == ["CPR", "Ohio RN", "Ohio RN"]
    assert not any("Not answered" in r for r in rows)


def test_transcript_csv_for_one_dashboard_has_only_its_credits(org, holder, client):
    a = services.dashboard_create(holder=holder, name="A")
    b = services.dashboard_create(holder=holder, name="B")
    file_credit(org, holder, a, title="In A")
    file_credit(org, holder, b, title="In B", day=2)
    response = client.get(reverse("credits:transcript_csv") + f"?dashboard={b.pk}")
    _, *rows = read_csv(response)
    assert [r[2] for r in rows] == ["In B"]
    assert 'filename="transcript-b-' in response["Content-Disposition"]


@pytest.mark.parametrize(
    "title",
    ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1:A2)"],
)
def test_transcript_csv_neutralises_cells_a_spreadsheet_would_evaluate(org, holder, client, title):
    dashboard = services.dashboard_create(holder=holder, name="=cmd|' /C calc'!A0")
    file_credit(org, holder, dashboard, title=title)
    _, row = read_csv(client.get(reverse("credits:transcript_csv")))
    assert row[2] == "'" + title
    assert row[8] == "'=cmd|' /C calc'!A0"


def test_printable_transcript_groups_by_dashboard_with_totals(org, holder, client):
    a = services.dashboard_create(holder=holder, name="Ohio RN")
    file_credit(org, holder, a, components={"CE": "3", "ETH": "1"})
    file_credit(org, holder, a, title="More care", components={"CE": "2"}, day=2)
    revoked = file_credit(org, holder, a, title="Taken back", components={"CE": "5"}, day=3)
    from laurel.audit.services import Actor

    services.credit_revoke(actor=Actor.system("test"), credit=revoked, reason="Entered in error")
    html = client.get(reverse("credits:transcript")).content.decode()
    assert "<h1>Transcript</h1>" in html
    assert "Nora Nurse" in html and "nurse@example.com" in html
    assert "Generated" in html and "UTC" in html
    assert "<h2" in html and "Ohio RN" in html
    footer = html.split("<tfoot>")[1].split("</tfoot>")[0]
    # 3 + 2 CE and 1 ETH; the revoked 5 CE is listed but not counted.
    assert "5 CE (hours)" in footer and "1 ETH (hours)" in footer
    assert "Taken back" in html and "Revoked" in html
    assert 'class="actions no-print"' in html  # the print button bar is hidden on paper


def test_transcript_of_someone_else_is_404_and_bad_scope_is_404(org, holder, client):
    other = make_user("other@example.com")
    theirs = services.dashboard_create(holder=other, name="Theirs")
    assert client.get(reverse("credits:transcript") + f"?dashboard={theirs.pk}").status_code == 404
    assert client.get(reverse("credits:transcript") + "?dashboard=abc").status_code == 404
