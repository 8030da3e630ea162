from django.apps import AppConfig


class CallingConfig(AppConfig):
    name = "calling"

    def ready(self) -> None:
        from . import handlers, signals  # noqa: F401  (wires receivers, socket actions and the expiry sweeper)
