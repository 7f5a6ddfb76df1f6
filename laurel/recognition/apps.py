from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "laurel.recognition"
    label = "recognition"
