"""The holder's bulk answers (accept, reject, move) are set-based, and their outcome equals
answering the same credits one by one: ledger states, audit, connections, webhook events and,
once the background task ran, certificates."""

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from laurel.accounts.models import Connection
from laurel.accounts.services import ServiceError
from laurel.audit.models import AuditEvent
from laurel.certificates.models import Certificate
from laurel.credits import services
from laurel.credits.models import Credit
from laurel.integrations.events import render_lazy
from laurel.integrations.models import WebhookEndpoint, WebhookMessage
from laurel.notifications.models import OutboxMessage
from tests.factories import enter_credit, make_course, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    org = make_org("northwind", name="Northwind Nursing Association", course_id_prefix="NNA")
    WebhookEndpoint.objects.create(
        organization=org,
        url="https://hooks.example.com/laurel",
        event_types=["credit.accepted", "credit.rejected", "certificate.issued"],
    )
    return org


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "3", "ETH": "1"}, title="Wound care basics")


def offered_to(org, course, email, n=4):
    user = make_user(email, full_name=email.split("@")[0].title())
    credits = [
        enter_credit(org, course, email, completion_date=date(2025, 3, day + 1)) for day in range(n)
    ]
    assert {c.status for c in credits} == {Credit.Status.OFFERED}
    return user, list(Credit.objects.filter(holder=user).order_by("pk"))


def outcome(holder):
    """What a holder, their organization and its webhook receivers can observe, with ids
    replaced by positions so two holders' outcomes compare."""
    credits = list(Credit.objects.filter(holder=holder).order_by("pk"))
    position = {c.pk: i for i, c in enumerate(credits)}
    dashboards = {c.dashboard_id for c in credits}
    dash = {pk: i for i, pk in enumerate(sorted(d for d in dashboards if d))}

    def plain(snapshot):
        if snapshot is None:
            return None
        snap = {**snapshot, "holder": snapshot.get("holder") == holder.pk}
        if "dashboard" in snap:
            snap["dashboard"] = dash.get(snap["dashboard"])
        return snap

    ids = [str(pk) for pk in position]
    events = AuditEvent.objects.filter(object_type="credits.credit", object_id__in=ids)
    audit = sorted(
        (position[int(e.object_id)], e.action, e.actor_id == holder.pk, e.organization_id,
         repr(plain(e.before)), repr(plain(e.after)))
        for e in events.exclude(action="credit.entered")
    )  # fmt: skip
    messages = list(WebhookMessage.objects.filter(event_type__startswith="credit.").order_by("pk"))
    lazy = render_lazy(messages)
    hooks = []
    for m in messages:
        data = m.payload or lazy.get(m.pk)
        if data and data["credit"]["id"] in position:
            credit = {**data["credit"], "id": position[data["credit"]["id"]]}
            person = {**data["person"], "email": data["person"]["email"] == holder.email}
            data = {**data, "credit": credit, "person": person}
            hooks.append((m.event_type, json.dumps(data, sort_keys=True)))
    certificates = sorted(
        (position[c.credit_id], c.status, c.title, repr(c.components), c.created_by_id == holder.pk)
        for c in Certificate.objects.filter(credit_id__in=position)
    )
    cert_hooks = WebhookMessage.objects.filter(
        event_type="certificate.issued",
        payload__person__email=holder.email,
    ).count()
    return {
        "ledger": [
            (c.status, dash.get(c.dashboard_id), c.reject_reason, c.answered_at is not None)
            for c in credits
        ],
        "audit": audit,
        "webhooks": sorted(hooks),
        "certificates": certificates,
        "certificate_webhooks": cert_hooks,
        "connected": Connection.objects.filter(
            holder=holder, status=Connection.Status.CONNECTED
        ).count(),
        "mail": OutboxMessage.objects.filter(to_email=holder.email)
        .exclude(kind__startswith="credit")
        .count(),
    }


def answer_one_by_one(holder, credits, dashboards):
    accept, reject, move = credits[:2], credits[2:3], credits[:1]
    for credit in accept:
        services.credit_accept(credit=credit, holder=holder, dashboard=dashboards[0])
    for credit in reject:
        services.credit_reject(credit=credit, holder=holder, reason="Not mine")
    for credit in move:
        credit.refresh_from_db()
        services.credit_move(credit=credit, holder=holder, dashboard=dashboards[1])


def answer_in_bulk(holder, credits, dashboards):
    accept, reject, move = credits[:2], credits[2:3], credits[:1]
    services.credit_accept_many(credits=accept, holder=holder, dashboard=dashboards[0])
    services.credit_reject_many(credits=reject, holder=holder, reason="Not mine")
    for credit in move:
        credit.refresh_from_db()
    services.credit_move_many(credits=move, holder=holder, dashboard=dashboards[1])


def test_bulk_answers_equal_one_by_one_answers(org, course, committed):
    single, single_credits = offered_to(org, course, "one@example.com")
    bulk, bulk_credits = offered_to(org, course, "many@example.com")
    # The same credits, entered the same way: the outcomes start equal.
    assert outcome(single)["ledger"] == outcome(bulk)["ledger"]

    def dashboards(holder):
        return [services.dashboard_create(holder=holder, name=n) for n in ("Ohio RN", "CPR")]

    answer_one_by_one(single, single_credits, dashboards(single))
    with committed():  # runs the certificate task queued for after the commit
        answer_in_bulk(bulk, bulk_credits, dashboards(bulk))

    one, many = outcome(single), outcome(bulk)
    assert many == one
    # ...and that outcome is the one a holder expects, not two equally wrong ones.
    assert [row[0] for row in many["ledger"]] == ["accepted", "accepted", "rejected", "offered"]
    assert [row[1] for row in many["ledger"]] == [1, 0, None, None]
    assert len(many["certificates"]) == 2 and many["certificate_webhooks"] == 2
    assert [a for _, a, *_ in many["audit"]].count("credit.accepted") == 2
    assert sorted(t for t, _ in many["webhooks"]) == [
        "credit.accepted", "credit.accepted", "credit.rejected"
    ]  # fmt: skip
    assert many["connected"] == 1


def test_certificates_are_signed_after_the_commit_not_inside_it(org, course, committed):
    holder, credits = offered_to(org, course, "many@example.com", n=3)
    [dashboard] = [services.dashboard_create(holder=holder, name="Ohio RN")]
    with committed():
        accepted = services.credit_accept_many(credits=credits, holder=holder, dashboard=dashboard)
        assert accepted == (3, 3)
        assert not Certificate.objects.filter(credit__in=credits).exists()
    assert Certificate.objects.filter(credit__in=credits, status="valid").count() == 3
    # Running the task again (a retried worker) issues nothing twice.
    from laurel.audit.services import Actor
    from laurel.certificates.services import certificates_issue_for_credits

    assert certificates_issue_for_credits([c.pk for c in credits], actor=Actor(user=holder)) == 0
    assert Certificate.objects.filter(credit__in=credits).count() == 3


def test_a_credit_answered_meanwhile_refuses_the_whole_batch(org, course):
    holder, credits = offered_to(org, course, "many@example.com", n=3)
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    services.credit_reject(credit=credits[1], holder=holder)  # another tab answered one
    with pytest.raises(ServiceError):
        services.credit_accept_many(credits=credits, holder=holder, dashboard=dashboard)
    statuses = list(Credit.objects.filter(holder=holder).order_by("pk").values_list("status"))
    assert statuses == [("offered",), ("rejected",), ("offered",)]
    assert not AuditEvent.objects.filter(action="credit.accepted").exists()


def test_bulk_accept_spans_batches(org, course, committed, monkeypatch):
    monkeypatch.setattr(services, "BULK_BATCH", 2)
    holder, credits = offered_to(org, course, "many@example.com", n=5)
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    with committed():
        services.credit_accept_many(credits=credits, holder=holder, dashboard=dashboard)
    assert set(Credit.objects.filter(holder=holder).values_list("status", flat=True)) == {
        "accepted"
    }
    assert AuditEvent.objects.filter(action="credit.accepted").count() == 5
    assert Certificate.objects.filter(credit__in=credits).count() == 5


def test_locker_says_certificates_are_on_their_way(org, course, committed):
    holder, credits = offered_to(org, course, "many@example.com", n=2)
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    client = Client()
    client.force_login(holder)
    with committed():
        response = client.post(
            reverse("credits:locker_answer"),
            {"action": "accept", "credit": [c.pk for c in credits], "dashboard": dashboard.pk},
            follow=True,
        )
    page = response.content.decode()
    assert "2 credits accepted into “Ohio RN”. Their certificates are on their way." in page
    assert Certificate.objects.filter(credit__in=credits).count() == 2


def test_signing_interrupted_half_way_finishes_on_resume_without_doubles(
    org, course, committed, monkeypatch
):
    """The worker signing a bulk acceptance's certificates dies half way: the job row keeps
    where it got, and ``resume_stale`` finishes the rest, each credit with one certificate."""
    from datetime import timedelta

    from django.utils import timezone

    from laurel.certificates import services as cert_services
    from laurel.certificates.models import CertificateIssueJob
    from laurel.certificates.tasks import job_resume_stale

    monkeypatch.setattr(CertificateIssueJob, "CHUNK", 2)
    holder, credits = offered_to(org, course, "many@example.com", n=5)
    dashboard = services.dashboard_create(holder=holder, name="Ohio RN")
    real, signed = cert_services.certificate_issue_for_credit, []

    def dies_after_three(credit, **kw):
        if len(signed) == 3:
            raise SystemExit("worker killed")  # what a dead worker leaves: nothing more
        signed.append(credit.pk)
        return real(credit, **kw)

    monkeypatch.setattr(cert_services, "certificate_issue_for_credit", dies_after_three)
    with committed():  # the task backend records the dead task; the job row stays running
        services.credit_accept_many(credits=credits, holder=holder, dashboard=dashboard)
    job = CertificateIssueJob.objects.get()
    assert (job.status, job.done, job.total) == ("running", 2, 5)  # one chunk recorded
    assert Certificate.objects.filter(credit__in=credits).count() == 3
    monkeypatch.setattr(cert_services, "certificate_issue_for_credit", real)

    assert job_resume_stale() == 0  # its worker is still counted alive
    later = timezone.now() + timedelta(hours=1)
    with committed():
        assert CertificateIssueJob.resume_stale(now=later) == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.done, job.resumes) == ("done", 5, 1)
    for credit in credits:
        assert Certificate.objects.filter(credit=credit).count() == 1
