"""Reads of talks: a space's participants (the payload of `space.av.updated`) and the check behind
`space.av.signal`."""

from __future__ import annotations

from typing import TypedDict

from presence.models import Presence
from talk.models import TalkParticipant


class ParticipantRow(TypedDict):
    user: int
    audio: bool
    video: bool
    screen: bool


def participant_list(*, space_id: int) -> list[ParticipantRow]:
    """Who is in the space's talk, first joiner first (the page's mesh needs the join order). One query."""
    rows = TalkParticipant.objects.filter(space_id=space_id).order_by("joined_at", "id")
    return [
        ParticipantRow(user=r["user_id"], audio=r["audio"], video=r["video"], screen=r["screen"])
        for r in rows.values("user_id", "audio", "video", "screen")
    ]


def occupant_ids(*, space_id: int) -> list[int]:
    return list(
        Presence.objects.filter(current_space_id=space_id).order_by("user_id").values_list("user_id", flat=True)
    )


def signal_pair_joined(*, space_id: int, company_id: int, sender_id: int, channel_name: str, recipient_id: int) -> str:
    """Whether a signal may go from this socket to `recipient_id` in the space's talk: "ok", or what
    is missing ("no_space": not a space of this company; "sender": this socket did not join it;
    "recipient": they are not in it). One query."""
    rows = {
        user_id: channel
        for user_id, channel in TalkParticipant.objects.filter(
            space_id=space_id, space__company_id=company_id, user_id__in=[sender_id, recipient_id]
        ).values_list("user_id", "channel_name")
    }
    if rows.get(sender_id) != channel_name:
        return "sender"
    if recipient_id not in rows:
        return "recipient"
    return "ok"
