"""Catching a socket up on conversations' durable events: replay from the database what it has not
seen, then what arrived live meanwhile, each event once and in rev order (a mixin of the consumer)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from virtual_office.errors import is_unavailable
from virtual_office.realtime.frames import RESYNC

if TYPE_CHECKING:
    from virtual_office.realtime.hub import Hub

logger = logging.getLogger(__name__)


class Resumable:
    """What a socket keeps to never lose nor repeat a durable event: the rev delivered per
    conversation (`delivered_revs`), live events held while a replay runs (`resuming`)."""

    hub: Hub
    delivered_revs: dict[int, int]
    resuming: dict[int, list[tuple[int, str]]]
    resume_locks: dict[int, asyncio.Lock]
    before_hello: list | None

    if TYPE_CHECKING:  # the consumer's own

        async def send_frame(self, frame: dict) -> None: ...

        async def deliver(self, text: str, conversation: int | None, rev: int | None) -> bool: ...

        async def write(self, text: str) -> bool: ...

    async def resync(self) -> None:
        """This socket may have missed events from other processes (Redis was away): the client
        answers with `resume`. Sockets still connecting resume anyway after `hello`."""
        if self.before_hello is None:
            await self.write(RESYNC)

    async def catch_up(self, conversation_id: int, since_rev: int, *, force: bool = False) -> None:
        """Replay a conversation's durable events after since_rev from the database, then flush what
        arrived live meanwhile (events at or below the replayed rev are dropped: no duplicates).

        `force` (a client's `resume`) replays from since_rev even if this socket already sent them;
        otherwise a range this socket already sent is never replayed again. The hub reads each
        range once for all its sockets that ask at the same time (a new group of 1,000 members costs
        one query per process, not one per socket). If the replay fails (the database is away),
        the live events go out as they are and the client is told to `resync`: it finds the gap
        itself, and this socket does not retry the same range on every live event."""
        lock = self.resume_locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            self.resuming.setdefault(conversation_id, [])
            if not force:
                since_rev = max(since_rev, self.delivered_revs.get(conversation_id, since_rev))
            floor = since_rev
            failed = False
            try:
                for event in await self.hub.replay(conversation_id, since_rev):
                    await self.send_frame(event)
                    floor = max(floor, event["rev"])
            except Exception as exc:
                failed = True
                log = logger.warning if is_unavailable(exc) else logger.exception
                log("catch-up of conversation %s failed: %r", conversation_id, exc)
            finally:
                buffered = sorted(self.resuming.pop(conversation_id, []))
                if failed and buffered:
                    floor = max(floor, buffered[0][0] - 1)
                self.delivered_revs[conversation_id] = max(floor, self.delivered_revs.get(conversation_id, 0))
                for rev, text in buffered:
                    await self.deliver(text, conversation_id, rev)
            if failed:
                await self.resync()
