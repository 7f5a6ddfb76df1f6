"""Ties a request's id (``laurel.lib.request_id``) to the tasks the request queued.

When a request queues a task, the request's id is kept in the shared cache under the task's
id (for ``TASK_REQUEST_ID_SECONDS``); when a worker starts that task, the id is made the
current one until the task finishes, so every line the task logs carries it, as the
request's own lines do (django-tasks' ``task_started``/``task_finished`` signals). The
immediate backend (tests) runs the task inside the request, where the id is current already.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django_tasks.backends.immediate import ImmediateBackend

from laurel.lib.request_id import bind, current_request_id, unbind

task_log = logging.getLogger("laurel.tasks")
# A task still queued after this long runs without its request's id (its lines still carry
# its task id, which the "queued task" line ties to the request).
TASK_REQUEST_ID_SECONDS = 7 * 24 * 3600
# Tokens of the ids bound for the tasks running in this process, by task id.
_bound: dict[str, object] = {}


def _key(task_result) -> str:
    return f"laurel:task-request-id:{task_result.id}"


def _runs_in_this_request(sender) -> bool:
    """The immediate backend (tests) runs the task right here, where the id is current."""
    return isinstance(sender, type) and issubclass(sender, ImmediateBackend)


def log_task_enqueued(sender, task_result, **kwargs) -> None:
    """One line per task a request queued, with the request's id (added to every record by
    ``RequestIdLogFilter``) and the task's id; and the id kept for the task's own lines."""
    request_id = current_request_id()
    if request_id is None:
        return
    if not _runs_in_this_request(sender):
        cache.set(_key(task_result), request_id, TASK_REQUEST_ID_SECONDS)
    task_log.info(
        "queued task %s",
        task_result.task.module_path,
        extra={"task_id": str(task_result.id), "task": task_result.task.module_path},
    )


def bind_task_request_id(sender, task_result, **kwargs) -> None:
    """``task_started``: the request id of the request that queued the task, if any, is the
    current one while it runs."""
    if _runs_in_this_request(sender):
        return  # nothing was kept: no query for it
    request_id = cache.get(_key(task_result))
    if request_id is not None:
        _bound[str(task_result.id)] = bind(request_id)


def unbind_task_request_id(sender, task_result, **kwargs) -> None:
    """``task_finished`` (success or failure): back to what was current before the task."""
    token = _bound.pop(str(task_result.id), None)
    if token is not None:
        unbind(token)
        cache.delete(_key(task_result))
