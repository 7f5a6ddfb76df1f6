"""A time budget for CPU-bound work on untrusted input (JSON-LD canonicalization).

In the main thread (the command line, a sync worker) it uses ``SIGALRM``. In any other
thread — ``laurel serve`` runs gunicorn's threaded workers (``gthread``, docs/scale.md) — a
timer thread raises the exception in the working thread (``PyThreadState_SetAsyncExc``),
which Python delivers between two bytecodes: pure-Python work such as canonicalization is
interrupted either way, a single long C call only when it returns. Callers still cap the
input's size; the budget is the second line.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BudgetExceeded(BaseException):
    """Not an ``Exception``: code that turns any error into a failed check must not swallow
    it and carry on with the next expensive step."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _thread_budget(seconds):
            yield
        return
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's alarm is running
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


class _Expired(BudgetExceeded):
    """Raised asynchronously, so without arguments: the message lives on the class."""

    message = ""

    def __str__(self) -> str:
        return self.message


@contextmanager
def _thread_budget(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    expired = type("BudgetExpired", (_Expired,), {"message": f"took longer than {seconds:g} s"})

    def expire():
        with lock:
            if state["done"]:
                return
            state["fired"] = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(target), ctypes.py_object(expired)
            )

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["done"] = True
            timer.cancel()
        if state["fired"]:
            # Fired as the block ended: make sure the pending exception does not surface
            # later in unrelated code, and report the overrun here instead.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)
            raise expired()
