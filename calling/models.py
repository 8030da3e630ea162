"""Call and teleport invitations: they ring, expire, and move only forward through their states."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from virtual_office.models import Company


class Call(models.Model):
    class Kind(models.TextChoices):
        VOICE = "voice", "Voice"
        VIDEO = "video", "Video"

    class State(models.TextChoices):
        RINGING = "ringing", "Ringing"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"
        MISSED = "missed", "Missed"
        ENDED = "ended", "Ended"

    ACTIVE_STATES = (State.RINGING, State.ACCEPTED)

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="calls")
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_made")
    callee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calls_received")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RINGING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The callee's status when the call rang (presence.policy): `busy` rings quietly.
    callee_status = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            models.Index(fields=["caller", "state"]),
            models.Index(fields=["callee", "state"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(caller=models.F("callee")), name="call_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} call {self.caller_id} -> {self.callee_id} ({self.state})"

    @property
    def effective_state(self) -> str:
        """A ringing call past its expiry is missed, even before the expiry sweep has written it."""
        if self.state == self.State.RINGING and self.expires_at <= timezone.now():
            return self.State.MISSED
        return self.state

    @property
    def duration_seconds(self) -> int | None:
        if self.answered_at and self.ended_at:
            return int((self.ended_at - self.answered_at).total_seconds())
        return None


class Teleport(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="teleports")
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teleports_sent")
    invitee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teleports_received")
    space = models.ForeignKey("spaces.Space", on_delete=models.CASCADE, related_name="teleports")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "expires_at"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(inviter=models.F("invitee")), name="teleport_not_self"),
        ]

    def __str__(self) -> str:
        return f"teleport {self.inviter_id} -> {self.invitee_id} ({self.state})"

    @property
    def effective_state(self) -> str:
        """A pending invitation past its expiry is expired, even before the expiry sweep has written it."""
        if self.state == self.State.PENDING and self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.state
