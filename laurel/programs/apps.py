from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "laurel.programs"
    label = "programs"
