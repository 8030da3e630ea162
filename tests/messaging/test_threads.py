"""Threads: a reply (also to a reply) belongs to its root's thread; the root's `reply_count` follows
creations and deletions as durable changes of the root; `GET messages/{id}/thread/`."""

import importlib

import pytest
from django.apps import apps

from messaging import services
from messaging.models import Conversation, Message
from tests.factories import group_with, post

API = "/api/v1"


def reply(conversation, sender, to: Message, body: str = "re") -> Message:
    message, _ = services.message_send(actor=sender, conversation=conversation, body=body, reply_to=to.id)
    return message


def rev_of(conversation) -> int:
    return Conversation.objects.values_list("rev", flat=True).get(pk=conversation.pk)


@pytest.mark.django_db
def test_a_reply_to_a_reply_belongs_to_the_roots_thread(alice, bob):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    first = reply(chat, bob, root)
    second = reply(chat, alice, first)
    assert first.thread_root_id == root.id and second.thread_root_id == root.id
    assert second.reply_to_id == first.id  # the quote still shows what it answers
    root.refresh_from_db()
    first.refresh_from_db()
    assert root.reply_count == 2 and first.reply_count == 0
    # Each reply took a rev, and each change of the root's count one more: gapless, in order.
    assert rev_of(chat) == 5 and root.rev == 5 and (first.seq, second.seq) == (2, 4)


@pytest.mark.django_db
def test_deleting_a_reply_counts_it_out_and_deleting_again_changes_nothing(alice, bob):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    replies = [reply(chat, bob, root, f"r{i}") for i in range(3)]
    services.message_delete(actor=bob, message=replies[1])
    root.refresh_from_db()
    assert root.reply_count == 2
    rev = rev_of(chat)
    services.message_delete(actor=bob, message=Message.objects.get(pk=replies[1].pk))
    assert rev_of(chat) == rev and Message.objects.get(pk=root.pk).reply_count == 2
    services.message_delete(actor=alice, message=root)  # the root's tombstone keeps its thread
    root.refresh_from_db()
    assert root.deleted and root.reply_count == 2


@pytest.mark.django_db(transaction=True)
def test_reply_count_changes_reach_sockets_as_the_roots_update_after_the_reply(alice, bob, capture_events):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    capture_events.sent.clear()
    with capture_events():
        answer = reply(chat, bob, root)
    with capture_events():
        services.message_delete(actor=bob, message=answer)
    events = [m["event"] for g, m in capture_events.sent if g == f"conversation.{chat.id}"]
    assert [(e["type"], e["data"]["id"], e["rev"], e["data"].get("reply_count")) for e in events] == [
        ("message.created", answer.id, 2, 0),
        ("message.updated", root.id, 3, 1),
        ("message.deleted", answer.id, 4, 0),
        ("message.updated", root.id, 5, 0),
    ]
    assert events[0]["data"]["thread_root"] == root.id


@pytest.mark.django_db
def test_thread_endpoint_gives_root_and_replies_in_seq_order(api, alice, bob):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    post(chat, bob, "not in the thread")
    first = reply(chat, bob, root, "one")
    gone = reply(chat, alice, root, "gone")
    second = reply(chat, alice, first, "two")
    services.message_delete(actor=alice, message=gone)
    body = api(bob).get(f"{API}/messages/{root.id}/thread/").json()
    assert body["root"]["id"] == root.id and body["root"]["reply_count"] == 2
    assert [m["id"] for m in body["replies"]] == [first.id, second.id]
    assert [m["body_html"] for m in body["replies"]] == ["<p>one</p>", "<p>two</p>"]
    # Asked by a reply's id: the same thread.
    assert api(bob).get(f"{API}/messages/{second.id}/thread/").json() == body
    lonely = post(chat, bob, "alone")
    assert api(alice).get(f"{API}/messages/{lonely.id}/thread/").json()["replies"] == []


@pytest.mark.django_db
def test_thread_endpoint_is_404_to_other_companies_and_non_readers(api, alice, bob, carol, mallory):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    reply(chat, bob, root)
    theirs = group_with(mallory)
    their_root = post(theirs, mallory, "theirs")
    for user, message_id in ((mallory, root.id), (carol, root.id), (alice, their_root.id), (alice, 10**9)):
        response = api(user).get(f"{API}/messages/{message_id}/thread/")
        assert response.status_code == 404, (user.username, message_id)
        assert response.json()["code"] == "not_found"
    assert api(None).get(f"{API}/messages/{root.id}/thread/").status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 20])
def test_thread_query_count_does_not_grow(api, alice, bob, django_assert_max_num_queries, count):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    for i in range(count):
        answer = reply(chat, bob if i % 2 else alice, root, f"r{i}")
        services.reaction_add(actor=bob, message=answer, emoji="👍")
    client = api(bob)
    # Access (message, participation), the root and the replies, each with reactions and attachments.
    with django_assert_max_num_queries(8):
        response = client.get(f"{API}/messages/{root.id}/thread/")
    assert len(response.json()["replies"]) == count


@pytest.mark.django_db
def test_a_reply_refused_changes_no_count(api, alice, bob, mallory):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    theirs = post(group_with(mallory), mallory, "theirs")
    response = api(alice).post(
        f"{API}/conversations/{chat.id}/messages/", {"body": "x", "reply_to": theirs.id}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_reply_to"
    assert Message.objects.get(pk=root.pk).reply_count == 0 and Message.objects.get(pk=theirs.pk).reply_count == 0


@pytest.mark.django_db
def test_the_data_migration_threads_older_replies(alice, bob):
    chat = group_with(alice, bob)
    root = post(chat, alice, "root")
    first = reply(chat, bob, root)
    second = reply(chat, alice, first)
    gone = reply(chat, alice, second)
    services.message_delete(actor=alice, message=gone)
    Message.objects.update(thread_root=None, reply_count=0)
    migration = importlib.import_module("messaging.migrations.0007_fill_message_threads")
    migration.fill(apps, None)
    rows = dict(Message.objects.values_list("id", "thread_root_id"))
    assert rows == {root.id: None, first.id: root.id, second.id: root.id, gone.id: root.id}
    assert Message.objects.get(pk=root.pk).reply_count == 2
