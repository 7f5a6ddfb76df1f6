from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "laurel.events"
    label = "events"
