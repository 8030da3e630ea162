from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Search over what a person may read: messages (full text), people, spaces and conversations."""

    name = "search"
