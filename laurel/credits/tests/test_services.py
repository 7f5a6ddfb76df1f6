from datetime import date, timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from laurel.accounts.models import Connection
from laurel.accounts.services import ServiceError
from laurel.credits import selectors, services
from laurel.credits.models import Credit
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3", "ETH": "1"})


def test_credit_for_unknown_address_is_held_and_recipient_is_invited(org, course, committed):
    with committed():
        credit = enter_credit(org, course, "New.Person@Example.com")
    assert credit.status == Credit.Status.HELD
    assert credit.recipient_email == "new.person@example.com"
    assert credit.holder is None
    assert Connection.objects.get(organization=org).status == Connection.Status.INVITED
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert "create a free" in message.body.lower()


def test_credit_for_verified_address_is_offered_to_its_owner(org, course, committed):
    holder = make_user("nurse@example.com")
    with committed():
        credit = enter_credit(org, course, "nurse@example.com")
    assert credit.status == Credit.Status.OFFERED
    assert credit.holder == holder
    assert "accept" in mail.outbox[0].body.lower()


def test_unverified_address_does_not_receive_the_credit(org, course):
    make_user("pending@example.com", verified=False)
    credit = enter_credit(org, course, "pending@example.com")
    assert credit.status == Credit.Status.HELD and credit.holder is None


def test_held_credit_is_offered_after_email_is_verified(org, course):
    user = make_user("someone@example.com", verified=False)
    credit = enter_credit(org, course, "someone@example.com")
    assert not Credit.objects.for_holder(user).exists()
    address = EmailAddress.objects.get(user=user)
    from allauth.account.internal.flows.email_verification import verify_email
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    assert verify_email(request, address)
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED and credit.holder == user
    assert list(Credit.objects.pending_for(user)) == [credit]


def test_duplicate_entry_is_refused_with_the_existing_credit(org, course):
    first = enter_credit(org, course, "a@example.com")
    with pytest.raises(services.DuplicateCredit) as exc:
        enter_credit(org, course, "A@example.com")
    assert exc.value.existing == first
    assert Credit.objects.count() == 1


def test_revoked_credit_can_be_entered_again(org, course):
    first = enter_credit(org, course, "a@example.com")
    services.credit_revoke(actor=services.Actor.system(), credit=first, reason="wrong date")
    again = enter_credit(org, course, "a@example.com")
    assert again.pk != first.pk


@pytest.mark.parametrize(
    "completion_date, message",
    [
        (date(2023, 12, 31), "from 2024-01-01"),
        (date.today() + timedelta(days=2), "future"),
    ],
)
def test_completion_date_outside_the_course_window_is_refused(
    org, course, completion_date, message
):
    with pytest.raises(ServiceError, match=message):
        enter_credit(org, course, "a@example.com", completion_date=completion_date)


def test_partial_credit_scales_every_component(org, course):
    credit = enter_credit(org, course, "a@example.com", amount_earned=Decimal("2"))
    earned = {c.credit_type.code: c.amount_earned for c in credit.components.all()}
    assert earned == {"CE": Decimal("1.50"), "ETH": Decimal("0.50")}


def test_partial_credit_above_offered_is_refused(org, course):
    with pytest.raises(ServiceError, match="At most 4"):
        enter_credit(org, course, "a@example.com", amount_earned=Decimal("5"))


def test_accepting_files_credit_into_dashboard_and_connects_holder(org, course):
    holder = make_user("nurse@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    assert credit.status == Credit.Status.ACCEPTED
    totals = {t.code: t.amount for t in selectors.totals_for(dashboard.credits.all())}
    assert totals == {"CE": Decimal("3"), "ETH": Decimal("1")}
    assert Connection.objects.get(organization=org).status == Connection.Status.CONNECTED


def test_someone_else_cannot_accept_a_credit(org, course):
    make_user("nurse@example.com")
    other = make_user("other@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    dashboard = services.dashboard_create(holder=other, name="Mine")
    with pytest.raises(ServiceError):
        services.credit_accept(credit=credit, holder=other, dashboard=dashboard)
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED


def test_revoked_credit_leaves_dashboard_totals(org, course):
    holder = make_user("nurse@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)
    services.credit_revoke(
        actor=services.Actor.system(), credit=credit, reason="Attendance not verified"
    )
    assert selectors.totals_for(dashboard.credits.all()) == []


def test_requirement_progress_counts_only_the_window(org, course):
    holder = make_user("nurse@example.com")
    dashboard = services.dashboard_create(
        holder=holder,
        name="License",
        requirements=services.Requirements(
            required_total=Decimal("24"),
            window_start=date(2025, 7, 1),
            window_end=date(2027, 6, 30),
            minimums=(("ETH", Decimal("3")),),
        ),
    )
    inside = enter_credit(org, course, "nurse@example.com", completion_date=date(2025, 8, 1))
    outside = enter_credit(org, course, "nurse@example.com", completion_date=date(2025, 1, 1))
    for c in (inside, outside):
        services.credit_accept(credit=c, holder=holder, dashboard=dashboard)
    total, ethics = selectors.dashboard_progress(dashboard)
    assert (total.earned, total.required, total.met) == (Decimal("4"), Decimal("24"), False)
    assert (ethics.earned, ethics.percent) == (Decimal("1"), 33)


def test_every_state_change_writes_an_audit_event(org, course):
    from laurel.audit.models import AuditEvent

    holder = make_user("nurse@example.com")
    credit = enter_credit(org, course, "nurse@example.com")
    services.credit_reject(credit=credit, holder=holder, reason="Not mine")
    actions = list(
        AuditEvent.objects.for_object(credit).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["credit.entered", "credit.rejected"]
