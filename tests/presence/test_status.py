"""Status: manual status, text, emoji and expiry; automatic states (call, meeting, idle, quiet hours);
GET/PUT/DELETE presence/schedule/; what users/, me/ and presence.updated carry."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from calling import services as calling_services
from presence import services
from presence.models import Presence, QuietHours
from spaces import services as space_services
from tests.factories import SpaceFactory

STATUS_KEYS = {"status", "status_reason", "status_text", "status_emoji", "status_until"}


def connect(*users) -> None:
    for user in users:
        Presence.objects.filter(user=user).update(connected=True, last_activity=timezone.now())


def shown(user) -> tuple[str, str | None]:
    status = Presence.objects.get(user=user).availability()
    return status.status, status.status_reason


def presence_updates(capture_events, user) -> list[dict]:
    return [
        m["event"]["data"]
        for _, m in capture_events.sent
        if "event" in m and m["event"]["type"] == "presence.updated" and m["event"]["data"]["user"] == user.id
    ]


# -- manual status -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_put_status_text_emoji_and_until(api, alice, capture_events):
    connect(alice)
    until = timezone.now() + timedelta(minutes=30)
    with capture_events():
        response = api(alice).put(
            "/api/v1/presence/",
            {"status": "dnd", "status_text": " Focus ", "status_emoji": "🎧", "status_until": until.isoformat()},
            format="json",
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "dnd" and body["status_reason"] == "manual" and body["chosen_status"] == "dnd"
    assert body["status_text"] == "Focus" and body["status_emoji"] == "🎧"
    assert body["status_until"].startswith(until.isoformat()[:19])
    event = presence_updates(capture_events, alice)[-1]
    assert STATUS_KEYS <= set(event) and event["status"] == "dnd" and event["status_reason"] == "manual"
    me = api(alice).get("/api/v1/me/").json()
    assert me["status_text"] == "Focus" and me["presence"]["status_emoji"] == "🎧"


@pytest.mark.django_db
def test_fields_not_given_stay_and_online_clears_the_manual_status(alice):
    connect(alice)
    services.presence_set_status(actor=alice, status="busy", status_text="Reviewing")
    services.presence_set_status(actor=alice, status_emoji="👀")
    presence = Presence.objects.get(user=alice)
    assert (presence.status, presence.status_text, presence.status_emoji) == ("busy", "Reviewing", "👀")
    services.presence_set_status(actor=alice, status="online")
    assert shown(alice) == ("online", None)
    assert Presence.objects.get(user=alice).status_text == "Reviewing", "the text is not the status"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"status_until": "yesterday"},
        {"status_until": "2001-01-01T00:00:00Z"},
        {"status_text": "x" * 101},
        {"status_text": 5},
        {"status_emoji": "e" * 33},
    ],
)
def test_put_presence_rejects_bad_fields(api, alice, payload):
    connect(alice)
    response = api(alice).put("/api/v1/presence/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert Presence.objects.get(user=alice).status_text == ""


@pytest.mark.django_db
def test_status_until_ends_status_text_and_emoji_together_and_is_announced(alice, bob, capture_events):
    connect(alice)
    services.presence_set_status(
        actor=alice,
        status="away",
        status_text="Lunch",
        status_emoji="🍕",
        status_until=timezone.now() + timedelta(minutes=5),
    )
    later = timezone.now() + timedelta(minutes=6)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert shown(alice) == ("online", None), "a read is right before the job ran"
        with capture_events():
            assert services.presence_refresh(user_ids=[alice.id, bob.id]) == [alice.id]
        assert services.presence_refresh(user_ids=[alice.id]) == [], "announced once"
    presence = Presence.objects.get(user=alice)
    assert (presence.status, presence.status_text, presence.status_emoji, presence.status_until) == (
        "online",
        "",
        "",
        None,
    )
    event = presence_updates(capture_events, alice)[-1]
    assert event["status"] == "online" and event["status_reason"] is None and event["status_text"] == ""


# -- automatic states ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_answered_call_makes_both_busy_until_it_ends(alice, bob, capture_events):
    connect(alice, bob)
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    assert shown(alice) == ("online", None), "ringing is not a call yet"
    with capture_events():
        calling_services.call_accept(actor=bob, call=call)
    assert shown(alice) == shown(bob) == ("busy", "in_call")
    assert presence_updates(capture_events, bob)[-1]["status_reason"] == "in_call"
    calling_services.call_end(actor=alice, call=call)
    assert shown(alice) == shown(bob) == ("online", None)


@pytest.mark.django_db
def test_a_manual_status_wins_over_a_call_and_comes_back_after(alice, bob):
    connect(alice, bob)
    services.presence_set_status(actor=bob, status="away")
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    calling_services.call_accept(actor=bob, call=call)
    assert shown(bob) == ("away", "manual")
    calling_services.call_end(actor=bob, call=call)
    assert shown(bob) == ("away", "manual")


@pytest.mark.django_db
def test_going_offline_ends_the_call_and_its_busy(alice, bob):
    connect(alice, bob)
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    calling_services.call_accept(actor=bob, call=call)
    calling_services.calls_end_for_user(user_id=bob.id)
    assert shown(alice) == ("online", None)
    assert Presence.objects.get(user=bob).engagements == {}


@pytest.mark.django_db
def test_engagements_overlap_and_end_one_at_a_time(alice):
    connect(alice)
    services.presence_engagement_set(user=alice, engagement="in_call", on=True, source="call.1")
    services.presence_engagement_set(user=alice, engagement="in_call", on=True, source="talk.5")
    services.presence_engagement_set(user=alice, engagement="in_call", on=False, source="call.1")
    assert shown(alice) == ("busy", "in_call")
    services.presence_engagement_set(user=alice, engagement="in_call", on=False, source="talk.5")
    assert shown(alice) == ("online", None)
    with pytest.raises(ValueError, match="unknown engagement"):
        services.presence_engagement_set(user=alice, engagement="napping", on=True)


@pytest.mark.django_db
def test_a_meeting_in_my_space_makes_me_busy(alice, bob, company):
    connect(alice, bob)
    room = SpaceFactory(company=company, name="Board room", capacity=5)
    other = SpaceFactory(company=company, name="Kitchen", capacity=5)
    space_services.space_enter(actor=alice, space=room)
    space_services.meeting_start(actor=alice, space=room, title="Planning")
    assert shown(alice) == ("busy", "in_meeting")
    space_services.space_enter(actor=bob, space=room)
    assert shown(bob) == ("busy", "in_meeting"), "walking into a running meeting"
    space_services.space_enter(actor=bob, space=other)
    assert shown(bob) == ("online", None), "walking out of it"
    space_services.space_enter(actor=bob, space=room)
    space_services.meeting_end(actor=alice, space=room)
    assert shown(alice) == shown(bob) == ("online", None)
    space_services.meeting_start(actor=alice, space=room, title="Again")
    space_services.space_leave(actor=alice)
    assert shown(alice) == ("online", None)


@pytest.mark.django_db
def test_idle_after_the_setting_without_activity_and_back_on_activity(alice, settings, capture_events):
    settings.PRESENCE_IDLE_SECONDS = 60
    connect(alice)
    Presence.objects.filter(user=alice).update(last_activity=timezone.now() - timedelta(seconds=61))
    assert shown(alice) == ("away", "idle")
    with capture_events():
        assert services.presence_refresh(user_ids=[alice.id]) == [alice.id]
    assert Presence.objects.get(user=alice).idle is True
    assert presence_updates(capture_events, alice)[-1]["status_reason"] == "idle"
    with capture_events():
        assert services.presence_activity(user_ids=[alice.id], at=timezone.now()) == [alice.id]
    assert shown(alice) == ("online", None)
    assert presence_updates(capture_events, alice)[-1]["status"] == "online"


@pytest.mark.django_db
def test_busy_beats_idle_and_a_manual_away_is_not_idle(alice, settings):
    settings.PRESENCE_IDLE_SECONDS = 60
    connect(alice)
    Presence.objects.filter(user=alice).update(last_activity=timezone.now() - timedelta(hours=1))
    services.presence_engagement_set(user=alice, engagement="in_meeting", on=True, source="space")
    assert shown(alice) == ("busy", "in_meeting")
    services.presence_set_status(actor=alice, status="away")
    assert shown(alice) == ("away", "manual")


@pytest.mark.django_db
def test_offline_people_are_not_refreshed(alice):
    Presence.objects.filter(user=alice).update(connected=False, last_activity=timezone.now() - timedelta(days=2))
    assert services.presence_refresh(user_ids=[alice.id]) == []


# -- quiet hours ---------------------------------------------------------------------------------


def whole_day_schedule() -> dict:
    """Quiet hours holding now: every day from the current minute for two hours, in UTC."""
    now = timezone.now()
    start = now - timedelta(minutes=1)
    end = now + timedelta(hours=2)
    return {"timezone": "UTC", "days": list(range(7)), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


@pytest.mark.django_db
def test_quiet_hours_make_me_dnd_with_their_end(api, alice, bob, capture_events):
    connect(alice)
    with capture_events():
        response = api(alice).put("/api/v1/presence/schedule/", whole_day_schedule(), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["active"] is True and body["days"] == list(range(7)) and body["until"]
    assert shown(alice) == ("dnd", "schedule")
    event = presence_updates(capture_events, alice)[-1]
    assert event["status"] == "dnd" and event["status_reason"] == "schedule" and event["status_until"]
    row = {r["id"]: r for r in api(bob).get("/api/v1/users/").json()}[alice.id]
    assert row["status"] == "dnd" and row["status_reason"] == "schedule"
    assert api(alice).get("/api/v1/presence/schedule/").json()["timezone"] == "UTC"
    # A manual status wins over quiet hours; online gives them back.
    services.presence_set_status(actor=alice, status="busy")
    assert shown(alice) == ("busy", "manual")
    services.presence_set_status(actor=alice, status="online")
    assert shown(alice) == ("dnd", "schedule")
    assert api(alice).delete("/api/v1/presence/schedule/").status_code == 204
    assert shown(alice) == ("online", None)
    assert api(alice).get("/api/v1/presence/schedule/").json() == {
        "timezone": None,
        "days": [],
        "start": None,
        "end": None,
        "active": False,
        "until": None,
    }


@pytest.mark.django_db
def test_days_empty_removes_the_schedule(api, alice):
    connect(alice)
    api(alice).put("/api/v1/presence/schedule/", whole_day_schedule(), format="json")
    response = api(alice).put("/api/v1/presence/schedule/", {**whole_day_schedule(), "days": []}, format="json")
    assert response.status_code == 200 and response.json()["days"] == []
    assert not QuietHours.objects.filter(user=alice).exists()
    assert shown(alice) == ("online", None)


@pytest.mark.django_db
def test_quiet_hours_begin_and_end_by_themselves(alice, settings):
    settings.PRESENCE_IDLE_SECONDS = 86400
    connect(alice)
    now = timezone.now()
    services.quiet_hours_set(
        actor=alice,
        timezone_name="UTC",
        days=list(range(7)),
        start=(now + timedelta(minutes=10)).time().replace(second=0, microsecond=0),
        end=(now + timedelta(minutes=70)).time().replace(second=0, microsecond=0),
    )
    assert shown(alice) == ("online", None)
    inside = now + timedelta(minutes=30)
    with mock.patch("django.utils.timezone.now", return_value=inside):
        assert services.presence_refresh(user_ids=[alice.id]) == [alice.id]
        assert shown(alice) == ("dnd", "schedule")
    after = now + timedelta(minutes=80)
    with mock.patch("django.utils.timezone.now", return_value=after):
        assert shown(alice) == ("online", None), "ended on read already"
        assert services.presence_refresh(user_ids=[alice.id]) == [alice.id]
        assert Presence.objects.get(user=alice).quiet_until is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"timezone": ""}, "invalid_timezone"),
        ({"timezone": 5}, "invalid_timezone"),
        ({"start": "25:00"}, "invalid_time"),
        ({"start": "9:00"}, "invalid_time"),
        ({"end": "09:60"}, "invalid_time"),
        ({"end": 900}, "invalid_time"),
        ({"days": [7]}, "invalid_days"),
        ({"days": [-1]}, "invalid_days"),
        ({"days": "0,1"}, "invalid_days"),
        ({"days": [True]}, "invalid_days"),
        ({"start": "09:00", "end": "09:00"}, "invalid_window"),
    ],
)
def test_schedule_validation_codes(api, alice, payload, code):
    body = {"timezone": "Europe/Berlin", "days": [0, 1, 2, 3, 4], "start": "22:00", "end": "07:00", **payload}
    response = api(alice).put("/api/v1/presence/schedule/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code and response.json()["detail"]
    assert not QuietHours.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_schedule_crossing_midnight_is_stored_as_given(api, alice):
    body = {"timezone": "Europe/Berlin", "days": [4, 0, 0], "start": "22:00", "end": "07:00"}
    response = api(alice).put("/api/v1/presence/schedule/", body, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("timezone", "days", "start", "end")} == {
        "timezone": "Europe/Berlin",
        "days": [0, 4],
        "start": "22:00",
        "end": "07:00",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "body"), [("get", None), ("put", "schedule"), ("delete", None)])
def test_schedule_is_my_own_only(api, alice, mallory, method, body):
    """Across two companies: each person reads and writes only their own quiet hours."""
    payload = whole_day_schedule() if body else None
    api(mallory).put("/api/v1/presence/schedule/", whole_day_schedule(), format="json")
    response = getattr(api(alice), method)("/api/v1/presence/schedule/", payload, format="json")
    assert response.status_code in (200, 204)
    assert QuietHours.objects.filter(user=mallory).exists(), "mallory's schedule is untouched"
    if method == "get":
        assert response.json()["days"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_schedule_needs_a_login(method):
    from rest_framework.test import APIClient

    response = getattr(APIClient(), method)("/api/v1/presence/schedule/", {}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 20])
def test_users_with_statuses_query_count_does_not_grow(api, alice, django_assert_max_num_queries, count):
    from tests.factories import UserFactory

    for index in range(count):
        user = UserFactory(company=alice.company)
        connect(user)
        services.presence_set_status(actor=user, status="busy", status_text=f"t{index}")
        services.quiet_hours_set(
            actor=user,
            timezone_name="UTC",
            days=[0],
            start=timezone.now().time().replace(microsecond=0),
            end=(timezone.now() + timedelta(hours=1)).time().replace(microsecond=0),
        )
    client = api(alice)
    with django_assert_max_num_queries(3):
        rows = client.get("/api/v1/users/").json()
    assert len(rows) == count + 1 and all(STATUS_KEYS <= set(row) for row in rows)


@pytest.mark.django_db
def test_coming_online_inside_quiet_hours_shows_dnd_at_once(alice, bob, capture_events):
    Presence.objects.filter(user=alice).update(connected=False)
    now = timezone.now()
    services.quiet_hours_set(
        actor=alice,
        timezone_name="UTC",
        days=list(range(7)),
        start=(now - timedelta(minutes=1)).time().replace(second=0, microsecond=0),
        end=(now + timedelta(hours=2)).time().replace(second=0, microsecond=0),
    )
    Presence.objects.filter(user=alice).update(quiet_until=None)  # as if set long ago, before this window
    with capture_events():
        services.connections_open(server_id="s1", sockets=[(alice, "ws.a"), (bob, "ws.b")])
    assert shown(alice) == ("dnd", "schedule") and shown(bob) == ("online", None)
    first = presence_updates(capture_events, alice)[0]
    assert first["status"] == "dnd" and first["status_reason"] == "schedule"
