from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "laurel.operations"
    label = "operations"

    def ready(self) -> None:
        from django_tasks.signals import task_enqueued

        from laurel.operations.context import log_task_enqueued

        # Logging only (no business logic): ties a request's id to the tasks it queued.
        task_enqueued.connect(log_task_enqueued, dispatch_uid="laurel.operations.task_enqueued")
