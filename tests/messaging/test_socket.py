"""Messaging's socket actions reveal nothing about a conversation one may not read: watch, unwatch
and typing all answer the same not_found, also to someone who lost access while watching or typing."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from messaging import services
from tests.factories import group_with
from tests.realtime.sockets import close_all, collect, collect_all, connect, wait_for
from virtual_office.realtime import conversation_group, current_hub

pytestmark = pytest.mark.django_db(transaction=True)

NOT_FOUND = {"code": "not_found", "message": "No such conversation."}


@pytest.fixture
def group(alice, bob):
    return group_with(alice, bob, title="Pair")


async def answer(socket, frame: dict) -> dict:
    """Send one action and return its answer (ack or error); other frames meanwhile are skipped."""
    await socket.send_json_to(frame)
    while True:
        got = await socket.receive_json_from(timeout=3)
        if got.get("ref") == frame["ref"] and got["type"] in ("ack", "error"):
            return got


async def watchers_seen(socket, conversation_id: int) -> list[int]:
    return (await wait_for(socket, "conversation.presence"))["data"]["watchers"]


@database_sync_to_async
def remove_everyone_but(manager, conversation) -> None:
    services.conversation_update(actor=manager, conversation=conversation, participant_ids=[], may_manage=True)


async def left_group(user_id: int, conversation_id: int) -> None:
    """Wait until every socket of the user has applied its `leave` (the control follows the commit)."""
    group = conversation_group(conversation_id)
    for _ in range(100):
        mine = [c for c in current_hub().consumers if c.user_id == user_id]
        if mine and all(group not in c.joined for c in mine):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the leave control never arrived")


async def test_unwatch_watch_and_typing_of_an_unreadable_conversation_answer_not_found(
    group, alice, carol, mallory
):
    watcher = await connect(alice)
    assert (await answer(watcher, {"action": "watch", "ref": "w", "conversation": group.id}))["type"] == "ack"
    missing = group.id + 10_000
    for user in (carol, mallory):
        socket = await connect(user)
        await collect(socket, quiet=0.2)
        for conversation_id in (group.id, missing):
            for frame in (
                {"action": "unwatch"},
                {"action": "watch"},
                {"action": "typing", "state": "start"},
                {"action": "typing", "state": "stop"},
            ):
                got = await answer(socket, {**frame, "ref": "r", "conversation": conversation_id})
                # Exactly the frame a conversation that does not exist gets: no watchers, no hint.
                assert got == {"type": "error", "ref": "r", "error": NOT_FOUND}, (user.username, frame)
        await close_all(socket)
    # Nobody joined alice's watchers, nobody typed at her.
    frames = await collect(watcher, quiet=0.2)
    assert not [f for f in frames if f["type"] == "typing"]
    assert all(f["data"]["watchers"] == [alice.id] for f in frames if f["type"] == "conversation.presence")
    await close_all(watcher)


async def test_a_participant_removed_while_watching_gets_not_found_from_unwatch(group, alice, bob):
    sockets = {"alice": await connect(alice), "bob": await connect(bob)}
    await collect_all(sockets, quiet=0.2)
    for name in ("alice", "bob"):
        assert (await answer(sockets[name], {"action": "watch", "ref": "w", "conversation": group.id}))["type"] == "ack"
    await remove_everyone_but(alice, group)
    await left_group(bob.id, group.id)

    got = await answer(sockets["bob"], {"action": "unwatch", "ref": "u", "conversation": group.id})
    assert got == {"type": "error", "ref": "u", "error": NOT_FOUND}
    watch = await answer(sockets["bob"], {"action": "watch", "ref": "w2", "conversation": group.id})
    assert watch == {"type": "error", "ref": "w2", "error": NOT_FOUND}
    # alice, still a participant, unwatches as before and learns the list.
    mine = await answer(sockets["alice"], {"action": "unwatch", "ref": "u", "conversation": group.id})
    assert mine["data"] == {"conversation": group.id, "watchers": []}
    await close_all(*sockets.values())


async def test_typing_again_after_removal_is_not_found_and_reaches_nobody(group, alice, bob, settings):
    settings.TYPING_EXPIRES_SECONDS = 60  # bob's first start is still live when he tries again
    sockets = {"alice": await connect(alice), "bob": await connect(bob)}
    await collect_all(sockets, quiet=0.2)
    assert (await answer(sockets["alice"], {"action": "watch", "ref": "w", "conversation": group.id}))["type"] == "ack"
    # bob types without watching: his typing timer outlives his membership.
    start = {"action": "typing", "conversation": group.id, "state": "start"}
    assert (await answer(sockets["bob"], {**start, "ref": "t1"}))["type"] == "ack"
    assert (await wait_for(sockets["alice"], "typing"))["data"]["state"] == "start"
    await remove_everyone_but(alice, group)
    await left_group(bob.id, group.id)
    await collect(sockets["alice"], quiet=0.2)

    again = await answer(sockets["bob"], {**start, "ref": "t2"})
    assert again == {"type": "error", "ref": "t2", "error": NOT_FOUND}
    frames = await collect(sockets["alice"], quiet=0.3)
    assert not [f for f in frames if f["type"] == "typing" and f["data"]["state"] == "start"]
    await close_all(*sockets.values())


async def test_a_reply_sent_over_the_socket_updates_the_roots_count_live(group, alice, bob, mallory):
    root = await database_sync_to_async(services.message_send)(actor=alice, conversation=group, body="root")
    root = root[0]
    sender, reader = await connect(bob), await connect(alice)
    outsider = await connect(mallory)
    await collect_all({"bob": sender, "alice": reader, "mallory": outsider}, quiet=0.2)
    got = await answer(
        sender,
        {"action": "message.send", "ref": "s", "conversation": group.id, "body": "re @alice", "reply_to": root.id},
    )
    assert got["type"] == "ack" and got["data"]["thread_root"] == root.id
    assert got["data"]["mentions"] == [alice.id]
    created = await wait_for(reader, "message.created")
    updated = await wait_for(reader, "message.updated")
    assert created["data"]["id"] == got["data"]["id"] and created["data"]["thread_root"] == root.id
    assert updated["data"]["id"] == root.id and updated["data"]["reply_count"] == 1
    assert updated["rev"] == created["rev"] + 1
    # Another company's person can neither reply into it nor hear of it.
    refused = await answer(
        outsider, {"action": "message.send", "ref": "x", "conversation": group.id, "body": "hi", "reply_to": root.id}
    )
    assert refused["type"] == "error" and refused["error"]["code"] == "not_found"
    assert not [f for f in await collect(outsider, quiet=0.2) if f["type"].startswith("message.")]
    await close_all(sender, reader, outsider)
