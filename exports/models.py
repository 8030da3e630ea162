"""An export: a zip of JSON files with a company's data (`company`) or one person's messages (`mine`),
built in the background; its row tells how far the build got."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from virtual_office.models import Company


def export_path(export: Export, filename: str) -> str:
    return f"exports/{export.company_id}/{filename}"


class Export(models.Model):
    class Scope(models.TextChoices):
        COMPANY = "company"
        MINE = "mine"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.COMPANY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=export_path, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Bumped by the build as it goes: a running export not bumped for EXPORT_STALE_SECONDS was left by
    # a process that died, and is marked failed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="export_status_idx"),
            models.Index(fields=["company", "requested_by", "-id"], name="export_company_user_idx"),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.scope}, {self.status})"
