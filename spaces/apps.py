from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (wires the receivers)
