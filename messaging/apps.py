from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from virtual_office.realtime import register_durable_stream

        from . import handlers, signals  # noqa: F401  (wires receivers and socket actions)
        from .events import replay_events

        register_durable_stream(replay_events)
