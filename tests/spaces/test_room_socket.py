"""Room system messages arrive live over the socket, in seq order, to people in the room only."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from messaging.models import Conversation
from spaces import services
from tests.factories import CompanyFactory, SpaceFactory, UserFactory
from virtual_office.realtime.consumer import OfficeConsumer

db = database_sync_to_async


async def connect(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return communicator


async def frames_until(ws: WebsocketCommunicator, done, timeout: float = 5.0) -> list[dict]:
    """Every frame until `done(frame)` is true for one of them."""
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        frames.append(frame)
        if done(frame):
            return frames


async def drain(ws: WebsocketCommunicator, wait: float = 0.5) -> list[dict]:
    frames = []
    while not await ws.receive_nothing(timeout=wait):
        frames.append(await ws.receive_json_from())
    return frames


def room_events(frames: list[dict], conversation_id: int) -> list[tuple]:
    return [
        (f["type"], f["rev"], f["data"]["seq"], f["data"]["system"]["event"], f["data"]["system"].get("reason"))
        for f in frames
        if f["type"].startswith("message.") and f.get("conversation") == conversation_id
    ]


@pytest.mark.django_db(transaction=True)
async def test_room_socket_gets_system_messages_live_and_other_company_nothing():
    company = await db(CompanyFactory)()
    alice = await db(UserFactory)(company=company, display_name="Alice")
    bob = await db(UserFactory)(company=company, display_name="Bob")
    boss = await db(UserFactory)(company=company, display_name="Boss", is_company_admin=True)
    mallory = await db(UserFactory)()
    space = await db(SpaceFactory)(company=company, name="Lounge", capacity=5)
    await db(services.space_enter)(actor=alice, space=space)
    conversation_id = await db(lambda: Conversation.objects.get(space=space).id)()
    ws_alice = await connect(alice)
    ws_mallory = await connect(mallory)
    await drain(ws_alice, 0.3)

    await db(services.space_enter)(actor=bob, space=space)
    await db(services.space_update)(actor=boss, space=space, data={"status": "in_use"})
    await db(services.meeting_start)(actor=bob, space=space, title="Sync")
    await db(services.meeting_end)(actor=bob, space=space)
    await db(services.space_leave)(actor=bob)
    await db(services.space_enter)(actor=bob, space=space)  # flapping: the joined note is updated in place
    await db(services.space_update)(actor=boss, space=space, data={"status": "closed"})

    frames = await frames_until(
        ws_alice,
        lambda f: f["type"] == "message.created" and f["data"]["system"]
        and f["data"]["system"]["event"] == "left" and f["data"]["system"]["actor"] == alice.id,
    )
    events = room_events(frames, conversation_id)
    assert events == [
        ("message.created", 2, 2, "joined", "entered"),
        ("message.created", 3, 3, "status_changed", None),
        ("message.created", 4, 4, "meeting_started", None),
        ("message.created", 5, 5, "meeting_ended", None),
        ("message.created", 6, 6, "left", "left"),
        ("message.updated", 7, 2, "joined", "entered"),
        ("message.created", 8, 8, "status_changed", None),
        ("message.created", 9, 9, "left", "closed"),  # Alice's own, before her socket leaves the room
    ]
    updated = next(f for f in frames if f["type"] == "message.updated")
    assert updated["data"]["system"]["count"] == 2
    created = [f for f in frames if f["type"] == "message.created"]
    assert all(f["data"]["kind"] == "system" and f["data"]["sender"] is None for f in created)
    assert [f["rev"] for f in frames if "rev" in f] == sorted(f["rev"] for f in frames if "rev" in f)

    # Out of the room now: Bob's "left (space closed)" is not pushed to Alice.
    later = await drain(ws_alice)
    assert room_events(later, conversation_id) == []

    leaked = await drain(ws_mallory)
    assert [f for f in leaked if f["type"].startswith("message.") or f["type"].startswith("space.")] == []
    assert all(f["data"].get("user") not in (alice.id, bob.id, boss.id) for f in leaked)
    await ws_alice.disconnect()
    await ws_mallory.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_entering_with_an_open_socket_delivers_own_joined_and_later_notes():
    company = await db(CompanyFactory)()
    carol = await db(UserFactory)(company=company, display_name="Carol")
    dave = await db(UserFactory)(company=company, display_name="Dave")
    space = await db(SpaceFactory)(company=company, name="Kitchen", capacity=5)
    ws_carol = await connect(carol)
    await drain(ws_carol, 0.3)
    await db(services.space_enter)(actor=carol, space=space)
    await db(services.space_enter)(actor=dave, space=space)
    await db(services.space_leave)(actor=dave, reason="offline")
    conversation_id = await db(lambda: Conversation.objects.get(space=space).id)()
    frames = await frames_until(
        ws_carol, lambda f: f["type"] == "message.created" and f["data"]["system"]["event"] == "left"
    )
    assert room_events(frames, conversation_id) == [
        ("message.created", 1, 1, "joined", "entered"),
        ("message.created", 2, 2, "joined", "entered"),
        ("message.created", 3, 3, "left", "offline"),
    ]
    assert any(f["type"] == "conversation.created" and f["data"]["id"] == conversation_id for f in frames)
    await ws_carol.disconnect()
