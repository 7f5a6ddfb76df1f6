from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "laurel.credits"
    label = "credits"
