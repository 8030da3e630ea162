"""The server-to-client events of `CONTRACT.md` ("server `type`" table), and a check that events
emitted by the services keep to it (as Zulip's `verify_action`): every event `capture_events` sees
is checked when the test ends, so any test that makes a service emit an event checks its shape.

Each entry: the keys `data` must have, and whether the event is durable (carries `conversation` and
`rev`). Payload keys the contract names are required; a payload may carry more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventShape:
    data_keys: frozenset[str] = frozenset()
    durable: bool = False


def _shape(*keys: str, durable: bool = False) -> EventShape:
    return EventShape(frozenset(keys), durable)


_MESSAGE = _shape("id", "conversation", "body", "body_html", "mentions", "reply_count", durable=True)
_CALL = _shape("id", "state", "caller", "callee")
_TELEPORT = _shape("id", "state", "inviter", "invitee", "space")
_KNOCK = _shape("id", "space", "user", "note", "status", "expires_at")

CONTRACT_EVENTS: dict[str, EventShape] = {
    "message.created": _MESSAGE,
    "message.updated": _MESSAGE,
    "message.deleted": _shape("id", "conversation", durable=True),
    "reaction.changed": _shape(durable=True),
    "conversation.created": _shape("id"),
    "conversation.updated": _shape("id"),
    "typing": _shape("conversation", "user", "state"),
    "conversation.presence": _shape("conversation", "watchers"),
    "presence.updated": _shape(
        "user", "status", "status_reason", "status_text", "status_emoji", "status_until", "current_space", "last_seen"
    ),
    "space.created": _shape("id"),
    "space.updated": _shape("id"),
    "space.deleted": _shape("id"),
    "call.invited": _CALL,
    "call.accepted": _CALL,
    "call.declined": _CALL,
    "call.cancelled": _CALL,
    "call.missed": _CALL,
    "call.ended": _CALL,
    "call.signal": _shape("call", "from", "payload"),
    "teleport.invited": _TELEPORT,
    "teleport.accepted": _TELEPORT,
    "teleport.declined": _TELEPORT,
    "teleport.expired": _TELEPORT,
    "notification.created": _shape(
        "id", "kind", "actor", "conversation", "message", "space", "call", "created_at", "read"
    ),
    "space.knock": _shape("knock", "space", "user", "note"),
    "knock.admitted": _KNOCK,
    "knock.denied": _KNOCK,
    "knock.expired": _KNOCK,
    "space.av.updated": _shape("space", "participants"),
    "space.av.signal": _shape("space", "from", "payload"),
}


def contract_violations(event: dict) -> list[str]:
    """What is wrong with one event frame, by the contract (empty if nothing)."""
    kind = event.get("type")
    shape = CONTRACT_EVENTS.get(kind)
    if shape is None:
        return [f"{kind!r} is not an event of the contract"]
    problems = []
    data = event.get("data")
    if not isinstance(data, dict):
        return [f"{kind}: data is {type(data).__name__}, not an object"]
    missing = shape.data_keys - data.keys()
    if missing:
        problems.append(f"{kind}: data lacks {sorted(missing)}")
    if shape.durable and not (isinstance(event.get("conversation"), int) and isinstance(event.get("rev"), int)):
        problems.append(f"{kind}: a durable event carries `conversation` and `rev`")
    return problems
