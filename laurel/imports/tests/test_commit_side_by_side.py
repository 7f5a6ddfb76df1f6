"""PostgreSQL commits an import's ranges on several connections at once: the result is the
same as one range after another (every credit once, each new e-mail invited once, one
digest per recipient, counts that add up). Real committed data, as other connections see."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from laurel.accounts.models import Connection
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.credits.models import Credit, CreditComponent
from laurel.imports import services
from laurel.imports.models import ImportJob, ImportRow
from laurel.notifications.models import OutboxMessage
from tests.factories import make_course, make_org, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEAD = "course_id,email,completion_date\n"


def test_ranges_on_two_connections_give_each_credit_once(settings):
    settings.LAUREL_IMPORT_CONNECTIONS = 2
    org = make_org("northwind", name="Northwind", course_id_prefix="NNA", date_format="US")
    one = make_course(org, components={"CE": "2"}, active_from=date(2024, 1, 1))
    two = make_course(org, components={"CE": "1", "ETH": "1"}, active_from=date(2024, 1, 1))
    make_user("p0@example.org")  # has an account: offered; the rest are held
    # 40 rows over 10 people, each person in several ranges of 3 rows.
    lines = [
        f"{(one if n % 2 else two).course_id},p{n % 10}@example.org,2025-03-{1 + n // 2:02d}"
        for n in range(40)
    ]
    job, _ = services.import_create(
        actor=Actor.system("test"),
        organization=org,
        kind="credits",
        upload=SimpleUploadedFile("credits.csv", (HEAD + "\n".join(lines) + "\n").encode()),
        file_name="credits.csv",
        start=False,
    )
    switch_interval = sys.getswitchinterval()
    services.import_validate(job_id=job.pk)  # preview rows written by a second thread
    assert sys.getswitchinterval() == switch_interval  # the writer's setting is undone
    job.refresh_from_db()
    assert job.count("invite") + job.count("deliverable") == 40
    services.import_commit_start(actor=Actor.system("test"), job=job, enqueue=False)
    services.import_commit_run(job_id=job.pk, chunk_size=3)

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportJob.Status.COMMITTED
    assert job.rows_done == 40
    assert Credit.objects.filter(organization=org).count() == 40
    assert not (
        Credit.objects.values("course", "recipient_email", "completion_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert job.count("offered") == 4 and job.count("held") == 36
    # Two components for course two's credits, one for course one's.
    assert CreditComponent.objects.filter(credit__organization=org).count() == 20 * 2 + 20
    assert Connection.objects.filter(organization=org).count() == 10
    assert job.count("invited") == 10
    assert AuditEvent.objects.filter(action="credit.entered").count() == 40
    assert AuditEvent.objects.filter(action="connection.invited").count() == 10
    assert set(ImportRow.objects.filter(job=job).values_list("outcome", flat=True)) == {
        "offered",
        "held",
    }
    digests = OutboxMessage.objects.filter(dedupe_key__startswith=f"import:{job.pk}:")
    assert digests.count() == 10
    assert digests.get(to_email="p3@example.org").subject == "4 new credits from Northwind"
