"""The ``laurel`` command: Django commands pass through; ``serve`` runs web + worker and
stops both on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from laurel import cli

ROOT = Path(__file__).resolve().parents[3]


def test_help_lists_the_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("serve", "worker", "demo", "migrate"):
        assert word in out


def test_other_words_pass_through_to_django(capsys):
    cli.main(["check"])
    assert "System check identified no issues" in capsys.readouterr().out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local test server)
        return response.status, response.read().decode()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_runs_gunicorn_and_a_worker_and_ctrl_c_stops_both(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "LAUREL_ENV": "local",
        "LAUREL_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PYTHONPATH": str(ROOT),
        # Static files straight from the app folders: collectstatic (compressing every file)
        # is what make run does, and too slow to repeat here.
        "DEBUG": "true",
    }
    env.pop("EMAIL_HOST", None)
    laurel = [sys.executable, "-m", "laurel.cli"]
    # The worker needs its queue table; the health check needs no other.
    subprocess.run(
        [*laurel, "migrate", "django_tasks_database", "-v0"], env=env, cwd=ROOT, check=True
    )
    serve = subprocess.Popen(
        [*laurel, "serve"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in serve.stdout), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                if any("Starting worker" in line for line in lines):  # the worker is up too
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or serve.poll() is not None:
                raise AssertionError("laurel serve did not come up:\n" + "".join(lines))
            time.sleep(0.3)
        assert (status, body) == (200, '{"status": "ok"}')
        css_status, css = get(f"http://127.0.0.1:{port}/static/css/laurel.css")
        assert css_status == 200 and ".table-wrap" in css  # whitenoise serves static files
    finally:
        serve.send_signal(signal.SIGINT)
        serve.wait(timeout=40)
        reader.join(timeout=5)
    output = "".join(lines)
    assert serve.returncode == 0, output
    assert "Stopping web server and worker" in output
    assert "Stopped." in output
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz")
