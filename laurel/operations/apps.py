from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "laurel.operations"
    label = "operations"
