"""The one interruption policy: every ring, toast, desktop notification, knock and teleport asks here.

`interruption(user, kind)` answers how something of `kind` may reach `user` now:

- "ring": interrupt normally (sound, pop-up, desktop notification);
- "quiet": deliver, but without sound or pop-up emphasis (the person is busy: in a call, in a
  meeting, or busy by hand);
- "hold": do not pop up at all; it waits as a notification (the person is in dnd, by hand or in
  their quiet hours). Calls and teleports are refused then (409 `callee_dnd`, `invitee_dnd`).

`availability(user)` is the status behind the answer. The page asks the same question of a presence
object with `interruptionFor(kind, presence)` in static/js/interruptions.js; keep the two alike.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from presence.models import Presence
from presence.status import BUSY, DND, Availability, resolve
from virtual_office.models import User

__all__ = ["HOLD", "KINDS", "QUIET", "RING", "Availability", "availability", "decide", "interruption"]

KINDS = ("call", "teleport", "knock", "mention", "message")
RING = "ring"
QUIET = "quiet"
HOLD = "hold"


def availability(user: User | int, *, now: datetime | None = None) -> Availability:
    """The person's status as everyone sees it, read from the database now (never a presence cached
    on the `User` instance, which may be older than this transaction's view)."""
    user_id = user if isinstance(user, int) else user.pk
    presence = Presence.objects.filter(user_id=user_id).first()
    return resolve(presence, now or timezone.now())


def decide(status: Availability, kind: str) -> str:
    """The answer for a status already known (a row just read, or locked, by the caller)."""
    if kind not in KINDS:
        raise ValueError(f"unknown interruption kind {kind!r}; one of {', '.join(KINDS)}")
    if status.status == DND:
        return HOLD
    if status.status == BUSY:
        return QUIET
    # online, away (idle or by hand) and offline: delivered as usual (offline: nobody is there to be
    # interrupted, and notifications are stored anyway).
    return RING


def interruption(user: User | int, kind: str) -> str:
    """How `kind` ("call", "teleport", "knock", "mention", "message") may interrupt `user` now:
    "ring", "quiet" or "hold"."""
    return decide(availability(user), kind)
