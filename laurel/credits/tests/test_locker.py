"""The holder's locker through the test client: answer, file, move, archive, progress."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from laurel.audit.models import AuditEvent
from laurel.credits import services
from laurel.credits.models import Credit, Dashboard
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3", "ETH": "1"}, title="Wound care basics")


@pytest.fixture
def holder():
    return make_user("nurse@example.com", full_name="Nora Nurse")


@pytest.fixture
def outsider():
    return make_user("outsider@example.com")


@pytest.fixture
def client_for():
    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


def offered(org, course, email="nurse@example.com", day=1, **kw):
    return enter_credit(org, course, email, completion_date=date(2025, 3, day), **kw)


def accepted(holder, credit, dashboard):
    return services.credit_accept(credit=credit, holder=holder, dashboard=dashboard)


def test_locker_lists_offered_credits_from_every_organization(org, course, holder, client_for):
    other = make_org("southwind", name="Southwind Board")
    other_course = make_course(other, title="Ethics refresher")
    offered(org, course)
    offered(other, other_course)
    page = client_for(holder).get(reverse("credits:locker")).content.decode()
    assert "Waiting for your answer (2)" in page
    assert "Wound care basics" in page and "Ethics refresher" in page
    assert "Southwind Board" in page


def test_held_credit_and_unverified_address_credit_are_never_shown(org, course, client_for):
    user = make_user("me@example.com")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email="second@example.com", verified=False)
    held = enter_credit(org, course, "second@example.com")
    assert held.status == Credit.Status.HELD
    client = client_for(user)
    page = client.get(reverse("credits:locker")).content.decode()
    assert "Wound care basics" not in page
    assert "Waiting for your answer (0)" in page
    # ...and the notice says verify, linking to the addresses page.
    assert "unverified e-mail address" in page
    assert reverse("account_email") in page
    detail = client.get(reverse("credits:locker_credit_detail", args=[held.pk]))
    assert detail.status_code == 404


def test_accepting_one_credit_files_it_into_the_chosen_dashboard(org, course, holder, client_for):
    first, second = offered(org, course, day=1), offered(org, course, day=2)
    license_ = services.dashboard_create(holder=holder, name="Ohio RN 2025–27")
    response = client_for(holder).post(
        reverse("credits:locker_answer"),
        {"accept_one": first.pk, "credit": [second.pk], "dashboard": license_.pk},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("credits:dashboard_detail", args=[license_.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.dashboard) == (Credit.Status.ACCEPTED, license_)
    assert second.status == Credit.Status.OFFERED  # only the row's own button counted


def test_accepting_several_into_a_new_dashboard_creates_it(org, course, holder, client_for):
    credits = [offered(org, course, day=d) for d in (1, 2, 3)]
    client = client_for(holder)
    response = client.post(
        reverse("credits:locker_answer"),
        {
            "action": "accept",
            "credit": [c.pk for c in credits[:2]],
            "new_dashboard": "CPR",
        },
        follow=True,
    )
    dashboard = Dashboard.objects.get(holder=holder, name="CPR")
    assert "2 credits accepted into “CPR”" in response.content.decode()
    assert set(dashboard.credits.values_list("pk", flat=True)) == {credits[0].pk, credits[1].pk}
    credits[2].refresh_from_db()
    assert credits[2].status == Credit.Status.OFFERED
    # The dashboard shows the totals of what was filed: 2 × (3 CE + 1 ETH).
    table = response.content.decode().split('id="dashboard-totals"')[1].split("</table>")[0]
    assert "CE" in table and "<td>6</td>" in table and "<td>2</td>" in table


def test_first_accept_without_a_dashboard_files_into_my_credits(org, course, holder, client_for):
    credit = offered(org, course)
    client = client_for(holder)
    locker = client.get(reverse("credits:locker")).content.decode()
    # The chooser explains itself, and says where the credit goes when there is no dashboard.
    assert "A dashboard is your own folder" in locker
    assert 'id="default-dashboard-note"' in locker and "My credits" in locker
    response = client.post(reverse("credits:locker_answer"), {"accept_one": credit.pk}, follow=True)
    credit.refresh_from_db()
    dashboard = Dashboard.objects.get(holder=holder)
    assert dashboard.name == "My credits"
    assert (credit.status, credit.dashboard) == (Credit.Status.ACCEPTED, dashboard)
    assert "1 credit accepted into “My credits”" in response.content.decode()
    # It is an ordinary dashboard: renamable, and the next accept (choosing nothing) uses it.
    client.post(reverse("credits:dashboard_edit", args=[dashboard.pk]), {"name": "Ohio RN"})
    dashboard.refresh_from_db()
    assert dashboard.name == "Ohio RN"
    second = offered(org, course, day=2)
    client.post(reverse("credits:locker_answer"), {"action": "accept", "credit": [second.pk]})
    second.refresh_from_db()
    assert second.dashboard == dashboard
    assert Dashboard.objects.filter(holder=holder).count() == 1


def test_rejecting_with_a_reason_records_it_for_the_organization(org, course, holder, client_for):
    credits = [offered(org, course, day=d) for d in (1, 2)]
    client_for(holder).post(
        reverse("credits:locker_answer"),
        {"action": "reject", "credit": [c.pk for c in credits], "reason": "Not my course"},
    )
    for credit in credits:
        credit.refresh_from_db()
        assert credit.status == Credit.Status.REJECTED
        assert credit.reject_reason == "Not my course"
    assert AuditEvent.objects.filter(action="credit.rejected").count() == 2


def test_htmx_answer_returns_the_locker_body_with_the_message(org, course, holder, client_for):
    credit = offered(org, course)
    response = client_for(holder).post(
        reverse("credits:locker_answer"),
        {"reject_one": credit.pk},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="locker-body">')
    assert "<html" not in body
    # The message goes out of band into the page's live region, which screen readers announce.
    status = body.split('<div id="locker-status" hx-swap-oob="innerHTML">')[1]
    assert "1 credit rejected." in status
    assert "Waiting for your answer (0)" in body


def test_someone_elses_credit_cannot_be_answered(org, course, holder, outsider, client_for):
    credit = offered(org, course)
    client_for(outsider).post(
        reverse("credits:locker_answer"), {"accept_one": credit.pk, "new_dashboard": "Mine now"}
    )
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED
    assert not Dashboard.objects.filter(holder=outsider).exists()


def test_accept_requires_a_csrf_token(org, course, holder):
    credit = offered(org, course)
    client = Client(enforce_csrf_checks=True)
    client.force_login(holder)
    response = client.post(
        reverse("credits:locker_answer"), {"accept_one": credit.pk, "new_dashboard": "X"}
    )
    assert response.status_code == 403
    credit.refresh_from_db()
    assert credit.status == Credit.Status.OFFERED
    # With the token from the page, the same post goes through.
    client.get(reverse("credits:locker"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("credits:locker_answer"),
        {"accept_one": credit.pk, "new_dashboard": "X", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    credit.refresh_from_db()
    assert credit.status == Credit.Status.ACCEPTED


def test_moving_a_credit_between_dashboards(org, course, holder, client_for):
    a = services.dashboard_create(holder=holder, name="A")
    b = services.dashboard_create(holder=holder, name="B")
    credit = accepted(holder, offered(org, course), a)
    client = client_for(holder)
    page = client.get(reverse("credits:dashboard_detail", args=[a.pk])).content.decode()
    # One "move to" select for the page (with a checkbox per row), not one per row.
    assert page.count("<select") == 1 and f'value="{credit.pk}" form="bulk-move"' in page
    response = client.post(
        reverse("credits:locker_move"), {"credit": credit.pk, "to": b.pk, "from": a.pk}
    )
    assert response["Location"] == reverse("credits:dashboard_detail", args=[a.pk])
    credit.refresh_from_db()
    assert credit.dashboard == b
    history = client.get(reverse("credits:locker_credit_detail", args=[credit.pk]))
    assert "Moved from “A” to “B”" in history.content.decode()


def test_bulk_move_moves_only_the_checked_credits(org, course, holder, client_for):
    a = services.dashboard_create(holder=holder, name="A")
    b = services.dashboard_create(holder=holder, name="B")
    credits = [accepted(holder, offered(org, course, day=d), a) for d in (1, 2, 3)]
    client_for(holder).post(
        reverse("credits:locker_move"),
        {"credit": [credits[0].pk, credits[2].pk], "to": b.pk, "from": a.pk},
    )
    assert sorted(b.credits.values_list("pk", flat=True)) == [credits[0].pk, credits[2].pk]
    assert list(a.credits.values_list("pk", flat=True)) == [credits[1].pk]


def test_moving_into_someone_elses_dashboard_is_refused(org, course, holder, outsider, client_for):
    mine = services.dashboard_create(holder=holder, name="Mine")
    theirs = services.dashboard_create(holder=outsider, name="Theirs")
    credit = accepted(holder, offered(org, course), mine)
    response = client_for(holder).post(
        reverse("credits:locker_move"), {"credit": [credit.pk], "to": theirs.pk}, follow=True
    )
    assert "Choose one of your open dashboards" in response.content.decode()
    credit.refresh_from_db()
    assert credit.dashboard == mine


def test_create_rename_and_set_requirements_of_a_dashboard(org, holder, client_for):
    ethics = make_course(org, components={"ETH": "3", "CLE": "2"}, title="Ethics")
    offered(org, ethics)
    client = client_for(holder)
    form = client.get(reverse("credits:dashboard_new")).content.decode()
    # Minimums are picked from the credit types the holder has, never typed as codes.
    assert 'name="min_ETH"' in form and 'name="min_CLE"' in form
    assert 'name="min_PHARM"' not in form and 'name="minimums"' not in form
    response = client.post(
        reverse("credits:dashboard_new"),
        {
            "name": "Ohio RN",
            "required_total": "24",
            "window_start": "2025-07-01",
            "window_end": "2027-06-30",
            "min_ETH": "3",
            "min_CLE": "1.5",
            "min_PHARM": "9",  # not a type the holder has: ignored
        },
    )
    dashboard = Dashboard.objects.get(holder=holder)
    assert response["Location"] == reverse("credits:dashboard_detail", args=[dashboard.pk])
    assert dashboard.required_total == Decimal("24")
    assert dashboard.window_end == date(2027, 6, 30)
    assert {(m.credit_type_code, m.amount) for m in dashboard.minimums.all()} == {
        ("ETH", Decimal("3")),
        ("CLE", Decimal("1.5")),
    }
    edit = client.get(reverse("credits:dashboard_edit", args=[dashboard.pk])).content.decode()
    assert 'name="min_ETH" value="3"' in edit and 'name="min_CLE" value="1.5"' in edit
    assert 'value="24"' in edit
    client.post(
        reverse("credits:dashboard_edit", args=[dashboard.pk]),
        {"name": "Ohio RN 2025–27", "required_total": "30", "min_ETH": "4", "min_CLE": ""},
    )
    dashboard.refresh_from_db()
    assert dashboard.name == "Ohio RN 2025–27"
    assert dashboard.required_total == Decimal("30") and dashboard.window_start is None
    assert [m.credit_type_code for m in dashboard.minimums.all()] == ["ETH"]


def test_dashboard_form_without_credit_explains_minimums(holder, client_for):
    page = client_for(holder).get(reverse("credits:dashboard_new")).content.decode()
    assert 'id="no-credit-types"' in page and 'name="min_' not in page


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("min_ETH", "three", "Enter a number."),
        ("min_ETH", "0", "greater than or equal to 0.01"),
        ("window_end", "2025-01-01", "The window must end after it starts."),
        ("name", "", "This field is required."),
    ],
)
def test_dashboard_form_shows_errors_next_to_the_field(
    org, course, holder, client_for, field, value, error
):
    offered(org, course)
    data = {"name": "Ohio", "window_start": "2025-07-01", field: value}
    response = client_for(holder).post(reverse("credits:dashboard_new"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert error in page
    assert not Dashboard.objects.exists()


def test_archived_dashboard_is_listed_apart_and_can_be_restored(holder, client_for):
    keep = services.dashboard_create(holder=holder, name="Current cycle")
    old = services.dashboard_create(holder=holder, name="Last cycle")
    client = client_for(holder)
    client.post(reverse("credits:dashboard_archive", args=[old.pk]))
    old.refresh_from_db()
    assert old.archived_at is not None
    page = client.get(reverse("credits:locker")).content.decode()
    open_part, archived_part = page.split('id="archived-dashboards"')
    assert "Last cycle" in archived_part and "Last cycle" not in open_part.split("dash-h")[1]
    assert "Current cycle" in open_part
    # An archived dashboard is not offered for accepting into.
    assert f'<option value="{old.pk}"' not in page and keep.name in page
    client.post(reverse("credits:dashboard_archive", args=[old.pk]), {"restore": "1"})
    old.refresh_from_db()
    assert old.archived_at is None


def test_dashboard_shows_progress_against_its_requirements(org, holder, client_for):
    ce = make_course(org, components={"CE": "10"})
    eth = make_course(org, components={"ETH": "2"})
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
    for course, day in ((ce, date(2025, 8, 1)), (eth, date(2025, 9, 1)), (ce, date(2025, 6, 1))):
        credit = enter_credit(org, course, "nurse@example.com", completion_date=day)
        accepted(holder, credit, dashboard)
    page = client_for(holder).get(reverse("credits:dashboard_detail", args=[dashboard.pk]))
    html = page.content.decode()
    # 10 CE + 2 ETH in the window (the June 2025 credit is before it): 12 of 24, 50 %.
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="50"' in html and 'aria-valuetext="12 of 24 (50%)"' in html
    assert "Total: <strong>12</strong> of 24" in html and "(12 to go)" in html
    assert 'aria-valuetext="2 of 3 (66%)"' in html and "At least ETH" in html
    # ...while the totals count everything filed: 20 CE.
    assert "<td>20</td>" in html
    locker = client_for(holder).get(reverse("credits:locker")).content.decode()
    assert 'aria-valuetext="12 of 24 (50%)"' in locker


def test_credit_detail_shows_amounts_source_and_history_in_utc(org, holder, client_for):
    course = make_course(org, components={"CE": "4"}, title="Partial course")
    credit = enter_credit(
        org, course, "nurse@example.com", amount_earned=Decimal("2.5"), credit_type_code="CE"
    )
    dashboard = services.dashboard_create(holder=holder, name="Folder")
    accepted(holder, credit, dashboard)
    html = client_for(holder).get(reverse("credits:locker_credit_detail", args=[credit.pk]))
    html = html.content.decode()
    table = html.split('id="credit-components"')[1].split("</table>")[0]
    assert "<td>4</td><td>2.5</td>" in table  # offered, earned
    assert "Northwind Nursing Association" in html and "Folder" in html
    history = html.split('id="credit-history"')[1]
    assert "Recorded by Northwind Nursing Association" in history
    assert "Offered to you" in history and "Accepted into “Folder”" in history
    assert "UTC" in history


def test_other_holders_pages_are_404(org, course, holder, outsider, client_for):
    dashboard = services.dashboard_create(holder=holder, name="Mine")
    credit = accepted(holder, offered(org, course), dashboard)
    client = client_for(outsider)
    for url in (
        reverse("credits:locker_credit_detail", args=[credit.pk]),
        reverse("credits:dashboard_detail", args=[dashboard.pk]),
        reverse("credits:dashboard_edit", args=[dashboard.pk]),
        reverse("credits:transcript") + f"?dashboard={dashboard.pk}",
        reverse("credits:transcript_csv") + f"?dashboard={dashboard.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("credits:dashboard_archive", args=[dashboard.pk])).status_code == 404
    dashboard.refresh_from_db()
    assert dashboard.archived_at is None


def test_locker_pages_need_login(client):
    response = client.get(reverse("credits:locker"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_locker_queries_do_not_grow_with_credits(
    org, holder, client_for, django_assert_max_num_queries
):
    courses = [make_course(org, components={"CE": "1", "ETH": "1"}) for _ in range(5)]
    dashboards = [services.dashboard_create(holder=holder, name=f"D{i}") for i in range(3)]

    days = iter(range(1000))

    def add(n):
        for i in range(n):
            day = date(2024, 1, 1) + timedelta(days=next(days))
            credit = enter_credit(org, courses[i % 5], "nurse@example.com", completion_date=day)
            if i % 2:
                accepted(holder, credit, dashboards[i % 3])

    client = client_for(holder)
    add(4)
    # 12, and the self-reported list (its credits, their components when there are any).
    with django_assert_max_num_queries(14) as small:
        client.get(reverse("credits:locker"))
    add(50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(reverse("credits:locker"))
    assert page.content.decode().count('name="credit"') == 27  # 2 + 25 still offered


def test_a_second_dashboard_with_the_same_name_is_refused(holder, client_for):
    services.dashboard_create(holder=holder, name="CPR")
    response = client_for(holder).post(reverse("credits:dashboard_new"), {"name": "cpr"})
    assert "You already have a dashboard named “cpr”." in response.content.decode()
    assert Dashboard.objects.filter(holder=holder).count() == 1


def test_accepting_into_a_new_name_that_exists_files_into_that_dashboard(
    org, course, holder, client_for
):
    cpr = services.dashboard_create(holder=holder, name="CPR")
    credit = offered(org, course)
    client_for(holder).post(
        reverse("credits:locker_answer"), {"accept_one": credit.pk, "new_dashboard": " cpr "}
    )
    credit.refresh_from_db()
    assert credit.dashboard == cpr
    assert Dashboard.objects.filter(holder=holder).count() == 1


@pytest.mark.parametrize("page", ["dashboard", "transcript", "transcript_csv", "credit"])
def test_dashboard_and_transcript_queries_do_not_grow_with_credits(
    org, holder, client_for, django_assert_max_num_queries, page
):
    courses = [make_course(org, components={"CE": "1", "ETH": "1"}) for _ in range(5)]
    dashboard = services.dashboard_create(
        holder=holder,
        name="D",
        requirements=services.Requirements(minimums=(("ETH", Decimal(1)),)),
    )
    other = services.dashboard_create(holder=holder, name="Other")
    days = iter(range(1000))

    def add(n):
        for i in range(n):
            day = date(2024, 1, 1) + timedelta(days=next(days))
            credit = enter_credit(org, courses[i % 5], "nurse@example.com", completion_date=day)
            accepted(holder, credit, dashboard if i % 4 else other)
        return credit

    credit = add(4)
    url = {
        "dashboard": reverse("credits:dashboard_detail", args=[dashboard.pk]),
        "transcript": reverse("credits:transcript"),
        "transcript_csv": reverse("credits:transcript_csv"),
        "credit": reverse("credits:locker_credit_detail", args=[credit.pk]),
    }[page]
    client = client_for(holder)
    with django_assert_max_num_queries(20) as small:
        assert client.get(url).status_code == 200
    add(50)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


def test_locker_summaries_agree_with_dashboard_progress(org, holder):
    from laurel.credits import selectors

    ce = make_course(org, components={"CE": "10", "ETH": "1"})
    dashboard = services.dashboard_create(
        holder=holder,
        name="License",
        requirements=services.Requirements(
            required_total=Decimal("24"),
            window_start=date(2025, 1, 1),
            minimums=(("ETH", Decimal("3")), ("CLE", Decimal("1"))),
        ),
    )
    for day in (date(2024, 12, 31), date(2025, 1, 1), date(2025, 2, 1)):
        accepted(holder, enter_credit(org, ce, holder.email, completion_date=day), dashboard)
    [summary] = selectors.dashboard_summaries(holder, [dashboard])
    assert summary.progress == selectors.dashboard_progress(dashboard)
    assert [(p.label, p.earned) for p in summary.progress] == [
        ("Total", Decimal("22")),
        ("At least CLE", Decimal("0")),
        ("At least ETH", Decimal("2")),
    ]
    assert summary.totals == selectors.totals_for(dashboard.credits.all())


@pytest.mark.parametrize("junk", ["²", "9" * 40, "-1", "1.5", ""])
def test_junk_ids_are_ignored_not_errors(org, course, holder, client_for, junk):
    client = client_for(holder)
    response = client.post(reverse("credits:locker_answer"), {"credit": [junk], "action": "reject"})
    assert response.status_code == 302
    response = client.post(reverse("credits:locker_move"), {"credit": [junk], "to": junk})
    assert response.status_code == 302
    response = client.get(reverse("credits:transcript_csv"), {"dashboard": junk})
    assert response.status_code == (200 if junk == "" else 404)


def test_dashboard_credits_come_in_pages(org, course, holder, client_for, monkeypatch):
    monkeypatch.setattr("laurel.credits.views.DASHBOARD_PER_PAGE", 2)
    a = services.dashboard_create(holder=holder, name="A")
    credits = [accepted(holder, offered(org, course, day=d), a) for d in (1, 2, 3)]
    client = client_for(holder)
    url = reverse("credits:dashboard_detail", args=[a.pk])
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    shown = [c.pk for c in credits if f'value="{c.pk}" form="bulk-move"' in first]
    assert "Page 1 of 2 (3 in all)" in first and len(shown) == 0  # no other dashboard: no move
    assert "2025-03-03" in first and "2025-03-01" not in first
    assert "2025-03-01" in second and "2025-03-03" not in second
    assert "3 credits" in client.get(reverse("credits:locker")).content.decode()


def test_locker_lists_the_oldest_offers_first_and_says_how_many_wait(
    org, course, holder, client_for, monkeypatch
):
    monkeypatch.setattr("laurel.credits.views.PENDING_SHOWN", 2)
    waiting = [offered(org, course, day=d) for d in (1, 2, 3)]
    page = client_for(holder).get(reverse("credits:locker")).content.decode()
    assert "Waiting for your answer (3)" in page
    assert "The oldest 2 are listed" in page
    assert [c.pk for c in waiting if f'id="credit-{c.pk}"' in page] == [c.pk for c in waiting[:2]]
