"""Ties a request's id (``laurel.lib.request_id``) to the tasks the request queued."""

from __future__ import annotations

import logging

from laurel.lib.request_id import current_request_id

task_log = logging.getLogger("laurel.tasks")


def log_task_enqueued(sender, task_result, **kwargs) -> None:
    """One line per task a request queued, with the request's id (added to every record by
    ``RequestIdLogFilter``) and the task's id, so the task's own lines (django-tasks logs
    its id) can be traced back to the request."""
    if current_request_id() is None:
        return
    task_log.info(
        "queued task %s",
        task_result.task.module_path,
        extra={"task_id": str(task_result.id), "task": task_result.task.module_path},
    )
