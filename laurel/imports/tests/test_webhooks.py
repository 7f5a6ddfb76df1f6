"""An import's webhook events: one per credit, written set-based with the credits (the SQL
path on PostgreSQL, the chunked path on SQLite), then import.completed / import.undone."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from laurel.accounts.models import Connection
from laurel.audit.services import Actor
from laurel.imports import services
from laurel.integrations.events import EVENT_TYPES
from laurel.integrations.services import endpoint_create, webhooks_dispatch
from laurel.integrations.tests.conftest import receiver  # noqa: F401 (a fixture)
from tests.factories import make_user

SCHEMAS = Path(__file__).resolve().parents[2] / "integrations" / "schemas"

ROWS = (
    "course_id,email,completion_date,name\n"
    "NNA-26-00001,ann@example.org,03/01/2025,Ann Lee\n"
    "NNA-26-00002,bob@example.org,03/02/2025,Bob Ray\n"
    "NNA-26-00001,cy@example.org,03/03/2025,\n"
)


@pytest.mark.parametrize("subscribed", [True, False])
def test_an_import_emits_an_event_per_credit_and_one_when_done_and_undone(
    org,
    admin,
    courses,
    validated,
    commit,
    receiver,  # noqa: F811 (the fixture imported above)
    settings,
    subscribed,  # noqa: F811
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    endpoint_create(
        actor=Actor(user=admin),
        organization=org,
        url=receiver.url,
        event_types=EVENT_TYPES if subscribed else ["certificate.issued"],
    )
    make_user("bob@example.org")  # verified: his credit is offered
    Connection.objects.create(organization=org, email="ann@example.org", member_id="M-1")
    job = commit(validated(org, ROWS, user=admin), admin)
    webhooks_dispatch()
    if not subscribed:
        assert receiver.got == []
        return
    got = [r.json for r in receiver.got]
    assert [(e["type"], e["data"].get("person", {}).get("email")) for e in got] == [
        ("credit.held", "ann@example.org"),
        ("credit.offered", "bob@example.org"),
        ("credit.held", "cy@example.org"),
        ("import.completed", None),
    ]
    for event in got:
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['type']}.json").read_text()))
    ann, bob = got[0]["data"], got[1]["data"]
    assert ann["person"] == {"email": "ann@example.org", "name": "Ann Lee", "member_id": "M-1"}
    assert ann["credit"]["course_id"] == "NNA-26-00001"
    assert ann["credit"]["components"] == {"CE": "2.00"}
    assert bob["credit"]["components"] == {"CE": "1.00", "ETH": "1.00"}
    assert bob["credit"]["source"] == "import"
    assert got[3]["data"]["import"]["counts"]["held"] == 2

    services.import_undo(actor=Actor(user=admin), job=job, reason="Wrong file")
    webhooks_dispatch()
    undone = [r.json for r in receiver.got[4:]]
    assert [e["type"] for e in undone] == ["credit.revoked"] * 3 + ["import.undone"]
    assert {e["data"]["credit"]["reason"] for e in undone[:3]} == {"Wrong file"}
    assert undone[0]["data"]["person"]["member_id"] == "M-1"
