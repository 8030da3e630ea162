import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from virtual_office.consumers import OfficeConsumer
from tests.factories import CompanyFactory, UserFactory, group_with, post


async def connect(user):
    communicator = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_message_reaches_participant_only():
    company = await database_sync_to_async(CompanyFactory)()
    alice = await database_sync_to_async(UserFactory)(company=company)
    bob = await database_sync_to_async(UserFactory)(company=company)
    eve = await database_sync_to_async(UserFactory)()
    conversation = await database_sync_to_async(group_with)(alice, bob)
    ws_bob = await connect(bob)
    ws_eve = await connect(eve)
    await database_sync_to_async(post)(conversation, alice, "hi bob")
    while True:
        frame = await ws_bob.receive_json_from(timeout=3)
        if frame["type"] == "message.created":
            break
    assert frame["data"]["body"] == "hi bob" and frame["rev"] == 1
    await ws_bob.send_json_to({"action": "ping", "ref": 1})
    assert (await ws_bob.receive_json_from(timeout=3)) == {"type": "pong", "ref": 1}
    types = []
    while not await ws_eve.receive_nothing(timeout=0.3):
        types.append((await ws_eve.receive_json_from())["type"])
    assert "message.created" not in types
    await ws_bob.disconnect()
    await ws_eve.disconnect()
