from django.apps import AppConfig


class VirtualOfficeConfig(AppConfig):
    name = "virtual_office"
    verbose_name = "Virtual Office (tenancy)"

    def ready(self) -> None:
        # The core's own hub jobs (the process' heartbeat in Redis, closing revoked sockets).
        from virtual_office.realtime import upkeep  # noqa: F401
