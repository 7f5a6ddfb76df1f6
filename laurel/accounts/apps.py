from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "laurel.accounts"
    label = "accounts"

    def ready(self) -> None:
        from laurel.accounts import receivers  # noqa: F401
