from django.apps import AppConfig


class CallingConfig(AppConfig):
    name = "calling"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (wires the receivers)
