"""Socket side of talks: the `space.av.*` actions, the close hook that ends the talk of the socket
that joined, and the sweep of talks whose process died."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async

from spaces.permissions import access_space
from talk import events, selectors, services
from talk.api.serializers import TalkJoinFrame, TalkLeaveFrame, TalkSignalFrame, TalkUpdateFrame
from virtual_office.errors import Conflict, ServiceError
from virtual_office.inputs import validated
from virtual_office.realtime import hub_job, on_socket_close, socket_action
from virtual_office.realtime.consumer import in_worker_pool

if TYPE_CHECKING:
    from virtual_office.realtime import Hub
    from virtual_office.realtime.consumer import OfficeConsumer


# Sockets of this process that joined a talk: only their close needs a query (a reconnect storm
# closes thousands of sockets, nearly none of them in a talk).
_joined: weakref.WeakSet[OfficeConsumer] = weakref.WeakSet()


def _state(space_id: int) -> dict:
    return {"space": space_id, "participants": selectors.participant_list(space_id=space_id)}


@database_sync_to_async
def _join(user: Any, channel_name: str, values: dict) -> dict:
    space = access_space(user, values["space"])
    services.talk_join(actor=user, space=space, audio=values["audio"], video=values["video"], channel_name=channel_name)
    return _state(space.id)


@database_sync_to_async
def _update(user: Any, values: dict) -> dict:
    space = access_space(user, values["space"])
    services.talk_update(actor=user, space=space, audio=values["audio"], video=values["video"], screen=values["screen"])
    return _state(space.id)


@database_sync_to_async
def _leave(user: Any, values: dict) -> dict:
    space = access_space(user, values["space"])
    services.talk_leave(actor=user, space=space)
    return _state(space.id)


@database_sync_to_async
def _look(user: Any, values: dict) -> dict:
    space = access_space(user, values["space"])
    if user.id not in selectors.occupant_ids(space_id=space.id):
        raise Conflict("not_in_space", f"You are not in {space.name}.")
    return _state(space.id)


@socket_action("space.av.join")
async def av_join(consumer: OfficeConsumer, frame: dict) -> dict:
    """Join the talk of the space I am in; the ack carries its participants."""
    values = validated(TalkJoinFrame, frame)
    _joined.add(consumer)
    return await _join(consumer.user, consumer.channel_name, values)


@socket_action("space.av.update")
async def av_update(consumer: OfficeConsumer, frame: dict) -> dict:
    return await _update(consumer.user, validated(TalkUpdateFrame, frame))


@socket_action("space.av.leave")
async def av_leave(consumer: OfficeConsumer, frame: dict) -> dict:
    return await _leave(consumer.user, validated(TalkLeaveFrame, frame))


@socket_action("space.av.state")
async def av_state(consumer: OfficeConsumer, frame: dict) -> dict:
    """Who is in the talk of the space I am in (a page catching up after a reconnect), without joining."""
    return await _look(consumer.user, validated(TalkLeaveFrame, frame))


@socket_action("space.av.signal")
async def av_signal(consumer: OfficeConsumer, frame: dict) -> dict:
    """Relay `{space, to, payload}` between two people joined in the same space's talk: the sender
    from this very socket, the recipient from any; anyone else gets an error."""
    values = validated(TalkSignalFrame, frame)
    space_id, to = values["space"], values["to"]
    if to == consumer.user_id:
        raise ServiceError("invalid_to", "`to`: a signal goes to another participant, not to yourself.")
    verdict = await database_sync_to_async(selectors.signal_pair_joined)(
        space_id=space_id,
        company_id=consumer.company_id,
        sender_id=consumer.user_id,
        channel_name=consumer.channel_name,
        recipient_id=to,
    )
    if verdict == "sender":
        raise Conflict("not_in_talk", "Join this space's talk from this tab before signalling.")
    if verdict == "recipient":
        raise Conflict("peer_not_in_talk", "That person is not in this space's talk.")
    await events.signal_relay(space_id=space_id, sender_id=consumer.user_id, recipient_id=to, payload=values["payload"])
    return {"space": space_id, "to": to}


@on_socket_close
async def leave_talk_on_close(consumer: OfficeConsumer) -> None:
    """The socket that joined a talk closed (tab closed, network lost): the others see it at once."""
    if consumer not in _joined:
        return
    _joined.discard(consumer)
    await in_worker_pool(services.talk_leave_socket)(channel_name=consumer.channel_name)


@hub_job("WORKER_HEARTBEAT_SECONDS")
async def sweep_orphan_talks(hub: Hub) -> None:
    """A process that died closed no sockets: once presence swept their Connection rows, their talks end."""
    await in_worker_pool(services.talks_sweep)()
