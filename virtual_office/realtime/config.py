"""Intervals and limits of the socket machinery, each overridable by a Django setting of the same name."""

from __future__ import annotations

from django.conf import settings

# Intervals and limits of the socket machinery, in seconds unless named otherwise. Each can be
# overridden by a Django setting of the same name (tests shorten them).
REALTIME_DEFAULTS: dict[str, float] = {
    "HUB_MAINTENANCE_SECONDS": 15.0,  # drop layer groups no local socket needs any more
    "HUB_GROUP_REFRESH_SECONDS": 3600.0,  # re-add groups well before the layer's group_expiry
    "HUB_BUNDLE_MIN": 8,  # this many publishes waiting at once go to the other processes as one bundle
    "HUB_BUNDLE_MAX": 2000,  # ... of at most this many
    "PRESENCE_HEARTBEAT_SECONDS": 10.0,  # bump this process' Connection rows
    "PRESENCE_STALE_SECONDS": 60.0,  # a Connection row not bumped for this long belongs to a dead process
    "WS_AUTH_CHECK_SECONDS": 15.0,  # close sockets whose session, token or user is gone (<= 30 s)
    "WATCH_REFRESH_SECONDS": 30.0,  # keep this process' watcher entries alive in shared state
    "WATCH_TTL_SECONDS": 120.0,  # a watcher entry not refreshed for this long is gone (dead process)
    "TYPING_EXPIRES_SECONDS": 6.0,  # a `typing` start without a stop ends by itself
    "WS_RATE_LIMIT": 120,  # actions per user (all tabs, all processes) ...
    "WS_RATE_WINDOW": 10,  # ... per this many seconds
    "WS_FLOOD_CLOSE_AFTER": 40,  # refusals in a row before the socket is closed with 4029
    "GC_COLLECT_AFTER_CLOSES": 200,  # at least this many closed sockets (and a quarter of the open
    # ones) before a full cyclic collection; see Hub.socket_opened
    "HUB_HEALTH_SECONDS": 1.0,  # probe Redis; on its return restore this process' groups, resync
    "HUB_PROBE_TIMEOUT_SECONDS": 2.0,  # a probe slower than this twice in a row counts as Redis away
    "HUB_RESTORE_CONCURRENCY": 32,  # group_add calls in flight while restoring
    "WORKER_HEARTBEAT_SECONDS": 5.0,  # this process' heartbeat key in Redis ...
    "WORKER_DEAD_AFTER_SECONDS": 15.0,  # ... expires after this long: the process is dead
    "PRESENCE_COALESCE_SECONDS": 0.5,  # at most one presence frame per company per this long
    "CATCH_UP_GATHER_SECONDS": 0.02,  # joins of one commit replay together (Hub.catch_up_soon)
    "WS_OPEN_CONCURRENCY": 64,  # sockets of one process between handshake and hello (routing.OpenGate)
    "WORKER_POOL_THREADS": 3,  # threads for ORM work beside the event loop (0: asyncio's default)
}


def realtime_setting(name: str) -> float:
    """A realtime interval or limit: the Django setting if defined, else the default above."""
    return getattr(settings, name, REALTIME_DEFAULTS[name])
