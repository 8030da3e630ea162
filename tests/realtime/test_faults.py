"""Faults inside one process: Redis away and back, sockets that do not read, consumers that raise,
dead workers, presence waves, and a new big conversation. The same faults with real processes,
kills and a proxy are in `make faults` (faults/)."""

import asyncio

import pytest
import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from presence.models import Connection, Presence
from tests.factories import UserFactory, group_with, post
from tests.realtime.sockets import close_all, closed_with, collect, connect, types, wait_for
from virtual_office import realtime as consumers
from virtual_office import shared_state
from virtual_office.realtime import current_hub
from virtual_office.realtime.consumer import OfficeConsumer

pytestmark = pytest.mark.django_db(transaction=True)


async def until(condition, timeout: float = 5.0) -> None:
    """Wait for `condition()` to hold (polling), failing after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def row_ended(channel_name: str, timeout: float = 5.0) -> None:
    """The socket's connection row is gone (rows of closed sockets end in batches, within a second)."""
    exists = database_sync_to_async(lambda: Connection.objects.filter(channel_name=channel_name).exists())
    deadline = asyncio.get_running_loop().time() + timeout
    while await exists():
        assert asyncio.get_running_loop().time() < deadline, "connection row still there"
        await asyncio.sleep(0.05)


@pytest.fixture
def redis_away(monkeypatch):
    """Shared state talks to a Redis that is not there (nothing listens on port 1)."""
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(shared_state, "_redis", lambda: dead)
    monkeypatch.setattr(shared_state, "_counters_away_until", 0.0)
    return dead


# -- Redis away ------------------------------------------------------------------------------------


async def test_redis_away_closes_no_socket_and_actions_that_need_it_say_unavailable(group, alice, redis_away):
    socket = await connect(alice)
    await collect(socket)
    # The rate counter falls back to this process: a ping still gets its pong.
    await socket.send_json_to({"action": "ping", "ref": "p"})
    assert (await wait_for(socket, "pong"))["ref"] == "p"
    # Watching needs the shared watcher set: a clear error, and the socket stays open.
    await socket.send_json_to({"action": "watch", "ref": "w", "conversation": group.id})
    error = await wait_for(socket, "error")
    assert error["ref"] == "w" and error["error"]["code"] == "unavailable"
    await socket.send_json_to({"action": "message.send", "ref": "m", "conversation": group.id, "body": "still here"})
    frames = await collect(socket)
    assert "closed" not in types(frames)
    assert any(f["type"] == "ack" and f["ref"] == "m" for f in frames)
    await close_all(socket)


async def test_when_redis_answers_again_groups_are_restored_and_sockets_resync(group, alice, bob, settings, db_call):
    settings.HUB_HEALTH_SECONDS = 0.05
    socket = await connect(bob)
    await collect(socket)
    hub = current_hub()
    # As after a Redis restart: the layer forgot this process' memberships.
    for group_name in [*hub.members, "hubs"]:
        await hub.layer.group_discard(group_name, hub.channel)
    hub.layer_failed("test", ConnectionError("redis restarted"))
    restores = hub.restores
    frames = [await wait_for(socket, "resync")]
    assert hub.restores == restores + 1 and hub.layer_ok
    # Bundles from other processes (every hub's group) reach it again too.
    bundle_item = {"type": "event.forward", "group": f"user.{bob.id}", "event": {"type": "test.bundled", "data": {}}}
    await hub.layer.group_send("hubs", {"type": "event.bundle", "origin": "another-process", "items": [bundle_item]})
    assert (await wait_for(socket, "test.bundled"))["type"] == "test.bundled"
    # A message published by another process (not through this hub's inbox) reaches the socket again.
    message = await db_call(post, group, alice, "after the restart")
    event = {"type": "message.created", "conversation": group.id, "rev": message.rev, "data": {"id": message.id}}
    await hub.layer.group_send(
        f"conversation.{group.id}",
        {"type": "event.forward", "group": f"conversation.{group.id}", "event": event, "origin": "another-process"},
    )
    frames += await collect(socket)
    created = [f for f in frames if f["type"] == "message.created"]
    assert [f["data"]["id"] for f in created] == [message.id]  # once: the inbox copy and the layer's
    await close_all(socket)


async def test_a_redis_restart_without_a_failed_call_is_seen_by_its_run_id(alice, settings, monkeypatch):
    settings.HUB_HEALTH_SECONDS = 0.05
    run_ids = iter(["first", "first", "second"])
    last = ["first"]

    async def run_id(timeout: float) -> str:
        last[0] = next(run_ids, last[0])
        return last[0]

    monkeypatch.setattr(shared_state, "redis_run_id", run_id)
    socket = await connect(alice)
    await collect(socket)
    hub = current_hub()
    hub.redis_run_id = "first"
    await wait_for(socket, "resync")
    assert hub.redis_run_id == "second"
    await close_all(socket)


# -- sockets that do not read ----------------------------------------------------------------------


async def test_a_socket_that_does_not_read_is_closed_with_4008_and_holds_nobody_back(
    group, alice, bob, settings, db_call
):
    settings.WS_SEND_QUEUE_MAX = 5
    slow, reader = await connect(bob), await connect(alice)
    await collect(slow)
    await collect(reader)
    hub = current_hub()
    stuck = asyncio.Event()
    slow_consumer = next(c for c in hub.consumers if c.user_id == bob.id)

    async def never_written(text: str) -> None:
        await stuck.wait()  # as a transport whose peer stopped reading

    slow_consumer.send_text = never_written
    for i in range(10):
        await db_call(post, group, alice, f"message {i}")
    frames = await collect(reader)
    assert [f["data"]["body"] for f in frames if f["type"] == "message.created"] == [f"message {i}" for i in range(10)]
    assert await closed_with(slow) == consumers.CLOSE_TOO_SLOW
    await until(lambda: slow_consumer not in hub.consumers)
    await row_ended(slow_consumer.channel_name)
    await close_all(reader)


async def test_frames_a_socket_asked_for_wait_for_room_instead_of_overflowing(group, alice, settings, db_call):
    settings.WS_SEND_QUEUE_MAX = 4
    for i in range(12):
        await db_call(post, group, alice, f"old {i}")
    socket = await connect(alice)
    await collect(socket)
    await socket.send_json_to({"action": "resume", "ref": "r", "conversations": {str(group.id): 0}})
    frames = await collect(socket, quiet=0.5)
    assert [f["rev"] for f in frames if "rev" in f] == list(range(1, 13))
    assert types(frames)[-2:] == ["resumed", "ack"]
    await close_all(socket)


# -- consumers that raise ----------------------------------------------------------------------------


async def test_a_consumer_that_raises_leaves_no_ghost(alice, monkeypatch):
    socket = await connect(alice)
    await collect(socket)
    hub = current_hub()
    consumer = next(c for c in hub.consumers if c.user_id == alice.id)
    assert await database_sync_to_async(Connection.objects.filter(channel_name=consumer.channel_name).exists)()

    async def broken_receive(*args, **kwargs) -> None:
        raise RuntimeError("a bug in a handler")

    consumer.receive = broken_receive
    await socket.send_json_to({"action": "ping", "ref": 1})
    await until(lambda: consumer not in hub.consumers)
    await until(lambda: consumer.cleaned_up)
    await row_ended(consumer.channel_name)
    with pytest.raises(RuntimeError):
        await socket.wait()


async def test_a_socket_that_cannot_open_is_closed_with_1013(alice, monkeypatch):
    from messaging import selectors

    def database_away(users):
        from django.db import OperationalError

        raise OperationalError("the pool is exhausted")

    monkeypatch.setattr(selectors, "subscribed_conversation_revs_many", database_away)
    socket = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    socket.scope["user"] = alice
    connected, _ = await socket.connect(timeout=5)
    assert connected  # accepted, so that the client sees why it is closed
    assert await closed_with(socket) == consumers.CLOSE_TRY_AGAIN
    hub = current_hub()
    await until(lambda: all(c.user_id != alice.id for c in hub.consumers))
    await socket.wait(timeout=5)  # the consumer has ended: its cleanup is done


# -- dead workers -------------------------------------------------------------------------------------


async def test_users_of_a_dead_worker_go_offline_and_others_stay(alice, bob, settings, db_call):
    settings.WORKER_HEARTBEAT_SECONDS = 0.05
    settings.WORKER_DEAD_AFTER_SECONDS = 0.2
    settings.PRESENCE_HEARTBEAT_SECONDS = 0.05
    socket = await connect(bob)  # bob is on this (live) process
    await collect(socket)
    hub = current_hub()
    old = timezone.now() - timezone.timedelta(seconds=5)

    def orphan_alice() -> None:
        Connection.objects.create(channel_name="ws.dead", user=alice, server_id="dead-worker", heartbeat_at=old)
        Presence.objects.update_or_create(user=alice, defaults={"connected": True})

    await db_call(orphan_alice)
    hub.layer_ok_since -= 1  # the layer has answered long enough for dead keys to mean something

    def alice_connected() -> bool:
        return Presence.objects.get(user=alice).connected

    for _ in range(100):
        if not await db_call(alice_connected):
            break
        await asyncio.sleep(0.05)
    assert not await db_call(alice_connected)
    assert await db_call(lambda: Presence.objects.get(user=bob).connected)
    assert await db_call(lambda: Connection.objects.filter(server_id=hub.server_id).count()) == 1
    await close_all(socket)


# -- a morning wave of logins -------------------------------------------------------------------------


async def test_presence_frames_to_a_company_are_coalesced(company, alice, settings):
    settings.PRESENCE_COALESCE_SECONDS = 0.3
    observer = await connect(alice)
    await collect(observer)
    people = await database_sync_to_async(lambda: [UserFactory(company=company) for _ in range(12)])()
    sockets = await asyncio.gather(*(connect(person) for person in people))
    frames = await collect(observer, quiet=0.8)
    presence = [f for f in frames if f["type"] in ("presence.updated", "presence.batch")]
    seen = {}
    for frame in presence:
        for update in frame["data"]["updates"] if frame["type"] == "presence.batch" else [frame["data"]]:
            seen[update["user"]] = update["status"]
    assert seen == {person.id: "online" for person in people}
    assert len(presence) <= 4  # 12 logins, a few frames
    await close_all(observer, *sockets)


# -- a new big conversation ---------------------------------------------------------------------------


async def test_sockets_joining_a_new_conversation_share_one_replay(company, alice, db_call):
    people = await db_call(lambda: [UserFactory(company=company) for _ in range(8)])
    sockets = [await connect(person) for person in people]
    for socket in sockets:
        await collect(socket)
    hub = current_hub()
    queries = hub.replay_queries

    def create_group():  # in one transaction, as the API creates it: the joins go out together
        with transaction.atomic():
            return group_with(alice, *people)

    conversation = await db_call(create_group)
    for socket in sockets:
        await wait_for(socket, "conversation.created")
    await until(lambda: not hub._replays)
    assert hub.replay_queries - queries <= 1
    await db_call(post, conversation, alice, "first words")
    for socket in sockets:
        created = await wait_for(socket, "message.created")
        assert created["data"]["body"] == "first words"
    await close_all(*sockets)
