from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "presence"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (wires the receivers)
