"""The core's own upkeep of this process' sockets, run by its hub off the delivery path: the process'
heartbeat in Redis, and closing sockets whose credentials are gone."""

from __future__ import annotations

import asyncio

from virtual_office import shared_state
from virtual_office.credentials import credentials_still_valid
from virtual_office.realtime.config import realtime_setting
from virtual_office.realtime.consumer import in_worker_pool
from virtual_office.realtime.frames import CLOSE_UNAUTHENTICATED
from virtual_office.realtime.hub import Hub
from virtual_office.realtime.registry import hub_job, on_hub_start


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


@hub_job("WS_AUTH_CHECK_SECONDS")
async def close_revoked_sockets(hub: Hub) -> None:
    """Close (4401) sockets whose session was logged out, whose token was deleted or whose user was
    deactivated since they connected. Three batch queries per run, whatever the number of sockets."""
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
