"""presence.policy and presence.status: the one interruption policy and the status behind it."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from presence import policy
from presence.models import Presence, QuietHours
from presence.status import quiet_window_end, resolve


def row(**fields) -> Presence:
    return Presence(**{"connected": True, "status": "online", "engagements": {}, **fields})


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday (weekday 3)


def test_plain_online_and_offline_have_no_reason():
    assert resolve(row(), NOW).as_dict() == {
        "status": "online",
        "status_reason": None,
        "status_text": "",
        "status_emoji": "",
        "status_until": None,
    }
    assert resolve(row(connected=False, status="busy"), NOW).status == "offline"
    assert resolve(None, NOW).status_reason is None


def test_manual_status_wins_over_every_automatic_one():
    automatic = {
        "engagements": {"in_call": ["call.1"], "in_meeting": ["space"]},
        "quiet_until": NOW + timedelta(hours=1),
        "last_activity": NOW - timedelta(days=1),
    }
    shown = resolve(row(status="away", **automatic), NOW)
    assert (shown.status, shown.status_reason) == ("away", "manual")


def test_dnd_beats_busy_beats_away():
    idle = {"last_activity": NOW - timedelta(hours=1)}
    call = {"engagements": {"in_call": ["call.1"]}}
    quiet = {"quiet_until": NOW + timedelta(hours=1)}
    assert (resolve(row(**idle), NOW).status, resolve(row(**idle), NOW).status_reason) == ("away", "idle")
    assert resolve(row(**idle, **call), NOW).status_reason == "in_call"
    assert resolve(row(engagements={"in_meeting": ["space"]}, **idle), NOW).status_reason == "in_meeting"
    shown = resolve(row(**idle, **call, **quiet), NOW)
    assert (shown.status, shown.status_reason, shown.status_until) == ("dnd", "schedule", NOW + timedelta(hours=1))


def test_states_end_by_themselves():
    assert resolve(row(quiet_until=NOW), NOW).status == "online"
    assert resolve(row(last_activity=NOW - timedelta(seconds=30)), NOW).status == "online"
    assert resolve(row(engagements={"in_call": []}), NOW).status == "online"
    expired = row(status="dnd", status_text="Focus", status_emoji="🎧", status_until=NOW)
    assert resolve(expired, NOW).as_dict() == resolve(row(), NOW).as_dict()
    running = row(status="dnd", status_text="Focus", status_emoji="🎧", status_until=NOW + timedelta(minutes=5))
    assert resolve(running, NOW).as_dict()["status_text"] == "Focus"


def test_text_and_emoji_go_with_any_status():
    shown = resolve(row(status_text="Lunch", status_emoji="🍕", engagements={"in_call": ["call.1"]}), NOW)
    assert (shown.status, shown.status_reason) == ("busy", "in_call")
    assert (shown.status_text, shown.status_emoji) == ("Lunch", "🍕")


@pytest.mark.parametrize(
    ("status", "reason", "answer"),
    [
        ("dnd", "manual", "hold"),
        ("dnd", "schedule", "hold"),
        ("busy", "in_call", "quiet"),
        ("busy", "in_meeting", "quiet"),
        ("busy", "manual", "quiet"),
        ("away", "idle", "ring"),
        ("online", None, "ring"),
        ("offline", None, "ring"),
    ],
)
def test_decide_for_every_kind(status, reason, answer):
    for kind in policy.KINDS:
        assert policy.decide(policy.Availability(status, reason, "", "", None), kind) == answer


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown interruption kind"):
        policy.decide(policy.Availability("online", None, "", "", None), "shout")


@pytest.mark.django_db
def test_interruption_reads_the_stored_presence(alice, bob):
    Presence.objects.filter(user=alice).update(connected=True, status="dnd")
    Presence.objects.filter(user=bob).update(connected=True, engagements={"in_call": ["call.9"]})
    assert policy.interruption(alice, "call") == "hold"
    assert policy.interruption(bob.id, "teleport") == "quiet"
    assert policy.availability(bob).status_reason == "in_call"
    Presence.objects.filter(user=alice).update(status_until=timezone.now() - timedelta(seconds=1))
    assert policy.interruption(alice, "mention") == "ring"


def schedule(days, start, end, tz="UTC") -> QuietHours:
    return QuietHours(timezone=tz, days=days, start=time(*start), end=time(*end))


def test_quiet_window_same_day():
    evening = schedule([3], (9, 0), (17, 0))
    assert quiet_window_end(evening, NOW) == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    assert quiet_window_end(evening, NOW.replace(hour=17)) is None
    assert quiet_window_end(schedule([4], (9, 0), (17, 0)), NOW) is None
    assert quiet_window_end(schedule([], (9, 0), (17, 0)), NOW) is None


def test_quiet_window_crossing_midnight_belongs_to_the_day_it_starts():
    night = schedule([3], (22, 0), (7, 0))  # Thursday night into Friday morning
    assert quiet_window_end(night, NOW.replace(hour=23)) == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    friday_early = datetime(2026, 12, 4, 6, 59, tzinfo=UTC)
    assert quiet_window_end(night, friday_early) == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    thursday_early = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # Wednesday's window is not in `days`
    assert quiet_window_end(night, thursday_early) is None


def test_quiet_window_in_the_persons_time_zone():
    berlin = schedule([3], (12, 30), (14, 0), tz="Europe/Berlin")  # 11:30-13:00 UTC in winter
    assert quiet_window_end(berlin, NOW) == datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    assert quiet_window_end(berlin, NOW.replace(hour=11)) is None
