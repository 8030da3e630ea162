"""Who reaches an export: a company export, the company admins of its company; a person's own
export, that person only. Anyone else gets 404 (another company's, or another person's own), except a
colleague who is not an admin asking for a company export: 403."""

from __future__ import annotations

from exports import selectors
from exports.models import Export
from virtual_office.errors import Forbidden, NotFound
from virtual_office.models import User


def access_export(user: User, export_id: int) -> Export:
    export = selectors.export_get(company_id=user.company_id or 0, export_id=export_id)
    if export is None or (export.scope == Export.Scope.MINE and export.requested_by_id != user.id):
        raise NotFound("No such export.", code="export_not_found")
    if export.scope == Export.Scope.COMPANY and not (user.is_company_admin and user.is_active):
        raise Forbidden("Only company admins can see the company's exports.")
    return export
