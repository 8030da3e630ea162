"""The one WebSocket consumer: authenticate, parse and validate frames, dispatch to app handlers, reply.

Business rules live in the apps' services (reached through the actions and hooks they register in
`registry`); this module only knows the protocol: frames, acks, errors, rate limits, and per-socket
delivery bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from virtual_office import shared_state
from virtual_office.errors import ServiceError, is_unavailable
from virtual_office.realtime import registry
from virtual_office.realtime.config import realtime_setting
from virtual_office.realtime.frames import (
    CLOSE_FLOOD,
    CLOSE_INTERNAL,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    company_group,
    conversation_group,
    user_group,
)
from virtual_office.realtime.hub import Hub, get_hub
from virtual_office.realtime.registry import ACTIONS, socket_action
from virtual_office.realtime.resume import Resumable

# Actions a client sends by itself (keep-alive, catching up after a reconnect): they are not the
# person doing something, so they leave `last_action_at` alone.
PASSIVE_ACTIONS = frozenset({"ping", "resume"})

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope

    class OfficeScope(_ChannelScope, total=False):
        """A socket's scope: Channels' own, and what `virtual_office.routing` adds to it."""

        auth_token: str  # the API token that authenticated the socket (TokenAuthMiddleware)
        server_send: Callable[[dict[str, Any]], Awaitable[None]]  # the server's own `send` (ServerSendMiddleware)
        open_slot_release: Callable[[], None]  # frees the socket's opening slot (OpenGate)

logger = logging.getLogger(__name__)


class OfficeConsumer(Resumable, AsyncWebsocketConsumer):
    scope: OfficeScope
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
        # When this socket's person last did something (any action but the client's own machinery:
        # ping, resume), wall-clock seconds; apps read it (presence's idle state), nothing is written.
        self.last_action_at = 0.0

    async def __call__(self, scope: _ChannelScope, receive: Callable, send: Callable) -> None:
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
        self.delivered_revs: dict[int, int] = {}  # conversation -> the rev delivered on this socket
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
            self.scope.get("open_slot_release", _nothing)()
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

        # Concurrently: a process joins a layer group only for its first local member.
        await asyncio.gather(*(self.join_group(g) for g in (user_group(self.user_id), company_group(self.company_id))))
        # The apps' hooks, in their order: subscribe the socket to its conversations, then show the
        # user online (after that, any action the client sends finds the socket ready).
        for hook in registry.open_hooks():
            await hook(self)
        hello = {"user": self.user_id, "server_time": timezone.now().isoformat()}
        await self.send_frame({"type": "hello", "data": hello})
        waiting, self.before_hello = self.before_hello or [], None
        for text, conversation, rev in waiting:
            await self.deliver(text, conversation, rev)
        self.hub.socket_opened()

    async def disconnect(self, code: int) -> None:
        await self.cleanup()

    async def cleanup(self) -> None:
        """Leave the hub and run the apps' close hooks (stop typing and watching, end the connection
        row, settle presence later). Runs once, however the socket ended; a hook that fails (Redis
        or the database away) is logged and the others still run (a row left behind is swept as
        stale)."""
        if self.cleaned_up or not hasattr(self, "hub"):
            return
        self.cleaned_up = True
        self.closed = True
        self.outbox.clear()
        if self.writer is not None:
            self.writer.cancel()
        self.hub.unregister(self)
        for hook in registry.close_hooks():
            try:
                await hook(self)
            except Exception:
                logger.warning("socket of user %s: close hook %s failed", self.user_id, hook.__name__, exc_info=True)

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
            self.delivered_revs.setdefault(conversation_id, int(control.get("rev", 0)))
            await self.join_group(conversation_group(conversation_id))
            # Events committed together with the join were published before this process joined
            # the group: replay them from the database (de-duplicated by rev). Live events wait
            # until then; the replay starts a moment later, with the other sockets of the same
            # commit (a new group of 1,000: one query per process, not one per socket).
            self.resuming.setdefault(conversation_id, [])
            self.hub.catch_up_soon(self, conversation_id, int(control.get("rev", 0)))
        elif control.get("op") == "leave" and conversation_id is not None:
            self.leave_group(conversation_group(conversation_id))
            self.delivered_revs.pop(conversation_id, None)
        elif control.get("op") == "close":
            await self.close(code=int(control.get("code", CLOSE_UNAUTHENTICATED)))
            return
        for hook in registry.control_hooks(str(control.get("op"))):
            asyncio.ensure_future(hook(self, control))

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
            floor = self.delivered_revs.get(conversation)
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
            self.delivered_revs[conversation] = rev
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
            self.user_id,
            len(self.outbox),
            CLOSE_TOO_SLOW,
        )
        self.closed = True
        self.outbox.clear()
        asyncio.ensure_future(self.close_stuck(CLOSE_TOO_SLOW))

    async def close_stuck(self, code: int) -> None:
        """Close a socket whose transport may never drain: the close frame gets a second to go out,
        then the connection is dropped (the frame would otherwise wait behind unread data)."""
        if self.writer is not None:
            self.writer.cancel()
        send: Callable[[Any], Awaitable[None]] = self.scope.get("server_send") or self.base_send
        try:
            await asyncio.wait_for(send({"type": "websocket.close", "code": code}), 1.0)
        except Exception:
            pass
        if self.transport is not None:
            asyncio.get_running_loop().call_later(5.0, reset_connection, self.transport)
        # Out of the hub now, not when the server reports the disconnect (which waits for the peer).
        await self.cleanup()

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
        if action not in PASSIVE_ACTIONS:
            self.last_action_at = time.time()
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


def _nothing() -> None:
    return None


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


@socket_action("ping")
async def ping(consumer: OfficeConsumer, frame: dict) -> None:
    return None


# -- per-process upkeep of this process' sockets (run by the hub, off the delivery path) ----------
