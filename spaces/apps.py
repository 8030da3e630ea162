from django.apps import AppConfig


class SpacesConfig(AppConfig):
    name = "spaces"

    def ready(self) -> None:
        from messaging.permissions import set_room_read_rule

        from . import handlers, signals  # noqa: F401  (wires the receivers and the knock sweeper)
        from .permissions import can_read_room

        set_room_read_rule(can_read_room)  # a room is readable by whoever may enter its space
