"""Payloads and recipients of notification events: `notification.created`, to the recipient's sockets
only (`user.<id>`), after the commit that made it; also under dnd (the page decides what to show)."""

from datetime import datetime
from typing import Any

from messaging.models import Message
from notifications.api.serializers import message_notification_rows, notification_row
from notifications.models import Notification
from virtual_office.realtime import envelope, send_events_on_commit, user_group


def notifications_created(notifications: list[Notification]) -> None:
    """Built now from the rows (the services attach their message)."""
    _announce([(n.recipient_id, notification_row(n)) for n in notifications])


def message_notifications_created(
    message: Message, created_at: datetime, made: list[tuple[int, int, str]]
) -> list[dict[str, Any]]:
    """Notifications just inserted about `message` ((id, recipient id, kind) each); returns their rows."""
    rows = message_notification_rows(message, created_at, [(id_, kind) for id_, _, kind in made])
    _announce([(recipient, row) for (_, recipient, _), row in zip(made, rows, strict=True)])
    return rows


def _announce(rows: list[tuple[int, dict[str, Any]]]) -> None:
    """(recipient id, row) each to its recipient, after commit, handed over as one: a group message
    makes one per member, and a thousand separate events cost more than making the rows."""
    send_events_on_commit([(user_group(recipient), envelope("notification.created", row)) for recipient, row in rows])
