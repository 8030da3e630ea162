from django.apps import AppConfig


class TalkConfig(AppConfig):
    name = "talk"
    verbose_name = "Talking in a space"

    def ready(self) -> None:
        from . import handlers, signals  # noqa: F401  (wires receivers, socket actions, close hook and sweep)
