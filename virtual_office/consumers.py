"""The one WebSocket consumer: authenticate, parse and validate frames, dispatch to app handlers, reply.

Business rules live in the apps' services (reached through their `handlers.py`); this module only
knows the protocol: frames, acks, errors, rate limits, and per-socket delivery bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from virtual_office import shared_state
from virtual_office.errors import ServiceError
from virtual_office.realtime import (
    Hub,
    company_group,
    conversation_group,
    get_hub,
    hub_job,
    realtime_setting,
    user_group,
)

logger = logging.getLogger(__name__)

Handler = Callable[["OfficeConsumer", dict], Awaitable[Any]]
ACTIONS: dict[str, Handler] = {}

# Close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOOD = 4029
# Rate limits: settings WS_RATE_LIMIT actions per user per WS_RATE_WINDOW seconds, and
# WS_FLOOD_CLOSE_AFTER refusals before 4029 (defaults in realtime.REALTIME_DEFAULTS; the
# benchmark's sender raises WS_RATE_LIMIT through the environment).


def socket_action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler

    return register


class OfficeConsumer(AsyncWebsocketConsumer):
    hub: Hub
    user_id: int
    company_id: int

    # A socket has no channel of its own on the layer: the process' hub is the only layer member
    # and writes to its sockets directly. No layer alias means no per-socket channel and no
    # per-socket layer receive (memory and Redis work per idle socket). `channel_name` stays as
    # the socket's unique name (Connection rows, watcher entries).
    channel_layer_alias = "sockets-have-no-layer-channel"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_name = f"ws.{uuid.uuid4().hex}"

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active or user.company_id is None:
            # Accept first so the client sees the close code; a refused handshake carries none.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.user_id = user.id
        self.company_id = user.company_id
        # What authenticated this socket; checked again periodically (close_revoked_sockets).
        self.token_key: str | None = self.scope.get("auth_token")
        self.session_key: str | None = (
            None if self.token_key else getattr(self.scope.get("session"), "session_key", None)
        )
        self.joined: set[str] = set()
        self.watching: set[int] = set()
        self.floors: dict[int, int] = {}
        self.resuming: dict[int, list[tuple[int, str]]] = {}
        self.resume_locks: dict[int, asyncio.Lock] = {}
        self.typing_timers: dict[int, asyncio.TimerHandle] = {}
        self.refusals = 0
        self.closed = False
        self.settle_timer: asyncio.TimerHandle | None = None
        # Frames the hub hands over before `hello` went out wait here: `hello` is always first.
        self.before_hello: list[tuple[str, int | None, int | None]] | None = []
        self.hub = await get_hub()
        await self.accept()
        self.hub.register(self)

        from messaging import selectors as messaging_selectors
        from presence import services as presence_services

        revs = await in_worker_pool(messaging_selectors.subscribed_conversation_revs)(user)
        self.floors.update(revs)
        groups = [user_group(self.user_id), company_group(self.company_id), *map(conversation_group, revs)]
        # Concurrently: a process joins a layer group only for its first local member, but a user
        # in hundreds of conversations should not wait for hundreds of round trips one by one.
        await asyncio.gather(*(self.join_group(group) for group in groups))
        hello = {"user": self.user_id, "server_time": timezone.now().isoformat()}
        await self.send_frame({"type": "hello", "data": hello})
        waiting, self.before_hello = self.before_hello, None
        for text, conversation, rev in waiting:
            await self.deliver(text, conversation, rev)
        # On the actions' thread, on purpose: work queued there after this sees the user online.
        await database_sync_to_async(presence_services.connection_open)(
            user=user, channel_name=self.channel_name, server_id=self.hub.server_id
        )
        self.hub.socket_opened()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "hub"):
            return
        self.closed = True
        self.hub.unregister(self)
        from messaging import handlers as messaging_handlers
        from presence import services as presence_services

        await messaging_handlers.socket_closed(self)
        await in_worker_pool(presence_services.connection_close)(
            user_id=self.user_id, channel_name=self.channel_name
        )
        # Offline only if no socket of this user is left on any process once the grace period is
        # over (a reload reconnects well within it). Off the shared database thread (see `in_worker_pool`):
        # when many sockets close at once, their settles must not queue in front of socket actions.
        self.settle_timer = asyncio.get_running_loop().call_later(
            settings.PRESENCE_OFFLINE_GRACE_SECONDS,
            lambda: asyncio.ensure_future(in_worker_pool(presence_services.presence_settle)(user_id=self.user_id)),
        )

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # From now on nothing more goes out on this socket (the hub may still be mid fan-out).
        self.closed = True
        await super().close(code=code, reason=reason)

    # -- groups and delivery -------------------------------------------------------------------

    async def join_group(self, group: str) -> None:
        if group not in self.joined:
            self.joined.add(group)
            await self.hub.subscribe(group, self)

    def leave_group(self, group: str) -> None:
        if group in self.joined:
            self.joined.discard(group)
            self.hub.unsubscribe(group, self)

    async def apply_control(self, control: dict) -> None:
        """Instructions sent to a user's sockets in the event stream (membership changes)."""
        conversation_id = control.get("conversation")
        if control.get("op") == "join" and conversation_id is not None:
            self.floors.setdefault(conversation_id, int(control.get("rev", 0)))
            await self.join_group(conversation_group(conversation_id))
            # Events committed together with the join were published before this process joined
            # the group: replay them from the database (de-duplicated by rev).
            asyncio.ensure_future(self.catch_up(conversation_id, int(control.get("rev", 0))))
        elif control.get("op") == "leave" and conversation_id is not None:
            self.leave_group(conversation_group(conversation_id))
            self.floors.pop(conversation_id, None)
            if conversation_id in self.watching:
                # No longer a participant: no longer among its watchers (nor typing in it).
                from messaging import handlers as messaging_handlers

                asyncio.ensure_future(messaging_handlers.stop_watching(self, conversation_id))
        elif control.get("op") == "close":
            await self.close(code=int(control.get("code", CLOSE_UNAUTHENTICATED)))

    async def deliver(self, text: str, conversation: int | None, rev: int | None) -> bool:
        """Write one pre-encoded frame; durable events go out once each, in rev order."""
        if self.closed:
            return False
        if self.before_hello is not None:
            self.before_hello.append((text, conversation, rev))
            return False
        if conversation is not None and rev is not None:
            if conversation_group(conversation) not in self.joined:
                return False
            buffer = self.resuming.get(conversation)
            if buffer is not None:
                buffer.append((rev, text))
                return False
            floor = self.floors.get(conversation)
            if floor is not None:
                if rev <= floor:
                    return False
                if rev > floor + 1:
                    # Something in between was dropped (layer capacity or expiry) or is still in
                    # flight: heal from the database; live events wait in the buffer meanwhile.
                    self.hub.dropped += 1
                    logger.info("conversation %s: gap after rev %s (got %s); replaying", conversation, floor, rev)
                    self.resuming[conversation] = [(rev, text)]
                    asyncio.ensure_future(self.catch_up(conversation, floor))
                    return False
            self.floors[conversation] = rev
        try:
            await self.write(text)
        except Exception:
            return False
        return True

    async def write(self, text: str) -> None:
        """One text frame to this socket, straight to the server when routing gave us its `send`
        (`routing.ServerSendMiddleware`), else through the consumer's own `send`."""
        server_send = self.scope.get("server_send")
        if server_send is None:
            await self.send(text_data=text)
        else:
            await server_send({"type": "websocket.send", "text": text})

    async def catch_up(self, conversation_id: int, since_rev: int, *, force: bool = False) -> None:
        """Replay a conversation's durable events after since_rev from the database, then flush what
        arrived live meanwhile (events at or below the replayed rev are dropped: no duplicates).

        `force` (a client's `resume`) replays from since_rev even if this socket already sent them."""
        from messaging.events import replay_events

        lock = self.resume_locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            self.resuming.setdefault(conversation_id, [])
            if not force:
                since_rev = max(since_rev, self.floors.get(conversation_id, since_rev))
            floor = since_rev
            try:
                events = await database_sync_to_async(replay_events)(conversation_id, since_rev)
                for event in events:
                    await self.send_frame(event)
                    floor = max(floor, event["rev"])
            except Exception:
                logger.exception("catch-up of conversation %s failed", conversation_id)
            finally:
                buffered = self.resuming.pop(conversation_id, [])
                self.floors[conversation_id] = max(floor, self.floors.get(conversation_id, 0))
                for rev, text in sorted(buffered):
                    await self.deliver(text, conversation_id, rev)

    async def send_frame(self, frame: dict) -> None:
        if self.closed:
            return
        text = orjson.dumps(frame).decode()
        if self.before_hello is not None and frame.get("type") != "hello":
            # A replay started by a join that arrived while connecting: after `hello`, as it is.
            self.before_hello.append((text, None, None))
            return
        await self.write(text)

    # -- client frames ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_error(None, "bad_frame", "Frames must be JSON text.")
            return
        limit = settings.WS_MAX_FRAME_BYTES
        # Characters are 1-4 bytes: only encode when the length alone does not decide.
        if len(text_data) > limit or (len(text_data) * 4 > limit and len(text_data.encode()) > limit):
            await self.send_error(None, "frame_too_large", f"Frames are limited to {limit} bytes.")
            return
        try:
            frame = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            await self.send_error(None, "bad_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict):
            await self.send_error(None, "bad_frame", "A frame must be a JSON object with an `action`.")
            return
        ref = frame.get("ref")
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, (str, int))):
            await self.send_error(None, "bad_ref", "`ref` must be a string or a number.")
            return
        if not await self.within_rate_limit(ref):
            return
        action = frame.get("action")
        handler = ACTIONS.get(action) if isinstance(action, str) else None
        if handler is None:
            await self.send_error(ref, "unknown_action", f"Unknown action: {str(action)[:50]!r}.")
            return
        try:
            data = await handler(self, frame)
        except ServiceError as exc:
            await self.send_error(ref, exc.code, exc.message)
            return
        except Exception:
            logger.exception("socket action %s failed", action)
            await self.send_error(ref, "internal_error", "Something went wrong; nothing was changed.")
            return
        if action == "ping":
            await self.send_frame({"type": "pong", "ref": ref})
        elif ref is not None:
            await self.send_frame({"type": "ack", "ref": ref, "data": data})

    async def within_rate_limit(self, ref: Any) -> bool:
        """Per user across tabs and processes (a shared counter); a socket that keeps going is closed."""
        count = await shared_state.hit(f"ws:{self.user_id}", int(realtime_setting("WS_RATE_WINDOW")))
        if count <= realtime_setting("WS_RATE_LIMIT"):
            self.refusals = 0
            return True
        self.refusals += 1
        if self.refusals > realtime_setting("WS_FLOOD_CLOSE_AFTER"):
            await self.close(code=CLOSE_FLOOD)
            return False
        await self.send_error(ref, "rate_limited", "Too many actions; slow down and retry in a few seconds.")
        return False

    async def send_error(self, ref: Any, code: str, message: str) -> None:
        await self.send_frame({"type": "error", "ref": ref, "error": {"code": code, "message": message}})


def in_worker_pool(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ORM work that is not a client's action in the worker pool, not on the one thread that
    serves every socket action of this process: a socket's reads when it opens, its bookkeeping when
    it closes, presence settles, heartbeats, the sweep of a dead process' sockets, the credentials
    check.
    After a process with 4,000 sockets died, settling them on that thread held a `message.send`
    back for over 30 s; a reconnect storm queued the same way. A socket's own steps stay in order:
    the consumer handles its connect before its disconnect."""
    return database_sync_to_async(fn, thread_sensitive=False)


@socket_action("ping")
async def ping(consumer: OfficeConsumer, frame: dict) -> None:
    return None


# -- per-process upkeep of this process' sockets (run by the hub, off the delivery path) ----------


@hub_job("PRESENCE_HEARTBEAT_SECONDS")
async def heartbeat_connections(hub: Hub) -> None:
    """Bump this process' Connection rows (one UPDATE), then settle users of processes that died."""
    from presence import services as presence_services

    sockets = {c.channel_name: c.user_id for c in list(hub.consumers) if not c.closed}
    await in_worker_pool(presence_services.connections_heartbeat)(server_id=hub.server_id, sockets=sockets)
    await in_worker_pool(presence_services.connections_sweep)()


@hub_job("WS_AUTH_CHECK_SECONDS")
async def close_revoked_sockets(hub: Hub) -> None:
    """Close (4401) sockets whose session was logged out, whose token was deleted or whose user was
    deactivated since they connected. Three batch queries per run, whatever the number of sockets."""
    from virtual_office.routing import credentials_still_valid

    consumers = [c for c in list(hub.consumers) if not c.closed]
    if not consumers:
        return
    sessions, users, tokens = await in_worker_pool(credentials_still_valid)(
        session_keys={c.session_key for c in consumers if c.session_key},
        user_ids={c.user_id for c in consumers},
        token_keys={c.token_key for c in consumers if c.token_key},
    )
    for consumer in consumers:
        if (
            consumer.user_id not in users
            or (consumer.session_key and consumer.session_key not in sessions)
            or (consumer.token_key and consumer.token_key not in tokens)
        ):
            await consumer.close(code=CLOSE_UNAUTHENTICATED)
