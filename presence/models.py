"""Presence: each person's chosen status, where they are, and the live sockets that make them online.

What others see (status, status_reason, ...) is computed from a row by `presence.status.resolve`:
the manual status wins, then the automatic states (quiet hours, a call or meeting, idle).
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from presence.status import Availability, resolve


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
    # The manual status (`status` other than online) and the text and emoji end together here.
    status_text = models.CharField(max_length=100, blank=True, default="")
    status_emoji = models.CharField(max_length=32, blank=True, default="")
    status_until = models.DateTimeField(null=True, blank=True)
    # What the person is engaged in, told by the layers above: {"in_call": ["call.12"], ...}; each
    # engagement holds while it has a source (a call, a space's meeting, later a space's talk).
    engagements = models.JSONField(default=dict, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True, help_text="Latest action from any tab.")
    # What was last announced of the states that begin by the clock alone (the refresh job compares
    # them with the truth and saves, hence announces, the difference).
    idle = models.BooleanField(default=False)
    # The company's idle time (CompanyIdlePolicy), held on each row so reads need no join; null: the
    # server's PRESENCE_IDLE_SECONDS.
    idle_seconds = models.PositiveIntegerField(null=True, blank=True)
    quiet_until = models.DateTimeField(null=True, blank=True, help_text="End of the quiet hours in progress.")

    class Meta:
        indexes = [models.Index(fields=["current_space"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.effective_status})"

    @property
    def effective_status(self) -> str:
        """What others see: `offline` without a live socket, else the manual status or an automatic one."""
        return self.availability().status

    def availability(self, now: datetime | None = None) -> Availability:
        return resolve(self, now or timezone.now())

    @property
    def manual_status(self) -> str:
        """The status set by hand that still holds (`online`: none)."""
        if self.status_until is not None and self.status_until <= timezone.now():
            return self.Status.ONLINE
        return self.status


class CompanyIdlePolicy(models.Model):
    """A company's own idle time (its console's default status policy); its people's Presence rows
    carry a copy (`Presence.idle_seconds`), set here and when someone joins."""

    company = models.OneToOneField("virtual_office.Company", on_delete=models.CASCADE, related_name="idle_policy")
    idle_seconds = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"idle after {self.idle_seconds} s in {self.company_id}"


class QuietHours(models.Model):
    """A person's weekly quiet hours: `dnd` (reason `schedule`) inside them. `days` are ISO weekdays
    minus one (0 = Monday); a window whose end is before its start crosses midnight and belongs to
    the day it starts."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours")
    timezone = models.CharField(max_length=64)
    days = models.JSONField(default=list)
    start = models.TimeField()
    end = models.TimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quiet hours"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.days} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"


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
