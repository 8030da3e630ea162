"""Message events on the send hot path are built from what the service already holds."""

import pytest

from messaging import services
from tests.factories import group_with


@pytest.mark.django_db
def test_new_message_event_is_built_at_commit_without_queries(
    alice, bob, monkeypatch, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from virtual_office import realtime

    sent = []
    monkeypatch.setattr(realtime, "send_now", lambda group, message: sent.append((group, message)))
    conversation = group_with(alice, bob)
    with django_capture_on_commit_callbacks() as callbacks:
        message, _ = services.message_send(actor=alice, conversation=conversation, body="hi", client_id="c-1")
    with django_assert_num_queries(0):
        for callback in callbacks:
            callback()
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
