from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "laurel.notifications"
    label = "notifications"
