"""Who a message mentions: `@username` (people of the company who may read the conversation) and
`@here` (participants with a live socket, not the sender)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Message
from presence.models import Connection
from spaces.models import Space
from tests.factories import SpaceFactory, UserFactory, group_with, post

API = "/api/v1"


def connect(user, *, age: timedelta = timedelta(0), name: str | None = None) -> None:
    Connection.objects.create(
        channel_name=name or f"test!{user.id}-{Connection.objects.count()}",
        user=user,
        server_id="test",
        heartbeat_at=timezone.now() - age,
    )


@pytest.mark.django_db
def test_a_username_mentions_that_participant(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    message = post(chat, alice, "hi @bob and @Carol.")
    assert message.mentions == sorted([bob.id, carol.id])
    assert f'<span class="mention" data-user="{bob.id}">@bob</span>' in message.body_html
    assert f'<span class="mention" data-user="{carol.id}">@Carol</span>.' in message.body_html


@pytest.mark.django_db
def test_another_companys_username_mentions_no_one(alice, bob, mallory):
    chat = group_with(alice, bob)
    message = post(chat, alice, f"@{mallory.username} look")
    assert message.mentions == [] and "mention" not in message.body_html


@pytest.mark.django_db
def test_someone_who_cannot_read_the_conversation_is_not_mentioned(alice, bob, carol):
    chat = group_with(alice, bob)
    message = post(chat, alice, f"@{carol.username} and @{bob.username}")
    assert message.mentions == [bob.id]
    assert f'data-user="{carol.id}"' not in message.body_html


@pytest.mark.django_db
def test_a_removed_participant_and_a_deactivated_person_are_not_mentioned(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    services.conversation_update(actor=alice, conversation=chat, participant_ids=[carol.id], may_manage=True)
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    assert post(chat, alice, "@bob @" + carol.username).mentions == []


@pytest.mark.django_db
def test_the_sender_and_mentions_inside_code_are_not_mentioned(alice, bob):
    chat = group_with(alice, bob)
    message = post(chat, alice, "@alice `@bob`\n```\n@bob\n```")
    assert message.mentions == []


@pytest.mark.django_db
def test_in_a_room_whoever_may_read_it_can_be_mentioned(alice, bob, carol, company):
    from guardian.shortcuts import assign_perm

    from spaces import services as space_services

    open_space = SpaceFactory(company=company)
    space_services.space_enter(actor=alice, space=open_space)
    room = Space.objects.get(pk=open_space.pk).conversation
    assert post(room, alice, "@bob").mentions == [bob.id]  # not inside, but may enter and so read it

    private = SpaceFactory(company=company, is_private=True)
    assign_perm("spaces.enter_space", alice, private)
    space_services.space_enter(actor=alice, space=private)
    private_room = Space.objects.get(pk=private.pk).conversation
    assert post(private_room, alice, "@bob @carol").mentions == []
    assign_perm("spaces.enter_space", carol, private)
    assert post(private_room, alice, "@bob @carol").mentions == [carol.id]


@pytest.mark.django_db
def test_here_mentions_participants_with_a_live_socket_but_the_sender(alice, bob, carol, company):
    dave = UserFactory(company=company)
    outsider = UserFactory(company=company)
    chat = group_with(alice, bob, carol, dave)
    connect(alice)
    connect(bob)
    connect(bob)  # two tabs: one mention
    connect(carol, age=timedelta(hours=1))  # a dead process' row
    connect(outsider)  # online, not in the conversation
    message = post(chat, alice, "@here stand-up")
    assert message.mentions == [bob.id]
    assert message.body_html == '<p><span class="mention mention-here">@here</span> stand-up</p>'


@pytest.mark.django_db
def test_here_and_a_name_together(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    connect(bob)
    assert post(chat, alice, "@here @carol").mentions == sorted([bob.id, carol.id])


@pytest.mark.django_db
def test_an_edit_resolves_again_and_a_deletion_clears(alice, bob, carol):
    chat = group_with(alice, bob, carol)
    message = post(chat, alice, "@bob")
    services.message_edit(actor=alice, message=message, body="@carol instead")
    message.refresh_from_db()
    assert message.mentions == [carol.id] and f'data-user="{carol.id}"' in message.body_html
    services.message_delete(actor=alice, message=message)
    message.refresh_from_db()
    assert message.mentions == [] and message.body_html == ""


@pytest.mark.django_db
def test_rest_answers_and_lists_carry_mentions(api, alice, bob, mallory):
    chat = group_with(alice, bob)
    body = f"@{bob.username} @{mallory.username}"
    response = api(alice).post(f"{API}/conversations/{chat.id}/messages/", {"body": body}, format="json")
    assert response.status_code == 201 and response.json()["mentions"] == [bob.id]
    (listed,) = api(bob).get(f"{API}/conversations/{chat.id}/messages/").json()
    assert listed["mentions"] == [bob.id] and listed["body"] == body
    assert f'data-user="{mallory.id}"' not in listed["body_html"]


@pytest.mark.django_db(transaction=True)
def test_the_created_event_carries_mentions(alice, bob, capture_events):
    chat = group_with(alice, bob)
    capture_events.sent.clear()
    with capture_events():
        post(chat, alice, "@bob")
    (event,) = [m["event"] for g, m in capture_events.sent if g == f"conversation.{chat.id}"]
    assert event["data"]["mentions"] == [bob.id]


@pytest.mark.django_db
def test_a_body_without_at_signs_costs_no_mention_query(alice, bob, django_assert_max_num_queries):
    chat = group_with(alice, bob)
    post(chat, alice, "warm up")
    with django_assert_max_num_queries(6) as captured:
        post(chat, alice, "nothing to resolve")
    assert not any("connection" in q["sql"] and "presence" in q["sql"] for q in captured.captured_queries)
    assert Message.objects.filter(mentions=[]).count() == 2
