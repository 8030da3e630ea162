"""Calls and teleports ask the interruption policy: dnd refuses (also in quiet hours), busy rings quietly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calling import services
from presence import services as presence_services
from presence.models import Presence


def quiet_hours_now(user) -> None:
    now = timezone.now()
    presence_services.quiet_hours_set(
        actor=user,
        timezone_name="UTC",
        days=list(range(7)),
        start=(now - timedelta(minutes=1)).time().replace(second=0, microsecond=0),
        end=(now + timedelta(hours=2)).time().replace(second=0, microsecond=0),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["manual", "schedule"])
def test_a_dnd_callee_is_409_callee_dnd(api, alice, bob, online, how):
    if how == "manual":
        presence_services.presence_set_status(actor=bob, status="dnd")
    else:
        quiet_hours_now(bob)
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "callee_dnd"


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["manual", "meeting"])
def test_a_busy_callee_is_rung_quietly(api, alice, bob, online, capture_events, how):
    if how == "manual":
        presence_services.presence_set_status(actor=bob, status="busy")
    else:
        presence_services.presence_engagement_set(user=bob, engagement="in_meeting", on=True, source="space")
    with capture_events():
        response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "video"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["callee_status"] == "busy" and response.json()["quiet"] is True
    invited = [m["event"] for g, m in capture_events.sent if g == f"user.{bob.id}" and "event" in m]
    assert [e["type"] for e in invited if e["type"].startswith("call.")] == ["call.invited"]
    assert invited[-1]["data"]["quiet"] is True


@pytest.mark.django_db
def test_an_idle_callee_rings_as_usual(api, alice, bob, online, settings):
    settings.PRESENCE_IDLE_SECONDS = 60
    Presence.objects.filter(user=bob).update(last_activity=timezone.now() - timedelta(minutes=5))
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 201
    assert response.json()["callee_status"] == "away" and response.json()["quiet"] is False


@pytest.mark.django_db
def test_a_callee_in_a_call_is_still_409_busy(api, alice, bob, carol, online):
    call = services.call_create(actor=bob, callee_id=carol.id, kind="voice")
    services.call_accept(actor=carol, call=call)
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "busy"


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["manual", "schedule"])
def test_a_dnd_invitee_is_409_invitee_dnd(api, alice, bob, online, space, how):
    Presence.objects.filter(user=alice).update(current_space=space)
    if how == "manual":
        presence_services.presence_set_status(actor=bob, status="dnd")
    else:
        quiet_hours_now(bob)
    response = api(alice).post("/api/v1/teleports/", {"invitee": bob.id}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invitee_dnd"


@pytest.mark.django_db
def test_a_manual_status_over_quiet_hours_lets_calls_through(api, alice, bob, online):
    quiet_hours_now(bob)
    presence_services.presence_set_status(actor=bob, status="away")
    response = api(alice).post("/api/v1/calls/", {"callee": bob.id, "kind": "voice"}, format="json")
    assert response.status_code == 201 and response.json()["callee_status"] == "away"
