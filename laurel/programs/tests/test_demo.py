import pytest

from laurel import demo
from laurel.programs import selectors
from laurel.programs.models import Completion, CreditReview, Program

pytestmark = pytest.mark.django_db


def test_demo_programs_fill_every_tracker_the_queue_and_two_versions():
    demo.load(holders=160, unclaimed=10)
    rn = Program.objects.get(code="RN-CERT")
    trackers = selectors.trackers(rn)
    assert trackers == selectors.trackers_recount(rn)
    assert trackers["total"] == 150
    assert all(trackers[k] > 0 for k in ("earned", "enrolled", "grace", "expired")), trackers
    assert Completion.objects.filter(status="awaiting_approval").count() == 6
    assert Program.objects.get(code="RN-MAINT").current_version.maintenance
    assert Program.objects.get(code="CPR-INSTR").versions.count() == 2
    reviews = CreditReview.objects.filter(status="awaiting_approval")
    assert reviews.count() >= 3
    assert {r.credit.source for r in reviews} == {"self_report"}
    assert {r.credit.organization_id for r in reviews} == {None}
