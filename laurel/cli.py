"""The ``laurel`` command.

    laurel serve     web server (gunicorn) and a task worker side by side; Ctrl-C stops both
    laurel worker    one task worker alone (run as many as you like against PostgreSQL)
    laurel demo      load the demo data (does nothing when it is there already)
    laurel <other>   any Django management command: migrate, createsuperuser, check, ...

``serve`` listens on HOST:PORT (default 127.0.0.1:8000) with WEB_CONCURRENCY gunicorn
processes (default 2) of WEB_THREADS threads each (default 4).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

QUEUES = "default,email,imports,pdf"
STOP_GRACE_SECONDS = 25


def _django(argv: list[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["laurel", *argv])
    return 0


WORKER_ARGS = ["db_worker", "--queue-name", QUEUES, "--no-reload"]


def web_command() -> list[str]:
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "laurel.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        os.environ.get("WEB_CONCURRENCY") or "2",
        # Threads, so a slow request holds one thread, not a whole process, and fast pages
        # keep being answered beside it (docs/scale.md, docs/decisions/0007-...).
        "--worker-class",
        "gthread",
        "--threads",
        os.environ.get("WEB_THREADS") or "4",
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        "--access-logfile",
        "-",
        "--no-control-socket",
        # gunicorn's most (its default 4094 cut off long filter addresses with a bare 414).
        "--limit-request-line",
        "8190",
        "--forwarded-allow-ips",
        os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1",
    ]


def serve() -> int:
    """Run gunicorn and one worker; stop both when either exits or on Ctrl-C / SIGTERM."""
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    # Before any child exists, so a Ctrl-C at any moment still stops both children.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    # Links in e-mails point at this server unless SITE_URL says otherwise.
    env = {"SITE_URL": f"http://{host}:{port}", **os.environ}
    # Own sessions: a terminal's Ctrl-C reaches only us, and we stop the children
    # gracefully (SIGTERM) instead of both being interrupted mid-request.
    children = {
        "web": subprocess.Popen(web_command(), env=env, start_new_session=True),
        "worker": subprocess.Popen(
            [sys.executable, "-m", "laurel.cli", "worker"], env=env, start_new_session=True
        ),
    }
    print(f"\nLaurel is running at http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    exit_code = 0
    try:
        _print_demo_logins()
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(f"laurel serve: the {name} exited with {proc.returncode}; stopping.")
                    exit_code = proc.returncode or 1
                    stopping = True
                    break
            else:
                time.sleep(0.5)
    finally:
        print("Stopping web server and worker…", flush=True)
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        print("Stopped.", flush=True)
    return exit_code


def _print_demo_logins() -> None:
    import django
    from django.conf import settings

    django.setup()
    if settings.LAUREL_ENV == "production":
        return
    from laurel import demo

    try:
        loaded = demo.is_loaded()
    except Exception:  # not migrated yet: nothing to show
        return
    if loaded:
        print(f"Demo logins, all with the password {settings.LAUREL_DEMO_PASSWORD}:")
        for login in demo.DEMO_LOGINS:
            print(f"  {login}")
        print(flush=True)


def worker(rest: list[str]) -> int:
    """One task worker, plus the periodic duties (see laurel.web.housekeeping)."""
    import threading

    import django

    django.setup()
    from laurel.web import housekeeping

    stop = threading.Event()
    housekeeping.start(stop)
    try:
        return _django([*WORKER_ARGS, *rest])
    finally:
        stop.set()


USAGE = __doc__


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE.strip())
        return 0
    command, rest = args[0], args[1:]
    if command == "serve":
        return serve()
    if command == "worker":
        return worker(rest)
    return _django(args)  # "demo" is a management command too


if __name__ == "__main__":
    sys.exit(main())
