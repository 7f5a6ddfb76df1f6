from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.contrib.auth import authenticate

from laurel import demo
from laurel.accounts.models import Organization
from laurel.recognition.models import Ceremony, Cohort, CourseTaker

pytestmark = pytest.mark.django_db


def test_demo_has_keystone_two_partners_cohorts_takers_and_ceremonies_in_every_status(client):
    demo.load(holders=5, unclaimed=2)
    keystone = Organization.objects.get(slug="keystone")
    assert keystone.name == "Keystone Teaching Institute" and keystone.kind == "issuing"
    assert set(keystone.partnerships.values_list("partner__slug", flat=True)) == {
        "rivercity",
        "hillcrest",
    }
    cohorts = Cohort.objects.for_org(keystone)
    assert cohorts.count() == 12
    ends = sorted(c.end_date for c in cohorts)
    assert 150 <= (ends[-1] - ends[0]).days <= 190  # about six months
    today = keystone.today()
    states = {t.state(today) for t in CourseTaker.objects.select_related("cohort")}
    assert states == {"completer", "approaching", "not_completed", "uncertified"}
    assert 550 <= CourseTaker.objects.count() <= 650
    now = datetime.now(UTC)
    shown = {c.display_status(now) for c in Ceremony.objects.filter(kind="ceremony")}
    assert shown == {"Draft", "Scheduled / Pending", "Scheduled / Pins mailed", "Past"}
    assert {c.status for c in Ceremony.objects.filter(kind="request")} == {"draft", "created"}
    for email in ("admin@keystone.example", "admin@rivercity.example", "admin@hillcrest.example"):
        assert authenticate(email=email, password=settings.LAUREL_DEMO_PASSWORD) is not None, email
    river = Organization.objects.get(slug="rivercity")
    assert Cohort.objects.for_org(river).count() == 6
