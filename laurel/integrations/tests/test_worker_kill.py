"""A real dispatcher process killed with SIGKILL while its delivery is in flight: the next
dispatcher sends that event again (same ``webhook-id``), and nothing is skipped. PostgreSQL
only (a second process must see the data)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.integrations import services
from laurel.integrations.models import WebhookDelivery
from tests.factories import enter_credit, make_course, make_member, make_org

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_sigkill_mid_delivery_then_the_next_dispatcher_delivers_again(
    receiver, allow_private, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # Tests run tasks at once: the events would be sent by this process at commit.
    monkeypatch.setattr(services, "_kick", lambda: None)
    org = make_org("killhooks", course_id_prefix="KHK")
    admin = make_member(org, Role.ADMIN, "admin@killhooks.test")
    course = make_course(org)
    services.endpoint_create(
        actor=Actor(user=admin), organization=org, url=receiver.url, event_types=["credit.held"]
    )
    enter_credit(org, course, "ann@example.org")
    enter_credit(org, course, "bob@example.org")

    killed = threading.Event()

    def reply(got):
        if len(receiver.got) == 1:
            killed.wait(30)  # the first request hangs: the worker is killed while it waits
        return 200, b"", {}

    receiver.reply = reply
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "LAUREL_ENV": "test",
        "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",
        "WEBHOOKS_TIMEOUT_SECONDS": "60",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "webhooks", "dispatch"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not receiver.got and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.got, worker.stderr.read() if worker.poll() is not None else "no request"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    killed.set()
    first = receiver.got[0].id
    assert WebhookDelivery.objects.filter(status="pending").count() == 2

    receiver.reply = None
    # Its lease still holds the endpoint; once it has run out, everything goes, in order.
    assert services.webhooks_dispatch() == 0
    after_lease = timezone.now() + services.LEASE + timedelta(seconds=5)
    assert services.webhooks_dispatch(now=after_lease) == 2
    ids = [r.id for r in receiver.got]
    assert ids[0] == ids[1] == first
    assert len(ids) == 3 and ids[2] != first
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2
