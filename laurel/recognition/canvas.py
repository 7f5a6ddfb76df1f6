"""Canvas LMS connector: a small REST client (Link pagination, rate-limit backoff) and the
sync that turns each open cohort's enrollments and course progress into progress records.

Two list calls per course, each paginated (``per_page=100``):
``GET /api/v1/courses/:id/enrollments?type[]=StudentEnrollment`` (grades, user, login) and
``GET /api/v1/courses/:id/bulk_user_progress`` (requirement counts, ``completed_at``), instead
of ``/courses/:id/users/:user_id/progress`` once per student.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode, urljoin, urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')
PER_PAGE = 100
MAX_PAGES = 10_000
# Canvas answers 403 "Rate Limit Exceeded" when the bucket is empty; below this we wait.
RATE_LIMIT_FLOOR = 1.0


class CanvasError(Exception):
    """A failure the sync report shows; ``fatal`` stops the whole run (a bad token)."""

    def __init__(self, message: str, *, fatal: bool = False):
        super().__init__(message)
        self.message = message
        self.fatal = fatal


# --- the token at rest --------------------------------------------------------------------


def _fernet() -> MultiFernet:
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    keys = []
    for secret in secrets_:
        digest = hashlib.sha256(b"laurel.recognition.canvas-token\x00" + secret.encode()).digest()
        keys.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(keys)


def encrypt_token(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode("ascii")


def decrypt_token(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode("ascii")).decode()
    except InvalidToken as exc:
        raise CanvasError(
            "The Canvas token cannot be decrypted (SECRET_KEY changed): enter it again.",
            fatal=True,
        ) from exc


# --- the client ---------------------------------------------------------------------------


def next_link(header: str | None) -> str | None:
    for url, rel in LINK_RE.findall(header or ""):
        if rel == "next":
            return url
    return None


class CanvasClient:
    """GETs JSON lists from one Canvas host over one kept-alive connection."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
        timeout: float = 30,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        parts = urlsplit(self.base_url)
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.token = token
        self.sleep = sleep
        self.max_retries = max_retries
        self.timeout = timeout
        self.requests = 0
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.netloc, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _get(self, url: str):
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != self.netloc:
            raise CanvasError(f"Canvas sent a link to another host ({parts.netloc}).")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                conn = self._connection()
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if attempt < self.max_retries:
                    self.sleep(min(60, 2**attempt))
                    continue
                raise CanvasError(f"Canvas could not be reached: {exc}") from exc
            status = response.status
            if status == 403 and _rate_limited(response):
                if attempt < self.max_retries:
                    self.sleep(min(60, 2**attempt))
                    continue
                raise CanvasError("Canvas kept refusing: rate limit exceeded.")
            if status == 401:
                raise CanvasError("Canvas refused the token (401): check it.", fatal=True)
            if status == 404:
                raise CanvasError(f"Canvas has no {parts.path} (404).")
            if status >= 500 and attempt < self.max_retries:
                self.sleep(min(60, 2**attempt))
                continue
            if status != 200:
                raise CanvasError(f"Canvas answered {status} for {parts.path}.")
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise CanvasError(f"Canvas sent malformed JSON for {parts.path}.") from exc
            return data, response.getheader("Link")
        raise CanvasError("Canvas could not be read.")  # pragma: no cover - loop returns

    def get_all(self, path: str, params: dict | list | None = None) -> Iterator[dict]:
        """Every item of a paginated list, following ``Link: <…>; rel="next"``."""
        query = urlencode(params or {}, doseq=True)
        url = urljoin(self.base_url, path.lstrip("/")) + (f"?{query}" if query else "")
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= MAX_PAGES:
                raise CanvasError("Canvas's pages lead back to a page already read (a loop).")
            seen.add(url)
            data, link = self._get(url)
            if not isinstance(data, list):
                raise CanvasError("Canvas sent something other than a list.")
            yield from data
            url = next_link(link)
            if url:
                url = urljoin(self.base_url, url)


def _rate_limited(response) -> bool:
    remaining = response.getheader("X-Rate-Limit-Remaining")
    try:
        return remaining is not None and float(remaining) <= RATE_LIMIT_FLOOR
    except ValueError:
        return False


# --- turning Canvas shapes into progress --------------------------------------------------


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def course_records(client: CanvasClient, course_id: str, passing_score: Decimal):
    """(lms user id, email, name, percent, completed date, certified) per student."""
    progress = {}
    path = f"/api/v1/courses/{course_id}/bulk_user_progress"
    for item in client.get_all(path, {"per_page": PER_PAGE}):
        progress[str(item.get("id"))] = item.get("progress") or {}
    params = [("type[]", "StudentEnrollment"), ("per_page", PER_PAGE)]
    for enrollment in client.get_all(f"/api/v1/courses/{course_id}/enrollments", params):
        user = enrollment.get("user") or {}
        user_id = str(enrollment.get("user_id") or user.get("id") or "")
        email = user.get("email") or user.get("login_id") or ""
        p = progress.get(user_id, {})
        required = p.get("requirement_count") or 0
        done = p.get("requirement_completed_count") or 0
        percent = round(100 * done / required) if required else 0
        completed = _day(p.get("completed_at"))
        if completed is not None:
            percent = 100
        score = (enrollment.get("grades") or {}).get("final_score")
        certified = (
            completed is not None and score is not None and Decimal(str(score)) >= passing_score
        )
        yield user_id, email, user.get("name") or "", min(percent, 100), completed, certified
