from django.apps import AppConfig


class OfficeConfig(AppConfig):
    """The office page: what a person sees (floor, people, conversations), built on every app below."""

    name = "office"
