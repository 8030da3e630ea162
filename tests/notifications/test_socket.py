"""notification.created over the socket: to the recipient's sockets only (also under dnd), and a
conversation one of my tabs watches gives me no `direct`."""

import pytest
from channels.db import database_sync_to_async

from messaging import services as messaging_services
from notifications.models import Notification
from presence.models import Presence
from tests.factories import CompanyFactory, UserFactory, group_with
from tests.realtime.sockets import close_all, collect, connect, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def people():
    company = await database_sync_to_async(CompanyFactory)()
    other = await database_sync_to_async(CompanyFactory)()
    users = [await database_sync_to_async(UserFactory)(company=company) for _ in range(3)]
    outsider = await database_sync_to_async(UserFactory)(company=other)
    return users, outsider


async def test_a_mention_reaches_the_recipient_only_also_under_dnd(people):
    (alice, bob, carol), mallory = people
    chat = await database_sync_to_async(group_with)(alice, bob, carol)
    sockets = {name: await connect(user) for name, user in [("a", alice), ("b", bob), ("c", carol), ("m", mallory)]}
    try:
        await database_sync_to_async(Presence.objects.filter(user=bob).update)(status="dnd")
        await sockets["a"].send_json_to(
            {
                "action": "message.send",
                "ref": 1,
                "conversation": chat.id,
                "body": f"@{bob.username} hi",
                "client_id": "x1",
            }
        )
        frame = await wait_for(sockets["b"], "notification.created")
        note = await database_sync_to_async(Notification.objects.get)(recipient=bob)
        assert frame["data"]["id"] == note.id and frame["data"]["kind"] == "mention"
        assert frame["data"]["actor"] == alice.id and frame["data"]["conversation"] == chat.id
        assert frame["data"]["excerpt"] == f"@{bob.username} hi"
        carol_frame = await wait_for(sockets["c"], "notification.created")
        assert carol_frame["data"]["kind"] == "direct" and carol_frame["data"]["id"] != note.id
        for name in ("a", "m"):
            assert "notification.created" not in [f["type"] for f in await collect(sockets[name])]
    finally:
        await close_all(*sockets.values())


async def test_watching_the_conversation_means_no_direct(people):
    (alice, bob, _), _ = people
    chat, _ = await database_sync_to_async(messaging_services.direct_get_or_create)(actor=alice, other_id=bob.id)
    ws_a, ws_b = await connect(alice), await connect(bob)
    try:
        await ws_b.send_json_to({"action": "watch", "ref": "w", "conversation": chat.id})
        await wait_for(ws_b, "ack")
        await database_sync_to_async(messaging_services.message_send)(actor=alice, conversation=chat, body="seen")
        await wait_for(ws_b, "message.created")
        assert "notification.created" not in [f["type"] for f in await collect(ws_b)]
        await ws_b.send_json_to({"action": "unwatch", "ref": "u", "conversation": chat.id})
        await wait_for(ws_b, "ack")
        await database_sync_to_async(messaging_services.message_send)(actor=alice, conversation=chat, body="unseen")
        frame = await wait_for(ws_b, "notification.created")
        assert frame["data"]["kind"] == "direct"
        assert await database_sync_to_async(Notification.objects.filter(recipient=bob).count)() == 1
    finally:
        await close_all(ws_a, ws_b)
