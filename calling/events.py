"""Payloads and recipients of call and teleport events: the two parties' `user.<id>` groups.

Invitation events are sent after commit (`send_event_on_commit`), so a rolled-back accept or a lost
race sends nothing. The services send calling's domain signals (`calling.domain`) right after the
conditional UPDATE they won (`QuerySet.update()` fires no post_save); `calling.signals` hands them here.
`call.signal` is ephemeral (WebRTC offer / answer / ICE): relayed at once, never stored.
"""

from __future__ import annotations

from typing import Any

from calling.models import Call, Teleport
from virtual_office.realtime import FORWARD, asend_now, envelope, send_event_on_commit, user_group


def _person(user: Any) -> dict:
    return {"id": user.id, "name": user.name, "initials": user.initials, "colour": user.colour}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def call_payload(call: Call) -> dict:
    """One shape for REST and socket events (`calling.api.serializers.CallOut` documents it)."""
    return {
        "id": call.id,
        "kind": call.kind,
        "state": call.effective_state,
        "caller": _person(call.caller),
        "callee": _person(call.callee),
        "created_at": _iso(call.created_at),
        "expires_at": _iso(call.expires_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "ended_by": call.ended_by_id,
        "duration_seconds": call.duration_seconds,
        # The interruption policy's answer when it rang (presence.policy): a busy callee's page rings
        # without sound. Null for calls from before statuses were recorded.
        "callee_status": call.callee_status or None,
        "quiet": call.callee_status == "busy",
    }


def teleport_payload(teleport: Teleport) -> dict:
    return {
        "id": teleport.id,
        "state": teleport.effective_state,
        "inviter": _person(teleport.inviter),
        "invitee": _person(teleport.invitee),
        "space": {"id": teleport.space_id, "name": teleport.space.name},
        "created_at": _iso(teleport.created_at),
        "expires_at": _iso(teleport.expires_at),
        "answered_at": _iso(teleport.answered_at),
    }


def call_changed(call: Call, event_type: str) -> None:
    """`call.invited|accepted|declined|cancelled|missed|ended` to caller and callee, after commit."""
    event = envelope(event_type, call_payload(call))
    for user_id in (call.caller_id, call.callee_id):
        send_event_on_commit(user_group(user_id), event)


def teleport_changed(teleport: Teleport, event_type: str) -> None:
    """`teleport.invited|accepted|declined|expired` to inviter and invitee, after commit."""
    event = envelope(event_type, teleport_payload(teleport))
    for user_id in (teleport.inviter_id, teleport.invitee_id):
        send_event_on_commit(user_group(user_id), event)


async def signal_relay(*, call_id: int, sender_id: int, recipient_id: int, payload: Any) -> None:
    """Ephemeral WebRTC signaling to the other party's sockets; nothing is written."""
    group = user_group(recipient_id)
    event = envelope("call.signal", {"call": call_id, "from": sender_id, "payload": payload})
    await asend_now(group, {"type": FORWARD, "group": group, "event": event})
