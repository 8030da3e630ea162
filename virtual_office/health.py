"""The health probes behind `/healthz`: PostgreSQL and Redis, each on a connection of its own, kept
open between probes and used from a thread of its own.

Why threads: in a reconnect storm a worker's event loop runs thousands of callbacks per turn, and a
probe that opened fresh connections on the loop needed about ten turns (TCP connect, startup, auth,
query, close) before it could answer, seconds in all. Here the loop only hands the probe to the
part's thread and takes the result back (two turns); the thread waits only for its own server.
A probe that does not answer within `HEALTH_TIMEOUT_SECONDS` says `timeout`; one that fails says
`unreachable` and drops its connection, so the next probe connects again."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import connection
from psycopg.conninfo import make_conninfo

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 0.8


class Probe:
    """One part's probe: a single thread that keeps one connection to it (per target: a changed
    setting connects anew)."""

    def __init__(self, name: str, target: Callable[[], Any], check: Callable[[Any, Any], Any]) -> None:
        self.name = name
        self._target = target  # what to connect to, read from the settings at each probe
        self._check = check  # (target, connection or None) -> the connection to keep
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._kept: tuple[Any, Any] | None = None  # (target, connection)

    def _run(self, target: Any) -> None:
        kept = self._kept
        previous = kept[1] if kept is not None and kept[0] == target else None
        if kept is not None and previous is None:
            _close(kept[1])
            self._kept = None
        try:
            self._kept = (target, self._check(target, previous))
        except BaseException:
            if self._kept is not None:
                _close(self._kept[1])
            self._kept = None
            raise

    def close(self) -> None:
        if self._kept is not None:
            _close(self._kept[1])
            self._kept = None

    async def __call__(self) -> str:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"health-{self.name}")
        future = asyncio.wrap_future(self._executor.submit(self._run, self._target()))
        try:
            await asyncio.wait_for(future, HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            return "timeout"
        except Exception as exc:
            logger.debug("health probe %s failed: %s", self.name, exc)
            return "unreachable"
        return "ok"


def _close(kept: Any) -> None:
    try:
        if kept is not None:
            kept.close()
    except Exception:  # a connection that broke may fail to close; it is dropped either way
        pass


class _ThreadConnection:
    """SQLite: the probe uses Django's connection of its thread; `close` ends it (a new target)."""

    def close(self) -> None:
        connection.close()


def _database_target() -> tuple[str, str]:
    settings_dict = connection.settings_dict
    if connection.vendor != "postgresql":
        return (connection.vendor, str(settings_dict["NAME"]))
    # libpq gives up on a silent server after about a second (tcp_user_timeout, keepalives), so a
    # stuck probe frees its thread soon after the probe has answered `timeout`.
    return ("postgresql", make_conninfo(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"], port=settings_dict["PORT"], connect_timeout=1, tcp_user_timeout=1000,
        keepalives=1, keepalives_idle=1, keepalives_interval=1, keepalives_count=1, application_name="healthz",
    ))


def _check_database(target: tuple[str, str], kept: Any) -> Any:
    vendor, conninfo = target
    if vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return _ThreadConnection()
    probe = kept if kept is not None and not kept.closed else psycopg.Connection.connect(conninfo, autocommit=True)
    try:
        probe.execute("SELECT 1")
    except BaseException:
        _close(probe)
        raise
    return probe


def _check_channel_layer(url: str | None, kept: Any) -> Any:
    if not url:
        return None  # the in-memory layer lives in this process
    client = kept if kept is not None else redis.Redis.from_url(
        url, socket_timeout=HEALTH_TIMEOUT_SECONDS, socket_connect_timeout=HEALTH_TIMEOUT_SECONDS,
        single_connection_client=True,
    )
    client.ping()
    return client


def close_all() -> None:
    """End the probes' connections (a test database is about to be dropped)."""
    for probe in (database, channel_layer):
        if probe._executor is not None:
            probe._executor.submit(probe.close).result(timeout=5)


database = Probe("db", _database_target, _check_database)
channel_layer = Probe("channel_layer", lambda: settings.REDIS_URL, _check_channel_layer)


async def health() -> tuple[int, dict[str, str]]:
    """`{"db": "ok", "channel_layer": "ok"}` and 200, or 503 naming what failed."""
    db, layer = await asyncio.gather(database(), channel_layer())
    return (200 if db == layer == "ok" else 503), {"db": db, "channel_layer": layer}
