"""Room conversations over REST: system messages in order, presence of senders and participants, meetings."""

import pytest

from messaging.models import Conversation
from presence.models import Presence
from presence.services import presence_set_status
from spaces import services
from tests.factories import SpaceFactory, post


def room_id(space) -> int:
    return Conversation.objects.get(space=space).id


@pytest.mark.django_db
def test_space_conversation_is_one_per_space(api, alice, bob, space):
    first = api(alice).get(f"/api/v1/spaces/{space.id}/conversation/")
    second = api(bob).get(f"/api/v1/spaces/{space.id}/conversation/")
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and first.json()["kind"] == "room"
    assert first.json()["space"] == space.id and first.json()["participants"] == []
    services.space_enter(actor=alice, space=space)
    assert room_id(space) == first.json()["id"] and Conversation.objects.filter(space=space).count() == 1


@pytest.mark.django_db
def test_other_company_cannot_see_the_room(api, alice, mallory, space):
    services.space_enter(actor=alice, space=space)
    assert api(mallory).get(f"/api/v1/spaces/{space.id}/conversation/").status_code == 404
    assert api(mallory).get(f"/api/v1/conversations/{room_id(space)}/messages/").status_code == 404
    assert api(mallory).post(f"/api/v1/spaces/{space.id}/enter/").status_code == 404


@pytest.mark.django_db
def test_system_and_user_messages_share_one_order(api, alice, bob, admin_user, space):
    assert api(alice).post(f"/api/v1/spaces/{space.id}/enter/").status_code == 200
    conversation = room_id(space)
    sent = api(alice).post(f"/api/v1/conversations/{conversation}/messages/", {"body": "morning"}, format="json")
    assert sent.status_code == 201
    outsider = api(bob).post(f"/api/v1/conversations/{conversation}/messages/", {"body": "x"}, format="json")
    assert outsider.status_code == 403 and outsider.json()["code"] == "not_in_space"
    api(bob).post(f"/api/v1/spaces/{space.id}/enter/")
    started = api(bob).post(f"/api/v1/spaces/{space.id}/meeting/", {"title": "Sync"}, format="json")
    assert started.status_code == 201
    assert api(alice).get(f"/api/v1/spaces/{space.id}/").json()["status"] == "in_use"
    ended = api(alice).delete(f"/api/v1/spaces/{space.id}/meeting/")
    assert ended.status_code == 200 and ended.json()["duration_seconds"] is not None
    assert api(alice).get(f"/api/v1/spaces/{space.id}/").json()["status"] == "available"
    assert api(alice).post(f"/api/v1/spaces/{space.id}/leave/").status_code == 200
    messages = api(bob).get(f"/api/v1/conversations/{conversation}/messages/").json()
    shape = [(m["seq"], m["kind"], (m["system"] or {}).get("event"), m["sender"]) for m in messages]
    assert shape == [
        (1, "system", "joined", None),
        (2, "user", None, alice.id),
        (3, "system", "joined", None),
        (4, "system", "meeting_started", None),
        (5, "system", "meeting_ended", None),
        (6, "system", "left", None),
    ]
    assert messages[3]["system"]["title"] == "Sync" and messages[3]["system"]["actor"] == bob.id
    assert messages[4]["system"]["actor"] == alice.id and "duration_seconds" in messages[4]["system"]
    assert messages[5]["body"] == "Alice Archer left Lounge" and messages[5]["system"]["reason"] == "left"
    assert all(m["rev"] == m["seq"] for m in messages)
    # Alice left but keeps reading the history of a space she may still see.
    assert len(api(alice).get(f"/api/v1/conversations/{conversation}/messages/").json()) == 6
    again = api(alice).post(f"/api/v1/spaces/{space.id}/leave/")
    assert again.status_code == 409 and again.json()["code"] == "not_in_space"


@pytest.mark.django_db
def test_coalesced_note_shows_in_changes(api, alice, bob, space):
    services.space_enter(actor=bob, space=space)
    services.space_enter(actor=alice, space=space)
    conversation = room_id(space)
    services.space_leave(actor=alice)
    services.space_enter(actor=alice, space=space)
    changes = api(bob).get(f"/api/v1/conversations/{conversation}/changes/?since_rev=3").json()
    assert changes["rev"] == 4
    (updated,) = changes["messages"]
    assert updated["seq"] == 2 and updated["rev"] == 4 and updated["system"]["count"] == 2
    assert updated["edited_at"] is not None and "(2 times in a minute)" in updated["body"]


@pytest.mark.django_db
def test_sender_presence_in_messages(api, alice, bob, space, company):
    kitchen = SpaceFactory(company=company, name="Kitchen")
    services.space_enter(actor=alice, space=space)
    services.space_enter(actor=bob, space=space)
    conversation = Conversation.objects.get(space=space)
    post(conversation, alice, "hi")
    Presence.objects.filter(user=alice).update(connected=True)
    presence_set_status(actor=alice, status="busy")
    messages = api(bob).get(f"/api/v1/conversations/{conversation.id}/messages/").json()
    by_kind = {m["kind"]: m for m in messages if m["kind"] == "user"}
    assert by_kind["user"]["sender_presence"] == {"status": "busy", "current_space": space.id}
    assert all(m["sender_presence"] is None for m in messages if m["kind"] == "system")
    # The presence is the sender's current one, not the one at sending time.
    services.space_enter(actor=alice, space=kitchen)
    messages = api(bob).get(f"/api/v1/conversations/{conversation.id}/messages/").json()
    mine = [m for m in messages if m["kind"] == "user"][0]
    assert mine["sender_presence"] == {"status": "busy", "current_space": kitchen.id}


@pytest.mark.django_db
def test_participants_presence_in_conversation_detail(api, alice, bob, carol, space):
    services.space_enter(actor=alice, space=space)
    services.space_enter(actor=bob, space=space)
    Presence.objects.filter(user=bob).update(connected=True, status="dnd")
    detail = api(carol).get(f"/api/v1/spaces/{space.id}/conversation/").json()
    assert detail["participants"] == sorted([alice.id, bob.id])
    assert detail["participants_presence"] == sorted(
        [
            {"user": alice.id, "status": "offline", "current_space": space.id},
            {"user": bob.id, "status": "dnd", "current_space": space.id},
        ],
        key=lambda p: p["user"],
    )
    same = api(alice).get(f"/api/v1/conversations/{detail['id']}/").json()
    assert same["participants_presence"] == detail["participants_presence"]
    services.space_leave(actor=bob)
    after = api(alice).get(f"/api/v1/conversations/{detail['id']}/").json()
    assert after["participants"] == [alice.id]
    assert [p["user"] for p in after["participants_presence"]] == [alice.id]
    listed = api(alice).get("/api/v1/conversations/").json()
    assert [c["participants_presence"] for c in listed if c["id"] == detail["id"]] == [None]


@pytest.mark.django_db
def test_presence_updated_carries_space_and_status(alice, space, capture_events):
    with capture_events():
        services.space_enter(actor=alice, space=space)
    updates = [
        m["event"]["data"] for g, m in capture_events.sent if m.get("event", {}).get("type") == "presence.updated"
    ]
    assert updates and updates[-1]["user"] == alice.id and updates[-1]["current_space"] == space.id
    assert set(updates[-1]) >= {"user", "status", "current_space", "last_seen"}
    assert all(g == f"company.{alice.company_id}" for g, m in capture_events.sent
               if m.get("event", {}).get("type") == "presence.updated")
