from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "laurel.operations"
    label = "operations"

    def ready(self) -> None:
        from django_tasks.signals import task_enqueued, task_finished, task_started

        from laurel.operations import context

        # Logging only (no business logic): ties a request's id to the tasks it queued, and
        # puts it on the lines those tasks log while they run.
        task_enqueued.connect(
            context.log_task_enqueued, dispatch_uid="laurel.operations.task_enqueued"
        )
        task_started.connect(
            context.bind_task_request_id, dispatch_uid="laurel.operations.task_started"
        )
        task_finished.connect(
            context.unbind_task_request_id, dispatch_uid="laurel.operations.task_finished"
        )
