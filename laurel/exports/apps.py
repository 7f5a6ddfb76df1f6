from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "laurel.exports"
    label = "exports"
