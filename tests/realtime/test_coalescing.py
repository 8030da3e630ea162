"""A conversation's watcher list (`conversation.presence`) is a whole state: when many people open the
same conversation at once, each watcher gets the first list at once and then only the latest, not one
frame per person who arrived."""

import asyncio

import pytest

from tests.factories import UserFactory, group_with
from tests.realtime.sockets import close_all, collect, connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def all_hands(company):
    people = [UserFactory(company=company) for _ in range(12)]
    return people, group_with(*people, title="All hands")


async def test_an_all_hands_opening_one_conversation_gets_the_latest_watchers_not_every_step(all_hands, settings):
    settings.PRESENCE_COALESCE_SECONDS = 0.5
    people, group = all_hands
    sockets = [await connect(user) for user in people]
    for socket in sockets:
        await collect(socket, quiet=0.1)
    for ref, socket in enumerate(sockets):  # everyone opens it within a moment
        await socket.send_json_to({"action": "watch", "ref": ref, "conversation": group.id})
    frames = await asyncio.gather(*(collect(s, quiet=1.0) for s in sockets))
    everyone = sorted(user.id for user in people)
    for received in frames:
        lists = [f["data"]["watchers"] for f in received if f["type"] == "conversation.presence"]
        assert lists and sorted(lists[-1]) == everyone  # the latest: all twelve
        assert len(lists) <= 3  # not one per arrival (twelve)
    # Quiet again: the next change goes out at once.
    await sockets[0].send_json_to({"action": "unwatch", "ref": "u", "conversation": group.id})
    received = await collect(sockets[1], quiet=0.3)
    [latest] = [f["data"]["watchers"] for f in received if f["type"] == "conversation.presence"]
    assert sorted(latest) == everyone[1:]
    await close_all(*sockets)
