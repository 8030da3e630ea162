"""Socket actions of messaging: message.send, typing, watch / unwatch, resume."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from messaging import events, permissions, selectors, services
from messaging.api.serializers import ConversationFrame, MessageSendFrame, ResumeFrame, TypingFrame, message_data
from virtual_office import shared_state
from virtual_office.errors import ServiceError
from virtual_office.inputs import validated
from virtual_office.realtime import (
    Hub,
    batched,
    conversation_group,
    hub_job,
    on_socket_close,
    on_socket_control,
    on_socket_open,
    realtime_setting,
    socket_action,
)

if TYPE_CHECKING:
    from virtual_office.realtime.consumer import OfficeConsumer


@database_sync_to_async
def _send(user: Any, values: dict[str, Any]) -> dict:
    conversation = permissions.access_conversation(user, values["conversation"], write=True)
    message, _ = services.message_send(
        actor=user,
        conversation=conversation,
        body=values.get("body", ""),
        client_id=values.get("client_id"),
        reply_to=values.get("reply_to"),
    )
    return message_data(message, user)


@socket_action("message.send")
async def message_send(consumer: OfficeConsumer, frame: dict) -> dict:
    return await _send(consumer.user, validated(MessageSendFrame, frame))


@database_sync_to_async
def _access(user: Any, conversation_id: int, write: bool) -> None:
    permissions.access_conversation(user, conversation_id, write=write)


async def _check(consumer: OfficeConsumer, conversation_id: int, *, write: bool) -> None:
    """Active participants may read and write; the socket knows that without a query, because it is
    in the conversation's group exactly while the user is one (join / leave controls keep it so).
    Anyone else goes through the full check (room readers, or a NotFound)."""
    if conversation_group(conversation_id) in consumer.joined:
        return
    await _access(consumer.user, conversation_id, write)


@socket_action("typing")
async def typing(consumer: OfficeConsumer, frame: dict) -> None:
    values = validated(TypingFrame, frame)
    conversation_id, state = values["conversation"], values["state"]
    timers = consumer.typing_timers
    if state == "start":
        # Every start, not only the first: someone removed since then no longer types into it
        # (free for participants, whose socket is in the conversation's group).
        await _check(consumer, conversation_id, write=True)
    elif conversation_id not in timers:
        # Nothing to stop; a conversation one may not read still answers not_found, as `start`.
        await _check(consumer, conversation_id, write=False)
        return None
    timer = timers.pop(conversation_id, None)
    if timer is not None:
        timer.cancel()
    if state == "start":
        # No stop from the client (closed laptop, lost frame): the server says stop by itself.
        timers[conversation_id] = asyncio.get_running_loop().call_later(
            realtime_setting("TYPING_EXPIRES_SECONDS"),
            lambda: asyncio.ensure_future(_expire_typing(consumer, conversation_id)),
        )
    await events.typing_relay(conversation_id=conversation_id, user_id=consumer.user_id, state=state)
    return None


async def _expire_typing(consumer: OfficeConsumer, conversation_id: int) -> None:
    if consumer.typing_timers.pop(conversation_id, None) is not None:
        await events.typing_relay(conversation_id=conversation_id, user_id=consumer.user_id, state="stop")


def _watch_member(consumer: OfficeConsumer) -> str:
    return f"{consumer.user_id}:{consumer.channel_name}"


@socket_action("watch")
async def watch(consumer: OfficeConsumer, frame: dict) -> dict:
    conversation_id = validated(ConversationFrame, frame)["conversation"]
    await _check(consumer, conversation_id, write=False)
    consumer.watching.add(conversation_id)
    watchers = await _watch_and_list((conversation_id, _watch_member(consumer)))
    await events.watchers_relay(conversation_id=conversation_id, watchers=watchers)
    return {"conversation": conversation_id, "watchers": watchers}


@batched
async def _watch_and_list(entries: list[tuple[int, str]]) -> list[list[int]]:
    """Watches that sockets send at once (every page of a company resuming after a deploy, a thousand
    people opening one conversation): their entries written in one round trip, then the watchers of
    their conversations read in one (each list includes the watches of its batch)."""
    await shared_state.watch_refresh(entries)
    lists = await shared_state.watchers_of([conversation_id for conversation_id, _ in entries])
    return [lists[conversation_id] for conversation_id, _ in entries]


async def stop_watching(consumer: OfficeConsumer, conversation_id: int) -> list[int]:
    consumer.watching.discard(conversation_id)
    timer = consumer.typing_timers.pop(conversation_id, None)
    if timer is not None:
        timer.cancel()
        await events.typing_relay(conversation_id=conversation_id, user_id=consumer.user_id, state="stop")
    await shared_state.watch_remove(conversation_id, _watch_member(consumer))
    watchers = await shared_state.watchers(conversation_id)
    await events.watchers_relay(conversation_id=conversation_id, watchers=watchers)
    return watchers


@batched
def _subscribed_revs(users: list[Any]) -> list[dict[int, int]]:
    """Opening sockets' conversations (id -> rev), read together for the sockets opening at once."""
    return selectors.subscribed_conversation_revs_many(users)


@on_socket_open(order=10)
async def subscribe_conversations(consumer: OfficeConsumer) -> None:
    """A socket hears its user's conversations from their current rev on (`resume` replays before)."""
    revs = await _subscribed_revs(consumer.user)
    consumer.delivered_revs.update(revs)
    # Concurrently: a user in hundreds of conversations should not wait for hundreds of group joins.
    await asyncio.gather(*(consumer.join_group(conversation_group(c)) for c in revs))


@on_socket_control("leave")
async def left_conversation(consumer: OfficeConsumer, control: dict) -> None:
    """No longer a participant: no longer among its watchers (nor typing in it)."""
    conversation_id = control.get("conversation")
    if conversation_id in consumer.watching:
        await stop_watching(consumer, conversation_id)


@on_socket_close
async def socket_closed(consumer: OfficeConsumer) -> None:
    """A closed socket stops typing (the others hear `stop`) and stops watching."""
    for conversation_id in list(consumer.typing_timers):
        if conversation_id not in consumer.watching:
            consumer.typing_timers.pop(conversation_id).cancel()
            await events.typing_relay(conversation_id=conversation_id, user_id=consumer.user_id, state="stop")
    for conversation_id in list(consumer.watching):
        await stop_watching(consumer, conversation_id)


@socket_action("unwatch")
async def unwatch(consumer: OfficeConsumer, frame: dict) -> dict:
    """Answers with the watchers only to someone who may read the conversation; anyone else gets the
    same not_found as `watch` (also a watcher who lost access meanwhile, whose watch ends here)."""
    conversation_id = validated(ConversationFrame, frame)["conversation"]
    try:
        await _check(consumer, conversation_id, write=False)
    except ServiceError:
        if conversation_id in consumer.watching:
            await stop_watching(consumer, conversation_id)
        raise
    if conversation_id not in consumer.watching:
        return {"conversation": conversation_id, "watchers": await shared_state.watchers(conversation_id)}
    return {"conversation": conversation_id, "watchers": await stop_watching(consumer, conversation_id)}


@hub_job("WATCH_REFRESH_SECONDS")
async def refresh_watches(hub: Hub) -> None:
    """Keep this process' watcher entries alive (entries of a dead process expire by themselves)."""
    entries = [
        (conversation_id, _watch_member(consumer))
        for consumer in list(hub.consumers)
        if not consumer.closed
        for conversation_id in consumer.watching
    ]
    await shared_state.watch_refresh(entries)


@partial(database_sync_to_async, thread_sensitive=False)
def _readable(user: Any, conversation_ids: list[int]) -> None:
    for conversation_id in conversation_ids:
        permissions.access_conversation(user, conversation_id)


@socket_action("resume")
async def resume(consumer: OfficeConsumer, frame: dict) -> dict:
    """`{"conversations": {id: last_rev}}`: for each, every message changed after last_rev, once, at
    its latest state (`message.created` if it is new to the client, else `.updated` / `.deleted`),
    in rev order; then `resumed` with the rev reached per conversation, then the ack. Live events
    that arrive meanwhile are held and follow without repeats.

    Live events may already have gone out on this socket before the resume request arrived (a new
    socket starts at the current rev), and the replay repeats them. A client therefore keeps
    messages by id and applies a frame only if its rev is newer than the message's: that never
    loses and never duplicates a message."""
    plan: dict[int, int] = validated(ResumeFrame, frame)["conversations"]
    # A conversation this socket is subscribed to already sends it its events: only the others are
    # checked (read-only, in the worker pool: a reconnect storm resumes thousands of sockets at once).
    await _readable(consumer.user, [c for c in plan if c not in consumer.delivered_revs])
    revs = {}
    for conversation_id, rev in plan.items():
        await consumer.catch_up(conversation_id, rev, force=True)
        revs[str(conversation_id)] = consumer.delivered_revs.get(conversation_id, rev)
    await consumer.send_frame({"type": "resumed", "ref": frame.get("ref"), "data": {"conversations": revs}})
    return {"conversations": revs}
