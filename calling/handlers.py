"""Socket side of calling: the `call.signal` action (WebRTC relay) and the per-process expiry sweeper."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.utils import timezone

from calling import events, selectors, services
from calling.api.serializers import SignalFrame
from calling.models import Call
from virtual_office.errors import ServiceError
from virtual_office.inputs import validated
from virtual_office.realtime import on_hub_start, socket_action

if TYPE_CHECKING:
    from virtual_office.realtime import Hub
    from virtual_office.realtime.consumer import OfficeConsumer

logger = logging.getLogger(__name__)

# Each server process sweeps at least this often, and sooner when an invitation it knows of is due:
# an invitation created on another process is seen within SWEEP_SECONDS, and its expiry is then
# announced shortly after `expires_at` (docs/calls.md has measurements; the promise is 2 s).
SWEEP_SECONDS = 1.0
MIN_SLEEP_SECONDS = 0.02


@socket_action("call.signal")
async def call_signal(consumer: OfficeConsumer, frame: dict) -> dict:
    """Relay `{call, payload}` to the other party of an accepted call; anyone else gets an error."""
    values = validated(SignalFrame, frame)
    call_id, payload = values["call"], values["payload"]
    row = await database_sync_to_async(selectors.signal_peer)(call_id=call_id, user_id=consumer.user_id)
    if row is None:
        raise ServiceError("call_not_found", "No such call.", status=404)
    caller_id, callee_id, state = row
    if state != Call.State.ACCEPTED:
        raise ServiceError(
            "call_not_active", "This call is not in progress; signaling is only relayed during an answered call.",
            status=409,
        )
    other = callee_id if consumer.user_id == caller_id else caller_id
    await events.signal_relay(call_id=call_id, sender_id=consumer.user_id, recipient_id=other, payload=payload)
    return {"call": call_id}


def sweep_once() -> float:
    """One expiry pass; returns how long to sleep before the next one."""
    services.invitations_expire()
    due = selectors.next_expiry()
    if due is None:
        return SWEEP_SECONDS
    wait = (due - timezone.now()).total_seconds() + MIN_SLEEP_SECONDS
    return min(SWEEP_SECONDS, max(MIN_SLEEP_SECONDS, wait))


@on_hub_start
async def expiry_sweeper(hub: Hub) -> Any:
    """Every server process runs this once its hub starts; rows are claimed with SKIP LOCKED, so
    however many processes sweep, each expired invitation is announced once."""
    # Not thread-sensitive: the sweep must not queue behind (or stall) the sockets' own DB calls.
    sweep = database_sync_to_async(sweep_once, thread_sensitive=False)
    while True:
        delay = SWEEP_SECONDS
        try:
            delay = await sweep()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("invitation expiry sweep failed; retrying")
        hub.job_runs["expiry_sweeper"] = hub.job_runs.get("expiry_sweeper", 0) + 1
        await asyncio.sleep(delay)
