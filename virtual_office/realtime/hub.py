"""The per-process hub: joins layer groups on behalf of local sockets and fans events out to them.

How an event travels:

1. A service commits a change; a signal receiver hands it to `<app>/events.py`, which builds the
   payload from plain values and calls `send_event_on_commit(group, event)`.
2. After commit, the message `{"type": "event.forward", "group", "event"}` is handed to the hub of
   the process that made the change (without waiting for it: the database thread goes on at once).
   The hub puts it in its own inbox for its local sockets, and `group_send`s it on the channel layer
   for the other processes. Group members on the layer are *server processes*, not sockets: each
   process has one hub channel and joins a group once while at least one of its sockets belongs to
   it. A hub skips its own messages when the layer brings them back.
   Code that runs outside a server process' event loop (management commands, a shell) has no hub
   and publishes through the layer only.
3. The hub's one dispatch task takes messages from the inbox in order (its own and the other
   processes'), encodes the frame once (orjson) and writes it to each of its local sockets in that
   group, applying per-socket filters (watchers only, exclude the actor, resume de-duplication).

So a conversation with 1,000 members on two processes costs one delivery through Redis, not 1,000,
and the process that made the change reaches its own sockets without a round trip to Redis.

Each hub also runs the process' upkeep off the delivery path (`hub_job`): heartbeat of its
Connection rows and the sweep of dead processes' rows, closing sockets whose session, token or user
is gone, and refreshing its watcher entries. Intervals and limits are in REALTIME_DEFAULTS, each
overridable by a Django setting of the same name.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured

from virtual_office.errors import is_unavailable
from virtual_office.realtime import registry
from virtual_office.realtime.coalesce import Coalescer
from virtual_office.realtime.config import realtime_setting
from virtual_office.realtime.frames import ALL_HUBS, BUNDLE, PRESENCE_BATCH, PRESENCE_UPDATED, envelope

if TYPE_CHECKING:
    from virtual_office.realtime.consumer import OfficeConsumer

logger = logging.getLogger(__name__)

# Event types that carry a whole state (not a change): only the latest per group needs to go out.
LATEST_WINS = frozenset({"conversation.presence"})


class Hub:
    """One per server process (per event loop): joins groups on behalf of local sockets and fans out."""

    def __init__(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            raise ImproperlyConfigured("The hub needs a channel layer: CHANNEL_LAYERS has no default.")
        self.layer: BaseChannelLayer = layer
        self.server_id = uuid.uuid4().hex
        self.channel = ""  # the hub's own channel on the layer, named by start()
        self.members: dict[str, set[OfficeConsumer]] = {}
        self.consumers: set[OfficeConsumer] = set()
        self._joining: dict[str, asyncio.Future] = {}
        self._started = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        # Messages for local sockets, in the order they were published here or received from the
        # layer; and this process' messages for the other processes, in publish order.
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.outbox: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self.delivered = 0
        self.dropped = 0
        self.closed_since_collect = 0
        self.collections = 0
        self._collect_timer: asyncio.TimerHandle | None = None
        # Redis: whether the layer answered last time, since when (loop time), the server's run id
        # (it changes on a restart, which empties every group) and how often groups were restored.
        self.layer_ok = True
        self.layer_ok_since = 0.0
        self.redis_run_id: str | None = None
        self.restores = 0
        self.resyncs = 0
        self._replays: dict[tuple[int, int], asyncio.Future] = {}
        self._catch_ups: list[tuple[OfficeConsumer, int, int]] = []
        self._catch_up_timer: asyncio.TimerHandle | None = None
        self.replay_queries = 0
        self.job_runs: dict[str, int] = {}  # hub job name -> finished runs (tests wait on these)
        # Presence changes per company group (user id -> latest payload), and events of LATEST_WINS
        # types per group (the one latest message), waiting for their group's next flush.
        self._presence = Coalescer(self.flush_presence)
        self._latest = Coalescer(self.flush_latest)
        self._background: set[asyncio.Future] = set()  # after_commit_in_background work still running
        self.presence_frames = 0
        # People whose socket here closed -> when their grace period ends (loop time): settled in
        # batches by the upkeep job `settle_closed`.
        self.settles_due: dict[int, float] = {}
        self.closed_sockets: dict[str, int] = {}  # channel name -> user id, rows still to end

    async def start(self) -> None:
        if self._started.is_set():
            return
        async with self._start_lock:  # the first socket starts the hub; the others wait for it
            if self._started.is_set():
                return
            # A failure here propagates to this socket; the next one tries again.
            threads = int(realtime_setting("WORKER_POOL_THREADS"))
            if threads > 0:
                # The pool that runs ORM work beside the loop (`in_worker_pool`, `batched`). Every
                # thread in it competes with the event loop for the GIL: a few suffice now that
                # sockets opening together share their queries, and more made the loop answer late.
                asyncio.get_running_loop().set_default_executor(
                    ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vo-pool")
                )
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(ALL_HUBS, self.channel)
            self._tasks.append(asyncio.create_task(self._receive_loop(), name="hub-receive"))
            self._tasks.append(asyncio.create_task(self._dispatch_loop(), name="hub-dispatch"))
            self._tasks.append(asyncio.create_task(self._publish_loop(), name="hub-publish"))
            self._tasks.append(asyncio.create_task(self._maintenance_loop(), name="hub-maintenance"))
            self._tasks.append(asyncio.create_task(self._health_loop(), name="hub-health"))
            self.layer_ok_since = asyncio.get_running_loop().time()
            for hook in registry.startup_hooks():
                name = f"hub-{getattr(hook, '__name__', 'hook')}"
                self._tasks.append(asyncio.create_task(hook(self), name=name))
            self._started.set()

    @property
    def running(self) -> bool:
        """Started and not stopped: its tasks take what `publish` queues."""
        return self._started.is_set() and bool(self._tasks)

    async def subscribe(self, group: str, consumer: OfficeConsumer) -> None:
        """Add a local socket to a group; the process joins the layer group for its first one.
        Returns once the process is in the layer group (a second socket waits for the first join)."""
        members = self.members.get(group)
        if members is None:
            members = self.members[group] = set()
            members.add(consumer)
            joined = self._joining[group] = asyncio.get_running_loop().create_future()
            try:
                await self.layer.group_add(group, self.channel)
            except Exception as exc:
                # Redis away: the socket still opens and gets this process' own events; the health
                # loop adds every local group again once Redis answers, then sends `resync`.
                self.layer_failed("group_add", exc)
            finally:
                del self._joining[group]
                joined.set_result(None)
        else:
            members.add(consumer)
            joining = self._joining.get(group)
            if joining is not None:
                await asyncio.shield(joining)

    def unsubscribe(self, group: str, consumer: OfficeConsumer) -> None:
        # The layer membership is dropped lazily by maintenance: discarding now could race a
        # concurrent subscribe of another local socket to the same group.
        members = self.members.get(group)
        if members is not None:
            members.discard(consumer)

    def register(self, consumer: OfficeConsumer) -> None:
        self.consumers.add(consumer)

    def unregister(self, consumer: OfficeConsumer) -> None:
        self.consumers.discard(consumer)
        for group in list(consumer.joined):
            self.unsubscribe(group, consumer)
        self.socket_closed()

    # The cyclic garbage collector. Each open socket holds about 150 objects it tracks (the ASGI and
    # middleware coroutines, tasks, protocol objects), and a full pass walks all of them: about
    # 100 ms at 1,000 sockets, long enough to show in every socket's latency. CPython starts one
    # whenever the objects that survived since the last full pass grow by a quarter, i.e. soon after
    # sockets connect. Instead, what an open socket holds is frozen once it is connected (a constant
    # time move, `gc.freeze`), and a full pass runs only after many sockets closed, when their
    # cycles are garbage to reclaim, right after a close rather than in the middle of a fan-out.

    def socket_opened(self) -> None:
        gc.freeze()

    def socket_closed(self) -> None:
        self.closed_since_collect += 1
        due = self.closed_since_collect >= max(realtime_setting("GC_COLLECT_AFTER_CLOSES"), len(self.consumers) // 4)
        if due and self._collect_timer is None:
            # A second later: sockets tend to close in bursts, one pass after the burst is enough.
            self._collect_timer = asyncio.get_running_loop().call_later(1.0, self.collect_garbage)

    def collect_garbage(self) -> None:
        self._collect_timer = None
        self.closed_since_collect = 0
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.collections += 1
        logger.debug("full collection after closes: %s objects freed, %s sockets open", collected, len(self.consumers))

    def publish(self, group: str, message: dict) -> None:
        """Send a message to `group` on every process: local sockets through the inbox (no Redis
        round trip), the other processes through the layer. Runs on the hub's loop; never waits."""
        message["origin"] = self.server_id
        if group in self.members:
            self.inbox.put_nowait(message)
        self.outbox.put_nowait((group, message))

    def publish_many(self, messages: list[dict]) -> None:
        """`publish` for many messages at once (each with its `group`): one inbox entry for the local
        sockets, and to the other processes in a bundle as soon as the publish loop runs."""
        local = []
        for message in messages:
            message["origin"] = self.server_id
            if message["group"] in self.members:
                local.append(message)
            self.outbox.put_nowait((message["group"], message))
        if local:
            self.inbox.put_nowait({"type": BUNDLE, "origin": self.server_id, "items": local})

    async def _publish_loop(self) -> None:
        """Hand this process' messages to the layer, in publish order. A few waiting go one by one
        to their groups; HUB_BUNDLE_MIN or more (a message to a group of a thousand announces a
        notification to each member, each to its own user group) go as one bundle to every hub,
        which takes the items for groups it has sockets in: one Redis call instead of a thousand
        (each `group_send` is two or three round trips and about 0.2 ms of this loop's time)."""
        while True:
            batch = [await self.outbox.get()]
            most = int(realtime_setting("HUB_BUNDLE_MAX"))
            while len(batch) < most and not self.outbox.empty():
                batch.append(self.outbox.get_nowait())
            if len(batch) >= realtime_setting("HUB_BUNDLE_MIN"):
                bundle = {"type": BUNDLE, "origin": self.server_id, "items": [message for _, message in batch]}
                await self._send_to_layer(ALL_HUBS, bundle)
                continue
            for group, message in batch:
                await self._send_to_layer(group, message)

    def run_in_pool(self, work: Callable[..., Any], name: str, ask: Callable[[], Awaitable[Any]] | None = None) -> None:
        """`work()` in the worker pool, or `work(await ask())` with `ask` run here first, kept until it
        ends; a failure is logged (`after_commit_in_background`)."""
        task = asyncio.ensure_future(self._background_work(work, name, ask))
        self._background.add(task)

        def finished(done: asyncio.Future) -> None:
            self._background.discard(done)
            if not done.cancelled() and done.exception() is not None:
                logger.error("background work %s failed", name, exc_info=done.exception())

        task.add_done_callback(finished)

    @staticmethod
    async def _background_work(work: Callable[..., Any], name: str, ask: Callable[[], Awaitable[Any]] | None) -> Any:
        if ask is None:
            return await database_sync_to_async(work, thread_sensitive=False)()
        try:
            answer = await ask()
        except Exception as exc:  # the work asks by itself (and copes with what failed here)
            logger.warning("background work %s: its question failed (%r); it asks by itself", name, exc)
            answer = None
        return await database_sync_to_async(work, thread_sensitive=False)(answer)

    async def _send_to_layer(self, group: str, message: dict) -> None:
        try:
            await self.layer.group_send(group, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # At-most-once, like the layer itself: other processes' sockets heal durable
            # events from the database on the next rev, on resume, or on `resync`.
            self.layer_failed(f"publish to {group}", exc)

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.layer_failed("receive", exc)
                await asyncio.sleep(0.5)
                continue
            if message.get("origin") != self.server_id:  # our own ones went through the inbox
                self.inbox.put_nowait(message)

    async def _dispatch_loop(self) -> None:
        while True:
            message = await self.inbox.get()
            try:
                await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub dispatch failed for %s", message.get("group"))

    async def dispatch(self, message: dict) -> None:
        if message.get("type") == BUNDLE:
            for item in message["items"]:
                await self.dispatch(item)
            return
        group: str | None = message.get("group")
        members = self.members.get(group) if group is not None else None
        if group is None or not members:
            return
        control = message.get("control")
        if control is not None:
            for consumer in list(members):
                try:
                    await consumer.apply_control(control)
                except Exception:
                    logger.exception("control %s failed for a socket of %s", control.get("op"), group)
        event = message.get("event")
        if event is None:
            return
        if event.get("type") == PRESENCE_UPDATED and group.startswith("company."):
            if self._presence.hold(group, event["data"]["user"], event["data"]):
                await self.flush_presence(group)  # the first after a quiet window: in order, at once
            return
        if event.get("type") in LATEST_WINS:
            if self._latest.hold(group, None, message):
                await self.flush_latest(group)
            return
        await self.deliver_event(members, message, event)

    async def deliver_event(self, members: set[OfficeConsumer], message: dict, event: dict) -> None:
        text = orjson.dumps(event).decode()
        exclude_user = message.get("exclude_user")
        watchers_only = message.get("watchers_only", False)
        conversation = event.get("conversation") if "rev" in event else None
        rev = event.get("rev")
        watched = event.get("data", {}).get("conversation") if watchers_only else None
        for consumer in list(members):
            if exclude_user is not None and consumer.user_id == exclude_user:
                continue
            if watchers_only and watched not in consumer.watching:
                continue
            if await consumer.deliver(text, conversation, rev):
                self.delivered += 1

    async def drop_unused_groups(self) -> None:
        """Leave the layer groups no local socket needs any more. Each group is checked again just
        before it goes: the discards before it yield to the loop, and a socket that subscribed
        meanwhile must keep its group (dropping its member set silently cut it off from every
        event of that group, while it believed itself joined)."""
        for group in [g for g, members in self.members.items() if not members]:
            if self.members.get(group) or group in self._joining:
                continue  # a socket subscribed while earlier groups were being discarded
            self.members.pop(group, None)
            await self.layer.group_discard(group, self.channel)
            if self.members.get(group):
                # A socket subscribed while the discard was in flight: make sure we stay in.
                await self.layer.group_add(group, self.channel)

    async def _maintenance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_refresh = loop.time()
        while True:
            await asyncio.sleep(realtime_setting("HUB_MAINTENANCE_SECONDS"))
            try:
                await self.drop_unused_groups()
                if loop.time() - last_refresh > realtime_setting("HUB_GROUP_REFRESH_SECONDS"):
                    last_refresh = loop.time()
                    for group in [ALL_HUBS, *self.members]:
                        await self.layer.group_add(group, self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub maintenance failed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._presence.cancel()
        self._latest.cancel()
        if self._catch_up_timer is not None:
            self._catch_up_timer.cancel()
            self._catch_up_timer = None

    # -- coalesced events (virtual_office.realtime.coalesce) ---------------------------------------
    # Presence to a company goes out as one `presence.batch` frame (`{"updates": [payload, ...]}`,
    # the latest per user) or a plain `presence.updated` if only one user changed. Of an event that
    # carries a whole state (LATEST_WINS: a conversation's watcher list) only the latest goes out.

    async def flush_presence(self, group: str) -> None:
        pending = self._presence.take(group)
        members = self.members.get(group)
        if not pending or not members:
            return
        updates = list(pending.values())
        if len(updates) == 1:
            frame = envelope(PRESENCE_UPDATED, updates[0])
        else:
            frame = envelope(PRESENCE_BATCH, {"updates": updates})
        self.presence_frames += 1
        await self.deliver_event(members, {}, frame)

    async def flush_latest(self, group: str) -> None:
        pending = self._latest.take(group)
        members = self.members.get(group)
        if not pending or not members:
            return
        message = pending[None]
        await self.deliver_event(members, message, message["event"])

    # -- Redis away and back ------------------------------------------------------------------------

    def layer_failed(self, what: str, exc: BaseException) -> None:
        """Redis did not answer: delivery across processes is paused until the health loop sees it
        back (then groups are restored and sockets resynced). Other errors are bugs, not outages."""
        if not is_unavailable(exc):
            logger.error("channel layer call failed (%s)", what, exc_info=exc)
            return
        if self.layer_ok:
            logger.warning("channel layer failed (%s): %r; delivery across processes paused", what, exc)
        self.layer_ok = False

    async def _health_loop(self) -> None:
        """Probe Redis every HUB_HEALTH_SECONDS. When it answers again after a failure, or after a
        restart seen by its run id (a restart empties every group, even if no call failed), add
        every group a local socket needs again, then tell every local socket to `resync`."""
        from virtual_office import shared_state

        loop = asyncio.get_running_loop()
        slow_probes = 0
        while True:
            await asyncio.sleep(realtime_setting("HUB_HEALTH_SECONDS"))
            try:
                run_id = await shared_state.redis_run_id(timeout=realtime_setting("HUB_PROBE_TIMEOUT_SECONDS"))
            except asyncio.CancelledError:
                raise
            except TimeoutError as exc:
                # A slow answer from a busy machine (a reconnect storm) is not an outage: only a
                # second slow probe in a row counts, else every socket would be resynced for nothing.
                slow_probes += 1
                if slow_probes >= 2:
                    self.layer_failed("probe", exc)
                continue
            except Exception as exc:
                self.layer_failed("probe", exc)
                continue
            slow_probes = 0
            restarted = run_id is not None and self.redis_run_id is not None and run_id != self.redis_run_id
            if self.layer_ok and not restarted:
                self.redis_run_id = run_id
                continue
            try:
                await self.restore_groups()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.layer_failed("restore", exc)
                continue
            self.redis_run_id = run_id
            self.layer_ok = True
            self.layer_ok_since = loop.time()
            logger.warning(
                "channel layer back: %s groups restored; resyncing %s sockets", len(self.members), len(self.consumers)
            )
            await self.resync_all()

    async def restore_groups(self) -> None:
        """Add this process to every layer group one of its sockets belongs to (do not assume the
        memberships survived in Redis)."""
        limit = asyncio.Semaphore(int(realtime_setting("HUB_RESTORE_CONCURRENCY")))

        async def add(group: str) -> None:
            async with limit:
                await self.layer.group_add(group, self.channel)

        await asyncio.gather(add(ALL_HUBS), *(add(group) for group, members in list(self.members.items()) if members))
        self.restores += 1

    async def resync_all(self) -> None:
        for consumer in list(self.consumers):
            await consumer.resync()
        self.resyncs += 1

    def layer_healthy_for(self) -> float:
        """Seconds the layer has answered without a failure (0 while it is failing)."""
        if not self.layer_ok:
            return 0.0
        return asyncio.get_running_loop().time() - self.layer_ok_since

    # -- replays shared by the sockets that ask for the same range at the same time -----------------

    def catch_up_soon(self, consumer: OfficeConsumer, conversation_id: int, since_rev: int) -> None:
        """Start `consumer.catch_up` after CATCH_UP_GATHER_SECONDS, together with every other socket
        that joined meanwhile. The joins of one commit reach the hub one user group at a time; their
        replays then start in the same tick and share one read (`replay`), and that read begins
        after every one of them joined, so it holds all they missed."""
        self._catch_ups.append((consumer, conversation_id, since_rev))
        if self._catch_up_timer is None:
            delay = realtime_setting("CATCH_UP_GATHER_SECONDS")
            self._catch_up_timer = asyncio.get_running_loop().call_later(delay, self._start_catch_ups)

    def _start_catch_ups(self) -> None:
        self._catch_up_timer = None
        waiting, self._catch_ups = self._catch_ups, []
        for consumer, conversation_id, since_rev in waiting:
            asyncio.ensure_future(consumer.catch_up(conversation_id, since_rev))

    async def replay(self, conversation_id: int, since_rev: int) -> list[dict]:
        key = (conversation_id, since_rev)
        pending = self._replays.get(key)
        if pending is None:
            source = registry.durable_stream()
            pending = self._replays[key] = asyncio.ensure_future(
                database_sync_to_async(source, thread_sensitive=False)(conversation_id, since_rev)
            )
            self.replay_queries += 1
            pending.add_done_callback(lambda _: self._replays.pop(key, None))
        return await asyncio.shield(pending)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    await hub.start()
    return hub


def current_hub() -> Hub | None:
    try:
        return _hubs.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def hub_for_loop(loop: asyncio.AbstractEventLoop) -> Hub | None:
    return _hubs.get(loop)
