from laurel.credits.models import Credit
from laurel.imports import services
from laurel.imports.models import ImportJob

from .conftest import upload

CSV = """Course ID,Email,Date Completed
NNA-26-00001,ann@example.org,03/01/2025
NNA-26-00001,bob@example.org,03/02/2025
NNA-26-00009,bob@example.org,03/02/2025
NNA-26-00001,not-an-email,03/02/2025
NNA-26-00001,bob@example.org,03/02/2025
"""


def test_smoke(org, admin, courses, holder, committed):
    with committed():
        job, earlier = upload(org, CSV, user=admin)
    job.refresh_from_db()
    assert job.status == "validated", job.error
    with committed():
        services.import_commit_start(actor=services.Actor(user=admin), job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED
    assert Credit.objects.count() == 2
