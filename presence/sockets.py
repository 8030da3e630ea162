"""Presence's part in the socket machinery, registered with the core's realtime registry: a socket that
opens writes its connection row and shows its user online (in batches with the sockets opening at the
same time); a socket that closes ends its row and, after the grace period, settles its user; each
process heartbeats its rows and sweeps those of dead processes. The `activity` action and the
refresh job keep the automatic status that follows the clock (idle, quiet hours, a status' expiry)
announced."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from presence import services as presence_services
from virtual_office import shared_state
from virtual_office.realtime import (
    Hub,
    batched,
    hub_job,
    on_hub_start,
    on_socket_close,
    on_socket_open,
    realtime_setting,
    socket_action,
)
from virtual_office.realtime.consumer import OfficeConsumer, in_worker_pool

logger = logging.getLogger(__name__)


@dataclass
class _Closing:
    """One process' closed sockets whose rows are still to end, and people whose grace period runs."""

    sockets: dict[str, int] = field(default_factory=dict)  # channel name -> user id
    settles_due: dict[int, float] = field(default_factory=dict)  # user id -> when (loop time)


_closing: weakref.WeakKeyDictionary[Hub, _Closing] = weakref.WeakKeyDictionary()
# Per hub: user id -> the latest action time (wall clock) already written as their last_activity.
_activity_written: weakref.WeakKeyDictionary[Hub, dict[int, float]] = weakref.WeakKeyDictionary()


def closing(hub: Hub) -> _Closing:
    state = _closing.get(hub)
    if state is None:
        state = _closing[hub] = _Closing()
    return state


@batched
def _open_connection(sockets: list[tuple[Any, str, str]]) -> list[Any]:
    """Opening sockets' connection rows and presence, written together (`(user, channel, server)`)."""
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


@hub_job("PRESENCE_HEARTBEAT_SECONDS")
async def heartbeat_connections(hub: Hub) -> None:
    """Bump this process' Connection rows (one UPDATE)."""
    sockets = {c.channel_name: c.user_id for c in list(hub.consumers) if not c.closed}
    await in_worker_pool(presence_services.connections_heartbeat)(server_id=hub.server_id, sockets=sockets)


@hub_job("WORKER_HEARTBEAT_SECONDS")
async def sweep_dead_workers(hub: Hub) -> None:
    """End the connection rows of processes that died and settle their users.

    A process is dead when its heartbeat key is gone and its rows were not bumped lately either.
    Right after Redis came back every key is gone: nobody is declared dead until the layer has
    answered for a whole WORKER_DEAD_AFTER_SECONDS (the live ones have beaten again by then). Rows
    not bumped for PRESENCE_STALE_SECONDS are swept in any case (also without Redis)."""
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
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(SETTLE_TICK_SECONDS)
        closed, closing(hub).sockets = closing(hub).sockets, {}
        if closed:
            try:
                await in_worker_pool(presence_services.connections_close)(sockets=closed)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("ending %s connection rows failed (swept later)", len(closed), exc_info=True)
        now = loop.time()
        due = [user_id for user_id, at in closing(hub).settles_due.items() if at <= now]
        if not due:
            continue
        for user_id in due:
            del closing(hub).settles_due[user_id]
        try:
            await in_worker_pool(presence_services.presence_settle_many)(user_ids=due)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("settling %s people failed (the stale sweep settles them later)", len(due), exc_info=True)


@on_socket_open(order=90)
async def show_online(consumer: OfficeConsumer) -> None:
    """Last before `hello`: the socket's row, and its user online. In the worker pool, with the other
    sockets opening meanwhile (a reconnect storm opens hundreds at once)."""
    await _open_connection((consumer.user, consumer.channel_name, consumer.hub.server_id))


@on_socket_close
async def settle_later(consumer: OfficeConsumer) -> None:
    """The row ends within SETTLE_TICK_SECONDS with the other sockets closed meanwhile
    (`settle_closed`); offline only if no socket of this user is left on any process once the grace
    period is over (a reload reconnects well within it)."""
    state = closing(consumer.hub)
    state.sockets[consumer.channel_name] = consumer.user_id
    state.settles_due[consumer.user_id] = asyncio.get_running_loop().time() + settings.PRESENCE_OFFLINE_GRACE_SECONDS


@socket_action("activity")
async def activity(consumer: OfficeConsumer, frame: dict) -> None:
    """The page saw input (it sends this at most once a minute): the person is not idle. Every other
    action counts too (`OfficeConsumer.last_action_at`, written by `refresh_presence`); this one is
    written at once, so someone shown idle comes back without waiting for the job."""
    now = timezone.now()
    _activity_written.setdefault(consumer.hub, {})[consumer.user_id] = now.timestamp()
    await in_worker_pool(presence_services.presence_activity)(user_ids=[consumer.user_id], at=now)


@on_hub_start
async def refresh_presence_every(hub: Hub) -> None:
    """`refresh_presence` every PRESENCE_REFRESH_SECONDS (a Django setting, read before each run so a
    test can shorten it); a failed run is logged and the next one happens as usual."""
    while True:
        await asyncio.sleep(settings.PRESENCE_REFRESH_SECONDS)
        try:
            await refresh_presence(hub)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("refreshing presence failed")
        hub.job_runs["refresh_presence"] = hub.job_runs.get("refresh_presence", 0) + 1


async def refresh_presence(hub: Hub) -> None:
    """For the people with a socket on this process: write who acted since the last run (one UPDATE),
    then announce what the clock changed (idle, quiet hours, a manual status reaching its end)."""
    written = _activity_written.setdefault(hub, {})
    latest: dict[int, float] = {}
    for consumer in list(hub.consumers):
        if consumer.closed or not getattr(consumer, "user_id", None):
            continue
        at = getattr(consumer, "last_action_at", 0.0)
        latest[consumer.user_id] = max(latest.get(consumer.user_id, 0.0), at)
    acted = [user_id for user_id, at in latest.items() if at > written.get(user_id, 0.0)]
    if acted:
        now = timezone.now()
        await in_worker_pool(presence_services.presence_activity)(user_ids=acted, at=now)
        for user_id in acted:
            written[user_id] = latest[user_id]
    for user_id in [u for u in written if u not in latest]:
        del written[user_id]  # no socket here any more
    await in_worker_pool(presence_services.presence_refresh)(user_ids=list(latest))
