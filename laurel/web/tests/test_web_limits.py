"""The web server under load: threaded workers, and on PostgreSQL a statement timeout and a
cap on parallel workers for web sessions only, with a clear 503 page when a query is cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from laurel import cli
from laurel.accounts.models import Role
from tests.factories import make_member, make_org

ROOT = Path(__file__).resolve().parents[3]
PG = "postgres://postgres@127.0.0.1:5432/postgres"
SHOW = (
    "import json, django; {setup}; django.setup(); from django.db import connection as c; "
    "cur = c.cursor(); cur.execute('SHOW statement_timeout'); a = cur.fetchone()[0]; "
    "cur.execute('SHOW max_parallel_workers_per_gather'); b = cur.fetchone()[0]; "
    "print(json.dumps([a, b]))"
)
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL sessions")


def test_serve_runs_threaded_workers(monkeypatch):
    monkeypatch.setenv("WEB_THREADS", "6")
    command = cli.web_command()
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert command[command.index("--threads") + 1] == "6"


def _session_settings(process: str) -> list[str]:
    setup = "import laurel.wsgi" if process == "web" else "import os"
    env = {**os.environ, "DATABASE_URL": PG, "PYTHONPATH": str(ROOT), "LAUREL_ENV": "local"}
    env.pop("LAUREL_PROCESS", None)
    env.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    out = subprocess.run(
        [sys.executable, "-c", SHOW.format(setup=setup)],
        env={**env, "WEB_STATEMENT_TIMEOUT": "7"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@on_postgres
def test_web_sessions_have_a_statement_timeout_and_the_worker_does_not():
    assert _session_settings("web") == ["7s", "1"]
    worker = _session_settings("worker")
    assert worker[0] == "0"  # the task worker's imports and exports run as long as they need


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_query_cut_by_the_timeout_is_a_503_page_not_an_error(client, monkeypatch):
    org = make_org()
    client.force_login(make_member(org, Role.ADMIN))

    def slow_page(request, queryset, per_page=50):
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 50")
            try:
                cursor.execute("SELECT pg_sleep(2)")
            finally:
                cursor.execute("SET statement_timeout = 0")

    monkeypatch.setattr("laurel.credits.views._page", slow_page)
    response = client.get(reverse("credits:org_ledger", args=[org.slug]))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "This page took too long" in page and "narrow it down" in page
    # The next request on the same connection works normally.
    monkeypatch.undo()
    assert client.get(reverse("credits:org_ledger", args=[org.slug])).status_code == 200
