"""A time budget for CPU-bound work on untrusted input (JSON-LD canonicalization).

It uses ``SIGALRM``, so it only interrupts in the main thread: gunicorn's sync workers (how
``laurel serve`` runs) and the command line. Elsewhere (a threaded dev server) the work runs
unbounded, so callers must also cap the input's size; the budget is the second line.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BudgetExceeded(BaseException):
    """Not an ``Exception``: code that turns any error into a failed check must not swallow
    it and carry on with the next expensive step."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    if (
        seconds <= 0
        or threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0] > 0  # someone else's alarm is running
    ):
        yield
        return

    def expire(signum, frame):
        raise BudgetExceeded(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
