"""Who may read and write a conversation, and act on a message. One place, used by REST, socket and pages.

- direct and group: active participants only;
- room: whoever may enter the space reads; only people in the space (active participants) post;
- another company's conversation or message is a 404.
"""

from collections.abc import Callable, Iterable
from typing import Any

from guardian.shortcuts import get_perms

from messaging.models import Attachment, Conversation, Message, Participant
from virtual_office.errors import Forbidden, NotFound
from virtual_office.models import User
from virtual_office.tenancy import of_company

MANAGE_PERM = "manage_conversation"

# Who may read a room (a space's conversation) is the space's rule, not messaging's: the app that owns
# spaces sets it from its AppConfig.ready() (`set_room_read_rule`). Until then nobody reads a room.
RoomReadRule = Callable[[User, Any], bool]
_room_read_rule: list[RoomReadRule] = []


def set_room_read_rule(rule: RoomReadRule) -> None:
    _room_read_rule[:] = [rule]


def can_read_room(user: User, space: Any) -> bool:
    return bool(_room_read_rule) and _room_read_rule[0](user, space)


def _participant(user: User, conversation: Conversation) -> Participant | None:
    return Participant.objects.filter(conversation=conversation, user=user).first()


def can_read(user: User, conversation: Conversation, participant: Participant | None) -> bool:
    if conversation.company_id != user.company_id:
        return False
    if conversation.kind == Conversation.Kind.ROOM:
        return can_read_room(user, conversation.space)
    return participant is not None and participant.is_active


def readers_among(conversation: Conversation, users: Iterable[User]) -> list[User]:
    """Those of `users` who may read `conversation` (by `can_read`), with one query for their
    participations however many they are."""
    users = [user for user in users if user.company_id == conversation.company_id]
    if not users:
        return []
    participations = {
        p.user_id: p for p in Participant.objects.filter(conversation=conversation, user__in=[u.id for u in users])
    }
    return [user for user in users if can_read(user, conversation, participations.get(user.id))]


def access_conversation(user: User, conversation_id: int | str, *, write: bool = False) -> Conversation:
    """Fetch and check; raises NotFound for anything the user may not read (including other companies)."""
    try:
        conversation = of_company(Conversation.objects.select_related("space"), user).get(pk=int(conversation_id))
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such conversation.") from None
    participant = _participant(user, conversation)
    if not can_read(user, conversation, participant):
        raise NotFound("No such conversation.")
    if write and not (participant is not None and participant.is_active):
        raise Forbidden("Enter the space to post in its room.", code="not_in_space")
    return conversation


def can_manage(user: User, conversation: Conversation) -> bool:
    if conversation.kind != Conversation.Kind.GROUP:
        return False
    return user.is_company_admin or MANAGE_PERM in get_perms(user, conversation)


def access_message(user: User, message_id: int | str, *, moderate: bool = False) -> Message:
    """Fetch and check a message the user may read. With `moderate`, a company admin reaches any
    message of their company (they may delete any, even where they are not a participant)."""
    try:
        message = of_company(
            Message.objects.select_related("conversation", "conversation__space"), user, "conversation__company_id"
        ).get(pk=int(message_id))
    except (Message.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such message.") from None
    participant = _participant(user, message.conversation)
    if not can_read(user, message.conversation, participant) and not (moderate and user.is_company_admin):
        raise NotFound("No such message.")
    return message


def access_attachment(user: User, attachment_id: int | str) -> Attachment:
    """An attachment of a message the user may read. Anything else (another company, a conversation
    they may not read, a deleted message, an upload not on any message) is a 404."""
    try:
        attachment = of_company(Attachment.objects.filter(message__isnull=False), user).get(pk=int(attachment_id))
        assert attachment.message_id is not None  # (message__isnull=False)
        access_message(user, attachment.message_id)
    except (Attachment.DoesNotExist, NotFound, ValueError, TypeError):
        raise NotFound("No such attachment.") from None
    return attachment


def check_can_edit(user: User, message: Message) -> None:
    if message.kind != Message.Kind.USER or message.sender_id != user.id:
        raise Forbidden("You can only edit your own messages.", code="not_author")


def check_can_delete(user: User, message: Message) -> None:
    if message.sender_id == user.id and message.kind == Message.Kind.USER:
        return
    if user.is_company_admin and message.conversation.company_id == user.company_id:
        return
    raise Forbidden("You can only delete your own messages.", code="not_author")
