"""Periodic duties every ``laurel worker`` runs beside its task loop.

django-tasks has no scheduler, and a task whose worker was killed stays "running" in its table,
so each job kind offers an idempotent "resume what has gone stale" function and the workers
call them on a timer. Running them in several workers at once is safe: each is idempotent
(conditional updates, outbox dedupe keys).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Duty:
    path: str  # dotted path of a function taking no arguments
    every_seconds: int


DUTIES = (
    # First: /readyz and `laurel doctor` count a worker alive by this row (docs/operations.md).
    Duty("laurel.operations.services.worker_beat", 15),
    Duty("laurel.imports.services.import_resume_stale", 30),
    Duty("laurel.certificates.tasks.job_resume_stale", 30),
    Duty("laurel.events.tasks.attendance_job_resume_stale", 30),
    Duty("laurel.certificates.services.expiry_reminders_send", 6 * 3600),
    Duty("laurel.api.idempotency.idempotency_records_expire", 3600),
    Duty("laurel.notifications.mailbox.bounce_mailbox_poll", 60),
    Duty("laurel.notifications.services.notice_digests_send", 3600),
    Duty("laurel.credits.services.invitation_reminders_send", 3600),
    # Checks hourly; each organization's Canvas is read once a day.
    Duty("laurel.recognition.services.canvas_sync_due", 3600),
    Duty("laurel.integrations.tasks.webhooks_dispatch_due", 5),
    Duty("laurel.programs.services.deadlines_sweep", 3600),
)


def run_due(clock: dict[str, float], now: float, call: Callable[[str], object] | None = None):
    """Run each duty whose interval has passed since ``clock[path]``; return the paths run."""
    ran = []
    for duty in DUTIES:
        if now - clock.get(duty.path, float("-inf")) < duty.every_seconds:
            continue
        clock[duty.path] = now
        try:
            (call or _call)(duty.path)
            ran.append(duty.path)
        except Exception:  # one failing duty must not stop the others or the worker
            log.exception("housekeeping duty %s failed", duty.path)
    return ran


def _call(path: str) -> object:
    return import_string(path)()


def start(stop: threading.Event, *, tick_seconds: float = 5.0) -> threading.Thread:
    """Run the duties in a daemon thread until ``stop`` is set."""
    import time

    def loop():
        clock: dict[str, float] = {}
        while not stop.is_set():
            close_old_connections()  # this thread's own connection: drop it if broken or old
            run_due(clock, time.monotonic())
            stop.wait(tick_seconds)

    thread = threading.Thread(target=loop, name="laurel-housekeeping", daemon=True)
    thread.start()
    return thread
