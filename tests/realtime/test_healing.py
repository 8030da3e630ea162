"""The channel layer is at-most-once: a dropped event heals from the database, joins replay what
was committed with them, and `resume` replays in order without losing or repeating anything."""

import pytest
from django.db import transaction

from messaging import services as messaging_services
from tests.factories import post
from tests.realtime.sockets import NOTIFICATIONS, close_all, collect, collect_all, connect, types
from virtual_office.realtime import current_hub

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_dropped_event_is_replayed_before_the_next_one(group, alice, bob, db_call):
    socket = await connect(bob)
    await collect(socket, skip=NOTIFICATIONS)
    hub = current_hub()
    dispatch = hub.dispatch
    dropped = []

    async def lossy_dispatch(message: dict) -> None:
        if not dropped and message.get("event", {}).get("type") == "message.created":
            dropped.append(message)  # as if the layer had dropped it (capacity, expiry)
            return
        await dispatch(message)

    hub.dispatch = lossy_dispatch
    try:
        first = await db_call(post, group, alice, "lost on the way")
        assert await collect(socket, skip=NOTIFICATIONS) == []  # gone: nothing can tell yet
        second = await db_call(post, group, alice, "arrives")
        frames = await collect(socket, skip=NOTIFICATIONS)
    finally:
        hub.dispatch = dispatch
    assert dropped
    assert [(f["type"], f["rev"], f["data"]["id"]) for f in frames] == [
        ("message.created", 1, first.id),
        ("message.created", 2, second.id),
    ]
    assert hub.dropped >= 1
    await close_all(socket)


async def test_events_committed_with_a_join_reach_the_new_participant(group, alice, carol, db_call):
    socket = await connect(carol)
    await collect(socket, skip=NOTIFICATIONS)

    def add_carol_and_post() -> None:
        with transaction.atomic():
            messaging_services.conversation_update(
                actor=alice, conversation=group, participant_ids=[carol.id], may_manage=True
            )
            post(group, alice, "welcome, carol")

    await db_call(add_carol_and_post)
    frames = await collect(socket, skip=NOTIFICATIONS)
    assert types(frames).count("conversation.created") == 1
    created = [f for f in frames if f["type"] == "message.created"]
    assert [(f["rev"], f["data"]["body"]) for f in created] == [(1, "welcome, carol")]
    await close_all(socket)


async def test_resume_replays_compacted_changes_in_order_then_resumed(group, alice, bob, db_call):
    kept = await db_call(post, group, alice, "one")  # rev 1
    gone = await db_call(post, group, alice, "two")  # rev 2
    await db_call(lambda: messaging_services.message_edit(actor=alice, message=kept, body="one, edited"))  # rev 3
    await db_call(lambda: messaging_services.message_delete(actor=alice, message=gone))  # rev 4
    third = await db_call(post, group, alice, "three")  # rev 5
    socket = await connect(bob)
    await collect(socket, skip=NOTIFICATIONS)

    await socket.send_json_to({"action": "resume", "ref": "r1", "conversations": {str(group.id): 1}})
    frames = await collect(socket, skip=NOTIFICATIONS)
    durable = [(f["type"], f["rev"], f["data"]["id"]) for f in frames if "rev" in f]
    # Each changed message once, at its latest state; what bob had (rev 1) comes back only as its edit.
    assert durable == [
        ("message.updated", 3, kept.id),
        ("message.deleted", 4, gone.id),
        ("message.created", 5, third.id),
    ]
    assert types(frames)[-2:] == ["resumed", "ack"]
    assert frames[-2]["data"] == {"conversations": {str(group.id): 5}} and frames[-2]["ref"] == "r1"

    # Live events go on from there, once each.
    await db_call(post, group, alice, "four")
    assert [(f["type"], f["rev"]) for f in await collect(socket, skip=NOTIFICATIONS)] == [("message.created", 6)]

    # Resuming from where the socket already is replays nothing.
    await socket.send_json_to({"action": "resume", "ref": "r2", "conversations": {str(group.id): 6}})
    frames = await collect(socket, skip=NOTIFICATIONS)
    assert types(frames) == ["resumed", "ack"]
    await close_all(socket)


async def test_events_during_a_resume_are_neither_lost_nor_repeated(group, alice, bob, db_call, monkeypatch):
    for i in range(5):
        await db_call(post, group, alice, f"old {i}")
    socket = await connect(bob)
    await collect(socket, skip=NOTIFICATIONS)

    from messaging import events as messaging_events

    replay = messaging_events.replay_events

    def slow_replay(conversation_id: int, since_rev: int) -> list[dict]:
        # Read the database, then let more messages commit (and fan out) before the replay is sent.
        events = replay(conversation_id, since_rev)
        for i in range(3):
            post(group, alice, f"during {i}")
        return events

    from virtual_office.realtime import registry as realtime

    monkeypatch.setattr(realtime, "_durable_stream", [slow_replay])
    await socket.send_json_to({"action": "resume", "ref": "r", "conversations": {str(group.id): 0}})
    frames = await collect(socket, quiet=1.0, skip=NOTIFICATIONS)
    # The replay (1..5, read before the three commits) and the three live ones, each once, in order.
    assert [f["rev"] for f in frames if "rev" in f] == list(range(1, 9))
    assert [f["data"]["body"] for f in frames if "rev" in f][-3:] == ["during 0", "during 1", "during 2"]
    resumed = next(f for f in frames if f["type"] == "resumed")
    assert resumed["data"]["conversations"][str(group.id)] >= 5
    await close_all(socket)


async def test_two_sockets_of_one_user_heal_independently(group, alice, bob, db_call):
    tabs = {"one": await connect(bob), "two": await connect(bob)}
    await collect_all(tabs, skip=NOTIFICATIONS)
    await db_call(post, group, alice, "to both")
    got = await collect_all(tabs, skip=NOTIFICATIONS)
    assert types(got["one"]) == types(got["two"]) == ["message.created"]
    await close_all(*tabs.values())
