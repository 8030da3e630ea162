"""Input and output shapes for conversations and messages (REST and socket events share them)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import Attachment, Conversation, Message
from messaging.selectors import MAX_PAGE, ConversationRow
from presence.api.serializers import EFFECTIVE_STATUSES
from virtual_office.inputs import MAX_ID, IdField, TextField

MAX_EMOJI_LENGTH = 32
MAX_RESUME_CONVERSATIONS = 500


class AttachmentOut(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "url"]

    def get_url(self, obj: Attachment) -> str:
        """The access-checked download (`GET /api/v1/attachments/{id}/`); files are never public."""
        return reverse("attachment-download", args=[obj.id])


class ReactionOut(serializers.Serializer):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    users = serializers.ListField(child=serializers.IntegerField())
    me = serializers.BooleanField(required=False, help_text="Absent in socket events: compare `users` with your id.")


class SenderPresenceOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=EFFECTIVE_STATUSES)
    current_space = serializers.IntegerField(allow_null=True)


def reactions_of(message: Message, user_id: int | None) -> list[dict]:
    grouped: dict[str, list[int]] = {}
    for reaction in message.reactions.all():
        grouped.setdefault(reaction.emoji, []).append(reaction.user_id)
    out = []
    for emoji, users in grouped.items():
        item = {"emoji": emoji, "count": len(users), "users": users}
        if user_id is not None:
            item["me"] = user_id in users
        out.append(item)
    return out


class ParticipantPresenceOut(serializers.Serializer):
    user = serializers.IntegerField()
    status = serializers.ChoiceField(choices=EFFECTIVE_STATUSES)
    current_space = serializers.IntegerField(allow_null=True)


class MessageOut(serializers.ModelSerializer):
    deleted = serializers.BooleanField(read_only=True)
    reactions = serializers.SerializerMethodField()
    attachments = AttachmentOut(many=True, read_only=True)
    sender_presence = serializers.SerializerMethodField()
    mentions = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Ids of the people it mentions (`@username`; `@here`: the participants with a live socket), only "
        "people who may read the conversation, never the sender.",
    )

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "seq", "rev", "kind", "sender", "body", "body_html", "mentions", "system",
            "reply_to", "thread_root", "reply_count", "reactions", "attachments", "client_id", "created_at",
            "edited_at", "deleted", "sender_presence",
        ]
        extra_kwargs = {
            "body": {"help_text": "The source text (Markdown); never insert it as HTML."},
            "body_html": {
                "help_text": "The server's rendering of `body` (a safe Markdown subset, sanitised): insert as HTML. "
                "Empty for a deleted message."
            },
            "thread_root": {
                "help_text": "The first message of the thread this one replies into (a reply to a reply belongs "
                "to the root's thread); null when it replies to nothing."
            },
            "reply_count": {"help_text": "Replies in this message's thread, not counting deleted ones."},
        }

    @extend_schema_field(ReactionOut(many=True))
    def get_reactions(self, obj: Message) -> list[dict]:
        user = self.context.get("user")
        return reactions_of(obj, user.id if user is not None else None)

    @extend_schema_field(SenderPresenceOut(allow_null=True))
    def get_sender_presence(self, obj: Message) -> dict | None:
        presence = getattr(obj.sender, "presence", None) if obj.sender_id else None
        if presence is None:
            return None
        return {"status": presence.effective_status, "current_space": presence.current_space_id}


_per_thread = threading.local()


def message_data(message: Message, user: Any = None) -> dict:
    """One message as `MessageOut(message, context={"user": user}).data` renders it, for the socket
    paths (the `message.*` event and the `message.send` ack). A new ModelSerializer introspects the
    model each time (about 0.3 ms); this one keeps its bound fields, one serializer per thread."""
    serializer = getattr(_per_thread, "message_out", None)
    if serializer is None:
        serializer = _per_thread.message_out = MessageOut()
    serializer._context = {"user": user} if user is not None else {}
    try:
        return serializer.to_representation(message)
    finally:
        serializer._context = {}


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "maxItems": settings.ATTACHMENT_MAX_COUNT,
        "description": f"Files (multipart only): at most {settings.ATTACHMENT_MAX_COUNT}, each at most "
        f"{settings.ATTACHMENT_MAX_BYTES} bytes, of the types {', '.join(settings.ATTACHMENT_ALLOWED_TYPES)}.",
    }
)
class AttachmentsField(serializers.ListField):
    """The files of a new message; their count, size and type are checked by messaging.services
    (errors `too_many_attachments`, `attachment_too_large`, `attachment_type`)."""

    child = serializers.FileField()


class MessageTextIn(serializers.Serializer):
    """A new message as JSON (the socket's `message.send` takes the same fields)."""

    error_codes: ClassVar = {"body.max_length": "body_too_long"}

    body = TextField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=settings.MESSAGE_MAX_LENGTH,
        help_text="Markdown source; may be empty when the message has attachments.",
    )
    client_id = TextField(
        required=False, allow_null=True, allow_blank=True, max_length=64,
        help_text="The sender's own id for this message: a retry with the same one returns the first message.",
    )
    reply_to = IdField(required=False, allow_null=True, help_text="A message of the same conversation.")


class MessageIn(MessageTextIn):
    """A new message as multipart form data: the same fields, plus files."""

    attachments = AttachmentsField(required=False)


class MessageEditIn(serializers.Serializer):
    patch_is_partial = False  # PATCH messages/{id}/ replaces the body: it is required (virtual_office.api)

    body = TextField(allow_blank=True, trim_whitespace=False, max_length=settings.MESSAGE_MAX_LENGTH)


class ReactionIn(serializers.Serializer):
    emoji = TextField(max_length=MAX_EMOJI_LENGTH)


class ReadIn(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0, max_value=MAX_ID, help_text="The seq of the last message read.")


class MessageListQuery(serializers.Serializer):
    """`GET conversations/{id}/messages/`: a keyset page by seq (a cursor past every seq is just far away)."""

    before = serializers.IntegerField(required=False, min_value=0)
    after = serializers.IntegerField(required=False, min_value=0)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=50)


class ChangesQuery(serializers.Serializer):
    since_rev = serializers.IntegerField(required=False, min_value=0, default=0)


# Socket frames: the same fields as REST, plus the conversation the URL names there.


class ConversationFrame(serializers.Serializer):
    """`watch` and `unwatch`."""

    conversation = IdField()


class MessageSendFrame(MessageTextIn, ConversationFrame):
    """`message.send`: MessageTextIn's fields, in a conversation."""


class TypingFrame(ConversationFrame):
    state = serializers.ChoiceField(choices=["start", "stop"])


class RevsField(serializers.Field):
    """`{conversation id: last rev}`: ids as JSON keys (strings of digits), revs as whole numbers."""

    default_error_messages = {
        "invalid": "`conversations` must map conversation ids to revs (whole numbers, 0 or more).",
        "too_many": "`conversations` must map at most {limit} conversation ids to revs.",
    }

    def to_internal_value(self, data: Any) -> dict[int, int]:
        if not isinstance(data, dict):
            self.fail("invalid")
        if len(data) > MAX_RESUME_CONVERSATIONS:
            self.fail("too_many", limit=MAX_RESUME_CONVERSATIONS)
        plan: dict[int, int] = {}
        for key, value in data.items():
            if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 19):
                self.fail("invalid")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
                self.fail("invalid")
            conversation_id = int(key)
            if not 1 <= conversation_id <= MAX_ID:
                self.fail("invalid")
            plan[conversation_id] = value
        return plan


class ResumeFrame(serializers.Serializer):
    error_codes: ClassVar = {"conversations": "invalid_resume"}

    conversations = RevsField()


class ConversationOut(serializers.Serializer):
    """A conversation as the requester sees it, with their unread count and read marker."""

    id = serializers.IntegerField(source="conversation.id", read_only=True)
    kind = serializers.ChoiceField(choices=Conversation.Kind.choices, source="conversation.kind")
    title = serializers.CharField(source="conversation.title", max_length=200)
    space = serializers.IntegerField(source="conversation.space_id", allow_null=True)
    rev = serializers.IntegerField(source="conversation.rev", min_value=0, max_value=MAX_ID)
    participants = serializers.SerializerMethodField()
    participants_presence = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField()
    last_message = serializers.SerializerMethodField()
    last_read_seq = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="conversation.created_at", read_only=True)
    last_activity_at = serializers.DateTimeField(source="conversation.last_activity_at", read_only=True)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_participants(self, row: ConversationRow) -> list[int]:
        active = row.active_participants
        if active is None:
            active = [p for p in row.conversation.participants.all() if p.is_active]
        return sorted(p.user_id for p in active)

    @extend_schema_field(ParticipantPresenceOut(many=True, allow_null=True))
    def get_participants_presence(self, row: ConversationRow) -> list[dict] | None:
        """Each active participant's presence (detail responses; null in the list, where `users/` and
        `presence.updated` keep it). Clients keep it live by applying `presence.updated`."""
        if row.active_participants is None:
            return None
        out = []
        for participant in sorted(row.active_participants, key=lambda p: p.user_id):
            presence = getattr(participant.user, "presence", None)
            out.append({
                "user": participant.user_id,
                "status": presence.effective_status if presence is not None else "offline",
                "current_space": presence.current_space_id if presence is not None else None,
            })
        return out

    def get_last_read_seq(self, row: ConversationRow) -> int:
        return row.my_participant.last_read_seq if row.my_participant is not None else 0

    @extend_schema_field(MessageOut(allow_null=True))
    def get_last_message(self, row: ConversationRow) -> dict | None:
        message = row.last_message
        return MessageOut(message, context=self.context).data if message is not None else None


class ConversationEventOut(serializers.ModelSerializer):
    """What every participant may see of a conversation (socket events: no per-user fields)."""

    participants = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = ["id", "kind", "title", "space", "rev", "participants", "created_at", "last_activity_at"]

    def get_participants(self, obj: Conversation) -> list[int]:
        return sorted(obj.participants.filter(is_active=True).values_list("user_id", flat=True))


class GroupIn(serializers.Serializer):
    title = TextField(required=False, allow_blank=True, max_length=200)
    participants = serializers.ListField(
        child=IdField(), allow_empty=False, min_length=1, help_text="People of your company (you are added anyway)."
    )


class ConversationPatchIn(serializers.Serializer):
    title = TextField(required=False, allow_blank=True, max_length=200)
    participants = serializers.ListField(
        child=IdField(), required=False, help_text="The whole new list (group managers only; you stay in)."
    )


class DirectIn(serializers.Serializer):
    user = IdField(help_text="A person of your company.")


class ThreadOut(serializers.Serializer):
    root = MessageOut(help_text="The thread's first message.")
    replies = MessageOut(many=True, help_text="Every reply in the thread that is not deleted, in seq order.")


class ChangesOut(serializers.Serializer):
    rev = serializers.IntegerField(
        help_text="The conversation's current rev; when `has_more`, the rev of the last message here (ask again "
        "from it)."
    )
    has_more = serializers.BooleanField(help_text="More changes follow: call again with since_rev=rev.")
    messages = MessageOut(many=True)
