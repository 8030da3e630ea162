"""Reads of the company console: people, invitations, the audit log, the company's settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Max, Q, QuerySet

from console.models import AuditEvent, CompanySettings, Invitation
from spaces.models import Space
from virtual_office.models import User


def people_list(*, company_id: int, q: str = "", status: str = "") -> QuerySet[User]:
    """Everyone of the company, active or not (the console shows both), searched by name, username
    or email; `status` `active` / `inactive` / `admins` narrows it."""
    rows = (
        User.objects.filter(company_id=company_id)
        .select_related("presence")
        .order_by("-is_active", "display_name", "username")
    )
    q = q.strip()
    if q:
        rows = rows.filter(
            Q(username__icontains=q)
            | Q(display_name__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    if status == "active":
        rows = rows.filter(is_active=True)
    elif status == "inactive":
        rows = rows.filter(is_active=False)
    elif status == "admins":
        rows = rows.filter(is_company_admin=True)
    return rows


def person_get(*, company_id: int, user_id: int) -> User | None:
    return User.objects.filter(company_id=company_id, pk=user_id).first()


def invitation_list(*, company_id: int, pending_only: bool = False) -> QuerySet[Invitation]:
    rows = Invitation.objects.filter(company_id=company_id).select_related("invited_by", "accepted_by")
    if pending_only:
        rows = rows.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return rows


def invitation_get(*, company_id: int, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(company_id=company_id, pk=invitation_id).first()


def company_settings_get(*, company_id: int) -> CompanySettings | None:
    return CompanySettings.objects.filter(company_id=company_id).first()


def console_spaces(*, company_id: int) -> QuerySet[Space]:
    return Space.objects.filter(company_id=company_id).order_by("y", "x", "id")


def floor_bottom(*, company_id: int) -> int:
    """Where the company's floor ends downwards (0 for an empty floor)."""
    bottom = (
        Space.objects.filter(company_id=company_id)
        .annotate(bottom=F("y") + F("h"))
        .aggregate(lowest=Max("bottom"))["lowest"]
    )
    return int(bottom or 0)


@dataclass(frozen=True)
class AuditFilter:
    actor: int | None = None
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_list(*, company_id: int, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """The company's audit rows, newest first. `action` matches exactly, or a family with a trailing
    `.` or `*` (`user.` / `user.*`: every user.* action)."""
    rows = AuditEvent.objects.filter(company_id=company_id)
    if filters.actor is not None:
        rows = rows.filter(actor_id=filters.actor)
    if filters.action:
        family = filters.action.rstrip("*")
        rows = rows.filter(action__startswith=family) if family.endswith(".") else rows.filter(action=filters.action)
    if filters.since is not None:
        rows = rows.filter(created_at__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(created_at__lt=filters.until)
    return rows.order_by("-created_at", "-id")


def audit_actions(*, company_id: int) -> list[str]:
    """The actions this company's log holds, for the filter's choices."""
    return sorted(set(AuditEvent.objects.filter(company_id=company_id).values_list("action", flat=True).distinct()))


def audit_iter(*, company_id: int, filters: AuditFilter, chunk_size: int = 500) -> Iterator[AuditEvent]:
    """Every matching row, read in chunks (the CSV export streams a log of any length)."""
    return audit_list(company_id=company_id, filters=filters).iterator(chunk_size=chunk_size)


def audit_page(*, company_id: int, filters: AuditFilter, before: int | None, limit: int) -> list[AuditEvent]:
    """One keyset page, newest first: the `limit` rows after the row `before` in (created_at, id)
    order (an index range, however deep the page)."""
    rows = audit_list(company_id=company_id, filters=filters)
    if before is not None:
        cursor = (
            AuditEvent.objects.filter(company_id=company_id, pk=before).values_list("created_at", flat=True).first()
        )
        if cursor is None:
            return []
        rows = rows.filter(Q(created_at__lt=cursor) | Q(created_at=cursor, id__lt=before))
    return list(rows[:limit])
