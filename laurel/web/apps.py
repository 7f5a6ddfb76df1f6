from django.apps import AppConfig
from django.conf import settings


class WebConfig(AppConfig):
    name = "laurel.web"
    label = "web"

    def ready(self):
        from PIL import Image

        # Pillow refuses images over twice this (and warns over it) wherever it opens one.
        Image.MAX_IMAGE_PIXELS = settings.LAUREL_IMAGE_MAX_PIXELS
