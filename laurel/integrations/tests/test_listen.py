"""``laurel webhooks listen`` verifies and prints what a real dispatch sends it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from laurel.audit.services import Actor
from laurel.integrations import services
from tests.factories import enter_credit

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_listen_prints_each_event_and_says_whether_the_signature_verifies(
    org, admin, course, allow_private
):
    port = free_port()
    endpoint = services.endpoint_create(
        actor=Actor(user=admin),
        organization=org,
        url=f"http://127.0.0.1:{port}/",
        event_types=["credit.held"],
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LAUREL_ENV": "local"}
    listener = subprocess.Popen(
        [sys.executable, "-m", "laurel.cli", "webhooks", "listen", "--port", str(port),
         "--secret", endpoint.secret],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert "Listening on" in listener.stdout.readline()
        enter_credit(org, course, "ann@example.org")
        assert services.webhooks_dispatch() == 1
        services.endpoint_rotate_secret(actor=Actor(user=admin), endpoint=endpoint)
        # Signed by the new secret and the old one: the old --secret still verifies.
        enter_credit(org, course, "bob@example.org")
        assert services.webhooks_dispatch() == 1
        time.sleep(0.3)
    finally:
        listener.terminate()
    out = listener.communicate(timeout=10)[0]
    assert out.count("credit.held msg_") == 2
    assert out.count("signature OK") == 2
    assert '"email": "ann@example.org"' in out
