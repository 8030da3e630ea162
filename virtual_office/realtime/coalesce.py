"""Holding a group's state changes for a moment, so that a burst goes out as one frame.

A morning login wave would otherwise send every socket of a company one presence frame per login
(1,000 logins: a million frames), and an all-hands opening one conversation would send every watcher
the whole watcher list once per person arriving. For each group: the first change after a quiet
window goes out at once; later ones wait for the end of the window (PRESENCE_COALESCE_SECONDS) and
go out together, the latest per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from virtual_office.realtime.config import realtime_setting

# Groups whose last flush is older than this are forgotten once many are remembered.
FORGET_AFTER_SECONDS = 60.0
REMEMBER_AT_MOST = 10_000


class Coalescer:
    """Pending changes per group (key -> latest value), flushed by `flush(group)`, a coroutine of
    the owner that sends what `take(group)` returns."""

    def __init__(self, flush: Callable[[str], Awaitable[None]]) -> None:
        self.flush = flush
        self._pending: dict[str, dict[Hashable, Any]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._last_flush: dict[str, float] = {}

    def hold(self, group: str, key: Hashable, value: Any) -> bool:
        """Hold `value` as the latest for `key` in `group`; True if the group should flush now (a
        quiet window), else its flush is due at the end of the window."""
        self._pending.setdefault(group, {})[key] = value
        if group in self._timers:
            return False
        loop = asyncio.get_running_loop()
        last = self._last_flush.get(group)
        wait = 0.0 if last is None else last + realtime_setting("PRESENCE_COALESCE_SECONDS") - loop.time()
        if wait <= 0:
            return True
        self._timers[group] = loop.call_later(wait, lambda: asyncio.ensure_future(self.flush(group)))
        return False

    def take(self, group: str) -> dict[Hashable, Any] | None:
        """What waits for `group` (None if nothing), which now counts as sent."""
        timer = self._timers.pop(group, None)
        if timer is not None:
            timer.cancel()
        pending = self._pending.pop(group, None)
        if pending:
            now = asyncio.get_running_loop().time()
            self._last_flush[group] = now
            if len(self._last_flush) > REMEMBER_AT_MOST:
                horizon = now - FORGET_AFTER_SECONDS
                self._last_flush = {g: t for g, t in self._last_flush.items() if t > horizon}
        return pending

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
