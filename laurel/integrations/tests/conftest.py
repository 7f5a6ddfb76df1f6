"""A real HTTP receiver on 127.0.0.1 (allowed by WEBHOOKS_ALLOW_PRIVATE_ADDRESSES in these
tests), an organization with its admin, and a Standard Webhooks check written here, apart
from the code under test."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from laurel.accounts.models import Role
from tests.factories import make_course, make_member, make_org


def standard_webhooks_signatures_ok(secret: str, headers: dict, body: bytes) -> list[bool]:
    """For each ``v1,`` signature sent: does it match ``secret``? (spec: base64 HMAC-SHA256 of
    ``id.timestamp.body``, keyed by the base64-decoded part after ``whsec_``)."""
    key = base64.b64decode(secret[len("whsec_") :])
    content = b"%s.%s.%s" % (
        headers["webhook-id"].encode(),
        headers["webhook-timestamp"].encode(),
        body,
    )
    want = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    return [
        hmac.compare_digest(want, part[3:].encode())
        for part in headers["webhook-signature"].split(" ")
        if part.startswith("v1,")
    ]


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers each request with ``reply(received) -> (status, body bytes, headers)``."""

    server: ThreadingHTTPServer
    got: list[Received] = field(default_factory=list)
    reply: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def events(self) -> list[tuple[str, str]]:
        return [(r.json["type"], r.id) for r in self.got]


@pytest.fixture
def receiver():
    box: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802 (http.server API)
            length = int(self.headers.get("Content-Length", 0))
            got = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            rec = box["receiver"]
            rec.got.append(got)
            status, body, headers = rec.reply(got) if rec.reply else (200, b"ok", {})
            if callable(body):  # a stream (a receiver that answers with 50 MB)
                self.send_response(status)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    body(self.wfile)
                return
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec = Receiver(server)
    box["receiver"] = rec
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


def fifty_megabytes(out) -> None:
    chunk = b"x" * 65536
    for _ in range(800):
        out.write(chunk)


def hang(seconds: float):
    def reply(_):
        time.sleep(seconds)
        return 200, b"late", {}

    return reply


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    return settings


@pytest.fixture
def org(db):
    return make_org("northwind", name="Northwind")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


@pytest.fixture
def course(org):
    return make_course(org, components={"CE": "2"})
