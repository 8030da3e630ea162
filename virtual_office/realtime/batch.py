"""Calls that many sockets make at once, run together."""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async


class Batch:
    """Calls of one blocking function that many sockets make at once, run together in the worker pool
    (or, for an async function such as a Redis pipeline, on the event loop).

    `fn(items)` takes a list and returns one result per item, in order (an exception instance as a
    result fails that item alone). A quiet process waits for nothing: a call starts at once. Calls
    that arrive while `concurrency` batches are running wait and go together in the next one (at most
    `limit` items). A reconnect storm then costs a few statements per batch instead of a few per
    socket: that, not CPU, is what bounded how fast a process took sockets back.
    """

    def __init__(self, fn: Callable[[list[Any]], Any], *, limit: int = 500, concurrency: int = 2) -> None:
        self.fn = fn
        self.limit = limit
        self.concurrency = concurrency
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._running = 0
        self.batches = 0  # how many calls of `fn` (tests and the bench read it)
        self.items = 0

    async def __call__(self, item: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start()
        return await future

    def _start(self) -> None:
        while self._pending and self._running < self.concurrency:
            batch, self._pending = self._pending[: self.limit], self._pending[self.limit :]
            batch = [(item, future) for item, future in batch if not future.done()]  # callers gone
            if batch:
                self._running += 1
                asyncio.ensure_future(self._run(batch))

    async def _run(self, batch: list[tuple[Any, asyncio.Future]]) -> None:
        try:
            self.batches += 1
            self.items += len(batch)
            try:
                items = [i for i, _ in batch]
                if inspect.iscoroutinefunction(self.fn):
                    results = await self.fn(items)
                else:
                    results = await database_sync_to_async(self.fn, thread_sensitive=False)(items)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        finally:
            self._running -= 1
            self._start()


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Callable, Batch]] = weakref.WeakKeyDictionary()


class Batched:
    """A `batched` function: awaited with one item, it runs `many(items)` with the items of the calls
    made at once (one `Batch` per event loop, so per server process)."""

    def __init__(self, many: Callable[[list[Any]], Any]) -> None:
        self.many = many
        self.__name__ = many.__name__
        self.__doc__ = many.__doc__

    async def __call__(self, item: Any) -> Any:
        per_loop = _batches.setdefault(asyncio.get_running_loop(), {})
        batch = per_loop.get(self.many)
        if batch is None:
            batch = per_loop[self.many] = Batch(self.many)
        return await batch(item)


def batched(fn: Callable[[list[Any]], Any]) -> Batched:
    """Decorate `fn(items) -> results` (blocking, or async); the decorated function takes one item
    and is awaited."""
    return Batched(fn)


def batch_stats(fn: Callable) -> Batch | None:
    """The running loop's `Batch` of a `batched` function (tests: how many calls it took)."""
    target = fn.many if isinstance(fn, Batched) else fn
    return _batches.get(asyncio.get_running_loop(), {}).get(target)
