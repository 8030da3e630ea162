"""The health probes behind `/healthz`: PostgreSQL and Redis, each on a connection of its own, kept
open between probes, and probed from threads, never on the event loop.

Why: in a reconnect storm a worker's event loop runs thousands of callbacks per turn, and a probe
that opened fresh connections on the loop needed about ten turns (TCP connect, startup, auth,
query, close) before it could answer: seconds in all. Here, once `/healthz` has been asked, each
part's refresher thread probes it every `REFRESH_SECONDS` (and stops `KEEP_FRESH_SECONDS` after the
last request). A request answers from a probe at most `MAX_AGE_SECONDS` old without waiting on
anything; only a first request, or one whose probe is older (a part that hangs), probes there and
then, in the part's thread, for at most `HEALTH_TIMEOUT_SECONDS` (then `timeout`). A failed probe
says `unreachable` and drops its connection, so the next one connects again."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
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
REFRESH_SECONDS = 0.2
MAX_AGE_SECONDS = 0.6
KEEP_FRESH_SECONDS = 60.0


class Probe:
    """One part's probe, with the connection it keeps (per target: a changed setting connects anew)
    and the outcome of its latest probe."""

    def __init__(self, name: str, target: Callable[[], Any], check: Callable[[Any, Any], Any]) -> None:
        self.name = name
        self._target = target  # what to connect to, read from the settings at each probe
        self._check = check  # (target, kept connection or None) -> the connection to keep
        self._lock = threading.Lock()  # one probe at a time on the kept connection
        self._kept: tuple[Any, Any] | None = None  # (target, connection)
        self._latest: tuple[Any, str, float] | None = None  # (target, status, monotonic time)
        self._asked_at = 0.0
        self._refresher: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- in the probe's threads ------------------------------------------------------------------

    def probe(self, target: Any) -> str:
        with self._lock:
            kept = self._kept
            previous = kept[1] if kept is not None and kept[0] == target else None
            if kept is not None and previous is None:
                _close(kept[1])
                self._kept = None
            try:
                self._kept = (target, self._check(target, previous))
                status = "ok"
            except Exception as exc:
                logger.debug("health probe %s failed: %s", self.name, exc)
                if self._kept is not None:
                    _close(self._kept[1])
                self._kept = None
                status = "unreachable"
            self._latest = (target, status, time.monotonic())
            return status

    def _refresh(self) -> None:
        while time.monotonic() - self._asked_at < KEEP_FRESH_SECONDS:
            self.probe(self._target())
            time.sleep(REFRESH_SECONDS)
        self._refresher = None

    def close(self) -> None:
        with self._lock:
            if self._kept is not None:
                _close(self._kept[1])
            self._kept = None
            self._latest = None

    # -- on the event loop -----------------------------------------------------------------------

    def fresh(self) -> str | None:
        """The latest probe's outcome if it is recent and of the current target; None otherwise.
        Starts the refresher thread if it is not running."""
        self._asked_at = time.monotonic()
        if self._refresher is None:
            self._refresher = threading.Thread(target=self._refresh, name=f"health-{self.name}", daemon=True)
            self._refresher.start()
        latest = self._latest
        if latest is None or latest[0] != self._target() or time.monotonic() - latest[2] > MAX_AGE_SECONDS:
            return None
        return latest[1]

    async def probe_now(self) -> str:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"health-{self.name}-now")
        future = asyncio.wrap_future(self._executor.submit(self.probe, self._target()))
        try:
            return await asyncio.wait_for(future, HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            return "timeout"


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
    # stuck probe frees its thread soon after the request has answered `timeout`.
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


database = Probe("db", _database_target, _check_database)
channel_layer = Probe("channel_layer", lambda: settings.REDIS_URL, _check_channel_layer)
PROBES = {"db": database, "channel_layer": channel_layer}


def close_all() -> None:
    """Stop the refresher threads and end the probes' connections (a test database is about to be
    dropped)."""
    for probe in PROBES.values():
        probe._asked_at = 0.0
        refresher = probe._refresher
        if refresher is not None:
            refresher.join(timeout=5)
        probe.close()


async def health() -> tuple[int, dict[str, str]]:
    """`{"db": "ok", "channel_layer": "ok"}` and 200, or 503 naming what failed. With recent probes
    (the usual case) this returns without waiting on anything."""
    result: dict[str, str] = {}
    stale = []
    for name, probe in PROBES.items():
        status = probe.fresh()
        if status is None:
            stale.append(name)
        else:
            result[name] = status
    if stale:
        for name, status in zip(stale, await asyncio.gather(*(PROBES[n].probe_now() for n in stale)), strict=True):
            result[name] = status
    result = {name: result[name] for name in PROBES}
    return (200 if all(status == "ok" for status in result.values()) else 503), result
