"""The company console's own rows: invitations, the company's settings and the audit log.

Invitations keep only a hash of their token (the link is shown and mailed once, at creation): a
copy of the database lets nobody sign up. The audit log is a plain table written by the services
and by signal receivers in the transaction of the change they record (see the README, "Running a
company", for why not django-pghistory).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from virtual_office.models import Company


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Company admin"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "-created_at"], name="invitation_company_recent")]

    def __str__(self) -> str:
        return f"{self.email} -> {self.company_id}"

    @property
    def status(self) -> str:
        """`accepted`, `revoked`, `expired` or `pending`."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


def logo_path(instance: CompanySettings, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "img"
    return f"company-logos/{instance.company_id}/logo.{extension}"


class CompanySettings(models.Model):
    """What a company admin sets for the whole company beyond its name (one row per company, made on
    first need). Later sections (single sign-on, webhooks) get their own rows, not columns here."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="console_settings")
    logo = models.FileField(upload_to=logo_path, blank=True)
    # The company's default status policy. `idle_minutes` null: the server's PRESENCE_IDLE_SECONDS.
    idle_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Quiet hours a person gets when they join (presence.QuietHours), until they set their own.
    quiet_timezone = models.CharField(max_length=64, blank=True)
    quiet_days = models.JSONField(default=list, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "company settings"

    def __str__(self) -> str:
        return f"settings of {self.company_id}"

    @property
    def has_quiet_hours(self) -> bool:
        return bool(self.quiet_days) and self.quiet_start is not None and self.quiet_end is not None


class AuditEvent(models.Model):
    """One administrative or security-relevant action. `company` is null for a failed sign-in with a
    username nobody has (operators see those in the Django admin)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acted, as they were named then (kept when the person is gone; the username tried for a
    # failed sign-in).
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="audit_company_recent"),
            models.Index(fields=["company", "action", "-created_at"], name="audit_company_action"),
            models.Index(fields=["company", "actor", "-created_at"], name="audit_company_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_name or '-'}"
