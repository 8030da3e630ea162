"""LiveKit, the SFU a company may run beside the office: whether it is configured, and its access tokens.

With `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET` set, a space's talk is the LiveKit room
`space-<id>` (participant identity `user-<id>`); without them the page uses a WebRTC mesh, capped at
`SPACE_AV_MESH_MAX` participants.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from virtual_office.models import User


def livekit_configured() -> bool:
    return bool(settings.LIVEKIT_URL and settings.LIVEKIT_API_KEY and settings.LIVEKIT_API_SECRET)


def room_name(space_id: int) -> str:
    return f"space-{space_id}"


def identity(user_id: int) -> str:
    return f"user-{user_id}"


@dataclass(frozen=True)
class TalkToken:
    token: str
    url: str
    room: str


def token_mint(*, user: User, space_id: int) -> TalkToken:
    """A LiveKit access token to join (publish and subscribe in) the space's room."""
    # Imported here: livekit-api pulls in aiohttp (0.4 s), which only this call needs.
    from livekit import api as livekit_api

    room = room_name(space_id)
    token = (
        livekit_api.AccessToken(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        .with_identity(identity(user.id))
        .with_name(user.name)
        .with_grants(livekit_api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True))
        .to_jwt()
    )
    return TalkToken(token=token, url=settings.LIVEKIT_URL, room=room)
