"""The one WebSocket consumer: authenticate, parse and validate frames, dispatch to app handlers, reply.

Business rules live in the apps' services (reached through their `handlers.py`); this module only
knows the protocol: frames, acks, errors, rate limits, and per-socket delivery bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from virtual_office import shared_state
from virtual_office.errors import ServiceError, is_unavailable
from virtual_office.realtime import (
    Hub,
    batched,
    company_group,
    conversation_group,
    get_hub,
    hub_job,
    on_hub_start,
    realtime_setting,
    user_group,
)

logger = logging.getLogger(__name__)

Handler = Callable[["OfficeConsumer", dict], Awaitable[Any]]
ACTIONS: dict[str, Handler] = {}

# Close codes (4000-4999 are the application's).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FLOOD = 4029
CLOSE_TOO_SLOW = 4008  # WS_SEND_QUEUE_MAX frames waited for this socket: reconnect and resume
CLOSE_TRY_AGAIN = 1013  # the server could not open the socket now (Redis or the database busy or away)
CLOSE_INTERNAL = 1011
RESYNC = orjson.dumps({"type": "resync"}).decode()
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
        self.closed = False
        self.cleaned_up = False
        # Outbound frames that could not be written at once, drained in order by this socket's
        # own writer task: the hub's fan-out never waits on one socket.
        self.outbox: deque[str] = deque()
        self.writer: asyncio.Future | None = None
        self.roomy = asyncio.Event()
        self.roomy.set()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Whatever ended this consumer (a close, an exception that escaped a handler, the
            # server cancelling it): it leaves the hub and its connection row ends. Channels calls
            # `disconnect` only for a clean websocket.disconnect; a socket left registered would be
            # heartbeated as online for good.
            await asyncio.shield(self.cleanup())

    async def dispatch(self, message: dict) -> None:
        # As Channels' own, without closing old database connections through a thread hop before
        # every frame: this consumer touches the database only through database_sync_to_async,
        # which does that itself in the worker thread.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

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
        self.send_queue_max = int(getattr(settings, "WS_SEND_QUEUE_MAX", 1000))
        server_send = self.scope.get("server_send")
        protocol = getattr(server_send, "__self__", None)
        writable = getattr(protocol, "writable", None)
        # uvicorn's protocol tells whether its transport takes more without waiting; without it,
        # every frame goes through the writer task.
        self.transport_writable: asyncio.Event | None = writable if isinstance(writable, asyncio.Event) else None
        self.transport = getattr(protocol, "transport", None)
        # Frames the hub hands over before `hello` went out wait here: `hello` is always first.
        self.before_hello: list[tuple[str, int | None, int | None]] | None = []
        try:
            await self.open(user)
        except Exception as exc:
            if not self.accepted and type(exc).__name__ == "ClientDisconnected":
                logger.info("socket of user %s: the client left during the handshake", self.user_id)
                await self.cleanup()
                return
            if is_unavailable(exc):
                logger.warning("socket of user %s refused for now: %r", self.user_id, exc)
                code = CLOSE_TRY_AGAIN
            else:
                logger.exception("socket of user %s could not open", self.user_id)
                code = CLOSE_INTERNAL
            if not self.accepted:
                await self.accept()
            await self.close(code=code)
            await self.cleanup()

    @property
    def accepted(self) -> bool:
        return getattr(self, "_accepted", False)

    async def open(self, user: Any) -> None:
        self.hub = await get_hub()
        await self.accept()
        self._accepted = True
        self.hub.register(self)

        revs = await _subscribed_revs(user)
        self.floors.update(revs)
        groups = [user_group(self.user_id), company_group(self.company_id), *map(conversation_group, revs)]
        # Concurrently: a process joins a layer group only for its first local member, but a user
        # in hundreds of conversations should not wait for hundreds of round trips one by one.
        await asyncio.gather(*(self.join_group(group) for group in groups))
        # Before `hello`: any action the client sends after it sees the user online. In the worker
        # pool, beside other sockets' opens (a reconnect storm opens hundreds at once), not queued
        # one by one on the thread that serves socket actions.
        await _open_connection((user, self.channel_name, self.hub.server_id))
        hello = {"user": self.user_id, "server_time": timezone.now().isoformat()}
        await self.send_frame({"type": "hello", "data": hello})
        waiting, self.before_hello = self.before_hello, None
        for text, conversation, rev in waiting:
            await self.deliver(text, conversation, rev)
        self.hub.socket_opened()

    async def disconnect(self, code: int) -> None:
        await self.cleanup()

    async def cleanup(self) -> None:
        """Leave the hub, stop typing and watching, end the connection row, settle presence later.
        Runs once, however the socket ended; a step that fails (Redis or the database away) is
        logged and the others still run (a row left behind is swept as stale)."""
        if self.cleaned_up or not hasattr(self, "hub"):
            return
        self.cleaned_up = True
        self.closed = True
        self.outbox.clear()
        if self.writer is not None:
            self.writer.cancel()
        self.hub.unregister(self)
        from messaging import handlers as messaging_handlers

        try:
            await messaging_handlers.socket_closed(self)
        except Exception:
            logger.warning("socket of user %s: close bookkeeping failed", self.user_id, exc_info=True)
        # The connection row ends within SETTLE_TICK_SECONDS, with the other sockets closed meanwhile
        # (`settle_closed`); offline only if no socket of this user is left on any process once the
        # grace period is over (a reload reconnects well within it).
        self.hub.closed_sockets[self.channel_name] = self.user_id
        due = asyncio.get_running_loop().time() + settings.PRESENCE_OFFLINE_GRACE_SECONDS
        self.hub.settles_due[self.user_id] = due

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
        return await self.write(text)

    async def write(self, text: str) -> bool:
        """One text frame to this socket, in order, never waiting on a socket that does not read.

        Written at once while the transport takes it; otherwise queued for this socket's writer
        task. Past `WS_SEND_QUEUE_MAX` waiting frames the socket is closed with 4008 (the client
        reconnects and resumes). Returns whether the frame was written or queued."""
        if self.closed:
            return False
        if self.outbox or self.writer is not None or not self.can_write_now():
            if len(self.outbox) >= self.send_queue_max:
                self.overflow()
                return False
            self.outbox.append(text)
            if self.writer is None:
                self.writer = asyncio.ensure_future(self.drain())
            return True
        try:
            await self.send_text(text)
        except Exception:
            return False  # the client is gone; its disconnect follows
        return True

    def can_write_now(self) -> bool:
        writable = self.transport_writable
        return writable is not None and writable.is_set()

    async def send_text(self, text: str) -> None:
        """Straight to the server when routing gave us its `send` (`routing.ServerSendMiddleware`),
        else through the consumer's own `send`."""
        server_send = self.scope.get("server_send")
        if server_send is None:
            await self.send(text_data=text)
        else:
            await server_send({"type": "websocket.send", "text": text})

    async def drain(self) -> None:
        low = self.send_queue_max // 2
        try:
            while self.outbox and not self.closed:
                await self.send_text(self.outbox.popleft())
                if len(self.outbox) <= low:
                    self.roomy.set()
        except Exception:
            self.outbox.clear()  # the client is gone; its disconnect follows
        finally:
            self.writer = None
            self.roomy.set()

    async def wait_for_room(self) -> None:
        """Frames this socket asked for itself (acks, replays) wait while half the queue is full,
        so a long replay to a slow reader never overflows it; a reader stuck for 30 s is closed."""
        while not self.closed and len(self.outbox) > self.send_queue_max // 2:
            self.roomy.clear()
            try:
                await asyncio.wait_for(self.roomy.wait(), 30)
            except TimeoutError:
                self.overflow()

    def overflow(self) -> None:
        if self.closed:
            return
        logger.warning(
            "socket of user %s does not read (%s frames waiting): closing with %s",
            self.user_id, len(self.outbox), CLOSE_TOO_SLOW,
        )
        self.closed = True
        self.outbox.clear()
        asyncio.ensure_future(self.close_stuck(CLOSE_TOO_SLOW))

    async def close_stuck(self, code: int) -> None:
        """Close a socket whose transport may never drain: the close frame gets a second to go out,
        then the connection is dropped (the frame would otherwise wait behind unread data)."""
        if self.writer is not None:
            self.writer.cancel()
        send = self.scope.get("server_send") or self.base_send
        try:
            await asyncio.wait_for(send({"type": "websocket.close", "code": code}), 1.0)
        except Exception:
            pass
        if self.transport is not None:
            asyncio.get_running_loop().call_later(5.0, reset_connection, self.transport)
        # Out of the hub now, not when the server reports the disconnect (which waits for the peer).
        await self.cleanup()

    async def resync(self) -> None:
        """This socket may have missed events from other processes (Redis was away): the client
        answers with `resume`. Sockets still connecting resume anyway after `hello`."""
        if self.before_hello is None:
            await self.write(RESYNC)

    async def catch_up(self, conversation_id: int, since_rev: int, *, force: bool = False) -> None:
        """Replay a conversation's durable events after since_rev from the database, then flush what
        arrived live meanwhile (events at or below the replayed rev are dropped: no duplicates).

        `force` (a client's `resume`) replays from since_rev even if this socket already sent them;
        otherwise a range this socket already sent is never replayed again. The hub reads each
        range once for all its sockets that ask at the same time (a new group of 1,000 members costs
        one query per process, not one per socket). If the replay fails (the database is away),
        the live events go out as they are and the client is told to `resync`: it finds the gap
        itself, and this socket does not retry the same range on every live event."""
        lock = self.resume_locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            self.resuming.setdefault(conversation_id, [])
            if not force:
                since_rev = max(since_rev, self.floors.get(conversation_id, since_rev))
            floor = since_rev
            failed = False
            try:
                for event in await self.hub.replay(conversation_id, since_rev):
                    await self.send_frame(event)
                    floor = max(floor, event["rev"])
            except Exception as exc:
                failed = True
                log = logger.warning if is_unavailable(exc) else logger.exception
                log("catch-up of conversation %s failed: %r", conversation_id, exc)
            finally:
                buffered = sorted(self.resuming.pop(conversation_id, []))
                if failed and buffered:
                    floor = max(floor, buffered[0][0] - 1)
                self.floors[conversation_id] = max(floor, self.floors.get(conversation_id, 0))
                for rev, text in buffered:
                    await self.deliver(text, conversation_id, rev)
            if failed:
                await self.resync()

    async def send_frame(self, frame: dict) -> None:
        if self.closed:
            return
        text = orjson.dumps(frame).decode()
        if self.before_hello is not None and frame.get("type") != "hello":
            # A replay started by a join that arrived while connecting: after `hello`, as it is.
            self.before_hello.append((text, None, None))
            return
        await self.wait_for_room()
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
        except Exception as exc:
            if is_unavailable(exc):
                logger.warning("socket action %s: a shared service is away: %r", action, exc)
                await self.send_error(
                    ref, "unavailable", "The server cannot do this right now; try again in a few seconds."
                )
                return
            logger.exception("socket action %s failed", action)
            await self.send_error(ref, "internal_error", "Something went wrong; nothing was changed.")
            return
        if action == "ping":
            await self.send_frame({"type": "pong", "ref": ref})
        elif ref is not None:
            await self.send_frame({"type": "ack", "ref": ref, "data": data})

    async def within_rate_limit(self, ref: Any) -> bool:
        """Per user across tabs and processes (a shared counter); a socket that keeps going is closed."""
        count = shared_state.rate_count(f"ws:{self.user_id}", int(realtime_setting("WS_RATE_WINDOW")))
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


def reset_connection(transport: Any) -> None:
    """Drop a connection whose peer does not read, with a TCP reset: a plain close would queue the
    FIN behind the unread data and keep the kernel's buffers (megabytes) until the peer reads."""
    if transport.is_closing() and transport.get_extra_info("socket") is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def in_worker_pool(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ORM work that is not a client's action in the worker pool, not on the one thread that
    serves every socket action of this process: a socket's reads when it opens, its bookkeeping when
    it closes, presence settles, heartbeats, the sweep of a dead process' sockets, the credentials
    check.
    After a process with 4,000 sockets died, settling them on that thread held a `message.send`
    back for over 30 s; a reconnect storm queued the same way. A socket's own steps stay in order:
    the consumer handles its connect before its disconnect."""
    return database_sync_to_async(fn, thread_sensitive=False)


@batched
def _subscribed_revs(users: list[Any]) -> list[dict[int, int]]:
    """Opening sockets' conversations (id -> rev), read together for the sockets opening at once."""
    from messaging import selectors as messaging_selectors

    return messaging_selectors.subscribed_conversation_revs_many(users)


@batched
def _open_connection(sockets: list[tuple[Any, str, str]]) -> list[Any]:
    """Opening sockets' connection rows and presence, written together (`(user, channel, server)`)."""
    from presence import services as presence_services

    by_server: dict[str, list[int]] = {}
    for index, (_, _, server_id) in enumerate(sockets):
        by_server.setdefault(server_id, []).append(index)
    results: list[Any] = [None] * len(sockets)
    for server_id, indexes in by_server.items():
        opened = presence_services.connections_open(
            server_id=server_id, sockets=[(sockets[i][0], sockets[i][1]) for i in indexes]
        )
        for i, result in zip(indexes, opened, strict=True):
            results[i] = result
    return results


@socket_action("ping")
async def ping(consumer: OfficeConsumer, frame: dict) -> None:
    return None


# -- per-process upkeep of this process' sockets (run by the hub, off the delivery path) ----------


@hub_job("PRESENCE_HEARTBEAT_SECONDS")
async def heartbeat_connections(hub: Hub) -> None:
    """Bump this process' Connection rows (one UPDATE)."""
    from presence import services as presence_services

    sockets = {c.channel_name: c.user_id for c in list(hub.consumers) if not c.closed}
    await in_worker_pool(presence_services.connections_heartbeat)(server_id=hub.server_id, sockets=sockets)


@on_hub_start
async def worker_heartbeat(hub: Hub) -> None:
    """This process' heartbeat in Redis, at once and then every WORKER_HEARTBEAT_SECONDS; it expires
    WORKER_DEAD_AFTER_SECONDS after the process dies."""
    while True:
        try:
            await shared_state.worker_heartbeat(hub.server_id, realtime_setting("WORKER_DEAD_AFTER_SECONDS"))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            hub.layer_failed("worker heartbeat", exc)
        await asyncio.sleep(realtime_setting("WORKER_HEARTBEAT_SECONDS"))


@hub_job("WORKER_HEARTBEAT_SECONDS")
async def sweep_dead_workers(hub: Hub) -> None:
    """End the connection rows of processes that died and settle their users.

    A process is dead when its heartbeat key is gone and its rows were not bumped lately either.
    Right after Redis came back every key is gone: nobody is declared dead until the layer has
    answered for a whole WORKER_DEAD_AFTER_SECONDS (the live ones have beaten again by then). Rows
    not bumped for PRESENCE_STALE_SECONDS are swept in any case (also without Redis)."""
    from presence import services as presence_services

    dead: list[str] = []
    dead_after = realtime_setting("WORKER_DEAD_AFTER_SECONDS")
    if shared_state.enabled() and hub.layer_healthy_for() >= dead_after:
        servers = await in_worker_pool(presence_services.connection_servers)()
        quiet_since = timezone.now() - timedelta(seconds=realtime_setting("PRESENCE_HEARTBEAT_SECONDS") + 2)
        candidates = [s for s, newest in servers.items() if s != hub.server_id and newest < quiet_since]
        if candidates:
            alive = await shared_state.workers_alive(candidates)
            dead = [s for s in candidates if s not in alive]
            if dead:
                logger.warning("server processes %s stopped beating: their users are settled", dead)
    await in_worker_pool(presence_services.connections_sweep)(dead_servers=dead)


SETTLE_TICK_SECONDS = 0.25


@on_hub_start
async def settle_closed(hub: Hub) -> None:
    """End the rows of closed sockets, and settle the people whose sockets closed once their grace
    period is over, in batches: a
    reconnect storm closes thousands of sockets at once, and settling each in its own transaction
    filled the worker pool for 25 s while the same people were reconnecting. One query finds who
    is still without a socket; only they get a transaction."""
    from presence import services as presence_services

    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(SETTLE_TICK_SECONDS)
        closed, hub.closed_sockets = hub.closed_sockets, {}
        if closed:
            try:
                await in_worker_pool(presence_services.connections_close)(sockets=closed)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("ending %s connection rows failed (swept later)", len(closed), exc_info=True)
        now = loop.time()
        due = [user_id for user_id, at in hub.settles_due.items() if at <= now]
        if not due:
            continue
        for user_id in due:
            del hub.settles_due[user_id]
        try:
            await in_worker_pool(presence_services.presence_settle_many)(user_ids=due)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("settling %s people failed (the stale sweep settles them later)", len(due), exc_info=True)


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
