"""The time budget interrupts runaway work in the main thread and in a gunicorn thread."""

import threading
import time

import pytest

from laurel.lib.deadline import BudgetExceeded, time_budget


def _spin(seconds: float) -> str:
    try:
        with time_budget(seconds):
            end = time.monotonic() + 5
            while time.monotonic() < end:
                pass
    except BudgetExceeded as exc:
        return str(exc)
    return "ran to the end"


def test_budget_interrupts_work_in_the_main_thread():
    assert _spin(0.2) == "took longer than 0.2 s"


def test_budget_interrupts_work_in_another_thread_like_a_gthread_worker():
    result = {}
    started = time.monotonic()
    thread = threading.Thread(target=lambda: result.update(message=_spin(0.2)))
    thread.start()
    thread.join(10)
    assert result["message"] == "took longer than 0.2 s"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("in_thread", [False, True])
def test_work_within_the_budget_is_not_interrupted_later(in_thread):
    def work(out):
        with time_budget(0.05):
            total = sum(range(1000))
        time.sleep(0.1)  # past the budget, outside the block: nothing may fire now
        out["total"] = total

    out = {}
    if in_thread:
        thread = threading.Thread(target=work, args=(out,))
        thread.start()
        thread.join(5)
    else:
        work(out)
    assert out["total"] == 499500
