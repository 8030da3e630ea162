from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Data export"

    def ready(self) -> None:
        from . import jobs  # noqa: F401  (registers the hub's sweep of queued and crashed exports)
