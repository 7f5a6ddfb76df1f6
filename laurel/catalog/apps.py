from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "laurel.catalog"
    label = "catalog"
