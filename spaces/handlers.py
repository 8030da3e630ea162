"""Socket side of spaces: the per-process knock expiry sweeper (as calling's invitation sweeper)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.utils import timezone

from spaces import selectors, services
from virtual_office.realtime import on_hub_start

if TYPE_CHECKING:
    from virtual_office.realtime import Hub

logger = logging.getLogger(__name__)

# Each server process sweeps at least this often, and sooner when a knock it knows of is due: a knock
# made on another process is seen within SWEEP_SECONDS, its expiry announced shortly after `expires_at`.
SWEEP_SECONDS = 1.0
MIN_SLEEP_SECONDS = 0.02


def sweep_once() -> float:
    """One expiry pass; returns how long to sleep before the next one."""
    services.knocks_expire()
    due = selectors.knock_next_expiry()
    if due is None:
        return SWEEP_SECONDS
    wait = (due - timezone.now()).total_seconds() + MIN_SLEEP_SECONDS
    return min(SWEEP_SECONDS, max(MIN_SLEEP_SECONDS, wait))


@on_hub_start
async def knock_sweeper(hub: Hub) -> None:
    """Every server process runs this once its hub starts; rows are claimed with SKIP LOCKED, so
    however many processes sweep, each expired knock is announced once."""
    # Not thread-sensitive: the sweep must not queue behind (or stall) the sockets' own DB calls.
    sweep = database_sync_to_async(sweep_once, thread_sensitive=False)
    while True:
        delay = SWEEP_SECONDS
        try:
            delay = await sweep()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("knock expiry sweep failed; retrying")
        hub.job_runs["knock_sweeper"] = hub.job_runs.get("knock_sweeper", 0) + 1
        await asyncio.sleep(delay)
