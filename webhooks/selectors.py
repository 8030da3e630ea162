"""Reads of webhooks: a company's webhooks, and a webhook's delivery log with its attempts."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from webhooks.models import Attempt, Delivery, Webhook

DELIVERIES_PAGE = 50


def webhook_get(*, company_id: int, webhook_id: int) -> Webhook | None:
    return Webhook.objects.filter(company_id=company_id, pk=webhook_id).first()


def webhook_list(*, company_id: int) -> QuerySet[Webhook]:
    return Webhook.objects.filter(company_id=company_id).order_by("id")


def delivery_list(*, webhook: Webhook, before: int | None = None, limit: int = DELIVERIES_PAGE) -> list[Delivery]:
    """Newest first, each with its attempts (two queries however many); `before` pages back by id."""
    rows = Delivery.objects.filter(webhook=webhook)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return list(
        rows.defer("body")
        .prefetch_related(Prefetch("attempt_log", queryset=Attempt.objects.order_by("id")))
        .order_by("-id")[:limit]
    )
