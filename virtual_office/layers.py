"""The Redis channel layer with a bounded, blocking connection pool per process.

channels-redis builds an unbounded `ConnectionPool` per host: under a reconnect storm every
concurrent `group_add` opens a connection of its own. A `BlockingConnectionPool` caps them and makes
the next caller wait (up to `pool_timeout` seconds, then `ConnectionError`) instead.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool


class BoundedRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args: Any, pool_size: int = 20, pool_timeout: float = 5.0, **kwargs: Any) -> None:
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        super().__init__(*args, **kwargs)

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address", None)
        if address is None:  # sentinel or explicit host/port: as channels-redis builds it
            return create_pool(self.hosts[index])
        return aioredis.BlockingConnectionPool.from_url(
            address, max_connections=self.pool_size, timeout=self.pool_timeout, **host
        )
