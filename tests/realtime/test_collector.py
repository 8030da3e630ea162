"""The hub keeps CPython's full cyclic collections out of the fan-out: what a connected socket holds
is frozen, and a full pass runs after many sockets closed, reclaiming their garbage then."""

import asyncio
import gc
import weakref

import pytest

from tests.realtime.sockets import close_all, connect
from virtual_office.realtime import current_hub

pytestmark = pytest.mark.django_db(transaction=True)


async def frozen_objects() -> int:
    for _ in range(50):
        if gc.get_freeze_count():
            break
        await asyncio.sleep(0.05)
    return gc.get_freeze_count()


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector reclaims it


@pytest.fixture
def no_automatic_collections():
    """Only the hub's own passes: an automatic one could reclaim the test's cycle before the freeze."""
    gc.disable()
    yield
    gc.enable()


async def test_connected_sockets_are_frozen_and_closes_bring_a_full_collection(
    alice, bob, carol, settings, no_automatic_collections
):
    settings.GC_COLLECT_AFTER_CLOSES = 2
    cycle = Node()
    gone = weakref.ref(cycle)
    del cycle  # garbage now, but only a cyclic pass can free it

    gc.unfreeze()
    first = await connect(alice)
    hub = current_hub()
    frozen = await frozen_objects()  # the socket finished connecting (after its hello)
    assert frozen > 0 and gone() is not None  # frozen with the rest: no pass walks it
    gc.collect()
    assert gone() is not None
    second = await connect(bob)

    collections = hub.collections
    await close_all(first)
    assert hub.collections == collections  # one close: nothing yet
    await close_all(second)  # the second: a full pass a second later
    for _ in range(40):
        if hub.collections > collections:
            break
        await asyncio.sleep(0.1)
    assert hub.collections == collections + 1
    assert gone() is None  # the frozen garbage was reclaimed

    gc.unfreeze()
    third = await connect(carol)  # and what is live is frozen again
    assert await frozen_objects() > 0
    await close_all(third)
