from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py seed_demo`: a believable demo office, written through every app's services."""

    name = "demo"
