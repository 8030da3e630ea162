"""Payloads and recipients of notification events: `notification.created`, to the recipient's sockets
only (`user.<id>`), after the commit that made it; also under dnd (the page decides what to show)."""

from notifications.api.serializers import notification_row
from notifications.models import Notification
from virtual_office.realtime import envelope, send_event_on_commit, user_group


def notification_created(notification: Notification) -> None:
    """Built now from the row (the services attach its message): a message to fifty people reads
    nothing more at commit."""
    event = envelope("notification.created", notification_row(notification))
    send_event_on_commit(user_group(notification.recipient_id), event)
