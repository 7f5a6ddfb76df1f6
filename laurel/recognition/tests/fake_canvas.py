"""A fake Canvas for tests and the benchmark: a local HTTP server on 127.0.0.1 that answers
the two list calls the connector makes (and the per-student progress call, for comparison)
in Canvas's shapes, with ``Link`` pagination, ``X-Rate-Limit-Remaining`` and a 403 when the
bucket is empty. Faults per course: "500", "malformed", "loop"."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "canvas-test-token"


@dataclass
class Student:
    id: int
    name: str
    email: str
    final_score: float | None
    requirement_count: int
    completed_count: int
    completed_at: str | None = None


@dataclass
class FakeCanvas:
    courses: dict[str, list[Student]] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    rate_limited: int = 0  # answer this many next requests with a rate-limit 403
    requests: int = 0
    token: str = TOKEN

    def start(self):
        canvas = self

        class Handler(_Handler):
            pass

        Handler.canvas = canvas
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


ENROLLMENTS = re.compile(r"^/api/v1/courses/([^/]+)/enrollments$")
BULK = re.compile(r"^/api/v1/courses/([^/]+)/bulk_user_progress$")
ONE = re.compile(r"^/api/v1/courses/([^/]+)/users/(\d+)/progress$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    canvas: FakeCanvas

    def log_message(self, *args):
        pass

    def _send(self, status, body: bytes, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        c = self.canvas
        c.requests += 1
        if self.headers.get("Authorization") != f"Bearer {c.token}":
            body = {"errors": [{"message": "Invalid access token."}]}
            return self._send(401, json.dumps(body).encode())
        if c.rate_limited > 0:
            c.rate_limited -= 1
            return self._send(
                403, b"403 Forbidden (Rate Limit Exceeded)", [("X-Rate-Limit-Remaining", "0.0")]
            )
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        page = int(query.get("page", ["1"])[0])
        per_page = min(int(query.get("per_page", ["10"])[0]), 100)
        rate = [("X-Rate-Limit-Remaining", "600.0"), ("X-Request-Cost", "0.01")]
        if m := ONE.match(parts.path):
            students = {s.id: s for s in c.courses.get(m[1], [])}
            s = students.get(int(m[2]))
            if s is None:
                return self._send(
                    404, b'{"errors":[{"message":"The specified resource does not exist."}]}'
                )
            return self._send(200, json.dumps(_progress(s)).encode(), rate)
        m = ENROLLMENTS.match(parts.path) or BULK.match(parts.path)
        if not m or m[1] not in c.courses:
            return self._send(
                404, b'{"errors":[{"message":"The specified resource does not exist."}]}'
            )
        course = m[1]
        fault = c.faults.get(course)
        if fault == "500":
            return self._send(500, b'{"errors":[{"message":"An error occurred."}]}')
        students = c.courses[course]
        chunk = students[(page - 1) * per_page : page * per_page]
        if ENROLLMENTS.match(parts.path):
            if fault == "malformed":
                return self._send(200, b'[{"id": 1, "user":')
            items = [_enrollment(course, s) for s in chunk]
        else:
            items = [
                {
                    "id": s.id,
                    "display_name": s.name,
                    "avatar_image_url": None,
                    "html_url": f"{c.base_url}/courses/{course}/users/{s.id}",
                    "pronouns": None,
                    "progress": _progress(s),
                }
                for s in chunk
            ]
        last = max(1, -(-len(students) // per_page))
        base = f"{c.base_url}{parts.path}"

        def link(p, rel):
            return f'<{base}?page={p}&per_page={per_page}>; rel="{rel}"'

        links = [link(page, "current"), link(1, "first"), link(last, "last")]
        if fault == "loop" and ENROLLMENTS.match(parts.path):
            links.append(link(1, "next"))  # a broken server sending page 1 again
        elif page < last:
            links.append(link(page + 1, "next"))
        return self._send(200, json.dumps(items).encode(), [*rate, ("Link", ",".join(links))])


def _enrollment(course: str, s: Student) -> dict:
    return {
        "id": s.id * 10,
        "course_id": int(course) if course.isdigit() else course,
        "user_id": s.id,
        "type": "StudentEnrollment",
        "role": "StudentEnrollment",
        "enrollment_state": "active",
        "grades": {
            "html_url": f"/courses/{course}/grades/{s.id}",
            "current_score": s.final_score,
            "final_score": s.final_score,
            "current_grade": None,
            "final_grade": None,
        },
        "user": {
            "id": s.id,
            "name": s.name,
            "sortable_name": s.name,
            "short_name": s.name,
            "login_id": s.email,
        },
    }


def _progress(s: Student) -> dict:
    return {
        "requirement_count": s.requirement_count,
        "requirement_completed_count": s.completed_count,
        "next_requirement_url": None,
        "completed_at": s.completed_at,
    }
