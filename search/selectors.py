"""Search: the messages, people, spaces and conversations that match a text, among what the
requester may read.

Messages are searched only in readable conversations (the rule of messaging.permissions, as a set:
the direct and group conversations the requester actively takes part in, and the rooms of the
spaces they may enter). On PostgreSQL that is full-text search (search.fulltext); elsewhere a
substring filter with the same syntax (search.websearch). People, spaces and conversations match by
name, among the same rows their list endpoints give, and come out as those endpoints have them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q

from messaging.models import Conversation, Message, Participant
from messaging.selectors import ConversationRow, conversation_list, message_queryset
from presence.selectors import user_list
from search import fulltext, snippets, websearch
from spaces.models import Space, SpaceGroupObjectPermission, SpaceUserObjectPermission
from spaces.permissions import ENTER_PERM, visible_spaces
from spaces.selectors import LoadedSpace, space_list
from virtual_office.models import User
from virtual_office.tenancy import of_company

MAX_LIMIT = 50
ENTER_CODENAME = ENTER_PERM.split(".")[1]  # "spaces.enter_space": the codename guardian stores
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class MessageHit:
    message: Message
    snippet: str  # HTML: the matches in <mark>, everything else escaped


@dataclass(frozen=True)
class SearchResults:
    messages: list[MessageHit]
    people: list[User]
    spaces: list[LoadedSpace]
    conversations: list[ConversationRow]


def readable_conversation_ids(*, user: User) -> list[int]:
    """Every conversation `user` may read (messaging.permissions.can_read for each, as one set), in
    one query: the direct and group ones they actively take part in, and the rooms of the spaces
    they may enter (spaces.permissions.can_enter: public ones, private ones granted to them or to a
    group of theirs through guardian, every one for a company admin)."""
    if user.company_id is None:
        return []
    spaces = Space.objects.filter(company_id=user.company_id)
    if not (user.is_company_admin or (user.is_active and user.is_superuser)):
        grant = {"permission__codename": ENTER_CODENAME, "permission__content_type__app_label": "spaces"}
        granted = SpaceUserObjectPermission.objects.filter(user=user, **grant).values("content_object_id")
        granted_to_groups = SpaceGroupObjectPermission.objects.filter(group__user=user, **grant).values(
            "content_object_id"
        )
        spaces = spaces.filter(Q(is_private=False) | Q(pk__in=granted) | Q(pk__in=granted_to_groups))
    joined = Participant.objects.filter(user=user, is_active=True).values("conversation_id")
    readable = Conversation.objects.filter(company_id=user.company_id).filter(
        Q(kind__in=[Conversation.Kind.DIRECT, Conversation.Kind.GROUP], pk__in=joined)
        | Q(kind=Conversation.Kind.ROOM, space__in=spaces)
    )
    return sorted(readable.values_list("id", flat=True))


def message_search(
    *,
    user: User,
    q: str,
    conversation: Conversation | None = None,
    sender: User | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[MessageHit]:
    """Messages matching `q` that `user` may read, most relevant first, then newest; never deleted ones.
    `conversation` (one `user` may read) and `sender` narrow it down."""
    readable = readable_conversation_ids(user=user)
    if conversation is not None:
        readable = [conversation.id] if conversation.id in readable else []
    if not readable or not q.strip():
        return []
    scope = fulltext.Scope(
        conversation_ids=readable,
        sender_id=sender.id if sender is not None else None,
        before=before,
        after=after,
    )
    if connection.vendor == "postgresql":
        ranked = fulltext.ranked(q, scope, limit=limit)
        found = {m.id: m for m in message_queryset().filter(id__in=[hit.id for hit in ranked])}
        return [
            MessageHit(message=found[hit.id], snippet=snippets.from_headline(hit.headline, found[hit.id].body))
            for hit in ranked
            if hit.id in found
        ]
    query = websearch.parse(q)
    if not query:
        return []
    messages = list(
        message_queryset()
        .filter(scope.as_filter())
        .filter(websearch.as_filter(query))
        .order_by("-created_at", "-id")[:limit]
    )
    hits = []
    for message in messages:
        text = snippets.clean(message.body)
        marked = snippets.from_ranges(text, websearch.match_ranges(text, query))
        hits.append(MessageHit(message=message, snippet=marked))
    return hits


def _names(q: str) -> str:
    """What people, spaces and conversations are matched by: the text without search syntax."""
    return " ".join(q.replace('"', " ").split())


def people_search(*, user: User, q: str, limit: int = DEFAULT_LIMIT) -> list[User]:
    text = _names(q)
    if not text:
        return []
    return list(user_list(user=user).filter(Q(display_name__icontains=text) | Q(username__icontains=text))[:limit])


def space_search(*, user: User, q: str, limit: int = DEFAULT_LIMIT) -> list[LoadedSpace]:
    text = _names(q)
    if not text:
        return []
    # Which ones first (one small query): most searches name no space, and then nothing more is read.
    matched = set(visible_spaces(user).filter(name__icontains=text).values_list("id", flat=True)[:limit])
    if not matched:
        return []
    # The spaces list's own rows (with occupants, meeting, room), of which a company has tens.
    return [space for space in space_list(user=user) if space.id in matched][:limit]


def conversation_search(
    *, user: User, q: str, people: Sequence[User] = (), limit: int = DEFAULT_LIMIT
) -> list[ConversationRow]:
    """My conversations (the conversations list's rows) whose title matches, or, untitled, that
    have one of `people` (the people matching the text) in them: "bob" finds the direct one with Bob."""
    text = _names(q)
    if not text:
        return []
    others = [person.id for person in people if person.id != user.id]
    mine = of_company(Conversation.objects.filter(participants__user=user, participants__is_active=True), user)
    untitled_with_them = Q(
        title="",
        kind__in=[Conversation.Kind.DIRECT, Conversation.Kind.GROUP],
        pk__in=Participant.objects.filter(user_id__in=others, is_active=True).values("conversation_id"),
    )
    # Which ones first (one small query); the list's rows, with unread counts and last messages, only
    # when some match.
    matched = set(mine.filter(Q(title__icontains=text) | untitled_with_them).values_list("id", flat=True))
    if not matched:
        return []
    return [row for row in conversation_list(user=user) if row.conversation.id in matched][:limit]


def search(
    *,
    user: User,
    q: str,
    conversation: Conversation | None = None,
    sender: User | None = None,
    before: datetime | None = None,
    after: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchResults:
    """Everything `GET search/` answers. A conversation, a sender or a time narrows the messages
    only (they are what those describe)."""
    messages = message_search(
        user=user, q=q, conversation=conversation, sender=sender, before=before, after=after, limit=limit
    )
    people = people_search(user=user, q=q, limit=max(limit, 200))
    return SearchResults(
        messages=messages,
        people=people[:limit],
        spaces=space_search(user=user, q=q, limit=limit),
        conversations=conversation_search(user=user, q=q, people=people, limit=limit),
    )
