"""The audit trail, a program's enrollee list and a person's program transcript go through
the same export: small streams, over the threshold a background file with every row."""

import csv
import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import Role
from laurel.audit.services import Actor, audit_record
from laurel.exports.models import ExportJob
from laurel.programs.services import enrollments_create
from laurel.programs.tests.helpers import STAFF, make_program
from tests.factories import make_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def job_file_rows(response, org) -> list[list[str]]:
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[org.slug, job.pk])
    assert job.status == "done"
    with default_storage.open(job.file) as fh:
        return rows_of(fh.read().decode())


def test_audit_export_big_becomes_a_job_with_every_filtered_row(org, settings, committed):
    admin = make_member(org, Role.ADMIN, "admin@northwind.test")
    other = make_org("lakeside")
    for n in range(4):
        audit_record(actor=Actor.system("t"), action="credit.entered", obj=org,
                     organization=org, after={"name": f"=cmd{n}"})  # fmt: skip
    audit_record(actor=Actor.system("t"), action="credit.revoked", obj=org, organization=org)
    audit_record(actor=Actor.system("t"), action="credit.entered", obj=other, organization=other)
    url = reverse("audit:export", args=[org.slug])
    client = client_for(admin)
    small = client.get(url, {"action": "credit.entered"})
    streamed = rows_of(b"".join(small.streaming_content).decode())
    assert small["X-Export-Rows"] == "4" and len(streamed) == 5
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 2
    with committed():
        response = client.get(url, {"action": "credit.entered"})
    rows = job_file_rows(response, org)
    assert rows[0][:4] == ["at", "actor", "actor_email", "action"]
    assert [r[3] for r in rows[1:]] == ["credit.entered"] * 4  # the other org's is not there
    assert rows == streamed
    # Formula-safe: a JSON cell never starts a formula, a cell that would is neutralised.
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    # Only admins: a staff member gets no audit file.
    staff = make_member(org, Role.STAFF, "staff@northwind.test")
    assert client_for(staff).get(url).status_code in (403, 404)


def test_enrollee_list_big_becomes_a_job_with_every_row(org, settings, committed):
    manager = make_member(org, Role.STAFF, "staff@northwind.test")
    program = make_program(org, code="RN")
    people = [(f"p{n}@example.com", "=Evil" if n == 0 else f"P {n}") for n in range(5)]
    enrollments_create(actor=STAFF, program=program, people=people)
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 2
    with committed():
        response = client_for(manager).get(reverse("programs:export", args=[org.slug, program.pk]))
    rows = job_file_rows(response, org)
    assert rows[0][:3] == ["email", "name", "status"]
    assert [r[0] for r in rows[1:]] == [p[0] for p in people]
    assert rows[1][1] == "'=Evil"


def test_transcript_big_becomes_a_job_with_every_program(org, settings, committed):
    manager = make_member(org, Role.STAFF, "staff@northwind.test")
    for code in ("A", "B", "C"):
        program = make_program(org, code=code, name=f"Program {code}")
        enrollments_create(actor=STAFF, program=program, people=[("nurse@example.com", "")])
    settings.LAUREL_EXPORT_STREAM_MAX_ROWS = 2
    with committed():
        response = client_for(manager).get(
            reverse("programs:transcript", args=[org.slug]),
            {"email": "nurse@example.com", "format": "csv"},
        )
    rows = list(csv.DictReader(io.StringIO("\r\n".join(
        ",".join(f'"{c}"' for c in r) for r in job_file_rows(response, org)))))  # fmt: skip
    assert sorted(r["program"] for r in rows) == ["Program A", "Program B", "Program C"]
