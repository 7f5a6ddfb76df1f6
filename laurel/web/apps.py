from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "laurel.web"
    label = "web"
