"""Small pieces of state that every server process must agree on: rate-limit counters and watchers.

With `REDIS_URL` they live in Redis (atomic across tabs and processes); without it, in this process
(the embedded single-process mode).
"""

from __future__ import annotations

import asyncio
import time
import weakref

import redis.asyncio as aioredis
from django.conf import settings

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = weakref.WeakKeyDictionary()


def _redis() -> aioredis.Redis | None:
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.from_url(settings.REDIS_URL, socket_timeout=5)
    return client


def _key(*parts: object) -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "vo")
    return ":".join([prefix, *map(str, parts)])


_local_counters: dict[str, tuple[float, int]] = {}
_local_zsets: dict[str, dict[str, float]] = {}


async def hit(bucket: str, window_seconds: int) -> int:
    """Count one hit in the current fixed window; returns the count so far in that window."""
    window = int(time.time() // window_seconds)
    key = _key("rl", bucket, window)
    client = _redis()
    if client is None:
        expires, count = _local_counters.get(key, (0.0, 0))
        count += 1
        _local_counters[key] = (time.time() + window_seconds, count)
        if len(_local_counters) > 10_000:
            now = time.time()
            for k in [k for k, (exp, _) in _local_counters.items() if exp < now]:
                del _local_counters[k]
        return count
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds * 2)
        count, _ = await pipe.execute()
    return int(count)


def _watch_ttl() -> float:
    """A watcher entry not refreshed for this long is gone (its process died without unwatching)."""
    from virtual_office.realtime import realtime_setting

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
    async with client.pipeline(transaction=False) as pipe:
        for conversation_id, member in entries:
            key = _key("watch", conversation_id)
            pipe.zadd(key, {member: now})
            pipe.expire(key, ttl)
        await pipe.execute()


async def watch_remove(conversation_id: int, member: str) -> None:
    key = _key("watch", conversation_id)
    client = _redis()
    if client is None:
        _local_zsets.get(key, {}).pop(member, None)
        return
    await client.zrem(key, member)


async def watchers(conversation_id: int) -> list[int]:
    """User ids watching the conversation on any process (members are `<user_id>:<channel>`)."""
    key = _key("watch", conversation_id)
    cutoff = time.time() - _watch_ttl()
    client = _redis()
    if client is None:
        members = [m for m, ts in _local_zsets.get(key, {}).items() if ts >= cutoff]
    else:
        await client.zremrangebyscore(key, "-inf", cutoff)
        members = [m.decode() for m in await client.zrange(key, 0, -1)]
    return sorted({int(m.split(":", 1)[0]) for m in members})
