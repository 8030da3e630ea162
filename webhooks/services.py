"""Every write of webhooks: registering and removing one, queueing a delivery for each webhook that
asked for an event, and sending due deliveries (claimed with SKIP LOCKED, so any number of sender
threads and processes share the work), with exponential backoff after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from virtual_office.errors import Forbidden, ServiceError
from virtual_office.models import User
from virtual_office.tenancy import company_id_of
from webhooks import addresses
from webhooks.models import EVENTS, Attempt, Delivery, Webhook

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt; after the last one the delivery is failed.
BACKOFF_SECONDS = [10, 30, 120, 600, 3600]
# A sender holds a claimed delivery this long (beyond its own timeout) before another may retry it.
LEASE_SECONDS = 60
CLAIM_BATCH = 10
RESPONSE_READ_LIMIT = 64 * 1024

# Called after deliveries were queued: wakes this process's sender (webhooks.jobs sets it).
deliveries_queued_hooks: list[Callable[[], None]] = []


def _require_admin(actor: User) -> int:
    company_id = company_id_of(actor)
    if not actor.is_company_admin:
        raise Forbidden("Only company admins can manage webhooks.")
    return company_id


def webhook_create(*, actor: User, url: str, events: Iterable[str], secret: str = "") -> Webhook:
    company_id = _require_admin(actor)
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if not chosen or unknown:
        raise ServiceError("webhook_events_invalid", f"Choose events among {', '.join(EVENTS)}.")
    addresses.resolve(url)
    return Webhook.objects.create(
        company_id=company_id, url=url, events=chosen, secret=secret or secrets.token_hex(32), created_by=actor
    )


def webhook_delete(*, actor: User, webhook: Webhook) -> None:
    _require_admin(actor)
    webhook.delete()


def signature(secret: str, body: bytes) -> str:
    """The `X-VO-Signature` header: `sha256=` and the hex HMAC-SHA256 of the body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliveries_queue(
    *, company_id: int, event: str, data: dict[str, Any] | Callable[[], dict[str, Any]]
) -> list[Delivery]:
    """Queue `event` for each of the company's webhooks that asked for it (run after the change's
    commit, so nothing is sent for a rolled-back change). `data` may be a callable, built only when
    some webhook wants the event."""
    webhooks = [w for w in Webhook.objects.filter(company_id=company_id) if event in w.events]
    if not webhooks:
        return []
    if callable(data):
        data = data()
    now = timezone.now()
    queued = []
    with transaction.atomic():
        for webhook in webhooks:
            delivery = Delivery.objects.create(webhook=webhook, event=event, body="", next_attempt_at=now)
            body = {
                "id": delivery.id,
                "event": event,
                "company": company_id,
                "created_at": now.isoformat(),
                "data": data,
            }
            delivery.body = json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)
            delivery.save(update_fields=["body"])
            queued.append(delivery)
        for hook in deliveries_queued_hooks:
            transaction.on_commit(hook, robust=True)
    return queued


def deliveries_claim_due(*, now: datetime, limit: int = CLAIM_BATCH) -> list[Delivery]:
    """Take up to `limit` due deliveries for this sender, leased so no other sender takes them."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:limit]
        )
        if rows:
            lease = now + timedelta(seconds=LEASE_SECONDS + settings.WEBHOOK_TIMEOUT_SECONDS)
            Delivery.objects.filter(pk__in=[d.pk for d in rows]).update(next_attempt_at=lease)
    return rows


def _post(webhook: Webhook, delivery: Delivery) -> int:
    """POST the delivery's body to the webhook's URL (checked again here, at the address connected
    to); the response's status. No redirect is followed: a 3xx is an answer like any other."""
    target = addresses.resolve(webhook.url)
    body = delivery.body.encode()
    headers = {
        "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "VirtualOffice-Webhooks/1",
        "X-VO-Event": delivery.event,
        "X-VO-Delivery": str(delivery.id),
        "X-VO-Signature": signature(webhook.secret, body),
    }
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        # Connected to the checked address; the certificate is still verified for the host's name.
        pool = urllib3.HTTPSConnectionPool(
            target.addresses[0],
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            timeout=timeout,
            retries=False,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.addresses[0], target.port, timeout=timeout, retries=False, maxsize=1)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        response.read(RESPONSE_READ_LIMIT)
        response.release_conn()
        return response.status
    finally:
        pool.close()


def delivery_send(delivery: Delivery, *, now: datetime | None = None) -> Delivery:
    """One attempt at a claimed delivery, logged (status code, error, duration); a 2xx succeeds it,
    anything else waits for the next backoff step, and after the last step it is failed."""
    now = now or timezone.now()
    webhook = delivery.webhook
    status_code: int | None = None
    error = ""
    started = time.monotonic()
    try:
        status_code = _post(webhook, delivery)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except ServiceError as refused:
        error = f"refused: {refused.message}"
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
    duration_ms = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        Attempt.objects.create(delivery=delivery, status_code=status_code, error=error[:300], duration_ms=duration_ms)
        delivery.attempts += 1
        if not error:
            delivery.status = Delivery.Status.SUCCEEDED
            delivery.delivered_at = timezone.now()
        elif delivery.attempts > len(BACKOFF_SECONDS):
            delivery.status = Delivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[delivery.attempts - 1])
        delivery.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at"])
    return delivery


def deliveries_send_due(*, now: datetime | None = None) -> int:
    """Send every due delivery (as of `now`); the number of attempts made."""
    sent = 0
    while True:
        moment = now or timezone.now()
        batch = deliveries_claim_due(now=moment)
        if not batch:
            return sent
        # In the order they were queued (a receiver sees space.created before space.deleted).
        claimed = Delivery.objects.select_related("webhook").filter(pk__in=[d.pk for d in batch]).order_by("id")
        for delivery in claimed:
            delivery_send(delivery, now=moment)
            sent += 1
