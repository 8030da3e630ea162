from django.apps import AppConfig


class VirtualOfficeConfig(AppConfig):
    name = "virtual_office"
    verbose_name = "Virtual Office (tenancy)"
