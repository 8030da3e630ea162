"""What a reconnect storm goes through: opens written in batches, tokens and subscriptions read in
batches, the rate counter that does not wait for Redis, a resume that checks only what it must."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.db import IntegrityError
from rest_framework.authtoken.models import Token

from presence.models import Connection, Presence
from presence.services import connections_open
from presence.sockets import _open_connection
from tests.factories import UserFactory
from tests.realtime.sockets import close_all, collect, connect, connect_with_headers, wait_for
from virtual_office import shared_state
from virtual_office.realtime import Batch, batch_stats

pytestmark = pytest.mark.django_db(transaction=True)


# -- the batch ----------------------------------------------------------------------------------------


async def test_calls_that_arrive_together_run_in_few_batches_and_keep_their_own_results():
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[object]:
        calls.append(list(items))
        return [ValueError(f"odd {i}") if i == 7 else i * 2 for i in items]

    batch = Batch(double, limit=50, concurrency=1)
    results = await asyncio.gather(*(batch(i) for i in range(100)), return_exceptions=True)
    assert results[:7] == [i * 2 for i in range(7)]
    assert isinstance(results[7], ValueError) and str(results[7]) == "odd 7"  # that item alone fails
    assert results[8:] == [i * 2 for i in range(8, 100)]
    # The first call starts at once on its own; the 99 that came meanwhile go in two more (limit 50).
    assert [len(c) for c in calls] == [1, 50, 49]
    assert batch.batches == 3 and batch.items == 100


async def test_a_batch_that_fails_as_a_whole_fails_each_caller():
    def broken(items: list[int]) -> list[int]:
        raise ConnectionError("database away")

    batch = Batch(broken)
    results = await asyncio.gather(batch(1), batch(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_an_async_function_is_batched_on_the_event_loop():
    calls: list[list[int]] = []

    async def triple(items: list[int]) -> list[int]:
        calls.append(list(items))
        await asyncio.sleep(0)
        return [i * 3 for i in items]

    batch = Batch(triple, limit=50, concurrency=1)
    assert await asyncio.gather(*(batch(i) for i in range(60))) == [i * 3 for i in range(60)]
    assert [len(c) for c in calls] == [1, 50, 9]


async def test_watches_sent_together_are_written_and_read_in_few_round_trips(company):
    """A deploy: every page re-sends `watch` for its open conversation at once. They go to Redis in
    batches (one write and one read each), and every ack lists its own socket among the watchers."""
    from messaging.handlers import _watch_and_list
    from tests.factories import group_with

    people = await database_sync_to_async(lambda: UserFactory.create_batch(40, company=company))()
    chat = await database_sync_to_async(lambda: group_with(*people, title="All hands"))()
    sockets = [await connect(person) for person in people]
    for socket in sockets:
        await collect(socket)
    stats_before = batch_stats(_watch_and_list)
    batches_before = stats_before.batches if stats_before else 0
    for index, socket in enumerate(sockets):
        await socket.send_json_to({"action": "watch", "ref": f"w{index}", "conversation": chat.id})
    acks = [await wait_for(socket, "ack") for socket in sockets]
    for person, ack in zip(people, acks, strict=True):
        assert person.id in ack["data"]["watchers"]
    batches = batch_stats(_watch_and_list).batches - batches_before
    assert batches <= 10  # not one per watch (3 here)
    assert await shared_state.watchers(chat.id) == sorted(p.id for p in people)
    await close_all(*sockets)


# -- connection rows and presence ----------------------------------------------------------------------


def test_opening_many_sockets_costs_a_few_statements(company, django_assert_max_num_queries):
    users = UserFactory.create_batch(30, company=company)
    Presence.objects.filter(user__in=users[:10]).update(connected=True)  # ten of them are online already
    sockets = [(user, f"storm.{user.id}.{tab}") for user in users for tab in (1, 2)]
    # Rows, presence rows, lock, and one UPDATE per person who came online (20), in one transaction.
    with django_assert_max_num_queries(26):
        results = connections_open(server_id="proc", sockets=sockets)
    assert [p.user_id for p in results] == [user.id for user, _ in sockets]
    assert Connection.objects.filter(server_id="proc").count() == 60
    assert Presence.objects.filter(user__in=users, connected=True).count() == 30


def test_a_reopened_channel_moves_to_its_new_process(company):
    user = UserFactory(company=company)
    connections_open(server_id="old", sockets=[(user, "ws.same")])
    connections_open(server_id="new", sockets=[(user, "ws.same")])
    assert list(Connection.objects.values_list("server_id", flat=True)) == ["new"]


def test_one_user_gone_fails_only_their_socket(company):
    kept, gone = UserFactory(company=company), UserFactory(company=company)
    gone_id = gone.id
    gone.delete()
    gone.id = gone_id  # the socket still holds the user object it authenticated
    results = connections_open(server_id="proc", sockets=[(kept, "ws.kept"), (gone, "ws.gone")])
    assert results[0].user_id == kept.id
    assert isinstance(results[1], IntegrityError)
    assert list(Connection.objects.values_list("channel_name", flat=True)) == ["ws.kept"]


async def test_sockets_opening_together_share_a_batch_and_people_see_them_come_online(company, alice):
    people = await database_sync_to_async(UserFactory.create_batch)(12, company=company)
    watcher = await connect(alice)
    await collect(watcher)
    sockets = await asyncio.gather(*(connect(person) for person in people))
    stats = batch_stats(_open_connection)
    assert stats is not None and stats.batches < len(people)  # some opened together
    frames = await collect(watcher)
    online = {f["data"]["user"] for f in frames if f["type"] == "presence.updated"}
    online |= {u["user"] for f in frames if f["type"] == "presence.batch" for u in f["data"]["updates"]}
    assert online == {person.id for person in people}
    await close_all(watcher, *sockets)


# -- tokens -------------------------------------------------------------------------------------------


async def test_tokens_of_sockets_opening_together_are_read_together(company):
    users = await database_sync_to_async(UserFactory.create_batch)(3, company=company)
    tokens = [await database_sync_to_async(Token.objects.create)(user=user) for user in users]
    await database_sync_to_async(lambda: users[2].__class__.objects.filter(pk=users[2].pk).update(is_active=False))()
    opened = await asyncio.gather(
        *(connect_with_headers([(b"authorization", f"Token {t.key}".encode())]) for t in tokens),
        connect_with_headers([(b"authorization", b"Token not-a-token")]),
    )
    hellos = [await opened[i].receive_json_from(timeout=5) for i in (0, 1)]
    assert [h["data"]["user"] for h in hellos] == [users[0].id, users[1].id]
    for refused in opened[2:]:  # a deactivated user's token and an unknown one: closed 4401
        output = await refused.receive_output(timeout=5)
        assert output["type"] == "websocket.close" and output["code"] == 4401
    await close_all(*opened[:2])


# -- the rate counter ------------------------------------------------------------------------------


async def test_the_rate_counter_answers_at_once_and_reaches_redis_behind(settings):
    bucket = f"test-{id(settings)}"
    counts = [shared_state.rate_count(bucket, 3600) for _ in range(5)]
    assert counts == [1, 2, 3, 4, 5]  # this process' own hits count before Redis has them
    client = shared_state._redis()
    key = shared_state._key("rl", bucket, int(time.time() // 3600))
    for _ in range(100):
        if await client.get(key) == b"5":
            break
        await asyncio.sleep(0.01)
    assert await client.get(key) == b"5"
    # Another process' hits: the next answer here includes them once Redis told us.
    await client.incrby(key, 10)
    shared_state.rate_count(bucket, 3600)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if shared_state._windows[key].shared == 16:
            break
    assert shared_state.rate_count(bucket, 3600) == 17
    await client.delete(key)


async def test_a_flood_on_one_socket_is_still_refused(alice, settings):
    settings.WS_RATE_LIMIT = 5
    socket = await connect(alice)
    await collect(socket)
    for i in range(8):
        await socket.send_json_to({"action": "ping", "ref": i})
    frames = await collect(socket)
    assert [f["ref"] for f in frames if f["type"] == "pong"] == [0, 1, 2, 3, 4]
    assert [f["error"]["code"] for f in frames if f["type"] == "error"] == ["rate_limited"] * 3
    await close_all(socket)


# -- resume ------------------------------------------------------------------------------------------


async def test_resume_of_a_subscribed_conversation_needs_no_permission_query(group, alice, mallory):
    from messaging import handlers

    checked: list[list[int]] = []
    socket = await connect(alice)
    await collect(socket)
    real = handlers._readable

    async def spy(user, ids):
        checked.append(list(ids))
        return await real(user, ids)

    handlers._readable = spy
    try:
        await socket.send_json_to({"action": "resume", "ref": "r", "conversations": {str(group.id): 0}})
        assert (await wait_for(socket, "resumed"))["ref"] == "r"
        assert checked == [[]]
        # Someone else's conversation is still checked, and refused.
        other = await connect(mallory)
        await collect(other)
        await other.send_json_to({"action": "resume", "ref": "x", "conversations": {str(group.id): 0}})
        error = await wait_for(other, "error")
        assert error["ref"] == "x" and error["error"]["code"] == "not_found"
        assert checked[-1] == [group.id]
        await close_all(other)
    finally:
        handlers._readable = real
    await close_all(socket)


# -- the open gate ------------------------------------------------------------------------------------


async def test_at_most_ws_open_concurrency_sockets_open_at_once(company, settings):
    """Past the limit a handshake waits for a slot (it is not refused); each slot frees at `hello`."""
    from virtual_office.realtime import registry

    settings.WS_OPEN_CONCURRENCY = 2
    users = await database_sync_to_async(UserFactory.create_batch)(5, company=company)
    tokens = [await database_sync_to_async(Token.objects.create)(user=user) for user in users]
    opening, most = 0, 0

    async def count(consumer) -> None:
        nonlocal opening, most
        opening += 1
        most = max(most, opening)
        await asyncio.sleep(0.05)  # an open that takes a while (a busy database)
        opening -= 1

    registry._open_hooks.append(registry._OpenHook(50, count))
    try:
        sockets = await asyncio.gather(
            *(connect_with_headers([(b"authorization", f"Token {t.key}".encode())]) for t in tokens)
        )
        hellos = [await s.receive_json_from(timeout=5) for s in sockets]
    finally:
        registry._open_hooks[:] = [h for h in registry._open_hooks if h.hook is not count]
    assert sorted(h["data"]["user"] for h in hellos) == sorted(u.id for u in users)  # all opened
    assert most == 2
    await close_all(*sockets)
