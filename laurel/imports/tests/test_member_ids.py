"""A credits file's member IDs: recorded on the people's connections (new invitations and
existing connections alike, audited), carried by the webhooks, and checked in the preview.
Runs on both databases: the SQL path on PostgreSQL, the chunked path on SQLite."""

from __future__ import annotations

import pytest
from django.urls import reverse

from laurel.accounts.models import Connection
from laurel.audit.models import AuditEvent
from laurel.audit.services import Actor
from laurel.imports.models import ImportRow
from laurel.integrations.events import EVENT_TYPES
from laurel.integrations.services import endpoint_create, webhooks_dispatch
from laurel.integrations.tests.conftest import receiver  # noqa: F401 (a fixture)

ROWS = (
    "course_id,email,completion_date,NRDS\n"
    "NNA-26-00001,ann@example.org,03/01/2025,NRDS-1\n"
    "NNA-26-00002,bob@example.org,03/02/2025,NRDS-2\n"
    "NNA-26-00001,cy@example.org,03/03/2025,\n"
    "NNA-26-00001,dan@example.org,03/04/2025,\n"
)


def member_ids(org):
    return dict(Connection.objects.filter(organization=org).values_list("email", "member_id"))


def test_an_import_records_member_ids_that_webhooks_then_carry(
    org,
    admin,
    courses,
    validated,
    commit,
    receiver,  # noqa: F811 (the fixture imported above)
    settings,
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(
        actor=Actor(user=admin), organization=org, url=receiver.url, event_types=EVENT_TYPES
    )
    Connection.objects.create(organization=org, email="ann@example.org", member_id="OLD-1")
    Connection.objects.create(organization=org, email="dan@example.org", member_id="D-9")
    job = commit(validated(org, ROWS, user=admin), admin)
    assert job.status == job.Status.COMMITTED
    expected = {
        "ann@example.org": "NRDS-1",  # changed by the file
        "bob@example.org": "NRDS-2",  # invited with it
        "cy@example.org": "",  # invited, none given
        "dan@example.org": "D-9",  # a blank cell leaves it as it is
    }
    assert member_ids(org) == expected
    changes = AuditEvent.objects.filter(action="connection.member_id_set")
    assert [(e.object_repr, e.before, e.after) for e in changes] == [
        ("ann@example.org", {"member_id": "OLD-1"}, {"member_id": "NRDS-1", "import": job.pk})
    ]
    webhooks_dispatch()
    people = {
        e.json["data"]["person"]["email"]: e.json["data"]["person"]["member_id"]
        for e in receiver.got
        if e.json["type"].startswith("credit.")
    }
    assert people == {
        "ann@example.org": "NRDS-1",
        "bob@example.org": "NRDS-2",
        "cy@example.org": None,
        "dan@example.org": "D-9",
    }

    # The same rows again (the very same file is answered with the earlier import): every
    # row is already in the ledger, there is nothing to commit and nothing changes.
    again = validated(org, ROWS.replace("NRDS", "Member ID", 1), user=admin)
    assert set(again.rows.values_list("category", flat=True)) == {"duplicate_existing"}
    assert again.to_commit == 0
    assert member_ids(org) == expected
    assert changes.count() == 1
    # New credits with the member ID already recorded: no change, no audit event.
    later = ROWS.replace("/2025,", "/2024,")
    commit(validated(org, later, user=admin), admin)
    assert member_ids(org) == expected
    assert changes.count() == 1


def test_a_bad_member_id_makes_the_row_invalid_and_the_preview_shows_member_ids(
    client, org, admin, courses, validated, commit
):
    rows = (
        "Course ID,Email,Date Completed,Member ID\n"
        "NNA-26-00001,ann@example.org,03/01/2025,M-7\n"
        f"NNA-26-00001,bob@example.org,03/01/2025,{'9' * 65}\n"
        'NNA-26-00001,cy@example.org,03/01/2025,"M\t8"\n'
    )
    job = validated(org, rows, user=admin)
    invalid = {r.email: r for r in job.rows.filter(category=ImportRow.Category.INVALID)}
    assert set(invalid) == {"bob@example.org", "cy@example.org"}
    assert invalid["bob@example.org"].column == "Member ID"
    assert "at most 64 characters" in invalid["bob@example.org"].reason
    assert "control characters" in invalid["cy@example.org"].reason
    client.force_login(admin)
    page = client.get(
        reverse("imports:rows", args=[org.slug, job.pk]),
        {"category": "invite"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Member ID" in page and "M-7" in page
    commit(job, admin)
    assert member_ids(org) == {"ann@example.org": "M-7"}


@pytest.mark.parametrize("heading", ["Member ID", "Member Number", "NRDS ID", "member_id"])
def test_member_id_headings(org, admin, courses, validated, heading):
    job = validated(org, f"Course ID,Email,Date,{heading}\nNNA-26-00001,a@b.org,03/01/2025,X\n")
    assert list(job.rows.values_list("member_id", flat=True)) == ["X"]
