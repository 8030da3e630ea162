"""Who receives which event, after commit only, whatever path made the change (service, REST, admin)."""

import pytest
from django.db import transaction
from django.test import Client

from messaging import services as messaging_services
from messaging.models import Message
from presence import services as presence_services
from spaces.models import Space
from tests.factories import SpaceFactory, UserFactory, post
from tests.realtime.sockets import NOTIFICATIONS, close_all, collect, collect_all, connect, types

pytestmark = pytest.mark.django_db(transaction=True)


def only(frames: list[dict], event_type: str) -> list[dict]:
    return [f for f in frames if f["type"] == event_type]


async def test_message_events_reach_participants_only(group, sockets, alice, bob, db_call):
    message = await db_call(post, group, alice, "hello bob")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        (frame,) = got[name]
        assert frame["type"] == "message.created"
        assert frame["conversation"] == group.id and frame["rev"] == 1
        assert frame["data"]["id"] == message.id and frame["data"]["body"] == "hello bob"
    assert got["carol"] == [] and got["mallory"] == []

    await db_call(lambda: messaging_services.message_edit(actor=alice, message=message, body="hello, bob"))
    await db_call(lambda: messaging_services.reaction_add(actor=bob, message=message, emoji="👍"))
    await db_call(lambda: messaging_services.reaction_remove(actor=bob, message=message, emoji="👍"))
    await db_call(lambda: messaging_services.reaction_add(actor=bob, message=message, emoji="🎉"))
    await db_call(lambda: messaging_services.message_delete(actor=alice, message=message))
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        frames = got[name]
        # One event per durable change, in rev order: the deletion's removal of the 🎉 reaction
        # sends no stale reaction.changed of its own.
        assert [(f["type"], f["rev"]) for f in frames] == [
            ("message.updated", 2),
            ("reaction.changed", 3),
            ("reaction.changed", 4),
            ("reaction.changed", 5),
            ("message.deleted", 6),
        ]
        assert all(f["conversation"] == group.id for f in frames)
        assert frames[0]["data"]["body"] == "hello, bob" and frames[0]["data"]["edited_at"]
        assert frames[1]["data"] == {
            "message": message.id, "reactions": [{"emoji": "👍", "count": 1, "users": [bob.id]}]
        }
        assert frames[2]["data"]["reactions"] == []
        assert frames[4]["data"]["deleted"] is True and frames[4]["data"]["body"] == ""
    assert got["carol"] == [] and got["mallory"] == []


async def test_conversation_events_reach_its_participants_only(sockets, alice, bob, db_call):
    conversation = await db_call(
        lambda: messaging_services.group_create(actor=alice, title="Plans", participant_ids=[bob.id])
    )
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        (created,) = only(got[name], "conversation.created")
        assert created["data"]["id"] == conversation.id
        assert created["data"]["participants"] == sorted([alice.id, bob.id])
        assert set(types(got[name])) <= {"conversation.created", "conversation.updated"}
    assert got["carol"] == [] and got["mallory"] == []

    await db_call(
        lambda: messaging_services.conversation_update(actor=alice, conversation=conversation, title="New plans")
    )
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        assert types(got[name]) == ["conversation.updated"]
        assert got[name][0]["data"]["title"] == "New plans"
    assert got["carol"] == [] and got["mallory"] == []

    # The new conversation's messages reach its sockets at once (they joined its group).
    await db_call(post, conversation, bob, "first")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert types(got["alice"]) == types(got["bob"]) == ["message.created"]
    assert got["carol"] == [] and got["mallory"] == []


async def test_space_events_reach_the_company_only(sockets, company, db_call):
    space = await db_call(SpaceFactory, company=company, name="Library")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob", "carol"):
        assert types(got[name]) == ["space.created"]
        assert got[name][0]["data"]["id"] == space.id and got[name][0]["data"]["name"] == "Library"
    assert got["mallory"] == []

    space.name = "Reading room"
    await db_call(space.save)
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob", "carol"):
        assert types(got[name]) == ["space.updated"] and got[name][0]["data"]["name"] == "Reading room"
    assert got["mallory"] == []

    space_id = space.id
    await db_call(lambda: Space.objects.get(pk=space_id).delete())
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob", "carol"):
        assert types(got[name]) == ["space.deleted"] and got[name][0]["data"] == {"id": space_id}
    assert got["mallory"] == []


async def test_presence_events_reach_the_company_only(sockets, bob, db_call):
    await db_call(lambda: presence_services.presence_set_status(actor=bob, status="busy"))
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob", "carol"):
        (frame,) = got[name]
        assert frame["type"] == "presence.updated"
        assert frame["data"]["user"] == bob.id and frame["data"]["status"] == "busy"
        assert set(frame["data"]) == {
            "user", "status", "status_reason", "status_text", "status_emoji", "status_until", "current_space",
            "last_seen",
        }
    assert got["mallory"] == []


async def test_rollback_sends_nothing(group, sockets, alice, bob, company, db_call):
    def change_then_fail() -> None:
        with transaction.atomic():
            post(group, alice, "never")
            presence_services.presence_set_status(actor=bob, status="away")
            SpaceFactory(company=company)
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await db_call(change_then_fail)
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert got == {"alice": [], "bob": [], "carol": [], "mallory": []}
    assert await db_call(lambda: Message.objects.filter(conversation=group).count()) == 0

    # The next change takes rev 1 again (the rolled-back one gave its number back) and arrives.
    await db_call(post, group, alice, "kept")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert [(f["type"], f["rev"]) for f in got["bob"]] == [("message.created", 1)]


@pytest.mark.django_db
def test_rollback_captures_nothing(group, alice, capture_events):
    capture_events.sent.clear()
    with capture_events():
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                post(group, alice, "never")
                raise RuntimeError("abort")
    assert capture_events.sent == []
    with capture_events():
        post(group, alice, "kept")
    assert capture_events.types(f"conversation.{group.id}") == ["message.created"]


async def test_admin_edit_reaches_sockets_as_the_next_rev(group, sockets, alice, company, db_call):
    message = await db_call(post, group, alice, "typo")
    operator = await db_call(
        UserFactory, company=company, username="operator", is_staff=True, is_superuser=True
    )
    await collect_all(sockets, skip=NOTIFICATIONS)

    def edit_in_admin() -> int:
        client = Client()
        client.force_login(operator)
        response = client.post(
            f"/admin/messaging/message/{message.id}/change/", {"body": "fixed by an operator", "system": "null"}
        )
        return response.status_code

    assert await db_call(edit_in_admin) == 302
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        (frame,) = got[name]
        assert frame["type"] == "message.updated"
        assert frame["rev"] == 2 and frame["conversation"] == group.id
        assert frame["data"]["body"] == "fixed by an operator" and frame["data"]["rev"] == 2
    assert got["carol"] == [] and got["mallory"] == []


async def test_participant_changes_apply_at_once(sockets, alice, bob, carol, api, db_call):
    conversation = await db_call(
        lambda: messaging_services.group_create(actor=alice, title="Team", participant_ids=[bob.id])
    )
    await collect_all(sockets, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        await sockets[name].send_json_to({"action": "watch", "ref": "w", "conversation": conversation.id})
    await collect_all(sockets, skip=NOTIFICATIONS)

    response = await db_call(
        lambda: api(alice).patch(
            f"/api/v1/conversations/{conversation.id}/", {"participants": [carol.id]}, format="json"
        )
    )
    assert response.status_code == 200, response.content
    assert response.json()["participants"] == sorted([alice.id, carol.id])
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert "conversation.created" in types(got["carol"])
    assert "message.created" not in types(got["bob"])
    # bob had it open: he is no longer among its watchers.
    watchers = [f["data"]["watchers"] for f in got["alice"] if f["type"] == "conversation.presence"]
    assert watchers and watchers[-1] == [alice.id]

    await db_call(post, conversation, alice, "bob is gone, carol is in")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert types(got["alice"]) == types(got["carol"]) == ["message.created"]
    assert got["bob"] == [] and got["mallory"] == []
    # Nor may bob's open socket act in it any more.
    typing = {"action": "typing", "ref": "t", "conversation": conversation.id, "state": "start"}
    await sockets["bob"].send_json_to(typing)
    (error,) = await collect(sockets["bob"], skip=NOTIFICATIONS)
    assert error["type"] == "error" and error["error"]["code"] == "not_found"
    assert "typing" not in types(await collect(sockets["alice"], quiet=0.2, skip=NOTIFICATIONS))

    # And back: bob returns, carol leaves.
    response = await db_call(
        lambda: api(alice).patch(
            f"/api/v1/conversations/{conversation.id}/", {"participants": [bob.id]}, format="json"
        )
    )
    assert response.status_code == 200
    await collect_all(sockets, skip=NOTIFICATIONS)
    await db_call(post, conversation, alice, "welcome back")
    got = await collect_all(sockets, skip=NOTIFICATIONS)
    assert types(got["bob"]) == ["message.created"] and got["carol"] == []


async def test_new_socket_of_a_second_tab_gets_the_same_events(group, alice, bob, db_call):
    tabs = [await connect(bob), await connect(bob)]
    for tab in tabs:
        await collect(tab, skip=NOTIFICATIONS)
    await db_call(post, group, alice, "both tabs")
    for tab in tabs:
        assert types(await collect(tab, skip=NOTIFICATIONS)) == ["message.created"]
    await close_all(*tabs)
