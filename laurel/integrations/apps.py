from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "laurel.integrations"
    label = "integrations"
