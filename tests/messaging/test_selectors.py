"""messaging.selectors: keyset pages, changes by revision, my conversations with unread counts."""

import pytest

from messaging import selectors, services
from messaging.models import Participant
from tests.factories import SpaceFactory, group_with, post


@pytest.fixture
def chat(alice, bob):
    return group_with(alice, bob, title="Team")


def seqs(messages) -> list[int]:
    return [m.seq for m in messages]


@pytest.mark.django_db
def test_latest_page_by_default(alice, chat):
    for _ in range(60):
        post(chat, alice)
    assert seqs(selectors.message_list(conversation=chat)) == list(range(11, 61))
    assert seqs(selectors.message_list(conversation=chat, limit=100)) == list(range(1, 61))


@pytest.mark.django_db
def test_walking_back_and_forward_visits_every_message_once(alice, chat):
    for _ in range(23):
        post(chat, alice)
    back, before = [], None
    while True:
        page = selectors.message_list(conversation=chat, before=before, limit=5)
        if not page:
            break
        back = seqs(page) + back
        before = page[0].seq
    assert back == list(range(1, 24))
    forward, after = [], 0
    while True:
        page = selectors.message_list(conversation=chat, after=after, limit=7)
        if not page:
            break
        forward += seqs(page)
        after = page[-1].seq
    assert forward == list(range(1, 24))


@pytest.mark.django_db
def test_pages_skip_nothing_around_deleted_messages(alice, chat):
    messages = [post(chat, alice, f"m{n}") for n in range(6)]
    services.message_delete(actor=alice, message=messages[2])
    page = selectors.message_list(conversation=chat, after=0, limit=10)
    assert seqs(page) == [1, 2, 3, 4, 5, 6] and page[2].deleted


@pytest.mark.django_db
def test_pages_never_mix_conversations(alice, bob, carol, chat):
    post(chat, alice, "here")
    post(group_with(alice, carol), carol, "there")
    assert [m.body for m in selectors.message_list(conversation=chat)] == ["here"]


@pytest.mark.django_db
def test_changes_are_in_revision_order(alice, bob, chat):
    one, two, three = post(chat, alice, "1"), post(chat, bob, "2"), post(chat, alice, "3")
    services.message_edit(actor=alice, message=one, body="1!")  # rev 4
    services.reaction_add(actor=alice, message=two, emoji="👍")  # rev 5
    services.message_delete(actor=alice, message=three)  # rev 6
    changes = selectors.message_changes(conversation=chat, since_rev=3)
    assert [(m.id, m.rev) for m in changes] == [(one.id, 4), (two.id, 5), (three.id, 6)]
    assert selectors.message_changes(conversation=chat, since_rev=6) == []
    assert [m.rev for m in selectors.message_changes(conversation=chat)] == [4, 5, 6]
    assert [m.rev for m in selectors.message_changes(conversation=chat, since_rev=0, limit=2)] == [4, 5]


@pytest.mark.django_db
def test_changes_iterate_in_chunks_without_repeats(alice, chat):
    for _ in range(12):
        post(chat, alice)
    revs = [m.rev for m in selectors.message_changes_iter(chat.id, 2, chunk=5)]
    assert revs == list(range(3, 13))


@pytest.mark.django_db
def test_conversation_list_is_mine_newest_first(alice, bob, carol, chat):
    quiet = group_with(alice, carol, title="Quiet")
    left = group_with(alice, bob, title="Left")
    Participant.objects.filter(conversation=left, user=alice).update(is_active=False)
    group_with(bob, carol, title="Not mine")
    post(quiet, carol, "a")
    post(chat, bob, "b")
    post(chat, bob, "c")
    rows = selectors.conversation_list(user=alice)
    assert [row.conversation.title for row in rows] == ["Team", "Quiet"]
    assert [row.unread_count for row in rows] == [2, 1]
    assert rows[0].last_message.body == "c" and rows[0].my_participant.user_id == alice.id


@pytest.mark.django_db
def test_conversation_list_includes_the_room_i_am_in(alice, company):
    from spaces import services as space_services

    space = SpaceFactory(company=company, name="Lounge")
    space_services.space_enter(actor=alice, space=space)
    rows = selectors.conversation_list(user=alice)
    assert [(row.conversation.kind, row.conversation.space_id) for row in rows] == [("room", space.id)]


@pytest.mark.django_db
def test_unread_count_follows_the_marker(alice, bob, chat):
    for _ in range(4):
        post(chat, bob)
    post(chat, alice)
    participant = Participant.objects.get(conversation=chat, user=alice)
    assert selectors.unread_count(user=alice, conversation=chat, participant=participant) == 4
    services.conversation_mark_read(actor=alice, conversation=chat, seq=3)
    participant.refresh_from_db()
    assert selectors.unread_count(user=alice, conversation=chat, participant=participant) == 1
    assert selectors.unread_count(user=alice, conversation=chat, participant=None) == 0


@pytest.mark.django_db
def test_subscribed_conversation_revs(alice, bob, carol, chat):
    post(chat, bob)
    other = group_with(bob, carol)
    post(other, bob)
    assert selectors.subscribed_conversation_revs(alice) == {chat.id: 1}
    assert sorted(selectors.participant_user_ids(chat.id)) == sorted([alice.id, bob.id])


@pytest.mark.django_db
def test_subscribed_conversation_revs_of_many_users_in_one_query(alice, bob, carol, chat, django_assert_num_queries):
    other = group_with(bob, carol)
    post(other, bob)
    with django_assert_num_queries(1):
        found = selectors.subscribed_conversation_revs_many([carol, alice, bob])
    assert found == [{other.id: 1}, {chat.id: 0}, {chat.id: 0, other.id: 1}]
