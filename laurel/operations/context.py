"""The id of the request being served, for log lines written while serving it."""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("laurel_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


task_log = logging.getLogger("laurel.tasks")


def log_task_enqueued(sender, task_result, **kwargs) -> None:
    """One line per task a request queued, carrying the request's id and the task's id, so
    the task's own lines (django-tasks logs its id) can be traced back to the request."""
    if request_id_var.get() is None:
        return
    task_log.info(
        "queued task %s",
        task_result.task.module_path,
        extra={"task_id": str(task_result.id), "task": task_result.task.module_path},
    )
