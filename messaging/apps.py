from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from . import handlers, signals  # noqa: F401  (wires receivers and socket actions)
