from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Company console"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (wires the audit receivers)
