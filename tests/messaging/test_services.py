"""messaging.services: revisions, idempotency, tombstones, reactions, read markers, groups, directs, rooms.

Also: which events each write sends after commit, and that a rolled-back write sends none.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from messaging import services
from messaging.models import Attachment, Conversation, Message, Participant, Reaction
from tests.factories import SpaceFactory, UserFactory, group_with, post
from virtual_office.errors import Conflict, ServiceError
from virtual_office.realtime import conversation_group


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def chat(alice, bob):
    return group_with(alice, bob, title="Team")


def rev_of(conversation: Conversation) -> int:
    return Conversation.objects.values_list("rev", flat=True).get(pk=conversation.pk)


# --- message_send ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_takes_the_next_revision_as_seq(alice, bob, chat):
    messages = [post(chat, alice if n % 2 else bob, f"m{n}") for n in range(5)]
    assert [(m.seq, m.rev) for m in messages] == [(n, n) for n in range(1, 6)]
    assert rev_of(chat) == 5


@pytest.mark.django_db
def test_send_is_idempotent_per_client_id(alice, chat):
    first, created = services.message_send(actor=alice, conversation=chat, body="hi", client_id="k1")
    again, created_again = services.message_send(actor=alice, conversation=chat, body="hi", client_id="k1")
    assert created and not created_again and again.pk == first.pk
    assert rev_of(chat) == 1
    with pytest.raises(Conflict) as refused:
        services.message_send(actor=alice, conversation=chat, body="other", client_id="k1")
    assert refused.value.code == "client_id_conflict"
    assert Message.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, client_id, code",
    [
        ("", None, "empty_body"),
        ("  ", None, "empty_body"),
        ("\n\t", "retry-1", "empty_body"),
    ],
)
def test_send_refuses_an_empty_message_without_taking_a_revision(alice, chat, body, client_id, code):
    """The body's type and length are the edge's (tests/messaging/test_inputs.py); that a message
    without attachments needs text is the service's rule."""
    with pytest.raises(ServiceError) as refused:
        services.message_send(actor=alice, conversation=chat, body=body, client_id=client_id)
    assert refused.value.code == code and refused.value.status == 400
    assert rev_of(chat) == 0 and not Message.objects.exists()


@pytest.mark.django_db
def test_reply_to_must_be_in_the_same_conversation(alice, bob, carol, chat):
    elsewhere = post(group_with(alice, carol), carol)
    with pytest.raises(ServiceError) as refused:
        services.message_send(actor=alice, conversation=chat, body="re", reply_to=elsewhere.id)
    assert refused.value.code == "invalid_reply_to"
    assert rev_of(chat) == 0
    question = post(chat, bob, "?")
    answer, _ = services.message_send(actor=alice, conversation=chat, body="!", reply_to=question.id)
    assert answer.reply_to_id == question.id


@pytest.mark.django_db
def test_a_failed_attachment_write_rolls_the_message_back_and_frees_the_revision(alice, chat, monkeypatch):
    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Attachment.objects, "create", broken)
    upload = SimpleUploadedFile("a.txt", b"data", content_type="text/plain")
    with pytest.raises(OSError):
        services.message_send(actor=alice, conversation=chat, body="file", files=[upload])
    assert rev_of(chat) == 0 and not Message.objects.exists()
    monkeypatch.undo()
    assert post(chat, alice).seq == 1


@pytest.mark.django_db
def test_attachment_limits(alice, chat, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("a.txt", b"x" * 11, content_type="text/plain")
    with pytest.raises(ServiceError) as refused:
        services.message_send(actor=alice, conversation=chat, body="", files=[big])
    assert refused.value.status == 413
    odd = SimpleUploadedFile("a.bin", b"x", content_type="application/x-sh")
    with pytest.raises(ServiceError) as refused:
        services.message_send(actor=alice, conversation=chat, body="", files=[odd])
    assert refused.value.status == 415
    assert rev_of(chat) == 0 and not Attachment.objects.exists()


@pytest.mark.django_db
def test_send_events_go_out_after_commit_only(alice, bob, chat, capture_events):
    with capture_events():
        post(chat, alice, "hello")
    assert capture_events.types(conversation_group(chat.id)) == ["message.created"]
    event = [m["event"] for g, m in capture_events.sent if g == conversation_group(chat.id)][0]
    assert event["rev"] == 1 and event["conversation"] == chat.id and event["data"]["body"] == "hello"

    capture_events.sent.clear()
    with capture_events():
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                post(chat, alice, "never")
                raise RuntimeError("rolled back")
    assert capture_events.sent == []
    assert rev_of(chat) == 1


# --- edits, tombstones, reactions --------------------------------------------------------------------


@pytest.mark.django_db
def test_edit_takes_a_revision(alice, chat):
    message = post(chat, alice, "a")
    services.message_edit(actor=alice, message=message, body="b")
    message.refresh_from_db()
    assert (message.seq, message.rev, message.body) == (1, 2, "b") and message.edited_at is not None
    with pytest.raises(ServiceError) as refused:
        services.message_edit(actor=alice, message=message, body="   ")
    assert refused.value.code == "empty_body"
    assert rev_of(chat) == 2


@pytest.mark.django_db
def test_delete_is_a_tombstone_once(alice, bob, chat, capture_events):
    message = post(chat, alice, "secret")
    services.reaction_add(actor=bob, message=message, emoji="👀")
    with capture_events():
        services.message_delete(actor=alice, message=message)
    message.refresh_from_db()
    assert message.deleted and message.body == "" and message.rev == 3 and message.seq == 1
    assert not Reaction.objects.exists()
    assert capture_events.types(conversation_group(chat.id)) == ["message.deleted"]
    services.message_delete(actor=alice, message=message)
    assert rev_of(chat) == 3
    with pytest.raises(Conflict):
        services.message_edit(actor=alice, message=message, body="back")


@pytest.mark.django_db
def test_reactions_take_revisions_only_when_they_change(alice, bob, chat):
    message = post(chat, alice)
    services.reaction_add(actor=bob, message=message, emoji="👍")
    services.reaction_add(actor=bob, message=message, emoji="👍")
    services.reaction_add(actor=alice, message=message, emoji="👍")
    assert rev_of(chat) == 3 and Reaction.objects.count() == 2
    services.reaction_remove(actor=bob, message=message, emoji="🎉")
    assert rev_of(chat) == 3
    services.reaction_remove(actor=bob, message=message, emoji="👍")
    assert rev_of(chat) == 4 and Message.objects.get(pk=message.pk).rev == 4


# --- read markers -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_read_marker_only_moves_forward_and_stops_at_the_end(alice, bob, chat):
    for _ in range(3):
        post(chat, bob)
    assert services.conversation_mark_read(actor=alice, conversation=chat, seq=2).last_read_seq == 2
    assert services.conversation_mark_read(actor=alice, conversation=chat, seq=1).last_read_seq == 2
    assert services.conversation_mark_read(actor=alice, conversation=chat, seq=50).last_read_seq == 3


@pytest.mark.django_db
def test_read_marker_needs_participation(carol, chat):
    with pytest.raises(ServiceError) as refused:
        services.conversation_mark_read(actor=carol, conversation=chat, seq=1)
    assert refused.value.status == 403
    assert not Participant.objects.filter(user=carol).exists()


# --- groups, directs, rooms ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_group_create_includes_me_once_and_makes_me_its_manager(alice, bob):
    ids = [bob.id, bob.id, alice.id]
    conversation = services.group_create(actor=alice, title="  Lunch  ", participant_ids=ids)
    assert conversation.title == "Lunch" and conversation.company_id == alice.company_id
    assert sorted(conversation.participants.values_list("user_id", flat=True)) == sorted([alice.id, bob.id])
    assert alice.has_perm("messaging.manage_conversation", conversation)


@pytest.mark.django_db
def test_group_create_refuses_people_of_another_company(alice, mallory):
    with pytest.raises(ServiceError) as refused:
        services.group_create(actor=alice, title="G", participant_ids=[mallory.id])
    assert refused.value.code == "unknown_participant"
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_direct_is_one_per_pair(alice, bob, carol):
    first, created = services.direct_get_or_create(actor=alice, other_id=bob.id)
    same, created_again = services.direct_get_or_create(actor=bob, other_id=alice.id)
    other, _ = services.direct_get_or_create(actor=alice, other_id=carol.id)
    assert created and not created_again and same.pk == first.pk and other.pk != first.pk
    assert first.kind == "direct" and first.direct_key == f"{min(alice.id, bob.id)}:{max(alice.id, bob.id)}"


@pytest.mark.django_db
def test_direct_refuses_another_companys_user(alice, mallory):
    with pytest.raises(ServiceError):
        services.direct_get_or_create(actor=alice, other_id=mallory.id)
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_conversation_update_changes_membership(alice, bob, carol):
    conversation = services.group_create(actor=alice, title="G", participant_ids=[bob.id])
    services.conversation_update(actor=alice, conversation=conversation, participant_ids=[carol.id], may_manage=True)
    active = set(conversation.participants.filter(is_active=True).values_list("user_id", flat=True))
    assert active == {alice.id, carol.id}
    assert Participant.objects.get(conversation=conversation, user=bob).left_at is not None
    services.conversation_update(actor=alice, conversation=conversation, participant_ids=[bob.id], may_manage=True)
    assert Participant.objects.get(conversation=conversation, user=bob).is_active
    assert Participant.objects.filter(conversation=conversation, user=bob).count() == 1


@pytest.mark.django_db
def test_conversation_update_without_manage_changes_nothing(alice, bob, carol):
    conversation = services.group_create(actor=alice, title="G", participant_ids=[bob.id])
    with pytest.raises(ServiceError) as refused:
        services.conversation_update(
            actor=bob, conversation=conversation, title="Mine", participant_ids=[carol.id], may_manage=False
        )
    assert refused.value.status == 403
    conversation.refresh_from_db()
    assert conversation.title == "G"
    assert not Participant.objects.filter(conversation=conversation, user=carol).exists()


@pytest.mark.django_db
def test_room_conversation_get_or_create(company):
    space = SpaceFactory(company=company, name="Library")
    room, created = services.room_conversation_get_or_create(space=space)
    again, created_again = services.room_conversation_get_or_create(space=space)
    assert created and not created_again and room.pk == again.pk
    assert room.kind == "room" and room.title == "Library" and room.company_id == company.id


@pytest.mark.django_db
def test_system_messages_share_the_revision_counter(alice, company):
    space = SpaceFactory(company=company)
    room, _ = services.room_conversation_get_or_create(space=space)
    services.room_participant_join(conversation=room, user=alice)
    note = services.system_message_post(conversation=room, event="status_changed", body="closed", payload={"x": 1})
    message = post(room, alice, "after")
    updated = services.system_message_update(message=note, body="closed (2)", payload={"count": 2})
    assert (note.seq, message.seq, updated.rev) == (1, 2, 3)
    assert note.kind == "system" and note.sender_id is None and updated.system == {"event": "status_changed", "x": 1,
                                                                                   "count": 2}


@pytest.mark.django_db
def test_users_of_other_companies_never_share_a_conversation(alice, mallory):
    UserFactory(company=mallory.company)
    with pytest.raises(ServiceError):
        services.group_create(actor=mallory, title="x", participant_ids=[alice.id])
    assert not Participant.objects.exists()
