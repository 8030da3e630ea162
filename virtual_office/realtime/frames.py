"""The wire protocol's fixed parts: group names, the event envelope, close codes."""

from __future__ import annotations

from typing import Any

import orjson

FORWARD = "event.forward"
# Many messages published at once (a group message's notifications: one per member) travel between
# processes as one layer message to every hub, `{"type": BUNDLE, "items": [message, ...]}`.
BUNDLE = "event.bundle"
ALL_HUBS = "hubs"  # the layer group of every hub's channel
PRESENCE_UPDATED = "presence.updated"
PRESENCE_BATCH = "presence.batch"
# Close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOOD = 4029
CLOSE_TOO_SLOW = 4008  # WS_SEND_QUEUE_MAX frames waited for this socket: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # the server could not open the socket now (Redis or the database busy or away)
CLOSE_INTERNAL = 1011
RESYNC = orjson.dumps({"type": "resync"}).decode()


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def company_group(company_id: int) -> str:
    return f"company.{company_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def envelope(event_type: str, data: dict[str, Any], *, conversation: int | None = None, rev: int | None = None) -> dict:
    """The server-to-client frame: `{"type", "data"}`, plus `conversation` and `rev` for durable events."""
    event: dict[str, Any] = {"type": event_type, "data": data}
    if conversation is not None:
        event["conversation"] = conversation
    if rev is not None:
        event["rev"] = rev
    return event
