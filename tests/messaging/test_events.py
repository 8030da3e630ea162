"""Message events on the send hot path are built from what the service already holds."""

import pytest

from messaging import services
from tests.factories import group_with


@pytest.mark.django_db
def test_new_message_event_is_built_at_commit_without_queries(
    alice, bob, monkeypatch, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from notifications import services as notifications
    from virtual_office.realtime import publish as realtime
    from webhooks import services as webhooks

    sent, handed_on = [], []
    monkeypatch.setattr(realtime, "send_now", lambda group, message: sent.append((group, message)))
    # Other apps' own commit work (a notification row, a webhook lookup) has its own tests
    # (tests/notifications, tests/webhooks); here only the socket event's cost is counted.
    monkeypatch.setattr(notifications, "message_notify", lambda **kwargs: handed_on.append("notify"))
    monkeypatch.setattr(webhooks, "deliveries_queue", lambda **kwargs: handed_on.append("webhooks"))
    conversation = group_with(alice, bob)
    with django_capture_on_commit_callbacks() as callbacks:
        message, _ = services.message_send(actor=alice, conversation=conversation, body="hi", client_id="c-1")
    with django_assert_num_queries(0):
        for callback in callbacks:
            callback()
    assert sorted(handed_on) == ["notify", "webhooks"]
    (group, payload), = sent
    assert group == f"conversation.{conversation.id}"
    event = payload["event"]
    assert event["type"] == "message.created" and event["rev"] == message.rev == 1
    assert event["data"]["reactions"] == [] and event["data"]["attachments"] == []
    assert event["data"]["sender_presence"]["status"] == "offline"
    assert event["data"]["body"] == "hi" and event["data"]["client_id"] == "c-1"


@pytest.mark.django_db
def test_message_data_renders_exactly_what_the_rest_serializer_renders(alice, bob):
    """The socket paths reuse one serializer per thread; its output must not drift from a fresh one's,
    whoever asks (reactions' `me`), and one caller's user must not leak into the next call."""
    from messaging.api.serializers import MessageOut, message_data
    from messaging.models import Message

    conversation = group_with(alice, bob)
    message, _ = services.message_send(actor=alice, conversation=conversation, body="hi", client_id="c-2")
    services.reaction_add(actor=bob, message=message, emoji="👍")
    message = Message.objects.select_related("sender__presence").prefetch_related("reactions", "attachments").get(
        pk=message.pk
    )
    for user in (bob, alice, None):
        context = {"user": user} if user is not None else {}
        assert message_data(message, user) == MessageOut(message, context=context).data
    assert "me" not in message_data(message)["reactions"][0]
    assert message_data(message, bob)["reactions"][0]["me"] is True


@pytest.mark.django_db(transaction=True)  # the set-up commits: its own events are not pending
def test_one_conversation_updated_per_change_however_many_participants(alice, bob, carol, capture_events):
    from tests.factories import UserFactory

    conversation = group_with(alice, bob)
    dave, erin = UserFactory(company=alice.company), UserFactory(company=alice.company)
    group = f"conversation.{conversation.id}"
    capture_events.sent.clear()  # the set-up's own commits
    with capture_events():
        services.conversation_update(
            actor=alice, conversation=conversation, title="Everyone",
            participant_ids=[bob.id, carol.id, dave.id, erin.id], may_manage=True,
        )
    assert capture_events.types(group) == ["conversation.updated"]  # not one per participant and title
    (updated,) = [m["event"] for g, m in capture_events.sent if g == group]
    assert updated["data"]["title"] == "Everyone"
    assert sorted(updated["data"]["participants"]) == sorted([alice.id, bob.id, carol.id, dave.id, erin.id])
    for user in (carol, dave, erin):  # each newcomer still learns of it and joins its group
        (created,) = [m for g, m in capture_events.sent if g == f"user.{user.id}"]
        assert created["event"]["type"] == "conversation.created" and created["control"]["op"] == "join"


@pytest.mark.django_db
def test_a_once_event_survives_the_rollback_of_a_savepoint_that_asked_for_it_first(alice, capture_events):
    from django.db import transaction

    from virtual_office.realtime import envelope, send_event_on_commit

    def ask() -> None:
        send_event_on_commit("company.1", lambda: envelope("space.updated", {"id": 1}), once="k")

    with capture_events():
        with transaction.atomic():
            try:
                with transaction.atomic():
                    ask()
                    raise RuntimeError("undo the inner part")
            except RuntimeError:
                pass
            ask()  # the inner one is gone with its savepoint: this one must be sent
            ask()  # but only once
    assert capture_events.types("company.1") == ["space.updated"]


@pytest.mark.django_db
@pytest.mark.parametrize("size", [3, 30])
def test_a_new_group_builds_its_payload_once_whatever_its_size(
    size, company, alice, monkeypatch, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """One `conversation.created` per participant, all from one read of the conversation: a new
    group of 1,000 must not read the same rows 1,000 times at commit."""
    from tests.factories import UserFactory
    from virtual_office.realtime import publish as realtime

    people = [UserFactory(company=company) for _ in range(size)]
    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda group, message: sent.append((group, message)))
    with django_capture_on_commit_callbacks() as callbacks:
        conversation = services.group_create(actor=alice, title="Big", participant_ids=[p.id for p in people])
    with django_assert_max_num_queries(3):
        for callback in callbacks:
            callback()
    created = [m["event"] for _, m in sent if m.get("event", {}).get("type") == "conversation.created"]
    assert len(created) == size + 1
    assert all(event["data"]["participants"] == sorted([alice.id, *(p.id for p in people)]) for event in created)
    joins = [m["control"] for _, m in sent if "control" in m]
    assert {j["conversation"] for j in joins} == {conversation.id} and len(joins) == size + 1
