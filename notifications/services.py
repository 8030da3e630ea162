"""Every write to notifications: made from what other apps report (after their commit), and marked read.

Which kind a message gives a person, at most one per person and message: `mention` (the message
mentions them), else `thread_reply` (a reply in a thread whose root they wrote), else `direct` (a
message in a 1:1 or group conversation of theirs, when no tab of theirs was watching it). Never to the
sender, never for system messages. Calls that rang out give the callee `call_missed`, teleport
invitations that expired give the invitee `teleport_missed`, knocks give the people inside `knock`.

Each notification goes to its recipient's sockets as `notification.created` (notifications.events),
also under dnd: the page then shows the badge but pops nothing up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Conversation, Message, Participant
from messaging.permissions import readers_among
from notifications import events, selectors
from notifications.models import Notification
from virtual_office.models import User

logger = logging.getLogger(__name__)

Kind = Notification.Kind
PRIVATE_KINDS = (Conversation.Kind.DIRECT, Conversation.Kind.GROUP)


def _create(rows: list[Notification]) -> list[Notification]:
    """Insert the rows (calls, teleports, knocks: not about a message, so the one-per-message
    constraint does not apply) in one statement and announce each after commit."""
    if not rows:
        return []
    made = Notification.objects.bulk_create(rows)
    events.notifications_created(made)
    return made


_INSERT_BATCH = 500  # recipients per statement (SQLite takes at most 32,766 parameters)


def _create_for_message(message: Message, kinds: list[tuple[int, str]]) -> list[dict[str, Any]]:
    """Notifications about `message`, one per (recipient, kind), inserted and announced after commit;
    returns their rows as `NotificationOut` renders them. A message to a group of a thousand is a
    thousand rows for every message, so they are neither model instances nor a bulk_create (together
    about 120 ms a message, more than the rest of sending it): one `INSERT ... SELECT ... FROM (VALUES
    ...)` per 500, which skips a recipient this message notified already (the one-per-message
    constraint: a retried delivery, an edit racing another) and returns what it made."""
    if not kinds:
        return []
    conversation = message.conversation
    now = timezone.now()
    columns = "company_id, recipient_id, kind, actor_id, conversation_id, message_id, space_id, created_at"
    common = [conversation.company_id, message.sender_id, conversation.id, message.id, conversation.space_id, now]
    made: list[tuple[int, int, str]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(kinds), _INSERT_BATCH):
            chunk = kinds[start : start + _INSERT_BATCH]
            # The VALUES columns are column1, column2 in PostgreSQL and SQLite alike; `WHERE true`
            # lets SQLite tell the ON CONFLICT clause from a join's ON.
            cursor.execute(
                f"INSERT INTO {Notification._meta.db_table} ({columns}) "
                f"SELECT %s, v.column1, v.column2, %s, %s, %s, %s, %s "
                f"FROM (VALUES {', '.join(['(%s, %s)'] * len(chunk))}) AS v WHERE true "
                "ON CONFLICT DO NOTHING RETURNING id, recipient_id, kind",
                [*common, *(value for pair in chunk for value in pair)],
            )
            made.extend(cursor.fetchall())
    made.sort()
    return events.message_notifications_created(message, now, made)


def message_notify(*, message_id: int, watching: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """The notifications a new message gives (module docstring), as their rows. `watching`: ids of the
    people a tab of whom was watching the conversation when it arrived (they get no `direct`); asked
    of the conversation presence when not given."""
    message = (
        Message.objects.select_related("conversation", "conversation__space", "thread_root")
        .filter(pk=message_id)
        .first()
    )
    if message is None or message.kind != Message.Kind.USER or message.sender_id is None or message.deleted:
        return []
    conversation = message.conversation
    kinds: dict[int, str] = {}
    for user_id in message.mentions or []:
        kinds.setdefault(int(user_id), Kind.MENTION)
    root = message.thread_root  # a reply to a reply belongs to the root's thread (messaging keeps it)
    if root is not None and root.sender_id is not None and root.kind == Message.Kind.USER:
        kinds.setdefault(root.sender_id, Kind.THREAD_REPLY)
    kinds.pop(message.sender_id, None)
    if conversation.kind in PRIVATE_KINDS:
        # Who may read a 1:1 or group conversation (messaging.permissions): its active participants,
        # here only the active people of its company among them. Ids only, in one query, and not
        # those watching it (unless this message mentions them or replies to them): a group of a
        # thousand is a thousand readers of every message, and with their pages open the answer is
        # then empty instead of a thousand rows to read and compare.
        watchers = set(watching) if watching is not None else selectors.watching_user_ids(conversation.id)
        unconcerned = (watchers | {message.sender_id}) - set(kinds)  # never empty: the sender
        readers = set(
            Participant.objects.filter(
                conversation=conversation,
                is_active=True,
                user__is_active=True,
                user__company_id=conversation.company_id,
            )
            .exclude(user_id__in=sorted(unconcerned))
            .values_list("user_id", flat=True)
        )
        for user_id in readers:
            kinds.setdefault(user_id, Kind.DIRECT)  # a reader left in is not watching (nor the sender)
        recipients = sorted(user_id for user_id in kinds if user_id in readers)
    else:
        if not kinds:
            return []
        # A room: only people who may read it now (a mention list is checked when written, a thread's
        # author may have left it since), and only active people of its company.
        people = User.objects.filter(pk__in=kinds, company_id=conversation.company_id, is_active=True)
        recipients = sorted(user.id for user in readers_among(conversation, people))
    return _create_for_message(message, [(user_id, str(kinds[user_id])) for user_id in recipients])


def mentions_notify(*, message_id: int) -> list[dict[str, Any]]:
    """An edit that mentions someone new: `mention` for them, unless this message notified them already."""
    message = Message.objects.select_related("conversation", "conversation__space").filter(pk=message_id).first()
    if message is None or message.kind != Message.Kind.USER or message.sender_id is None or message.deleted:
        return []
    mentioned = {int(user_id) for user_id in message.mentions or []} - {message.sender_id}
    # Whoever this message notified already (of any kind) gets nothing more from it.
    mentioned -= set(Notification.objects.filter(message=message).values_list("recipient_id", flat=True))
    if not mentioned:
        return []
    people = User.objects.filter(pk__in=mentioned, company_id=message.conversation.company_id, is_active=True)
    readers = sorted(reader.id for reader in readers_among(message.conversation, people))
    return _create_for_message(message, [(user_id, str(Kind.MENTION)) for user_id in readers])


def call_missed_notify(*, call: Any) -> list[Notification]:
    """The callee missed `call` (it rang out): `call_missed`, pointing at their direct conversation
    with the caller when there is one (the missed-call note is there)."""
    return _create(
        [
            Notification(
                company_id=call.company_id,
                recipient_id=call.callee_id,
                kind=Kind.CALL_MISSED,
                actor_id=call.caller_id,
                call_id=call.id,
                conversation_id=selectors.direct_conversation_id(call.caller_id, call.callee_id, call.company_id),
            )
        ]
    )


def teleport_missed_notify(*, teleport: Any) -> list[Notification]:
    """The invitee let `teleport` expire: `teleport_missed`, with the space they were invited to."""
    return _create(
        [
            Notification(
                company_id=teleport.company_id,
                recipient_id=teleport.invitee_id,
                kind=Kind.TELEPORT_MISSED,
                actor_id=teleport.inviter_id,
                space_id=teleport.space_id,
            )
        ]
    )


def knock_notify(*, knock: Any, occupant_ids: Iterable[int]) -> list[Notification]:
    """Someone knocked on a space: `knock` for everyone inside then (also under dnd: it waits here)."""
    return _create(
        [
            Notification(
                company_id=knock.company_id,
                recipient_id=user_id,
                kind=Kind.KNOCK,
                actor_id=knock.user_id,
                space_id=knock.space_id,
            )
            for user_id in sorted(set(occupant_ids) - {knock.user_id})
        ]
    )


def notifications_mark_read(
    *, actor: User, ids: Iterable[int] | None = None, everything: bool = False, conversation_id: int | None = None
) -> int:
    """Mark actor's unread notifications read: those of `ids`, every one (`everything`), or those about
    one conversation (actor opened it). Returns how many changed. Ids that are not actor's (another
    person's, another company's, none at all) change nothing."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if conversation_id is not None:
        unread = unread.filter(conversation_id=conversation_id)
    elif not everything:
        wanted = list(ids or [])
        if not wanted:
            return 0
        unread = unread.filter(pk__in=wanted)
    return unread.update(read_at=timezone.now())
