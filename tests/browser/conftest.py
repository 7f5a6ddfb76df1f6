"""End-to-end fixtures: a real SMTP server (aiosmtpd) on a free localhost port, and Debian's
Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

CHROMIUM = os.environ.get("LAUREL_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self._lock:
            self.envelopes.append(envelope)
            self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 10) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for msg in self.messages:
                    if to in msg["To"] and subject_contains in msg["Subject"]:
                        return msg
            time.sleep(0.05)
        seen = [(m["To"], m["Subject"]) for m in self.messages]
        raise AssertionError(f"no mail to {to} about {subject_contains!r}; got {seen}")


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def links_in(msg: EmailMessage) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text_of(msg))


@pytest.fixture
def smtp(settings):
    """A real SMTP server; Laurel's e-mail settings point at it for the test."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # database access from the test while the browser is open.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()
