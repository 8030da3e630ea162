"""Publishing events: after commit, through this process' hub, or through the layer."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from virtual_office.realtime.frames import ALL_HUBS, BUNDLE, FORWARD
from virtual_office.realtime.hub import Hub, current_hub, hub_for_loop


def send_event_on_commit(
    group: str,
    event: dict | Callable[[], dict | None] | None = None,
    *,
    exclude_user: int | None = None,
    watchers_only: bool = False,
    control: dict | None = None,
    once: str | None = None,
) -> None:
    """Send `event` to every socket in `group` once the current transaction commits (never on rollback).

    `control` carries instructions for the sockets themselves (join or leave a conversation group)
    and travels in the same ordered stream as the events. `event` may be a function that builds the
    payload at commit time, for payloads that need rows written later in the same transaction.
    `once` names an event that goes out at most once per transaction however often it is asked
    for (e.g. `conversation.updated` when five participants are added); use it with a builder, which
    reads the state as committed.
    """
    if once is not None and _already_pending(once):
        return
    message: dict[str, Any] = {"type": FORWARD, "group": group}
    if exclude_user is not None:
        message["exclude_user"] = exclude_user
    if watchers_only:
        message["watchers_only"] = True
    if control is not None:
        message["control"] = control
    # A bound method, not the object: Django names a callback that fails by its __qualname__.
    transaction.on_commit(_CommitSend(group, message, event, once).send, robust=True)


def send_events_on_commit(events: list[tuple[str, dict]]) -> None:
    """`send_event_on_commit(group, event)` for each `(group, event)`, as one: one commit callback,
    one hand-over to the hub, one bundle to the other processes. For the many events one change
    makes for as many people (a group message's notifications, one per member's user group), where
    a thousand separate events cost more than the change itself."""
    if events:
        messages = [{"type": FORWARD, "group": group, "event": event} for group, event in events]
        transaction.on_commit(_CommitSendMany(messages).send, robust=True)


class _CommitSendMany:
    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages

    def send(self) -> None:
        send_many_now(self.messages)


class _CommitSend:
    """One event of `send_event_on_commit`, sent by `send` at commit. `_already_pending` finds the
    pending ones of a transaction by their `once` among its commit callbacks."""

    def __init__(
        self, group: str, message: dict[str, Any], event: dict | Callable[[], dict | None] | None, once: str | None
    ) -> None:
        self.group, self.message, self.event, self.once = group, message, event, once

    def send(self) -> None:
        built = self.event() if callable(self.event) else self.event
        if built is not None:
            self.message["event"] = built
        if "event" in self.message or "control" in self.message:
            send_now(self.group, self.message)


class _CommitMemo:
    """A payload built at most once per commit, for every event of that commit that needs it."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build
        self.built = False
        self.value: Any = None

    def __call__(self) -> Any:
        if not self.built:
            self.value, self.built = self.build(), True
        return self.value


def commit_memo(key: str, build: Callable[[], Any]) -> Callable[[], Any]:
    """`build`, run once at commit however many events of this transaction call it (a new group of
    1,000 members: one `conversation.created` payload, not 1,000 reads of the same rows).

    The memos belong to the transaction's list of commit callbacks: a new transaction (or a savepoint
    rollback, which replaces that list) starts afresh."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return build
    store: tuple[list[Any], dict[str, _CommitMemo]] | None = getattr(connection, "_vo_commit_memos", None)
    if store is None or store[0] is not connection.run_on_commit:
        store = (connection.run_on_commit, {})
        connection._vo_commit_memos = store
    memo = store[1].get(key)
    if memo is None:
        memo = store[1][key] = _CommitMemo(build)
    return memo


def _already_pending(once: str) -> bool:
    """An event with this key already waits for the same commit. Rolling back a savepoint drops the
    callbacks registered inside it; a pending one was registered either inside a savepoint that is
    still open, which encloses this call too (a rollback drops both), or inside one already released
    or rolled back, which can no longer drop it alone. So the pending one goes out whenever this one
    would have."""
    connection = transaction.get_connection()
    return connection.in_atomic_block and any(
        isinstance(sender := getattr(func, "__self__", None), _CommitSend) and sender.once == once
        for _, func, _ in connection.run_on_commit
    )


def after_commit_in_background(
    work: Callable[..., Any], *, name: str, ask: Callable[[], Awaitable[Any]] | None = None
) -> None:
    """`work()` once the current transaction commits (never on rollback), off the calling thread when
    that thread serves a server process' event loop: in the process' worker pool, so the action that
    committed (a `message.send`, a request) answers without waiting for it, and the next action on
    that thread does not queue behind it. Elsewhere (a management command, a test calling services)
    it runs right after the commit, in the calling thread. A failure is logged, as for any robust
    commit callback. For follow-up work whose result the action does not return: a message's
    notifications (a group of a thousand is a thousand rows).

    `ask`: an async read the work needs (who watches a conversation, from Redis), run first on the
    serving event loop, where it is one round trip on a pooled connection (from a worker thread it
    is a loop and a connection of its own); the work is then called with its answer, or with None
    when it failed or when there is no serving loop, and asks by itself."""
    transaction.on_commit(_Background(work, name, ask).start, robust=True)


class _Background:
    def __init__(self, work: Callable[..., Any], name: str, ask: Callable[[], Awaitable[Any]] | None) -> None:
        self.work, self.name, self.ask = work, name, ask

    def start(self) -> None:
        serving = _serving_hub()
        if serving is None:
            self.work() if self.ask is None else self.work(None)
            return
        loop, hub = serving
        loop.call_soon_threadsafe(hub.run_in_pool, self.work, self.name, self.ask)


def send_now(group: str, message: dict) -> None:
    """Publish from synchronous code: through this process' hub if the code runs on behalf of the
    server's event loop (a socket action or a request, via `sync_to_async`), else through the layer."""
    serving = _serving_hub()
    if serving is not None:
        loop, hub = serving
        loop.call_soon_threadsafe(hub.publish, group, message)
        return
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def send_many_now(messages: list[dict]) -> None:
    """`send_now` for many messages (each with its `group`), handed over at once: through this
    process' hub as one call, else through the layer as one bundle to every hub."""
    serving = _serving_hub()
    if serving is not None:
        loop, hub = serving
        loop.call_soon_threadsafe(hub.publish_many, messages)
        return
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(ALL_HUBS, {"type": BUNDLE, "origin": "", "items": messages})


async def asend_now(group: str, message: dict) -> None:
    hub = current_hub()
    if hub is not None and hub.running:
        hub.publish(group, message)
        return
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, message)


def _serving_hub() -> tuple[asyncio.AbstractEventLoop, Hub] | None:
    """The event loop this thread works for (a socket action or a request, via `sync_to_async`) and
    its running hub; None outside a server process' loop."""
    loop = _calling_event_loop()
    hub = hub_for_loop(loop) if loop is not None else None
    if loop is None or hub is None or not hub.running:
        return None
    return loop, hub


def _calling_event_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop whose `sync_to_async` call is running this thread, if any: the loop that
    `async_to_sync` would hand work back to (asgiref records it per worker thread)."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid() or loop.is_closed():
        return None
    return loop
