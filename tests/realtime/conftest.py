"""Fixtures of the realtime tests: a group of alice and bob, and sockets for everyone involved."""

import pytest
from channels.db import database_sync_to_async

from tests.factories import group_with
from tests.realtime.sockets import close_all, collect_all, connect


@pytest.fixture
def group(alice, bob):
    return group_with(alice, bob, title="Pair")


@pytest.fixture
async def sockets(alice, bob, carol, mallory):
    """Sockets of alice and bob (participants), carol (same company, not a participant) and mallory
    (another company), with the connect-time frames (presence of each other) already read."""
    opened = {}
    for name, user in (("alice", alice), ("bob", bob), ("carol", carol), ("mallory", mallory)):
        opened[name] = await connect(user)
    await collect_all(opened)
    yield opened
    await close_all(*opened.values())


@pytest.fixture
def db_call():
    """Run an ORM callable from an async test: `await db_call(fn, *args, **kwargs)`."""

    async def call(fn, *args, **kwargs):
        return await database_sync_to_async(fn)(*args, **kwargs)

    return call
