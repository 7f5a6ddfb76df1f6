"""One export mechanism: small exports stream, big ones become a background file e-mailed as
a link, and a stream that cannot finish never ends looking complete."""

import csv
import dataclasses
import io
from datetime import date

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.exports.kinds import KINDS
from laurel.exports.models import ExportJob
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_course, make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def staff(org):
    return make_member(org, Role.STAFF, "staff@northwind.test")


@pytest.fixture
def credits(org):
    course = make_course(org, components={"CE": "3"}, title="Wound care basics")
    names = ["Ann", "=HYPERLINK(evil)", "Bo", "Cy", "Di"]
    return [
        enter_credit(org, course, f"p{n}@example.com", completion_date=date(2025, 3, n + 1),
                     name=name)
        for n, name in enumerate(names)
    ]  # fmt: skip


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def export_url(org):
    return reverse("credits:org_ledger_export", args=[org.slug])


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_a_small_export_streams_every_row_formula_safe(org, staff, credits):
    response = client_for(staff).get(export_url(org))
    assert response["X-Export-Rows"] == "5"
    rows = rows_of(streamed(response))
    assert rows[0][:2] == ["Credit", "Recipient e-mail"]
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(c.pk for c in credits)
    assert "'=HYPERLINK(evil)" in [r[2] for r in rows]  # a spreadsheet will not evaluate it
    assert not ExportJob.objects.exists()


def test_an_export_over_the_threshold_becomes_a_job_whose_file_has_every_row(
    org, staff, credits, settings, committed
):
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 10
    client = client_for(staff)
    small = rows_of(streamed(client.get(export_url(org), {"status": "held"})))
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 2
    with committed():
        response = client.get(export_url(org), {"status": "held"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[org.slug, job.pk])
    assert (job.status, job.requested_by, job.params) == ("done", staff, {"status": "held"})
    page = client.get(response["Location"]).content.decode()
    assert "Ready" in page and "5 of 5 rows written" in page
    download = client.get(reverse("exports:download", args=[org.slug, job.pk]))
    text = b"".join(download.streaming_content).decode()
    # The same file a stream would have given: the header and all five rows.
    assert rows_of(text) == small and len(small) == 6
    mail = OutboxMessage.objects.get(to_email=staff.email, kind="export_file_ready")
    assert reverse("exports:download", args=[org.slug, job.pk]) in mail.body_text


def test_only_the_last_file_is_kept(org, staff, credits, settings, committed):
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 1
    client = client_for(staff)
    with committed():
        client.get(export_url(org))
    first = ExportJob.objects.get()
    with committed():
        client.get(export_url(org))
    first.refresh_from_db()
    assert first.status == "superseded" and not first.file
    latest = ExportJob.objects.exclude(pk=first.pk).get()
    assert latest.status == "done" and default_storage.exists(latest.file)
    old = client.get(reverse("exports:download", args=[org.slug, first.pk]))
    assert old.status_code == 302  # to its page, which says it was replaced


def broken_after(n):
    real = KINDS["ledger"].rows

    def rows(organization, params):
        for i, row in enumerate(real(organization, params)):
            if i == n:
                raise RuntimeError("database went away")
            yield row

    return rows


def test_a_stream_that_fails_midway_ends_with_an_incomplete_line_and_becomes_a_job(
    org, staff, credits, monkeypatch
):
    broken = dataclasses.replace(KINDS["ledger"], rows=broken_after(2))
    monkeypatch.setitem(KINDS, "ledger", broken)
    response = client_for(staff).get(export_url(org))
    rows = rows_of(streamed(response))
    assert len(rows) == 1 + 2 + 1
    assert rows[-1][0].startswith("# INCOMPLETE EXPORT: stopped after 2 rows")
    job = ExportJob.objects.get()
    assert reverse("exports:job", args=[org.slug, job.pk]) in rows[-1][0]


def test_a_stream_past_its_time_budget_stops_with_an_incomplete_line(org, staff, credits, settings):
    settings.LAUREL_EXPORT_STREAM_SECONDS = -1  # already over: before the server's timeout
    rows = rows_of(streamed(client_for(staff).get(export_url(org))))
    assert rows[-1][0].startswith("# INCOMPLETE EXPORT: stopped after 0 rows because it took")
    assert ExportJob.objects.filter(kind="ledger", status="queued").count() == 1


def test_another_organizations_member_cannot_see_the_file(org, staff, credits, settings, committed):
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 1
    with committed():
        client_for(staff).get(export_url(org))
    job = ExportJob.objects.get()
    other = make_org("southwind")
    outsider = make_member(other, Role.ADMIN, "admin@southwind.test")
    client = client_for(outsider)
    for name in ("exports:job", "exports:download"):
        assert client.get(reverse(name, args=[org.slug, job.pk])).status_code == 404
        assert client.get(reverse(name, args=[other.slug, job.pk])).status_code == 404


def test_a_big_certificate_selection_becomes_a_job_with_every_ticked_row(org, settings, committed):
    from laurel.audit.services import Actor
    from laurel.certificates.services import certificate_issue

    manager = make_member(org, Role.CERT_MANAGER, "certs@northwind.test")
    certs = [
        certificate_issue(
            actor=Actor.system("t"), organization=org, recipient_name=f"=Name {n}",
            recipient_email=f"r{n}@example.com", title="CPR", completion_date=date(2025, 3, 1),
            notify=False,
        )
        for n in range(3)
    ]  # fmt: skip
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 1
    with committed():
        response = client_for(manager).post(
            reverse("certificates:bulk", args=[org.slug]),
            {"action": "csv", "ids": [certs[0].pk, certs[2].pk]},
        )
    job = ExportJob.objects.get(kind="certificates")
    assert response["Location"] == reverse("exports:job", args=[org.slug, job.pk])
    with default_storage.open(job.file) as fh:
        rows = rows_of(fh.read().decode())
    assert [r[0] for r in rows[1:]] == [certs[0].serial_number, certs[2].serial_number]
    assert rows[1][1] == "valid" and rows[1][2] == "'=Name 0"
    # A staff member (not a certification manager) cannot open that file.
    assert (
        client_for(make_member(org, Role.STAFF, "s2@northwind.test"))
        .get(reverse("exports:download", args=[org.slug, job.pk]))
        .status_code
        == 404
    )


@pytest.mark.skipif(
    "postgres" not in __import__("os").environ.get("DATABASE_URL", ""),
    reason="COPY … TO STDOUT is PostgreSQL's",
)
def test_postgresql_copy_writes_the_same_cells_as_the_python_rows(org, staff, credits):
    from laurel.audit.services import Actor
    from laurel.catalog.models import CreditType
    from laurel.credits import services
    from laurel.credits.models import Credit, CreditComponent
    from laurel.credits.selectors import LEDGER_HEADER, ledger_copy_sql, ledger_rows
    from laurel.exports.services import copy_rows, write_rows
    from laurel.notifications.models import Suppression

    # The cells that need care: two components (order, trailing zeros), a revoked credit's
    # reason starting with "-", a bounced address with and without a status text.
    eth = CreditType.objects.create(organization=org, code="ETH", name="Ethics")
    CreditComponent.objects.create(
        credit=credits[0], credit_type=eth, amount_offered="10.00", amount_earned="0.50"
    )
    services.credit_revoke(actor=Actor(user=staff), credit=credits[1], reason="-wrong person")
    Suppression.objects.create(email=credits[2].recipient_email, reason="hard_bounce",
                               status_text="5.1.1 unknown")  # fmt: skip
    Suppression.objects.create(email=credits[3].recipient_email, reason="soft_bounces")
    ledger = Credit.objects.for_org(org)
    python_out, copy_out = io.StringIO(), io.BytesIO()
    write_rows(ledger_rows(ledger), LEDGER_HEADER, python_out)
    sql, params = ledger_copy_sql(ledger)
    assert copy_rows(sql, params, LEDGER_HEADER, copy_out) == 5
    assert copy_out.getvalue().decode() == python_out.getvalue()
    assert "'-wrong person" in python_out.getvalue()


@pytest.mark.skipif(
    "postgres" not in __import__("os").environ.get("DATABASE_URL", ""),
    reason="COPY … TO STDOUT is PostgreSQL's",
)
def test_postgresql_copy_keeps_line_breaks_inside_cells_and_counts_rows(
    org, staff, credits, tmp_path
):
    """What the job writes on PostgreSQL (``export_file`` → COPY): a name and a reason with
    line breaks and carriage returns inside come back unchanged through csv.reader, the file
    is byte for byte the Python writer's, and the count is the ledger's."""
    from datetime import UTC, datetime

    from django.db import connection

    from laurel.audit.services import Actor
    from laurel.credits import services
    from laurel.credits.models import Credit
    from laurel.credits.selectors import LEDGER_HEADER, ledger_rows
    from laurel.exports.services import export_file, write_rows

    name = "Ann\nMarie\r\nO'Neil\rJr"
    reason = 'wrong person:\r\n"see the note"\nfrom the\rregistrar'
    Credit.objects.filter(pk=credits[0].pk).update(recipient_name=name)
    services.credit_revoke(actor=Actor(user=staff), credit=credits[1], reason=reason)
    # A time with seconds (the file has minutes) and the session in another zone: the file
    # is in UTC whatever the connection's zone.
    Credit.objects.filter(pk=credits[2].pk).update(
        answered_at=datetime(2025, 3, 4, 23, 59, 59, tzinfo=UTC)
    )
    python_out = io.StringIO(newline="")
    write_rows(ledger_rows(Credit.objects.for_org(org)), LEDGER_HEADER, python_out)
    with connection.cursor() as cursor:  # (Django itself expects UTC: only for the COPY)
        cursor.execute("SET LOCAL TimeZone = 'America/New_York'")
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]

    path = tmp_path / "ledger.csv"
    written = export_file(KINDS["ledger"], org, {}, path)

    assert written == Credit.objects.for_org(org).count() == 5
    assert path.read_bytes() == python_out.getvalue().encode()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + written
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(credits[0].pk)][2] == name
    assert by_id[str(credits[1].pk)][12] == reason
    assert by_id[str(credits[2].pk)][11] == "2025-03-04 23:59"
    with connection.cursor() as cursor:  # the export's settings end with it
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == work_mem
        cursor.execute("SHOW TimeZone")
        assert cursor.fetchone()[0] == "America/New_York"
