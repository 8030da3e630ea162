"""Small pieces of state that every server process must agree on: rate-limit counters, watchers
and the workers' heartbeats.

With `REDIS_URL` they live in Redis (atomic across tabs and processes); without it, in this process
(the embedded single-process mode). One bounded pool per process: a caller past `REDIS_POOL_SIZE`
connections waits up to `REDIS_POOL_TIMEOUT` seconds, then gets a `redis.ConnectionError`, which the
socket answers with `unavailable` (never a silent close).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def enabled() -> bool:
    """Shared across processes through Redis (else kept in this process)."""
    return bool(settings.REDIS_URL)


def _redis() -> aioredis.Redis | None:
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_POOL_SIZE,
            timeout=settings.REDIS_POOL_TIMEOUT,
            socket_timeout=2,
            socket_connect_timeout=2,
        )
        client = _clients[loop] = aioredis.Redis(connection_pool=pool)
    return client


def _key(*parts: object) -> str:
    layer: Mapping[str, Any] = settings.CHANNEL_LAYERS["default"]
    prefix = layer.get("CONFIG", {}).get("prefix", "vo")
    return ":".join([prefix, *map(str, parts)])


_local_counters: dict[str, tuple[float, int]] = {}
_local_zsets: dict[str, dict[str, float]] = {}
_counters_away_until = 0.0


class _Window:
    """One counter's current window in this process: what Redis said last, and hits not yet added."""

    __slots__ = ("expires", "flushing", "pending", "shared")

    def __init__(self, expires: float) -> None:
        self.expires = expires
        self.shared = 0
        self.pending = 0
        self.flushing = False


_windows: dict[str, _Window] = {}


def rate_count(bucket: str, window_seconds: int) -> int:
    """Count one hit in the current fixed window; returns the count so far in that window, across
    processes. It does not wait for Redis: the hit is added to the shared counter in the background
    (hits that arrive meanwhile go together in the next INCRBY), and the answer is the shared count
    Redis gave last plus this process' hits not yet added. Another process' hits are seen one round
    trip late, which a rate limit can afford; an action no longer waits behind a busy Redis (under a
    reconnect storm that wait, not the action, bounded how fast one socket's actions went).

    While Redis is unreachable the count is kept in this process: the limit then holds per process,
    and no action is refused only because the counter is away."""
    window = int(time.time() // window_seconds)
    key = _key("rl", bucket, window)
    client = _redis()
    if client is None or time.monotonic() < _counters_away_until:
        return _local_count(key, window_seconds)
    entry = _windows.get(key)
    if entry is None:
        if len(_windows) > 10_000:
            now = time.time()
            for k in [k for k, w in _windows.items() if w.expires < now and not w.flushing]:
                del _windows[k]
        entry = _windows[key] = _Window(time.time() + window_seconds)
    entry.pending += 1
    if not entry.flushing:
        entry.flushing = True
        asyncio.ensure_future(_flush_window(client, key, entry, window_seconds))
    return entry.shared + entry.pending


async def _flush_window(client: aioredis.Redis, key: str, entry: _Window, window_seconds: int) -> None:
    global _counters_away_until
    try:
        while entry.pending:
            hits = entry.pending
            entry.shared = await _shared_count(client, key, window_seconds, hits)
            entry.pending -= hits
    except (RedisError, OSError, TimeoutError):
        # Do not wait on an absent Redis for every action: count here for a second.
        _counters_away_until = time.monotonic() + 1.0
        for _ in range(entry.pending):
            _local_count(key, window_seconds)
        entry.pending = 0
    finally:
        entry.flushing = False


def _local_count(key: str, window_seconds: int) -> int:
    _, count = _local_counters.get(key, (0.0, 0))
    count += 1
    _local_counters[key] = (time.time() + window_seconds, count)
    if len(_local_counters) > 10_000:
        now = time.time()
        for k in [k for k, (exp, _) in _local_counters.items() if exp < now]:
            del _local_counters[k]
    return count


async def _shared_count(client: aioredis.Redis, key: str, window_seconds: int, hits: int = 1) -> int:
    async with client.pipeline(transaction=True) as pipe:
        pipe.incrby(key, hits)
        pipe.expire(key, window_seconds * 2)
        count, _ = await pipe.execute()
    return int(count)


def _watch_ttl() -> float:
    """A watcher entry not refreshed for this long is gone (its process died without unwatching)."""
    from virtual_office.realtime.config import realtime_setting

    return float(realtime_setting("WATCH_TTL_SECONDS"))


async def watch_add(conversation_id: int, member: str) -> None:
    await watch_refresh([(conversation_id, member)])


async def watch_refresh(entries: list[tuple[int, str]]) -> None:
    """Mark `(conversation_id, member)` entries as watching now: one round trip for all of them."""
    if not entries:
        return
    now = time.time()
    client = _redis()
    if client is None:
        for conversation_id, member in entries:
            _local_zsets.setdefault(_key("watch", conversation_id), {})[member] = now
        return
    ttl = int(_watch_ttl() * 2) + 1
    cutoff = now - _watch_ttl()
    async with client.pipeline(transaction=False) as pipe:
        for conversation_id, member in entries:
            key = _key("watch", conversation_id)
            pipe.zadd(key, {member: now})
            pipe.zremrangebyscore(key, "-inf", cutoff)  # entries of a process that died; `watchers` skips them
            pipe.expire(key, ttl)
        await pipe.execute()


async def watch_remove(conversation_id: int, member: str) -> None:
    key = _key("watch", conversation_id)
    client = _redis()
    if client is None:
        _local_zsets.get(key, {}).pop(member, None)
        return
    await client.zrem(key, member)


# The user ids among a conversation's watch entries refreshed since ARGV[1], each once: Redis splits
# `<user_id>:<channel>` itself and answers integers, which is cheap to read (a group of a thousand is
# a thousand entries, read for each of its messages on the event loop that writes every frame).
_WATCHER_IDS = """
local seen, out = {}, {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  local user = string.match(member, '^(%d+):')
  if user and not seen[user] then
    seen[user] = true
    out[#out + 1] = tonumber(user)
  end
end
return out
"""


def _watcher_ids(client: aioredis.Redis) -> Any:
    script = getattr(client, "_vo_watcher_ids", None)
    if script is None:
        script = client._vo_watcher_ids = client.register_script(_WATCHER_IDS)  # type: ignore[attr-defined]
    return script


async def watchers_of(conversation_ids: list[int]) -> dict[int, list[int]]:
    """User ids watching each conversation on any process (members are `<user_id>:<channel>`): one
    round trip for all, of the entries refreshed within the TTL. It writes nothing (it is asked for
    every message of a group); `watch_refresh` drops the stale entries."""
    ids = list(dict.fromkeys(conversation_ids))
    cutoff = time.time() - _watch_ttl()
    client = _redis()
    if client is None:
        entries = {conversation_id: _local_zsets.get(_key("watch", conversation_id), {}) for conversation_id in ids}
        return {
            conversation_id: sorted({int(m.split(":", 1)[0]) for m, ts in members.items() if ts >= cutoff})
            for conversation_id, members in entries.items()
        }
    script = _watcher_ids(client)
    async with client.pipeline(transaction=False) as pipe:
        for conversation_id in ids:
            await script(keys=[_key("watch", conversation_id)], args=[cutoff], client=pipe)
        answers = await pipe.execute()
    return {conversation_id: sorted(answer) for conversation_id, answer in zip(ids, answers, strict=True)}


async def watchers(conversation_id: int) -> list[int]:
    return (await watchers_of([conversation_id]))[conversation_id]


# -- worker heartbeats ------------------------------------------------------------------------------


async def worker_heartbeat(server_id: str, ttl_seconds: float) -> None:
    """This worker is alive for the next `ttl_seconds` (a key that expires by itself when it dies)."""
    client = _redis()
    if client is None:
        return
    await client.set(_key("worker", server_id), "1", px=int(ttl_seconds * 1000))


async def workers_alive(server_ids: list[str]) -> set[str]:
    """Which of these workers have a live heartbeat (one round trip)."""
    client = _redis()
    if client is None or not server_ids:
        return set(server_ids)
    values = await client.mget([_key("worker", server_id) for server_id in server_ids])
    return {server_id for server_id, value in zip(server_ids, values, strict=True) if value is not None}


async def redis_run_id(timeout: float) -> str | None:
    """The Redis server's run id (it changes when Redis restarts), or None without Redis.
    Raises RedisError or TimeoutError when Redis does not answer within `timeout` seconds."""
    client = _redis()
    if client is None:
        return None
    info = await asyncio.wait_for(client.info("server"), timeout)
    return str(info.get("run_id"))
