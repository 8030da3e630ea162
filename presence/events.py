"""Payloads and recipients of presence events (the user's company)."""

from presence.models import Presence
from virtual_office.realtime import company_group, envelope, send_event_on_commit, user_group

# The socket close code for "you are no longer authenticated" (virtual_office.realtime.frames).
CLOSE_UNAUTHENTICATED = 4401


def presence_payload(presence: Presence) -> dict:
    """`presence.updated`: status, status_reason, status_text, status_emoji, status_until as
    presence.status.resolve shows them now (also the fields of users/ and me/)."""
    return {
        "user": presence.user_id,
        **presence.availability().as_dict(),
        "current_space": presence.current_space_id,
        "last_seen": presence.last_seen.isoformat() if presence.last_seen else None,
    }


def presence_saved(presence: Presence, company_id: int | None) -> None:
    if company_id is None:
        return
    send_event_on_commit(company_group(company_id), envelope("presence.updated", presence_payload(presence)))


def user_sockets_close(user_id: int) -> None:
    """Close every socket of a user at once (deactivated), on every process, after commit."""
    send_event_on_commit(user_group(user_id), control={"op": "close", "code": CLOSE_UNAUTHENTICATED})
