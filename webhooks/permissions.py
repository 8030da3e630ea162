"""Webhooks are for company admins of their own company: another company's webhook is a 404."""

from __future__ import annotations

from virtual_office.errors import NotFound
from virtual_office.models import User
from webhooks import selectors
from webhooks.models import Webhook


def access_webhook(admin: User, webhook_id: int) -> Webhook:
    webhook = selectors.webhook_get(company_id=admin.company_id or 0, webhook_id=webhook_id)
    if webhook is None:
        raise NotFound("No such webhook.", code="webhook_not_found")
    return webhook
