"""The platform admin's Operations page: the doctor's checks, failed jobs with "retry", the
outbox backlog. Nobody but a superuser sees it."""

from __future__ import annotations

import pytest

from laurel.audit.models import AuditEvent
from laurel.certificates.models import CertificateJob
from laurel.notifications.models import OutboxMessage
from laurel.operations.services import worker_beat
from tests.factories import make_org, make_user

pytestmark = pytest.mark.django_db
URL = "/platform/operations/"


@pytest.fixture
def superuser():
    return make_user("root@laurel.test", is_superuser=True, is_staff=True)


@pytest.fixture
def failed_file(superuser):
    org = make_org("opsorg")
    return CertificateJob.objects.create(
        organization=org,
        requested_by=superuser,
        kind="zip",
        status=CertificateJob.Status.FAILED,
        total=0,
        resumes=5,
        error="Stopped: its worker stopped 6 times",
    )


def test_only_a_superuser_sees_the_operations_page(client, failed_file):
    assert client.get(URL).status_code == 302  # to the login page
    client.force_login(make_user())
    assert client.get(URL).status_code == 404
    retry = f"/platform/operations/jobs/certificate_file/{failed_file.pk}/retry/"
    assert client.post(retry).status_code == 404
    failed_file.refresh_from_db()
    assert failed_file.status == CertificateJob.Status.FAILED


def test_the_page_shows_the_checks_the_outbox_backlog_and_failed_jobs(
    client, superuser, failed_file
):
    worker_beat()
    OutboxMessage.objects.create(kind="t", to_email="a@example.org", subject="s", body_text="b")
    client.force_login(superuser)
    page = client.get(URL).content.decode()
    for check in ("database", "migrations", "storage", "smtp", "workers", "outbox", "disk"):
        assert f"<td>{check}</td>" in page
    assert "queued: <strong>1</strong>" in page
    assert "The zip of pdfs of 0 certificates" in page
    assert "Stopped: its worker stopped 6 times" in page
    assert f"/jobs/certificate_file/{failed_file.pk}/retry/" in page


def test_retry_gives_a_failed_job_fresh_attempts_and_runs_it(
    client, superuser, failed_file, committed
):
    client.force_login(superuser)
    with committed():
        response = client.post(
            f"/platform/operations/jobs/certificate_file/{failed_file.pk}/retry/"
        )
    assert response.status_code == 302
    failed_file.refresh_from_db()
    assert failed_file.status == CertificateJob.Status.DONE  # the worker (tasks run at once)
    assert failed_file.resumes == 0 and failed_file.error == ""
    assert AuditEvent.objects.filter(
        action="certificate_job.retried", actor=superuser, object_id=str(failed_file.pk)
    ).exists()
    # A second click finds nothing failed to retry.
    page = client.post(
        f"/platform/operations/jobs/certificate_file/{failed_file.pk}/retry/", follow=True
    )
    assert "not failed any more" in page.content.decode()
