"""A standing cast for import tests: Northwind's admin, its courses, two holders, an outsider."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.imports import services
from tests.factories import make_course, make_member, make_org, make_user

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def org(db):
    return make_org("northwind", name="Northwind", course_id_prefix="NNA", date_format="US")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


@pytest.fixture
def courses(org):
    """Two courses with fixed IDs: NNA-26-00001 (2 CE) and NNA-26-00002 (1 CE + 1 ETH)."""
    one = make_course(org, components={"CE": "2"}, active_from=date(2024, 1, 1))
    two = make_course(org, components={"CE": "1", "ETH": "1"}, active_from=date(2024, 1, 1))
    one.course_id, two.course_id = "NNA-26-00001", "NNA-26-00002"
    one.save(update_fields=["course_id"])
    two.save(update_fields=["course_id"])
    return one, two


@pytest.fixture
def holder(db):
    return make_user("ann@example.org")


@pytest.fixture
def outsider(db):
    other = make_org("southwind", name="Southwind", course_id_prefix="SWX")
    return make_member(other, Role.ADMIN, "boss@southwind.test")


def upload(org, content: bytes | str, name: str = "credits.csv", user=None, **options):
    """Create an import the way the upload page does; returns (job, earlier)."""
    if isinstance(content, str):
        content = content.encode()
    return services.import_create(
        actor=Actor(user=user) if user else Actor.system("test"),
        organization=org,
        kind="credits",
        upload=SimpleUploadedFile(name, content),
        file_name=name,
        **options,
    )


@pytest.fixture
def validated(committed):
    """``validated(org, content, name=..., **options)`` uploads and validates (tasks run)."""

    def run(org, content, name="credits.csv", user=None, **options):
        with committed():
            job, _ = upload(org, content, name, user=user, **options)
        job.refresh_from_db()
        return job

    return run


@pytest.fixture
def commit(committed):
    """``commit(job, user)`` commits a validated import as the background task would."""

    def run(job, user=None):
        with committed():
            services.import_commit_start(
                actor=Actor(user=user) if user else Actor.system("test"), job=job
            )
        job.refresh_from_db()
        return job

    return run


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
