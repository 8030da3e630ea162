"""Conversations (direct, group, room), their participants, messages, reactions and attachments.

Every durable change in a conversation takes the next value of `Conversation.rev` inside the
writing transaction (see `services._next_rev`), so revisions are gapless and in commit order.
"""

import secrets

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from virtual_office.models import Company


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", "Direct"
        GROUP = "group", "Group"
        ROOM = "room", "Room"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="conversations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=200, blank=True)
    space = models.OneToOneField(
        "spaces.Space", on_delete=models.CASCADE, null=True, blank=True, related_name="conversation"
    )
    # "low:high" user ids of a direct conversation: one direct conversation per pair.
    direct_key = models.CharField(max_length=64, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rev = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "direct_key"], name="conversation_one_direct_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(kind="room") | models.Q(space__isnull=False), name="conversation_room_has_space"
            ),
        ]
        permissions = [("manage_conversation", "Can rename a group and change its participants")]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} #{self.pk}"


class ConversationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Conversation, on_delete=models.CASCADE)


class ConversationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Conversation, on_delete=models.CASCADE)


class Participant(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    is_active = models.BooleanField(default=True)
    last_read_seq = models.BigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)

    # `is_active` as stored before this save (None for a new row): set by the pre_save receiver in
    # messaging.signals for the post_save one, which tells joins and leaves apart.
    _was_active: bool | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="participant_unique"),
        ]
        indexes = [models.Index(fields=["user", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class Message(models.Model):
    class Kind(models.TextChoices):
        USER = "user", "User"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    rev = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USER)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    body = models.TextField(blank=True)  # the source text (Markdown)
    # The server's rendering of `body` (messaging.text), sanitised: safe to insert as HTML. Kept in
    # step with `body` by the services; empty for a tombstone.
    body_html = models.TextField(blank=True, default="")
    # Ids of the people it mentions (`@username`, `@here`), only ever people who may read the
    # conversation; other apps (notifications) read it from the saved row.
    mentions = models.JSONField(default=list, blank=True)
    system = models.JSONField(null=True, blank=True)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    # The first message of the thread this one replies into: a reply to a reply belongs to the root's
    # thread. Null for a message that replies to nothing.
    thread_root = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="thread_replies"
    )
    # Replies in this message's thread that are not deleted (kept by the services on create / delete).
    reply_count = models.PositiveIntegerField(default=0)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["sender", "client_id"], condition=models.Q(client_id__isnull=False), name="message_client_id"
            ),
        ]
        indexes = [models.Index(fields=["conversation", "rev"], name="message_conv_rev")]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # A random directory per file: stored names cannot be guessed from a company id and a file name
    # (files are served only through the access-checked download, never from MEDIA_ROOT).
    return f"attachments/{instance.company_id}/{secrets.token_urlsafe(16)}/{filename}"


class Attachment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments", null=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
