"""Reads of exports."""

from __future__ import annotations

from django.db.models import QuerySet

from exports.models import Export
from virtual_office.models import User


def export_get(*, company_id: int, export_id: int) -> Export | None:
    return Export.objects.filter(company_id=company_id, pk=export_id).first()


def export_list(*, user: User, scope: str, limit: int = 10) -> QuerySet[Export]:
    """The newest exports a page shows: the company's (to its admins), or the person's own."""
    rows = Export.objects.filter(company_id=user.company_id or 0, scope=scope)
    if scope == Export.Scope.MINE:
        rows = rows.filter(requested_by=user)
    return rows.select_related("requested_by").order_by("-id")[:limit]
