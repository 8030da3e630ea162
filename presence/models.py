"""Presence: each person's chosen status, where they are, and the live sockets that make them online."""

from django.conf import settings
from django.db import models


class Presence(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        BUSY = "busy", "Busy"
        DND = "dnd", "Do not disturb"

    OFFLINE = "offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ONLINE)
    current_space = models.ForeignKey(
        "spaces.Space", on_delete=models.SET_NULL, null=True, blank=True, related_name="presences"
    )
    connected = models.BooleanField(default=False, help_text="Has at least one live socket.")
    last_seen = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["current_space"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.effective_status})"

    @property
    def effective_status(self) -> str:
        """`offline` is derived: a chosen status only shows while a socket is open."""
        return self.status if self.connected else self.OFFLINE


class Connection(models.Model):
    """One open WebSocket. Rows are the shared truth about who is connected, across server processes."""

    channel_name = models.CharField(max_length=200, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections")
    server_id = models.CharField(max_length=64, db_index=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.server_id}"
