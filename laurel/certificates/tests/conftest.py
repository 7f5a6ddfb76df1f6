import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest
from django.core.cache import cache

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates import services
from laurel.certificates.services import Component
from tests.factories import make_member, make_org


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://testserver"


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db):
    return make_org("northwind", name="Northwind Nurses", course_id_prefix="NNA")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


@pytest.fixture
def outsider_org(db):
    return make_org("southwind", name="Southwind", course_id_prefix="SWA")


@pytest.fixture
def outsider(outsider_org):
    return make_member(outsider_org, Role.ADMIN, "admin@southwind.test")


def issue(org, **overrides):
    fields = {
        "actor": Actor.system("test"),
        "organization": org,
        "recipient_name": "Maria Schmidt",
        "recipient_email": "maria@example.com",
        "title": "Wound Care Essentials",
        "completion_date": date(2025, 3, 1),
        "components": [Component(code="CE", name="CE", unit="hours", amount=Decimal("2.5"))],
    }
    fields.update(overrides)
    return services.certificate_issue(**fields)


def pdf_pages(data: bytes) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages]
