"""WebSocket clients for the fault checks: the client the contract describes, and one that never reads.

`Conn` behaves like the office page (websockets 17, token auth, no Origin):
- after every `hello` it sends `resume` with the last rev it may rely on for each conversation it
  follows, and again whenever the server sends `resync`; a `resume` answered by an `error` is
  retried on the same socket after a short pause;
- it keeps messages by id (a `message.created` for an id it has is not a second message), so
  replays that repeat what already came live are harmless; a durable event repeated on the same
  connection *outside* a replay (between sending `resume` and getting `resumed`) is counted as a
  duplicate, one older than what already came live on that connection as out of order;
- it advances the rev it sends in `resume` only with frames that came after a `resumed` on the
  same connection, so a replay cut short by a drop is asked for again;
- with `reconnect=True` it reconnects after any close it did not ask for, with exponential backoff
  and full jitter (delay uniform in [0, min(30, 0.5 * 2^attempt)] s; `immediate=True`: the first
  attempt right away, as a storm does), counting closes by code and failed handshakes by reason.

`SlowSocket` opens a WebSocket by hand on a plain socket with a tiny receive buffer and then never
reads it, until `drain()` reads what is left and reports how the server ended the connection.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
import websockets

DURABLE = {"message.created", "message.updated", "message.deleted", "reaction.changed"}
RETRYABLE = {"unavailable", "rate_limited"}  # error codes after which an action is sent again
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

now = time.monotonic


def backoff_delay(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with full jitter (attempt 0 is the first retry)."""
    return random.uniform(0, min(cap, base * 2**attempt))


class Conn:
    def __init__(
        self,
        name: str,
        url: str,
        token: str,
        *,
        user_id: int | None = None,
        conversations: dict[int, int] | None = None,
        reconnect: bool = False,
        immediate: bool = False,
        keep_frames: bool = False,
        keep_presence: bool = False,
        open_timeout: float = 20.0,
        locate: Callable[[Any, str], str | None] | None = None,
        on_placed: Callable[[Conn, str | None, int], None] | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.token = token
        self.user_id = user_id
        self.safe_rev: dict[int, int] = dict(conversations or {})
        self.reconnect = reconnect
        self.immediate = immediate
        self.keep_frames = keep_frames
        self.keep_presence = keep_presence
        self.open_timeout = open_timeout
        self.locate = locate
        self.on_placed = on_placed
        self.ws: websockets.ClientConnection | None = None
        self.worker: str | None = None
        self.task: asyncio.Task | None = None
        self.stopping = False
        self.dropping = False
        self.attempt = 0
        self._refs = 0
        self.waiters: dict[str, asyncio.Future] = {}
        # Per connection.
        self.seen_conn: set[tuple[int, int]] = set()
        self.live_max: dict[int, int] = {}
        self.outstanding = 0
        self.resumed_conn = False
        self.resume_refs: set[str] = set()
        self.resumed_event = asyncio.Event()
        self.hello_at: float | None = None
        # Over the whole life of this client.
        self.messages: dict[int, dict[int, int]] = {c: {} for c in self.safe_rev}
        self.first_seen: dict[int, float] = {}
        self.first_live: dict[int, float] = {}
        self.repeats = 0
        self.out_of_order = 0
        self.types: Counter[str] = Counter()
        self.frames: list[tuple[float, dict]] = []
        self.presence: list[tuple[float, dict]] = []
        self.closes: list[dict] = []
        self.connect_failures: Counter[str] = Counter()
        self.resume_errors: Counter[str] = Counter()
        self.resyncs: list[float] = []
        self.resumed_at: list[float] = []
        self.opened_at: list[float] = []
        self.connections = 0
        self.lost_at: float | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, *, wait_resumed: bool = True, timeout: float | None = None) -> bool:
        """Connect (retrying with backoff when `reconnect`), then run the reader. True once `hello`
        (and, with conversations and `wait_resumed`, the first `resumed`) came."""
        timeout = timeout or self.open_timeout * 2
        deadline = now() + timeout
        while not await self._open():
            if not self.reconnect or now() > deadline:
                return False
            await asyncio.sleep(min(backoff_delay(self.attempt), max(0.0, deadline - now())))
            self.attempt += 1
        self.task = asyncio.create_task(self._loop(), name=f"conn-{self.name}")
        if wait_resumed and self.safe_rev:
            try:
                await asyncio.wait_for(self.resumed_event.wait(), max(0.1, deadline - now()))
            except TimeoutError:
                return False
        return True

    async def _open(self) -> bool:
        started = now()
        try:
            ws = await websockets.connect(
                self.url,
                additional_headers={"Authorization": f"Token {self.token}"},
                compression=None,
                ping_interval=None,
                open_timeout=self.open_timeout,
                close_timeout=2,
                max_size=2**22,
                max_queue=1024,
                proxy=None,
                user_agent_header=None,
            )
        except websockets.InvalidStatus as exc:
            self.connect_failures[f"http {exc.response.status_code}"] += 1
            return False
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.ConnectionClosed) as exc:
            self.connect_failures[type(exc).__name__] += 1
            return False
        try:
            first = await asyncio.wait_for(ws.recv(decode=False), self.open_timeout)
        except websockets.ConnectionClosed as exc:
            self._record_close(exc, opened=started)
            return False
        except TimeoutError:
            self.connect_failures["no hello"] += 1
            ws.transport.abort()
            return False
        frame = orjson.loads(first)
        if frame.get("type") != "hello":
            self.connect_failures[f"first frame {frame.get('type')}"] += 1
            ws.transport.abort()
            return False
        self.ws = ws
        self.connections += 1
        self.hello_at = now()
        self.opened_at.append(self.hello_at)
        self.seen_conn = set()
        self.live_max = {}
        self.outstanding = 0
        self.resumed_conn = False
        self.resume_refs = set()
        self.resumed_event = asyncio.Event()
        self.worker = self.locate(ws, self.url) if self.locate else None
        if self.on_placed:
            self.on_placed(self, self.worker, +1)
        if self.safe_rev:
            await self.send_resume()
        return True

    async def _loop(self) -> None:
        while True:
            ws = self.ws
            try:
                while True:
                    self._on_frame(await ws.recv(decode=False))
            except websockets.ConnectionClosed as exc:
                self._record_close(exc, opened=self.hello_at)
            except Exception as exc:
                self.types[f"client error {type(exc).__name__}: {exc}"] += 1
                ws.transport.abort()
            if self.on_placed:
                self.on_placed(self, self.worker, -1)
            for future in self.waiters.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))
                    future.exception()  # whoever waited may be gone (cancelled): nothing to report
            self.waiters.clear()
            if self.stopping or not self.reconnect:
                return
            self.lost_at = now()
            first = self.dropping and self.immediate
            self.dropping = False
            await self._reconnect(first_immediate=first or self.immediate)
            if self.stopping:
                return

    async def _reconnect(self, *, first_immediate: bool) -> None:
        first = True
        while not self.stopping:
            delay = 0.0 if (first and first_immediate and self.attempt == 0) else backoff_delay(self.attempt)
            first = False
            await asyncio.sleep(delay)
            self.attempt += 1
            if self.stopping:
                return
            if await self._open():
                return

    def _record_close(self, exc: websockets.ConnectionClosed, opened: float | None) -> None:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        self.closes.append({
            "t": now(),
            "code": code,
            "before_resumed": bool(self.safe_rev) and not self.resumed_conn,
            "by_us": self.stopping or self.dropping,
            "opened": opened,
        })

    async def stop(self) -> None:
        """Close cleanly (a close frame, 3 s at most) and stop reconnecting."""
        self.stopping = True
        if self.ws is not None and self.open:
            try:
                await asyncio.wait_for(self.ws.close(), 3)
            except Exception:
                self.ws.transport.abort()
        if self.task is not None and not self.task.done():
            # Between connections (backing off, or in a handshake): nothing to close cleanly.
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 0.5)
            except (Exception, asyncio.CancelledError):
                self.task.cancel()
                if self.ws is not None and not self.open:
                    self.ws.transport.abort()

    def abort(self, *, stop: bool = False) -> None:
        """Drop the TCP connection at once, like a network failure (RST, no close frame)."""
        if stop:
            self.stopping = True
        else:
            self.dropping = True
        if self.ws is not None:
            self.ws.transport.abort()

    @property
    def open(self) -> bool:
        return self.ws is not None and self.ws.state is websockets.State.OPEN

    # -- actions --------------------------------------------------------------------------------

    def _ref(self, prefix: str) -> str:
        self._refs += 1
        return f"{prefix}{self._refs}"

    async def send_resume(self) -> None:
        ws = self.ws
        ref = self._ref("r")
        self.resume_refs.add(ref)
        self.outstanding += 1
        frame = {"action": "resume", "ref": ref, "conversations": {str(c): r for c, r in self.safe_rev.items()}}
        try:
            await ws.send(orjson.dumps(frame).decode())
        except websockets.ConnectionClosed:
            pass

    async def request(self, action: str, timeout: float = 10.0, **fields: Any) -> dict:
        """Send an action with a ref; the `ack`, `error` or `pong` frame that answers it."""
        ref = self._ref("a")
        future = asyncio.get_running_loop().create_future()
        self.waiters[ref] = future
        try:
            if self.ws is None:
                raise ConnectionError("not connected")
            await self.ws.send(orjson.dumps({"action": action, "ref": ref, **fields}).decode())
            return await asyncio.wait_for(future, timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionError("socket closed") from exc
        finally:
            self.waiters.pop(ref, None)

    # -- frames ---------------------------------------------------------------------------------

    def _on_frame(self, raw: bytes) -> None:
        t = now()
        head = raw[:40]
        if b'"presence.' in head and not self.keep_presence:
            self.types["presence"] += 1
            return
        frame = orjson.loads(raw)
        kind = frame.get("type")
        self.types[kind] += 1
        if kind in DURABLE and "rev" in frame:
            self._on_durable(frame, kind, t)
            return
        ref = frame.get("ref")
        if kind == "resumed":
            self._on_resumed(frame, t)
            return
        if ref is not None and ref in self.resume_refs and kind in ("ack", "error"):
            if kind == "error":
                self.resume_refs.discard(ref)
                self.outstanding = max(0, self.outstanding - 1)
                code = str((frame.get("error") or {}).get("code"))
                self.resume_errors[code] += 1
                if code in RETRYABLE:  # the server asks to try again later; anything else is final
                    delay = backoff_delay(min(self.resume_errors[code], 6), base=0.3, cap=5.0)
                    asyncio.get_running_loop().call_later(delay, self._retry_resume, self.ws)
            return
        if ref is not None and ref in self.waiters:
            future = self.waiters.pop(ref)
            if not future.done():
                future.set_result(frame)
            return
        if kind == "resync":
            self.resyncs.append(t)
            asyncio.ensure_future(self.send_resume())
        if kind and kind.startswith("presence.") and self.keep_presence:
            self.presence.append((t, frame))
        if self.keep_frames:
            self.frames.append((t, frame))

    def _retry_resume(self, ws: Any) -> None:
        if ws is self.ws and self.open and not self.stopping:
            asyncio.ensure_future(self.send_resume())

    def _on_resumed(self, frame: dict, t: float) -> None:
        ref = frame.get("ref")
        if ref in self.resume_refs:
            self.resume_refs.discard(ref)
            self.outstanding = max(0, self.outstanding - 1)
        for key, rev in (frame.get("data") or {}).get("conversations", {}).items():
            conversation = int(key)
            if conversation in self.safe_rev and isinstance(rev, int):
                self.safe_rev[conversation] = max(self.safe_rev[conversation], rev)
        if self.outstanding == 0:
            self.resumed_conn = True
            self.attempt = 0
            self.resumed_at.append(t)
            self.resumed_event.set()

    def _on_durable(self, frame: dict, kind: str, t: float) -> None:
        conversation, rev = frame.get("conversation"), frame["rev"]
        if conversation not in self.safe_rev:
            self.types["durable (other conversation)"] += 1
            return
        replaying = self.outstanding > 0
        key = (conversation, rev)
        if key in self.seen_conn and not replaying:
            self.repeats += 1
        self.seen_conn.add(key)
        if not replaying:
            if rev < self.live_max.get(conversation, 0):
                self.out_of_order += 1
            self.live_max[conversation] = max(self.live_max.get(conversation, 0), rev)
            if self.resumed_conn:
                self.safe_rev[conversation] = max(self.safe_rev[conversation], rev)
        if kind == "message.created":
            message_id = frame["data"]["id"]
            held = self.messages[conversation]
            if message_id not in held:
                held[message_id] = rev
                self.first_seen[message_id] = t
            else:
                held[message_id] = max(held[message_id], rev)
            if not replaying and message_id not in self.first_live:
                self.first_live[message_id] = t

    # -- summaries ------------------------------------------------------------------------------

    def unexpected_closes(self) -> list[dict]:
        return [c for c in self.closes if not c["by_us"]]

    def missing(self, conversation: int, committed: set[int]) -> set[int]:
        return committed - set(self.messages.get(conversation, {}))


# -- a socket that does not read -------------------------------------------------------------------


class SlowSocket:
    """A WebSocket handshake done by hand on a socket with a small receive buffer, then no reads."""

    def __init__(self, url: str, token: str, rcvbuf: int = 4096) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self.token = token
        self.rcvbuf = rcvbuf
        self.sock: socket.socket | None = None
        self.local_port: int | None = None
        self.buffer = b""

    async def open(self, timeout: float = 10) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)  # before connect: sets the window
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, (self.host, self.port)), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Token {self.token}\r\n\r\n"
        ).encode()
        await loop.sock_sendall(sock, request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 1024), timeout)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            data += chunk
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head[:60]!r}")
        self.sock = sock
        self.local_port = sock.getsockname()[1]

    def queued_bytes(self) -> int:
        """Bytes waiting in our receive queue (unread)."""
        import fcntl
        import termios

        if self.sock is None:
            return 0
        try:
            return struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    async def drain(self, idle: float = 4.0, limit: float = 30.0) -> dict:
        """Read everything; how the connection ended: a close frame (its code), EOF, reset, or still open
        (no data for `idle` seconds and no end)."""
        loop = asyncio.get_running_loop()
        buffer = self.buffer
        texts = 0
        received = len(buffer)
        close_code: int | None = None
        end = "open"
        deadline = now() + limit
        while now() < deadline:
            try:
                chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), idle)
            except TimeoutError:
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not chunk:
                end = "eof"
                break
            buffer += chunk
            received += len(chunk)
            while True:
                frame = _parse_frame(buffer)
                if frame is None:
                    break
                opcode, payload, used = frame
                buffer = buffer[used:]
                if opcode == 0x1:
                    texts += 1
                elif opcode == 0x8:
                    close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    end = "close frame"
                    break
            if close_code is not None:
                break
        self.close()
        return {"end": end, "close_code": close_code, "text_frames": texts, "bytes": received}

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _parse_frame(buffer: bytes) -> tuple[int, bytes, int] | None:
    """One unmasked server frame from the start of `buffer`: (opcode, payload, bytes used), or None."""
    if len(buffer) < 2:
        return None
    opcode = buffer[0] & 0x0F
    length = buffer[1] & 0x7F
    pos = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length = struct.unpack("!H", buffer[2:4])[0]
        pos = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length = struct.unpack("!Q", buffer[2:10])[0]
        pos = 10
    if buffer[1] & 0x80:  # masked (not from a server, but parse it anyway)
        pos += 4
    if len(buffer) < pos + length:
        return None
    return opcode, buffer[pos : pos + length], pos + length
