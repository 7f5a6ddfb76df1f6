from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "laurel.certificates"
    label = "certificates"
