from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from . import jobs, signals  # noqa: F401  (wires the receivers and the hub's sender sweep)
