"""Reads of conversations and messages, with related rows loaded once (no N+1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, Model, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from messaging.models import Conversation, Message, Participant
from virtual_office.models import User
from virtual_office.tenancy import of_company

MAX_PAGE = 100
CHANGES_PAGE = 1000  # changes/ answers at most this many messages; `has_more` says to ask again


def remember_related(instance: Model, **related: QuerySet[Any]) -> None:
    """Keep these querysets as `instance`'s related rows, as `prefetch_related` does: reading
    `instance.<name>.all()` then runs no query."""
    # Django's own prefetch cache, which django-stubs does not declare on Model.
    instance._prefetched_objects_cache = related  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ConversationRow:
    """A conversation as one reader sees it (what `ConversationOut` serializes)."""

    conversation: Conversation
    my_participant: Participant | None  # the reader's participation (None: not one, e.g. a room reader)
    unread_count: int
    last_message: Message | None
    # Loaded with their presence by `conversation_detail`; None in the list, which serializes the
    # prefetched `conversation.participants` instead.
    active_participants: list[Participant] | None = None


def message_queryset() -> QuerySet[Message]:
    return Message.objects.select_related("sender__presence").prefetch_related("reactions", "attachments")


def conversation_list(*, user: User) -> Sequence[ConversationRow]:
    """My conversations (active participation), newest activity first, each with my participation,
    unread count and last message (the conversations' `last_message_id` and the participations'
    `unread` are annotations), in the same few queries however many conversations."""
    unread = (
        Message.objects.filter(conversation=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq"))
        .exclude(sender_id=user.id)
        .filter(deleted_at__isnull=True)
        .order_by()
        .values("conversation")
        .annotate(c=Count("id"))
        .values("c")
    )
    last_message = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq").values("id")[:1]
    conversations = list(
        of_company(Conversation.objects.filter(participants__user=user, participants__is_active=True), user)
        .select_related("space")
        .annotate(last_message_id=Subquery(last_message))
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=Participant.objects.filter(is_active=True).only(
                    "id", "conversation_id", "user_id", "is_active"
                ),
            ),
        )
        .order_by("-last_activity_at", "-id")
    )
    mine = {
        participant.conversation_id: participant
        for participant in Participant.objects.filter(user=user, is_active=True, conversation__in=conversations)
        .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))
    }
    last_ids = [c.last_message_id for c in conversations if c.last_message_id]
    messages = {m.id: m for m in message_queryset().filter(id__in=last_ids)}
    rows = []
    for conversation in conversations:
        participant = mine.get(conversation.id)
        rows.append(ConversationRow(
            conversation=conversation,
            my_participant=participant,
            unread_count=participant.unread if participant is not None else 0,
            last_message=messages.get(conversation.last_message_id),
        ))
    return rows


def conversation_detail(*, user: User, conversation: Conversation) -> ConversationRow:
    """`conversation` (one the user may read: `access_conversation`) as the user sees it, with its
    active participants and their presence."""
    participant = Participant.objects.filter(conversation=conversation, user=user).first()
    return ConversationRow(
        conversation=conversation,
        my_participant=participant,
        unread_count=unread_count(user=user, conversation=conversation, participant=participant),
        last_message=message_queryset().filter(conversation=conversation).order_by("-seq").first(),
        active_participants=list(
            Participant.objects.filter(conversation=conversation, is_active=True).select_related("user__presence")
        ),
    )


def unread_count(*, user: User, conversation: Conversation, participant: Participant | None) -> int:
    if participant is None:
        return 0
    return (
        Message.objects.filter(conversation=conversation, seq__gt=participant.last_read_seq, deleted_at__isnull=True)
        .exclude(sender_id=user.id)
        .count()
    )


def message_list(
    *, conversation: Conversation, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[Message]:
    """A keyset page by seq, ascending (at most `limit`, 1..MAX_PAGE). Without cursors: the latest page."""
    qs = message_queryset().filter(conversation=conversation)
    if after is not None:
        qs = qs.filter(seq__gt=after)
        if before is not None:
            qs = qs.filter(seq__lt=before)
        return list(qs.order_by("seq")[:limit])
    if before is not None:
        qs = qs.filter(seq__lt=before)
    return list(reversed(qs.order_by("-seq")[:limit]))


def message_thread(*, message: Message) -> tuple[Message, list[Message]]:
    """The thread `message` is in (it may be the root or one of its replies): its root and the root's
    replies that are not deleted, in seq order. The same few queries however long the thread."""
    root_id = message.thread_root_id or message.id
    root = message_queryset().get(pk=root_id)
    replies = list(message_queryset().filter(thread_root_id=root_id, deleted_at__isnull=True).order_by("seq"))
    return root, replies


def message_changes(*, conversation: Conversation, since_rev: int = 0, limit: int | None = None) -> list[Message]:
    size = limit or CHANGES_PAGE
    return list(message_queryset().filter(conversation=conversation, rev__gt=since_rev).order_by("rev")[:size])


def message_changes_iter(conversation_id: int, since_rev: int, chunk: int = 500):
    """Every message changed after since_rev, in rev order, read in keyset chunks."""
    cursor = since_rev
    while True:
        rows = list(message_queryset().filter(conversation_id=conversation_id, rev__gt=cursor).order_by("rev")[:chunk])
        yield from rows
        if len(rows) < chunk:
            return
        cursor = rows[-1].rev


def subscribed_conversation_revs(user: User) -> dict[int, int]:
    """Conversations whose events this user's sockets receive (active participation) -> current rev."""
    return subscribed_conversation_revs_many([user])[0]


def subscribed_conversation_revs_many(users: list[User]) -> list[dict[int, int]]:
    """`subscribed_conversation_revs` of many users, in order, in one query (sockets opening together)."""
    found: dict[int, dict[int, int]] = {user.id: {} for user in users}
    rows = Participant.objects.filter(user_id__in=list(found), is_active=True).values_list(
        "user_id", "conversation_id", "conversation__rev"
    )
    for user_id, conversation_id, rev in rows:
        found[user_id][conversation_id] = rev
    return [dict(found[user.id]) for user in users]


def participant_user_ids(conversation_id: int, *, active_only: bool = True) -> list[int]:
    qs = Participant.objects.filter(conversation_id=conversation_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.values_list("user_id", flat=True))
