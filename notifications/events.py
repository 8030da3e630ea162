"""Payloads and recipients of notification events: `notification.created`, to the recipient's sockets
only (`user.<id>`), after the commit that made it; also under dnd (the page decides what to show)."""

from notifications.api.serializers import notification_row
from notifications.models import Notification
from virtual_office.realtime import envelope, send_events_on_commit, user_group


def notifications_created(notifications: list[Notification]) -> None:
    """Built now from the rows (the services attach their message), and handed over as one: a group
    message makes one per member, and a thousand separate events cost more than making the rows."""
    send_events_on_commit(
        [(user_group(n.recipient_id), envelope("notification.created", notification_row(n))) for n in notifications]
    )
