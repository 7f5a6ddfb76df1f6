"""The receiver examples in docs/webhooks.md verify what Laurel really signs (and refuse a
wrong secret), so the documentation cannot drift from the code."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from laurel.audit.services import Actor
from laurel.integrations import services

DOC = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text()
WRONG = "whsec_" + base64.b64encode(b"w" * 24).decode()


def example(language: str) -> str:
    return re.search(rf"```{language}\n(.*?)```", DOC, re.S).group(1)


@pytest.fixture
def delivery(org, admin, receiver, allow_private):
    """One real test event as the receiver got it, signed by a rotated endpoint (new, old)."""
    endpoint = services.endpoint_create(
        actor=Actor(user=admin), organization=org, url=receiver.url, event_types=["credit.held"]
    )
    old = endpoint.secret
    endpoint = services.endpoint_rotate_secret(actor=Actor(user=admin), endpoint=endpoint)
    services.endpoint_send_test(actor=Actor(user=admin), endpoint=endpoint)
    services.webhooks_dispatch()
    (got,) = receiver.got
    return got, endpoint.secret, old


def test_the_python_example_verifies_a_real_delivery(delivery):
    got, new, old = delivery
    checker = example("python").split("class Receiver")[0]
    for secret, expected in ((new, True), (old, True), (WRONG, False)):
        namespace: dict = {}
        exec(checker.replace('"whsec_..."', repr(secret)), namespace)  # noqa: S102 (our docs)
        assert namespace["verified"](got.headers, got.body) is expected


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js is not installed")
def test_the_javascript_example_verifies_a_real_delivery(delivery):
    got, new, old = delivery
    checker = example("js").split("\nhttp\n")[0]
    for secret, expected in ((new, "true"), (old, "true"), (WRONG, "false")):
        script = checker.replace('"whsec_..."', json.dumps(secret)) + (
            f"\nconsole.log(verified({json.dumps(got.headers)}, "
            f"Buffer.from({json.dumps(list(got.body))})));"
        )
        result = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == expected
