"""A person's notifications: what happened for them while they were not looking (a mention, a reply
in their thread, a direct message no tab of theirs was watching, a missed call or teleport, a knock).

One message gives a person at most one notification (a partial unique constraint on recipient and
message); which kind it is, is decided when it is made (`notifications.services`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from virtual_office.models import Company


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        DIRECT = "direct", "Direct message"
        THREAD_REPLY = "thread_reply", "Reply in my thread"
        CALL_MISSED = "call_missed", "Missed call"
        TELEPORT_MISSED = "teleport_missed", "Missed teleport"
        KNOCK = "knock", "Knock"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    space = models.ForeignKey("spaces.Space", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    call = models.ForeignKey("calling.Call", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The inbox: my newest first (keyset on id), and my unread ones (list and count).
            models.Index(fields=["recipient", "-id"], name="notification_recipient"),
            models.Index(
                fields=["recipient", "-id"], condition=models.Q(read_at__isnull=True), name="notification_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "message"],
                condition=models.Q(message__isnull=False),
                name="notification_one_per_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"

    @property
    def read(self) -> bool:
        return self.read_at is not None
