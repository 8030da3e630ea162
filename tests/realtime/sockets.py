"""In-process socket helpers for WebsocketCommunicator tests: connect a user, read what arrived."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.testing import WebsocketCommunicator

from virtual_office.realtime.consumer import OfficeConsumer
from virtual_office.routing import websocket_application

QUIET = 0.4  # seconds without a frame after which a socket counts as "nothing more is coming"
# Frames of the recipient's own notification stream, which a test of conversation delivery leaves aside
# (tests/notifications asserts on them).
NOTIFICATIONS = ("notification.created",)


async def connect(user: Any) -> WebsocketCommunicator:
    """A socket of `user` (scope user set directly), past its `hello`."""
    socket = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    socket.scope["user"] = user
    connected, _ = await socket.connect(timeout=5)
    assert connected
    hello = await socket.receive_json_from(timeout=5)
    assert hello["type"] == "hello" and hello["data"]["user"] == user.id
    return socket


async def connect_with_headers(headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    """A socket through the real routing stack (Origin check, session and token auth)."""
    socket = WebsocketCommunicator(websocket_application, "/ws/", headers=headers)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def collect(socket: WebsocketCommunicator, quiet: float = QUIET, skip: tuple[str, ...] = ()) -> list[dict]:
    """Every frame that arrives until none has come for `quiet` seconds, except those of a type in `skip`."""
    frames = []
    while not await socket.receive_nothing(timeout=quiet, interval=0.02):
        output = await socket.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            frames.append({"type": "closed", "code": output.get("code")})
            break
        frame = json.loads(output["text"])
        if frame.get("type") not in skip:
            frames.append(frame)
    return frames


async def collect_all(
    sockets: dict[str, WebsocketCommunicator], quiet: float = QUIET, skip: tuple[str, ...] = ()
) -> dict[str, list[dict]]:
    results = await asyncio.gather(*(collect(s, quiet, skip) for s in sockets.values()))
    return dict(zip(sockets, results, strict=True))


async def wait_for(socket: WebsocketCommunicator, event_type: str, timeout: float = 5) -> dict:
    """The next frame of `event_type` (frames of other types before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, f"no {event_type} within {timeout} s"
        frame = await socket.receive_json_from(timeout=remaining)
        if frame.get("type") == event_type:
            return frame


async def closed_with(socket: WebsocketCommunicator, timeout: float = 5) -> int:
    """Skip frames until the server closes the socket; returns the close code."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, f"socket not closed within {timeout} s"
        output = await socket.receive_output(timeout=remaining)
        if output["type"] == "websocket.close":
            return output.get("code")


def types(frames: list[dict]) -> list[str]:
    return [f["type"] for f in frames]


async def close_all(*sockets: WebsocketCommunicator) -> None:
    for socket in sockets:
        try:
            await socket.disconnect()
        except Exception:
            pass


async def hub_job_runs(name: str, runs: int, timeout: float = 10) -> None:
    """Wait until this process' hub has finished `runs` more runs of its job `name` (a condition, not
    a fixed sleep: "after the periodic check has run twice, nothing changed")."""
    from virtual_office.realtime import current_hub

    hub = current_hub()
    assert hub is not None, "no hub: open a socket first"
    target = hub.job_runs.get(name, 0) + runs
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while hub.job_runs.get(name, 0) < target:
        assert loop.time() < deadline, f"hub job {name} did not run {runs} more times within {timeout} s"
        await asyncio.sleep(0.02)
