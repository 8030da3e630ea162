"""Spaces (rooms on a company's floor), the meetings held in them, and knocks on their doors."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from virtual_office.models import Company


class Space(models.Model):
    class Kind(models.TextChoices):
        OFFICE = "office", "Office"
        MEETING_ROOM = "meeting_room", "Meeting room"
        LOUNGE = "lounge", "Lounge"
        FOCUS = "focus", "Focus room"
        KITCHEN = "kitchen", "Kitchen"
        STAGE = "stage", "Stage"

    class Status(models.TextChoices):
        AVAILABLE = "available", "Available"
        IN_USE = "in_use", "In use"
        CLOSED = "closed", "Closed"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="spaces")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OFFICE)
    capacity = models.PositiveIntegerField(default=8)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AVAILABLE)
    is_private = models.BooleanField(default=False)
    x = models.PositiveIntegerField(default=0)
    y = models.PositiveIntegerField(default=0)
    w = models.PositiveIntegerField(default=200)
    h = models.PositiveIntegerField(default=140)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company_id", "y", "x", "id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="space_unique_name_per_company"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="space_capacity_positive"),
        ]
        permissions = [("enter_space", "Can enter a private space")]

    def __str__(self) -> str:
        return self.name


class SpaceUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Space, on_delete=models.CASCADE)


class SpaceGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Space, on_delete=models.CASCADE)


class Meeting(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=200)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["space"], condition=models.Q(ended_at__isnull=True), name="meeting_one_open_per_space"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def duration_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())


class Knock(models.Model):
    """Someone asks the people inside a space they may not simply enter (private to them, full,
    holding a meeting) to let them in. Its status only moves forward, by conditional UPDATEs in
    `spaces.services`: pending -> admitted | denied | expired (after `KNOCK_SECONDS`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ADMITTED = "admitted", "Admitted"
        DENIED = "denied", "Denied"
        EXPIRED = "expired", "Expired"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="knocks")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="knocks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knocks")
    note = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        # The expiry sweep's range scan, and "is this person already knocking here?".
        indexes = [
            models.Index(fields=["status", "expires_at"], name="knock_status_expiry"),
            models.Index(fields=["space", "user", "status"], name="knock_space_user_status"),
        ]

    def __str__(self) -> str:
        return f"knock by {self.user_id} on {self.space_id} ({self.status})"

    @property
    def effective_status(self) -> str:
        """A pending knock past its expiry is expired, even before the sweep has written it."""
        if self.status == self.Status.PENDING and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status
