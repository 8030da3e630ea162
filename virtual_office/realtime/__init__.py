"""Realtime: the socket machinery of the core, one module per job.

- `frames`: group names, the event envelope, close codes (the wire protocol's fixed parts);
- `config`: intervals and limits (`realtime_setting`);
- `publish`: `send_event_on_commit` and friends (how an app's `events.py` publishes);
- `hub`: the per-process hub (layer groups, fan-out, presence coalescing, Redis health);
- `consumer`: the one WebSocket consumer (frames, acks, errors, rate limits, delivery);
- `resume`: catching a socket up on durable events without loss or repeats;
- `registry`: what apps plug in from `AppConfig.ready()` (actions, open/close/control hooks, the
  durable stream, hub jobs);
- `batch`: calls many sockets make at once, run together;
- `coalesce`: a group's state changes held for a moment, so that a burst goes out as one frame;
- `upkeep`: the core's own hub jobs.

The names apps use are importable from here.
"""

from virtual_office.realtime.batch import Batch, batch_stats, batched
from virtual_office.realtime.config import REALTIME_DEFAULTS, realtime_setting
from virtual_office.realtime.frames import (
    CLOSE_FLOOD,
    CLOSE_INTERNAL,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    FORWARD,
    PRESENCE_BATCH,
    PRESENCE_UPDATED,
    company_group,
    conversation_group,
    envelope,
    user_group,
)
from virtual_office.realtime.hub import Hub, current_hub, get_hub
from virtual_office.realtime.publish import (
    after_commit_in_background,
    asend_now,
    commit_memo,
    send_event_on_commit,
    send_events_on_commit,
    send_now,
)
from virtual_office.realtime.registry import (
    hub_job,
    on_hub_start,
    on_socket_close,
    on_socket_control,
    on_socket_open,
    register_durable_stream,
    socket_action,
)

__all__ = [
    "CLOSE_FLOOD",
    "CLOSE_INTERNAL",
    "CLOSE_TOO_SLOW",
    "CLOSE_TRY_AGAIN",
    "CLOSE_UNAUTHENTICATED",
    "FORWARD",
    "PRESENCE_BATCH",
    "PRESENCE_UPDATED",
    "REALTIME_DEFAULTS",
    "Batch",
    "Hub",
    "after_commit_in_background",
    "asend_now",
    "batch_stats",
    "batched",
    "commit_memo",
    "company_group",
    "conversation_group",
    "current_hub",
    "envelope",
    "get_hub",
    "hub_job",
    "on_hub_start",
    "on_socket_close",
    "on_socket_control",
    "on_socket_open",
    "realtime_setting",
    "register_durable_stream",
    "send_event_on_commit",
    "send_events_on_commit",
    "send_now",
    "socket_action",
    "user_group",
]
