"""Socket actions of messaging: message.send, typing, watch / unwatch, resume."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from messaging import events, permissions, services
from messaging.api.serializers import MessageOut
from virtual_office import shared_state
from virtual_office.consumers import socket_action
from virtual_office.errors import ServiceError

if TYPE_CHECKING:
    from virtual_office.consumers import OfficeConsumer

TYPING_EXPIRES_SECONDS = 6.0
MAX_RESUME_CONVERSATIONS = 500


def _conversation_id(frame: dict) -> int:
    value = frame.get("conversation")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ServiceError("invalid_conversation", "`conversation` must be a conversation id.")
    try:
        return int(value)
    except ValueError:
        raise ServiceError("invalid_conversation", "`conversation` must be a conversation id.") from None


@database_sync_to_async
def _send(user: Any, conversation_id: int, frame: dict) -> dict:
    conversation = permissions.access_conversation(user, conversation_id, write=True)
    message, _ = services.message_send(
        actor=user,
        conversation=conversation,
        body=frame.get("body"),
        client_id=frame.get("client_id"),
        reply_to=frame.get("reply_to"),
    )
    return MessageOut(message, context={"user": user}).data


@socket_action("message.send")
async def message_send(consumer: OfficeConsumer, frame: dict) -> dict:
    return await _send(consumer.user, _conversation_id(frame), frame)


@database_sync_to_async
def _check_write(user: Any, conversation_id: int) -> None:
    permissions.access_conversation(user, conversation_id, write=True)


@database_sync_to_async
def _check_read(user: Any, conversation_id: int) -> None:
    permissions.access_conversation(user, conversation_id)


@socket_action("typing")
async def typing(consumer: OfficeConsumer, frame: dict) -> None:
    conversation_id = _conversation_id(frame)
    state = frame.get("state")
    if state not in ("start", "stop"):
        raise ServiceError("invalid_state", "`state` must be start or stop.")
    timers = consumer.typing_timers
    if state == "start" and conversation_id not in timers:
        await _check_write(consumer.user, conversation_id)
    elif state == "stop" and conversation_id not in timers:
        return None
    timer = timers.pop(conversation_id, None)
    if timer is not None:
        timer.cancel()
    if state == "start":
        # No stop from the client (closed laptop, lost frame): the server says stop by itself.
        timers[conversation_id] = asyncio.get_running_loop().call_later(
            TYPING_EXPIRES_SECONDS, lambda: asyncio.ensure_future(_expire_typing(consumer, conversation_id))
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
    conversation_id = _conversation_id(frame)
    await _check_read(consumer.user, conversation_id)
    consumer.watching.add(conversation_id)
    await shared_state.watch_add(conversation_id, _watch_member(consumer))
    watchers = await shared_state.watchers(conversation_id)
    await events.watchers_relay(conversation_id=conversation_id, watchers=watchers)
    return {"conversation": conversation_id, "watchers": watchers}


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


@socket_action("unwatch")
async def unwatch(consumer: OfficeConsumer, frame: dict) -> dict:
    conversation_id = _conversation_id(frame)
    if conversation_id not in consumer.watching:
        return {"conversation": conversation_id, "watchers": await shared_state.watchers(conversation_id)}
    return {"conversation": conversation_id, "watchers": await stop_watching(consumer, conversation_id)}


async def refresh_watches(consumer: OfficeConsumer) -> None:
    for conversation_id in list(consumer.watching):
        await shared_state.watch_add(conversation_id, _watch_member(consumer))


@database_sync_to_async
def _readable(user: Any, conversation_ids: list[int]) -> None:
    for conversation_id in conversation_ids:
        permissions.access_conversation(user, conversation_id)


@socket_action("resume")
async def resume(consumer: OfficeConsumer, frame: dict) -> dict:
    wanted = frame.get("conversations")
    if not isinstance(wanted, dict) or len(wanted) > MAX_RESUME_CONVERSATIONS:
        raise ServiceError(
            "invalid_resume", f"`conversations` must map at most {MAX_RESUME_CONVERSATIONS} conversation ids to revs."
        )
    plan: dict[int, int] = {}
    for key, value in wanted.items():
        try:
            conversation_id, rev = int(key), int(value)
        except (TypeError, ValueError):
            raise ServiceError("invalid_resume", "`conversations` must map conversation ids to revs.") from None
        if rev < 0 or isinstance(value, bool):
            raise ServiceError("invalid_resume", "revs must be whole numbers, 0 or more.")
        plan[conversation_id] = rev
    await _readable(consumer.user, list(plan))
    revs = {}
    for conversation_id, rev in plan.items():
        await consumer.catch_up(conversation_id, rev, force=True)
        revs[str(conversation_id)] = consumer.floors.get(conversation_id, rev)
    await consumer.send_frame({"type": "resumed", "ref": frame.get("ref"), "data": {"conversations": revs}})
    return {"conversations": revs}
