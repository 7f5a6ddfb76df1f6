import pytest

from laurel.certificates import demo
from laurel.certificates.models import Certificate
from laurel.credits.services import credit_accept, dashboard_create
from tests.factories import enter_credit, make_course, make_user

pytestmark = pytest.mark.django_db


def test_demo_load_shows_every_state_and_is_idempotent(org):
    holder = make_user("demo-holder@example.com")
    dashboard = dashboard_create(holder=holder, name="License")
    for _ in range(8):
        course = make_course(org)
        credit = enter_credit(org, course, "demo-holder@example.com", name="Dee Holder")
        credit_accept(credit=credit, holder=holder, dashboard=dashboard)

    demo.load(org)
    demo.load(org)

    states = list(Certificate.objects.for_org(org).values_list("status", flat=True))
    assert states.count("revoked") == 3
    assert states.count("replaced") == 1
    assert states.count("valid") == 5  # 8 issued, 3 revoked, 1 replaced by a new one
    assert Certificate.objects.for_org(org).filter(expires_on__isnull=False).exists()
