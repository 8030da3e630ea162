"""Payloads and recipients of conversation events; the only caller of send_event_on_commit here."""

from __future__ import annotations

from messaging import selectors
from messaging.api.serializers import ConversationEventOut, message_data, reactions_of
from messaging.models import Conversation, Message, Participant, Reaction
from virtual_office.realtime import (
    FORWARD,
    asend_now,
    commit_memo,
    conversation_group,
    envelope,
    send_event_on_commit,
    user_group,
)


def message_event_type(message: Message, *, created: bool) -> str:
    if created:
        return "message.created"
    return "message.deleted" if message.deleted else "message.updated"


def message_event(message: Message, event_type: str) -> dict:
    return envelope(event_type, message_data(message), conversation=message.conversation_id, rev=message.rev)


def message_saved(message: Message, *, created: bool) -> None:
    event_type = message_event_type(message, created=created)
    # Built at commit: attachments are written after the message row in the same transaction.
    send_event_on_commit(
        conversation_group(message.conversation_id), lambda: message_event(message, event_type)
    )


def reaction_changed(message_id: int) -> None:
    """`reaction.changed` with the message's rev, built at commit from the rows as committed.

    Built late on purpose: deleting a message removes its reactions first (one post_delete each)
    and only then marks the message deleted; at commit the message is a tombstone and its own
    `message.deleted` says it all, so no stale reaction event (with an old rev) goes out."""

    def build() -> dict | None:
        row = Message.objects.filter(pk=message_id).values("conversation_id", "rev", "deleted_at").first()
        if row is None or row["deleted_at"] is not None:
            return None
        message = Message(pk=message_id)
        selectors.remember_related(message, reactions=Reaction.objects.filter(message_id=message_id))
        data = {"message": message_id, "reactions": reactions_of(message, None)}
        return envelope("reaction.changed", data, conversation=row["conversation_id"], rev=row["rev"])

    conversation_id = Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    if conversation_id is not None:
        send_event_on_commit(conversation_group(conversation_id), build)


def _conversation_payload(conversation_id: int) -> dict | None:
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    return ConversationEventOut(conversation).data if conversation is not None else None


def participant_changed(participant: Participant, *, created: bool, was_active: bool | None) -> None:
    """Membership changes: the user's sockets join or leave the conversation's group, in event order."""
    conversation_id = participant.conversation_id
    now_active = participant.is_active
    if not created and was_active == now_active:
        return
    rev = Conversation.objects.filter(pk=conversation_id).values_list("rev", flat=True).first() or 0
    group = conversation_group(conversation_id)

    payload = commit_memo(f"conversation:{conversation_id}", lambda: _conversation_payload(conversation_id))

    def updated() -> dict | None:
        return envelope("conversation.updated", payload()) if payload() else None

    def created_event() -> dict | None:
        return envelope("conversation.created", payload()) if payload() else None

    once = f"conversation.updated:{conversation_id}"
    if now_active:
        send_event_on_commit(group, updated, once=once)
        send_event_on_commit(
            user_group(participant.user_id),
            created_event,
            control={"op": "join", "conversation": conversation_id, "rev": rev},
        )
    else:
        send_event_on_commit(group, updated, once=once)
        send_event_on_commit(user_group(participant.user_id), control={"op": "leave", "conversation": conversation_id})


def conversation_saved(conversation: Conversation, *, created: bool) -> None:
    if created:
        return  # participants learn of it through participant_changed
    send_event_on_commit(
        conversation_group(conversation.id),
        lambda: (lambda p: envelope("conversation.updated", p) if p else None)(_conversation_payload(conversation.id)),
        once=f"conversation.updated:{conversation.id}",
    )


def replay_events(conversation_id: int, since_rev: int) -> list[dict]:
    """Durable events after since_rev, compacted to each message's latest state, in rev order."""
    events = []
    for message in selectors.message_changes_iter(conversation_id, since_rev):
        created = message.seq > since_rev and not message.deleted
        events.append(message_event(message, message_event_type(message, created=created)))
    return events


async def typing_relay(*, conversation_id: int, user_id: int, state: str) -> None:
    """Ephemeral: not stored, not after a commit; only watchers other than the typist get it."""
    data = {"conversation": conversation_id, "user": user_id, "state": state}
    await asend_now(
        conversation_group(conversation_id),
        {
            "type": FORWARD,
            "group": conversation_group(conversation_id),
            "event": envelope("typing", data),
            "exclude_user": user_id,
            "watchers_only": True,
        },
    )


async def watchers_relay(*, conversation_id: int, watchers: list[int]) -> None:
    data = {"conversation": conversation_id, "watchers": watchers}
    await asend_now(
        conversation_group(conversation_id),
        {
            "type": FORWARD,
            "group": conversation_group(conversation_id),
            "event": envelope("conversation.presence", data),
            "watchers_only": True,
        },
    )


