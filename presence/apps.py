from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "presence"

    def ready(self) -> None:
        from . import signals, sockets  # noqa: F401  (wires the receivers and the socket hooks)
