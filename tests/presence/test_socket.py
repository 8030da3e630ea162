"""The `activity` action and the refresh job: idle comes and goes by itself, seen by the company only."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from presence.models import Presence
from presence.sockets import refresh_presence
from tests.realtime.sockets import close_all, collect, connect, wait_for
from virtual_office.realtime import current_hub

pytestmark = pytest.mark.django_db(transaction=True)


async def answer(socket, frame: dict) -> dict:
    await socket.send_json_to(frame)
    while True:
        got = await socket.receive_json_from(timeout=3)
        if got.get("ref") == frame["ref"] and got["type"] in ("ack", "error", "pong"):
            return got


@database_sync_to_async
def make_idle(user) -> None:
    Presence.objects.filter(user=user).update(last_activity=timezone.now() - timedelta(hours=2), idle=True)


@database_sync_to_async
def stored(user) -> Presence:
    return Presence.objects.get(user=user)


async def presence_of(socket, user_id: int, timeout: float = 5) -> dict:
    """The next presence.updated about `user_id` (others skipped)."""
    while True:
        frame = await wait_for(socket, "presence.updated", timeout=timeout)
        if frame["data"]["user"] == user_id:
            return frame["data"]


async def test_activity_wakes_an_idle_person_for_their_company_only(alice, bob, mallory):
    mine, colleague, stranger = await connect(alice), await connect(bob), await connect(mallory)
    for socket in (mine, colleague, stranger):
        await collect(socket, quiet=0.2)
    await make_idle(alice)
    got = await answer(mine, {"action": "activity", "ref": "a"})
    assert got == {"type": "ack", "ref": "a", "data": None}
    seen = await presence_of(colleague, alice.id)
    assert seen["status"] == "online" and seen["status_reason"] is None
    assert (await stored(alice)).idle is False
    frames = await collect(stranger, quiet=0.3)
    assert not [f for f in frames if f["type"] == "presence.updated" and f["data"]["user"] == alice.id]
    # mallory's activity touches mallory only.
    await make_idle(alice)
    assert (await answer(stranger, {"action": "activity", "ref": "m"}))["type"] == "ack"
    assert (await stored(alice)).idle is True
    await close_all(mine, colleague, stranger)


async def test_any_action_counts_but_a_ping_does_not(alice):
    socket = await connect(alice)
    await collect(socket, quiet=0.2)
    hub = current_hub()
    await make_idle(alice)
    await answer(socket, {"action": "ping", "ref": "p"})
    await refresh_presence(hub)
    assert (await stored(alice)).idle is True, "a ping is the client's machinery, not the person"
    got = await answer(socket, {"action": "typing", "ref": "t", "conversation": 10**9, "state": "start"})
    assert got["type"] == "error", "an action refused still shows someone is there"
    await refresh_presence(hub)
    presence = await stored(alice)
    assert presence.idle is False and presence.last_activity > timezone.now() - timedelta(minutes=1)
    await close_all(socket)


async def test_idle_is_announced_by_the_refresh_job_by_itself(alice, bob, settings):
    settings.PRESENCE_REFRESH_SECONDS = 0.1
    settings.PRESENCE_IDLE_SECONDS = 0.5
    mine, colleague = await connect(alice), await connect(bob)
    seen = await presence_of(colleague, alice.id, timeout=10)
    while seen["status_reason"] != "idle":
        seen = await presence_of(colleague, alice.id, timeout=10)
    assert seen["status"] == "away"
    await answer(mine, {"action": "activity", "ref": "back"})
    seen = await presence_of(colleague, alice.id)
    assert seen["status"] == "online"
    await close_all(mine, colleague)
