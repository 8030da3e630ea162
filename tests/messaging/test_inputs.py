"""One validator per operation: the socket's frame and the REST body of the same operation are
checked by the same serializer, before any service runs, so bad input never takes a revision."""

import pytest

from messaging.api.serializers import (
    MAX_RESUME_CONVERSATIONS,
    ConversationFrame,
    MessageSendFrame,
    MessageTextIn,
    ResumeFrame,
    TypingFrame,
)
from messaging.models import Conversation, Message
from tests.factories import group_with, post
from virtual_office.errors import ServiceError
from virtual_office.inputs import MAX_ID, validated


@pytest.fixture
def chat(alice, bob):
    return group_with(alice, bob, title="Team")


def refused_code(serializer, data) -> str:
    with pytest.raises(ServiceError) as refused:
        validated(serializer, data)
    assert refused.value.status == 400
    return refused.value.code


BAD_MESSAGES = [
    ({"body": 12}, "body", "invalid_body"),
    ({"body": {"text": "x"}}, "body", "invalid_body"),
    ({"body": True}, "body", "invalid_body"),
    ({"body": "x" * 10_001}, "body", "body_too_long"),
    ({"body": "hi", "client_id": "x" * 65}, "client_id", "invalid_client_id"),
    ({"body": "hi", "client_id": 5}, "client_id", "invalid_client_id"),
    ({"body": "hi", "client_id": [1]}, "client_id", "invalid_client_id"),
    ({"body": "hi", "reply_to": "nope"}, "reply_to", "invalid_reply_to"),
    ({"body": "hi", "reply_to": 0}, "reply_to", "invalid_reply_to"),
    ({"body": "hi", "reply_to": MAX_ID + 1}, "reply_to", "invalid_reply_to"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field, code", BAD_MESSAGES)
def test_a_bad_message_is_refused_alike_by_socket_and_rest(api, alice, chat, body, field, code):
    assert refused_code(MessageSendFrame, {"conversation": chat.id, **body}) == code
    response = api(alice).post(f"/api/v1/conversations/{chat.id}/messages/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Message.objects.exists() and Conversation.objects.get(pk=chat.pk).rev == 0


def test_the_socket_frame_is_the_rest_body_plus_its_conversation():
    assert set(MessageSendFrame().fields) == set(MessageTextIn().fields) | {"conversation"}
    values = validated(MessageSendFrame, {"conversation": "7", "body": "hi", "client_id": "", "reply_to": None})
    assert values == {"conversation": 7, "body": "hi", "client_id": "", "reply_to": None}
    assert validated(MessageSendFrame, {"conversation": 7}) == {"conversation": 7}


@pytest.mark.parametrize("conversation", [None, True, 1.5, "x", 0, -1, MAX_ID + 1, [1]])
def test_conversation_ids_are_whole_numbers(conversation):
    frame = {} if conversation is None else {"conversation": conversation}
    for serializer in (ConversationFrame, MessageSendFrame, TypingFrame):
        assert refused_code(serializer, {**frame, "body": "x", "state": "start"}) == "invalid_conversation"


@pytest.mark.parametrize("state", ["maybe", None, 1, ""])
def test_typing_is_start_or_stop(state):
    assert refused_code(TypingFrame, {"conversation": 1, "state": state}) == "invalid_state"
    assert validated(TypingFrame, {"conversation": 1, "state": "stop"}) == {"conversation": 1, "state": "stop"}


@pytest.mark.parametrize(
    "conversations",
    [None, [1, 2], {"1": "3"}, {"x": 1}, {"1": -1}, {"0": 1}, {"1": True}, {"1": 1.5},
     {str(n): 0 for n in range(1, MAX_RESUME_CONVERSATIONS + 2)}],
)
def test_resume_maps_conversation_ids_to_revs(conversations):
    frame = {} if conversations is None else {"conversations": conversations}
    assert refused_code(ResumeFrame, frame) == "invalid_resume"


def test_resume_takes_string_keys_as_ids():
    assert validated(ResumeFrame, {"conversations": {"3": 0, "12": 40}}) == {"conversations": {3: 0, 12: 40}}


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ["", "   ", None, "x" * 33, 7])
def test_a_bad_reaction_takes_no_revision(api, alice, chat, emoji):
    message = post(chat, alice)
    response = api(alice).post(f"/api/v1/messages/{message.id}/reactions/", {"emoji": emoji}, format="json")
    assert response.status_code == 400
    assert Conversation.objects.get(pk=chat.pk).rev == 1


@pytest.mark.django_db
def test_removing_a_reaction_checks_the_path_emoji_as_adding_does(api, alice, chat):
    message = post(chat, alice)
    response = api(alice).delete(f"/api/v1/messages/{message.id}/reactions/{'x' * 33}/")
    assert response.status_code == 400 and response.json()["code"] == "invalid_emoji"


@pytest.mark.django_db
@pytest.mark.parametrize("seq", [-1, "x", None, True])
def test_a_bad_read_marker_is_refused(api, alice, chat, seq):
    post(chat, alice)
    response = api(alice).post(f"/api/v1/conversations/{chat.id}/read/", {"seq": seq}, format="json")
    assert response.status_code == 400 and "seq" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [[True], [None], [1.5], ["x"], [{"id": 1}], []])
def test_a_group_with_bad_participant_ids_is_not_made(api, alice, bad):
    response = api(alice).post("/api/v1/conversations/", {"title": "G", "participants": bad}, format="json")
    assert response.status_code == 400 and "participants" in response.json()
    assert not Conversation.objects.exists()
