"""Payloads and recipients of talk events: `space.av.updated` to the space's occupants (after commit),
and `space.av.signal`, relayed at once and never stored (WebRTC offers, answers, ICE candidates)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from talk import selectors
from virtual_office.realtime import FORWARD, asend_now, commit_memo, envelope, send_event_on_commit, user_group


def _updated_payload(space_id: int) -> dict:
    return {"space": space_id, "participants": selectors.participant_list(space_id=space_id)}


def talk_changed(*, space_id: int, also: Iterable[int] = ()) -> None:
    """`space.av.updated` to everyone in the space (and `also`: someone who just left it), read as
    committed: several changes in one transaction send one frame per person."""
    payload = commit_memo(f"talk:{space_id}", lambda: envelope("space.av.updated", _updated_payload(space_id)))
    for user_id in sorted({*selectors.occupant_ids(space_id=space_id), *also}):
        send_event_on_commit(user_group(user_id), payload, once=f"talk:{space_id}:{user_id}")


def talk_shown(*, space_id: int, user_id: int) -> None:
    """Someone entered a space: they see who is in its talk already (the page offers to join)."""
    payload = commit_memo(f"talk:{space_id}", lambda: envelope("space.av.updated", _updated_payload(space_id)))
    send_event_on_commit(user_group(user_id), payload, once=f"talk:{space_id}:{user_id}")


async def signal_relay(*, space_id: int, sender_id: int, recipient_id: int, payload: Any) -> None:
    group = user_group(recipient_id)
    event = envelope("space.av.signal", {"space": space_id, "from": sender_id, "payload": payload})
    await asend_now(group, {"type": FORWARD, "group": group, "event": event})
