"""Which notifications a message, a missed call, an expired teleport and a knock give, to whom, and
their `notification.created` event (to the recipient's sockets only, after commit)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from calling import services as calling_services
from calling.models import Call, Teleport
from messaging import services as messaging_services
from messaging.models import Message
from notifications import selectors
from notifications.models import Notification
from presence.models import Presence
from spaces import services as space_services
from tests.factories import SpaceFactory, group_with, post

# Real commits: notifications are made once the message (call, knock) committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def nobody_watching(monkeypatch):
    """Conversation presence as the test sets it: `watching.add(user_id)` (nobody by default)."""
    watching: set[int] = set()
    monkeypatch.setattr(selectors, "watching_user_ids", lambda conversation_id: set(watching))
    return watching


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


def direct(a, b):
    conversation, _ = messaging_services.direct_get_or_create(actor=a, other_id=b.id)
    return conversation


def online(*users, status: str = "online", space=None) -> None:
    for user in users:
        Presence.objects.update_or_create(
            user=user, defaults={"status": status, "connected": True, "current_space": space}
        )


def test_a_direct_message_notifies_the_other_person_only(alice, bob, capture_events):
    chat = direct(alice, bob)
    with capture_events():
        message = post(chat, alice, "hi")
    [note] = Notification.objects.all()
    assert (note.recipient_id, note.kind, note.actor_id, note.conversation_id, note.message_id) == (
        bob.id,
        "direct",
        alice.id,
        chat.id,
        message.id,
    )
    assert (note.space_id, note.call_id, note.read) == (None, None, False)
    created = [(g, m["event"]) for g, m in capture_events.sent if m["event"]["type"] == "notification.created"]
    assert created == [
        (
            f"user.{bob.id}",
            {
                "type": "notification.created",
                "data": {
                    "id": note.id,
                    "kind": "direct",
                    "actor": alice.id,
                    "conversation": chat.id,
                    "message": message.id,
                    "space": None,
                    "call": None,
                    "created_at": note.created_at.isoformat().replace("+00:00", "Z"),
                    "read": False,
                    "excerpt": "hi",
                },
            },
        )
    ]


def test_no_direct_while_a_tab_of_mine_watches_it(alice, bob, nobody_watching):
    chat = direct(alice, bob)
    nobody_watching.add(bob.id)
    post(chat, alice, "you see this already")
    assert kinds(bob) == []
    nobody_watching.clear()
    post(chat, alice, "and now you do not")
    assert kinds(bob) == ["direct"]


def test_a_group_message_notifies_each_other_participant_once(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    post(chat, alice, "morning all")
    assert kinds(alice) == [] and kinds(bob) == ["direct"] and kinds(carol) == ["direct"]


def test_a_mention_comes_first_and_counts_once(alice, bob, carol, nobody_watching):
    chat = group_with(alice, bob, carol)
    nobody_watching.add(carol.id)
    post(chat, alice, "@bob @bob and @carol look")
    # Bob: a mention (not also a direct); Carol watches, but a mention reaches her anyway.
    assert kinds(bob) == ["mention"] and kinds(carol) == ["mention"]
    assert kinds(alice) == []


def test_mentions_in_a_room(alice, bob, carol, company):
    lounge = SpaceFactory(company=company, name="Lounge")
    for person in (alice, bob, carol):
        space_services.space_enter(actor=person, space=lounge)
    room = messaging_services.room_conversation_get_or_create(space=lounge)[0]
    post(room, alice, "@carol the slides?")
    # A room message notifies no one unless it mentions them (rooms are not direct conversations).
    assert kinds(bob) == [] and kinds(carol) == ["mention"]
    note = Notification.objects.get(recipient=carol)
    assert note.space_id == lounge.id and note.conversation_id == room.id


def test_system_notes_notify_nobody(alice, bob, company):
    lounge = SpaceFactory(company=company, name="Lounge")
    space_services.space_enter(actor=bob, space=lounge)
    space_services.space_enter(actor=alice, space=lounge)  # "Alice joined Lounge"
    assert Message.objects.filter(kind="system").exists()
    assert not Notification.objects.exists()


def _reply(conversation, sender, reply_to, body="reply"):
    message, _ = messaging_services.message_send(
        actor=sender, conversation=conversation, body=body, reply_to=reply_to.id
    )
    return message


def test_a_reply_in_my_thread(alice, bob, carol, nobody_watching):
    chat = group_with(alice, bob, carol)
    nobody_watching.update({alice.id, bob.id, carol.id})  # everyone watching: no direct for anyone
    root = post(chat, alice, "Proposal: tabs")
    first = _reply(chat, bob, root, "spaces!")
    _reply(chat, carol, first, "tabs, obviously")  # a reply to a reply belongs to the root's thread
    assert kinds(alice) == ["thread_reply", "thread_reply"]
    assert kinds(bob) == []  # Bob wrote a reply, not the root
    _reply(chat, alice, root, "noted")  # my own reply in my thread notifies me of nothing
    assert kinds(alice) == ["thread_reply", "thread_reply"]


def test_mention_beats_thread_reply_beats_direct(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    root = post(chat, alice, "root")
    _reply(chat, bob, root, "@alice see")
    _reply(chat, bob, root, "plain reply")
    assert kinds(alice) == ["mention", "thread_reply"]
    assert kinds(carol) == ["direct", "direct", "direct"]


def test_a_thread_root_author_who_left_the_conversation_is_not_notified(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    root = post(chat, carol, "root")
    messaging_services.conversation_update(
        actor=alice, conversation=chat, participant_ids=[alice.id, bob.id], may_manage=True
    )
    _reply(chat, bob, root)
    assert kinds(carol) == []  # she may no longer read it


def test_an_edit_that_adds_a_mention_notifies_once(alice, bob, carol, nobody_watching):
    chat = group_with(alice, bob, carol)
    nobody_watching.update({bob.id, carol.id})
    message = post(chat, alice, "hello")
    messaging_services.message_edit(actor=alice, message=message, body="hello @bob")
    messaging_services.message_edit(actor=alice, message=message, body="hello @bob!")
    assert kinds(bob) == ["mention"] and kinds(carol) == []


def test_a_rolled_back_message_notifies_nobody(alice, bob, capture_events):
    chat = direct(alice, bob)
    with capture_events():
        try:
            with transaction.atomic():
                post(chat, alice, "never sent")
                raise RuntimeError
        except RuntimeError:
            pass
    assert not Notification.objects.exists()
    assert "notification.created" not in capture_events.types()


def test_a_missed_call_notifies_the_callee(alice, bob, capture_events):
    online(alice, bob)
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with capture_events():
        calling_services.invitations_expire()
    note = Notification.objects.get(kind="call_missed")
    chat = direct(alice, bob)
    assert (note.recipient_id, note.actor_id, note.call_id, note.conversation_id) == (
        bob.id,
        alice.id,
        call.id,
        chat.id,
    )
    assert kinds(alice) == []  # the missed-call note in their conversation is a system message
    assert "notification.created" in capture_events.types(f"user.{bob.id}")
    assert "notification.created" not in capture_events.types(f"user.{alice.id}")


def test_a_declined_call_notifies_nobody(alice, bob):
    online(alice, bob)
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    calling_services.call_decline(actor=bob, call=call)
    assert not Notification.objects.exists()


def test_an_expired_teleport_notifies_the_invitee(alice, bob, company):
    lounge = SpaceFactory(company=company, name="Lounge")
    online(alice, bob)
    space_services.space_enter(actor=alice, space=lounge)
    teleport = calling_services.teleport_create(actor=alice, invitee_id=bob.id)
    Teleport.objects.filter(pk=teleport.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    calling_services.invitations_expire()
    note = Notification.objects.get()
    assert (note.recipient_id, note.kind, note.actor_id, note.space_id) == (
        bob.id,
        "teleport_missed",
        alice.id,
        lounge.id,
    )


def test_a_knock_notifies_everyone_inside_also_under_dnd(alice, bob, carol, company):
    pod = SpaceFactory(company=company, name="Pod", capacity=2)
    space_services.space_enter(actor=bob, space=pod)
    space_services.space_enter(actor=carol, space=pod)
    online(bob, space=pod)
    online(carol, status="dnd", space=pod)
    knock = space_services.knock_create(actor=alice, space=pod, note="")
    assert kinds(bob) == ["knock"] and kinds(carol) == ["knock"] and kinds(alice) == []
    note = Notification.objects.get(recipient=bob)
    assert (note.actor_id, note.space_id, note.message_id) == (alice.id, pod.id, None)
    space_services.knock_deny(actor=bob, knock=knock)
    assert Notification.objects.count() == 2  # answering notifies nobody more


def test_a_repeated_delivery_adds_nothing(alice, bob, carol, capture_events):
    from notifications import services

    chat = group_with(alice, bob, carol)
    message = post(chat, alice, "@bob hi")
    before = len(capture_events.sent)
    with capture_events():
        assert services.message_notify(message_id=message.id, watching=[]) == []
    assert kinds(bob) == ["mention"] and kinds(carol) == ["direct"]
    assert capture_events.sent[before:] == []


def test_a_group_message_is_one_insert(alice, company, django_assert_max_num_queries):
    from notifications import services
    from tests.factories import UserFactory

    people = [UserFactory(company=company) for _ in range(30)]
    chat = group_with(alice, *people)
    message = post(chat, alice, "all hands")
    Notification.objects.all().delete()
    with django_assert_max_num_queries(8):
        made = services.message_notify(message_id=message.id, watching=[])
    assert len(made) == 30 and Notification.objects.filter(kind="direct").count() == 30


def test_a_message_s_rows_are_what_the_serializer_renders_of_the_stored_ones(alice, bob, carol, capture_events):
    """A message's notifications are inserted without model instances and announced from what the
    insert returned: the rows sent must be those the list endpoint shows."""
    from notifications import services
    from notifications.api.serializers import NotificationOut

    chat = group_with(alice, bob, carol)
    with capture_events():
        message = post(chat, alice, f"@{bob.username} look " + "x" * 300)
    Notification.objects.all().delete()
    with capture_events():
        made = services.message_notify(message_id=message.id, watching=[])
    stored = Notification.objects.filter(message=message).select_related("message").order_by("id")
    assert made == [NotificationOut(row).data for row in stored]
    assert [(row["kind"], row["read"]) for row in made] == [("mention", False), ("direct", False)]
    sent = [m for _, m in capture_events.sent if "event" in m and m["event"]["type"] == "notification.created"]
    assert [m["event"]["data"] for m in sent][-2:] == made


def test_the_event_rows_are_exactly_what_the_serializer_renders(alice, bob):
    """notification.created is built without a serializer per row (a group of a thousand is a thousand
    rows at commit): it must stay equal to NotificationOut in every state."""
    from notifications.api.serializers import NotificationOut, notification_row

    conversation = direct(alice, bob)
    post(conversation, alice, "x " * 400)  # longer than the excerpt
    post(conversation, alice, "short")
    online(alice, bob)
    call = calling_services.call_create(actor=alice, callee_id=bob.id, kind="voice")
    Call.objects.filter(pk=call.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    calling_services.invitations_expire()
    rows = list(Notification.objects.filter(recipient=bob).select_related("message").order_by("id"))
    assert {row.kind for row in rows} == {"direct", "call_missed"} and len(rows) == 3
    Notification.objects.filter(pk=rows[1].pk).update(read_at=timezone.now())
    Message.objects.filter(pk=rows[0].message_id).update(deleted_at=timezone.now())
    rows = list(Notification.objects.filter(recipient=bob).select_related("message").order_by("id"))
    for row in rows:
        assert notification_row(row) == NotificationOut(row).data
    assert [r["read"] for r in map(notification_row, rows)] == [False, True, False]
    assert notification_row(rows[0])["excerpt"] == ""  # deleted


def test_only_a_private_conversation_s_message_asks_who_watches(alice, bob, company, monkeypatch):
    """Who watches matters for `direct` only: a room message (on the hot path of every space) asks no
    one; a group message asks first, on the serving loop."""
    from notifications import signals

    asked = []
    monkeypatch.setattr(signals, "after_commit_in_background", lambda work, *, name, ask=None: asked.append(ask))
    lounge = SpaceFactory(company=company, name="Lounge")
    space_services.space_enter(actor=alice, space=lounge)
    room = messaging_services.room_conversation_get_or_create(space=lounge)[0]
    post(room, alice, "anyone for coffee?")
    post(group_with(alice, bob), alice, "hi")
    assert asked[0] is None and asked[1] is not None
