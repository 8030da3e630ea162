"""Input and output shapes of notifications."""

from datetime import datetime

from rest_framework import serializers

from messaging.models import Message
from notifications.models import Notification
from presence.api.serializers import MeOut
from virtual_office.inputs import IdField

EXCERPT_LENGTH = 140


class NotificationOut(serializers.Serializer):
    """A notification: `{id, kind, actor, conversation, message, space, call, created_at, read}` (ids;
    unused ones null), and `excerpt`, the start of the message's text as it is now (empty without one)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    conversation = serializers.IntegerField(source="conversation_id", allow_null=True)
    message = serializers.IntegerField(source="message_id", allow_null=True)
    space = serializers.IntegerField(source="space_id", allow_null=True)
    call = serializers.IntegerField(source="call_id", allow_null=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()
    excerpt = serializers.SerializerMethodField()

    def get_excerpt(self, obj: Notification) -> str:
        return excerpt(obj)


def excerpt(notification: Notification) -> str:
    return message_excerpt(notification.message)  # loaded with the row (notifications.selectors)


def message_excerpt(message: Message | None) -> str:
    if message is None or message.deleted_at is not None:
        return ""
    text = " ".join(message.body.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


_CREATED_AT = serializers.DateTimeField()


def notification_row(notification: Notification) -> dict:
    """Exactly what NotificationOut renders, without a serializer per row: a message to a group of a
    thousand announces a thousand notifications at its commit (about 100 µs each through the
    serializer, a few here). A test keeps the two equal."""
    n = notification
    return {
        "id": n.id,
        "kind": str(n.kind),
        "actor": n.actor_id,
        "conversation": n.conversation_id,
        "message": n.message_id,
        "space": n.space_id,
        "call": n.call_id,
        "created_at": _CREATED_AT.to_representation(n.created_at),
        "read": n.read_at is not None,
        "excerpt": excerpt(n),
    }


def message_notification_rows(message: Message, created_at: datetime, made: list[tuple[int, str]]) -> list[dict]:
    """`notification_row` of each notification (id, kind) just made about `message` at `created_at`:
    they differ only in id and kind, so the rest is rendered once (a group of a thousand members is a
    thousand of them per message). A test keeps them equal to NotificationOut."""
    common = {
        "actor": message.sender_id,
        "conversation": message.conversation_id,
        "message": message.id,
        "space": message.conversation.space_id,
        "call": None,
        "created_at": _CREATED_AT.to_representation(created_at),
        "read": False,
        "excerpt": message_excerpt(message),
    }
    return [{"id": id_, "kind": kind, **common} for id_, kind in made]


class NotificationListQuery(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread ones (`1`).")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=100)
    before = IdField(required=False, help_text="Older than this notification id (the next page).")


class NotificationReadIn(serializers.Serializer):
    """One of: `ids` (these), `all: true` (every unread one), `conversation` (those about it)."""

    ids = serializers.ListField(child=IdField(strict=True), required=False, max_length=500)
    all = serializers.BooleanField(required=False, default=False)
    conversation = IdField(required=False, strict=True)

    def validate(self, attrs: dict) -> dict:
        given = [key for key in ("ids", "conversation") if key in attrs] + (["all"] if attrs.get("all") else [])
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give exactly one of `ids` (a list), `all: true` or `conversation`.", code="invalid_read"
            )
        return attrs


class NotificationReadOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
    notifications_unread = serializers.IntegerField(help_text="How many are still unread.")


class MeWithInboxOut(MeOut):
    """`me/`: the current user, with company and presence, and how many notifications are unread."""

    notifications_unread = serializers.IntegerField(read_only=True)

    class Meta(MeOut.Meta):
        fields = [*MeOut.Meta.fields, "notifications_unread"]
