"""What a person's status is right now, computed from their presence row and the clock.

One function decides it (`resolve`), so the REST shapes, `presence.updated` and the interruption
policy (`presence.policy`) never disagree. The order:

1. offline when no socket is open;
2. a manual status (`away`, `busy`, `dnd` set by hand, until its `status_until`) wins;
3. then the automatic states, `dnd` beating `busy` beating `away`: quiet hours (`dnd`/`schedule`),
   a call (`busy`/`in_call`), a meeting in my space (`busy`/`in_meeting`), no activity for
   `PRESENCE_IDLE_SECONDS` or the company's own idle time (`away`/`idle`);
4. else online.

Times that pass by themselves (a manual status' expiry, idleness) are evaluated here against `now`,
so a read is right even before the refresh job has announced the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings

if TYPE_CHECKING:  # the models import this module (Presence.availability)
    from presence.models import Presence, QuietHours

# The values of Presence.Status, and the derived `offline`.
ONLINE = "online"
AWAY = "away"
BUSY = "busy"
DND = "dnd"
OFFLINE = "offline"

REASONS = ("manual", "in_call", "in_meeting", "idle", "schedule")
# Engagements the layers above may set (presence_engagement_set), and the status each one means.
ENGAGEMENTS = ("in_call", "in_meeting")


@dataclass(frozen=True)
class Availability:
    """A person's status as everyone sees it. `status_reason` is null for plain online and offline;
    `status_until` is when the shown status ends by itself, if known (a manual status' expiry, the
    end of the quiet hours in progress), else the expiry of the status text."""

    status: str
    status_reason: str | None
    status_text: str
    status_emoji: str
    status_until: datetime | None

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "status_reason": self.status_reason,
            "status_text": self.status_text,
            "status_emoji": self.status_emoji,
            "status_until": self.status_until.isoformat() if self.status_until else None,
        }


OFFLINE_AVAILABILITY = Availability(OFFLINE, None, "", "", None)


def idle_after(presence: Presence | None = None) -> timedelta:
    """How long without activity makes `presence` idle: its company's policy, else the server's."""
    if presence is not None and presence.idle_seconds:
        return timedelta(seconds=presence.idle_seconds)
    return timedelta(seconds=settings.PRESENCE_IDLE_SECONDS)


def manual_expired(presence: Presence, now: datetime) -> bool:
    return presence.status_until is not None and presence.status_until <= now


def is_idle(presence: Presence, now: datetime) -> bool:
    last = presence.last_activity or presence.last_seen
    return last is not None and now - last >= idle_after(presence)


def engaged(presence: Presence, engagement: str) -> bool:
    return bool((presence.engagements or {}).get(engagement))


def quiet_now(presence: Presence, now: datetime) -> bool:
    """Inside quiet hours, as last worked out from the schedule (`quiet_until` is kept by the
    schedule's writes and the refresh job; past it, the window is over whatever was stored)."""
    return presence.quiet_until is not None and presence.quiet_until > now


def resolve(presence: Presence | None, now: datetime) -> Availability:
    if presence is None or not presence.connected:
        if presence is None or manual_expired(presence, now):
            return OFFLINE_AVAILABILITY
        return Availability(OFFLINE, None, presence.status_text, presence.status_emoji, presence.status_until)
    expired = manual_expired(presence, now)
    text = "" if expired else presence.status_text
    emoji = "" if expired else presence.status_emoji
    until = None if expired else presence.status_until
    if presence.status != ONLINE and not expired:
        return Availability(presence.status, "manual", text, emoji, until)
    if quiet_now(presence, now):
        return Availability(DND, "schedule", text, emoji, presence.quiet_until)
    if engaged(presence, "in_call"):
        return Availability(BUSY, "in_call", text, emoji, until)
    if engaged(presence, "in_meeting"):
        return Availability(BUSY, "in_meeting", text, emoji, until)
    if is_idle(presence, now):
        return Availability(AWAY, "idle", text, emoji, until)
    return Availability(ONLINE, None, text, emoji, until)


# -- quiet hours -------------------------------------------------------------------------------

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(value: object) -> time | None:
    """ "HH:MM" (24 h) -> time, or None when it is not one."""
    if not isinstance(value, str):
        return None
    match = HHMM.match(value)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def known_timezone(name: object) -> bool:
    if not isinstance(name, str) or not name or name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)


def quiet_window_end(schedule: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the quiet-hours window `now` is in, or None outside every window. A window
    belongs to the day it starts: 22:00-07:00 on Friday (4) runs into Saturday morning."""
    if schedule is None or not schedule.days:
        return None
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    days = set(schedule.days)
    # The window that started today, and the one that started yesterday (it may cross midnight).
    for offset in (0, 1):
        day = local.date() - timedelta(days=offset)
        if day.weekday() not in days:
            continue
        start = _at(day, schedule.start, zone)
        end_day = day + timedelta(days=1) if schedule.end <= schedule.start else day
        end = _at(end_day, schedule.end, zone)
        if start <= now < end:
            return end
    return None
