"""What apps plug into the socket machinery, filled from their `AppConfig.ready()` (as Django's
`admin.site.register`): the core knows no app, the apps know this registry.

- `socket_action(name)`: the handler of a client action `{"action": name, ...}`.
- `on_socket_open(order)`: a coroutine run for every socket before its `hello` (lowest order first):
  subscribe it to what it should hear, mark its user online.
- `on_socket_close`: run once for every socket, however it ended.
- `on_socket_control(op)`: run when a control instruction (`join`, `leave`) reached a socket.
- `register_durable_stream`: the one function that replays a conversation's durable events (`resume`).
- `on_hub_start` and `hub_job(interval_setting)`: per-process tasks and periodic jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from virtual_office.realtime.config import realtime_setting

if TYPE_CHECKING:
    from virtual_office.realtime.consumer import OfficeConsumer
    from virtual_office.realtime.hub import Hub

logger = logging.getLogger(__name__)

Handler = Callable[["OfficeConsumer", dict], Awaitable[Any]]
SocketHook = Callable[["OfficeConsumer"], Awaitable[None]]
ControlHook = Callable[["OfficeConsumer", dict], Awaitable[None]]
HubHook = Callable[["Hub"], Coroutine[Any, Any, None]]  # an async def: the hub runs it as a task
Replay = Callable[[int, int], list[dict]]


@dataclass(frozen=True)
class _OpenHook:
    order: int
    hook: SocketHook


ACTIONS: dict[str, Handler] = {}
_open_hooks: list[_OpenHook] = []
_close_hooks: list[SocketHook] = []
_control_hooks: dict[str, list[ControlHook]] = {}
_startup_hooks: list[HubHook] = []
_durable_stream: list[Replay] = []


def socket_action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler

    return register


def on_socket_open(order: int) -> Callable[[SocketHook], SocketHook]:
    """`hook(consumer)` runs while a socket opens, before its `hello`; hooks of a lower order first.
    An exception refuses the socket (1013 if a shared service is away, else 1011)."""

    def register(hook: SocketHook) -> SocketHook:
        _open_hooks.append(_OpenHook(order, hook))
        _open_hooks.sort(key=lambda entry: entry.order)
        return hook

    return register


def open_hooks() -> list[SocketHook]:
    return [entry.hook for entry in _open_hooks]


def on_socket_close(hook: SocketHook) -> SocketHook:
    """`hook(consumer)` runs once when a socket ended, however it ended; a failing hook is logged and
    the others still run."""
    _close_hooks.append(hook)
    return hook


def close_hooks() -> list[SocketHook]:
    return list(_close_hooks)


def on_socket_control(op: str) -> Callable[[ControlHook], ControlHook]:
    """`hook(consumer, control)` runs after the socket applied a control instruction `op`."""

    def register(hook: ControlHook) -> ControlHook:
        _control_hooks.setdefault(op, []).append(hook)
        return hook

    return register


def control_hooks(op: str) -> list[ControlHook]:
    return list(_control_hooks.get(op, ()))


def register_durable_stream(replay: Replay) -> None:
    """The app that owns durable conversation events gives the function that replays them:
    `replay(conversation_id, since_rev)` -> frames in rev order (called in a worker thread)."""
    _durable_stream[:] = [replay]


def durable_stream() -> Replay:
    if not _durable_stream:
        raise RuntimeError("no durable event stream registered (is the messaging app installed?)")
    return _durable_stream[0]


def on_hub_start(hook: HubHook) -> HubHook:
    """Register a coroutine function started once per hub (per server process), e.g. expiry sweeps."""
    _startup_hooks.append(hook)
    return hook


def startup_hooks() -> list[HubHook]:
    return list(_startup_hooks)


def hub_job(interval_setting: str) -> Callable[[HubHook], HubHook]:
    """Register `job(hub)` to run on every hub (server process) every `interval_setting` seconds.

    The interval is read before each run, so a test can shorten it. A failing run is logged and the
    next one happens as usual."""

    def register(job: HubHook) -> HubHook:
        async def repeat(hub: Hub) -> None:
            while True:
                await asyncio.sleep(realtime_setting(interval_setting))
                try:
                    await job(hub)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("hub job %s failed", job.__name__)
                hub.job_runs[job.__name__] = hub.job_runs.get(job.__name__, 0) + 1

        repeat.__name__ = job.__name__
        on_hub_start(repeat)
        return job

    return register
