"""Deliveries sent to a real local receiver: signed bodies the receiver verifies, only the events a
webhook asked for, retries with backoff after a 500, no redirect followed, and private addresses
refused again at send time (after resolving the name: DNS rebinding)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services as messaging_services
from spaces import services as space_services
from tests.factories import SpaceFactory, group_with, post
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

SECRET = "a-long-shared-secret-for-tests"


@pytest.fixture
def webhook(admin_user, receiver):
    return services.webhook_create(
        actor=admin_user, url=receiver.url, events=["message.created", "space.created"], secret=SECRET
    )


def _verified(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the HMAC of the raw body and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_a_message_is_delivered_signed(webhook, receiver, alice, bob, django_capture_on_commit_callbacks):
    chat = group_with(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        message = post(chat, alice, "hello hooks")
    [delivery] = Delivery.objects.all()
    assert services.deliveries_send_due() == 1
    [request] = receiver.requests
    assert request.path == "/hooks/vo?team=1"
    assert _verified(SECRET, request.body, request.headers["x-vo-signature"])
    assert not _verified("another secret", request.body, request.headers["x-vo-signature"])
    assert request.headers["x-vo-event"] == "message.created"
    assert request.headers["x-vo-delivery"] == str(delivery.id)
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["event"] == "message.created" and body["id"] == delivery.id
    assert body["company"] == alice.company_id
    assert body["data"]["id"] == message.id and body["data"]["body"] == "hello hooks"
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.error == ""


def test_only_the_configured_events_are_sent(
    admin_user, receiver, alice, bob, company, other_company, django_capture_on_commit_callbacks
):
    services.webhook_create(actor=admin_user, url=receiver.url, events=["space.created", "space.deleted"])
    with django_capture_on_commit_callbacks(execute=True):
        message = post(group_with(alice, bob), alice, "not for the hook")
        messaging_services.message_edit(actor=alice, message=message, body="still not")
        created = space_services.space_create(actor=admin_user, data={"name": "Library"})
        space_services.space_update(actor=admin_user, space=created, data={"name": "Reading room"})
        SpaceFactory(company=other_company, name="Not ours")
    with django_capture_on_commit_callbacks(execute=True):
        space_services.space_delete(actor=admin_user, space=created)
    services.deliveries_send_due()
    events = [(r.headers["x-vo-event"], json.loads(r.body)["data"]) for r in receiver.requests]
    assert [e for e, _ in events] == ["space.created", "space.deleted"]
    # Built at commit, as the socket's space events: the space as committed (renamed in the same transaction).
    assert events[0][1]["name"] == "Reading room" and events[1][1] == {"id": created.id}


def test_message_updates_and_deletions(admin_user, receiver, alice, bob, django_capture_on_commit_callbacks):
    services.webhook_create(actor=admin_user, url=receiver.url, events=["message.updated", "message.deleted"])
    message = post(group_with(alice, bob), alice, "draft")
    with django_capture_on_commit_callbacks(execute=True):
        messaging_services.message_edit(actor=alice, message=message, body="final")
    with django_capture_on_commit_callbacks(execute=True):
        messaging_services.message_delete(actor=alice, message=message)
    services.deliveries_send_due()
    assert [r.headers["x-vo-event"] for r in receiver.requests] == ["message.updated", "message.deleted"]
    assert json.loads(receiver.requests[0].body)["data"]["body"] == "final"


def test_a_rolled_back_change_sends_nothing(webhook, admin_user, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                SpaceFactory(company=admin_user.company)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == [] and not Delivery.objects.exists()


def _delivery(webhook: Webhook) -> Delivery:
    return Delivery.objects.create(
        webhook=webhook, event="space.created", body='{"x": 1}', next_attempt_at=timezone.now()
    )


def test_a_500_is_retried_with_backoff_then_succeeds(webhook, receiver):
    receiver.statuses = [500]
    delivery = _delivery(webhook)
    start = timezone.now()
    assert services.deliveries_send_due(now=start) == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at == start + timedelta(seconds=10)
    assert services.deliveries_send_due(now=start + timedelta(seconds=9)) == 0  # not due yet
    assert services.deliveries_send_due(now=start + timedelta(seconds=11)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2
    assert [(a.status_code, a.error) for a in delivery.attempt_log.all()] == [(500, "HTTP 500"), (200, "")]
    assert len(receiver.requests) == 2
    # The same signed body both times.
    assert receiver.requests[0].body == receiver.requests[1].body == b'{"x": 1}'


def test_after_the_last_backoff_step_the_delivery_fails(webhook, receiver):
    receiver.statuses = [500] * 10
    delivery = _delivery(webhook)
    moment = timezone.now()
    waits = []
    for _ in range(6):
        assert services.deliveries_send_due(now=moment) == 1
        delivery.refresh_from_db()
        waits.append(round((delivery.next_attempt_at - moment).total_seconds()))
        moment = delivery.next_attempt_at
    assert delivery.status == "failed" and delivery.attempts == 6
    assert waits[:5] == [10, 30, 120, 600, 3600]
    assert services.deliveries_send_due(now=moment + timedelta(days=1)) == 0


def test_no_redirect_is_followed(webhook, receiver):
    receiver.redirect_to = receiver.url.replace("/hooks/vo", "/elsewhere")
    delivery = _delivery(webhook)
    services.deliveries_send_due()
    assert [r.path for r in receiver.requests] == ["/hooks/vo?team=1"]
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert [(a.status_code, a.error) for a in delivery.attempt_log.all()] == [(302, "HTTP 302")]


def test_a_private_address_is_refused_at_send_time(webhook, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    delivery = _delivery(webhook)
    services.deliveries_send_due()
    assert receiver.requests == []
    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None and attempt.error.startswith("refused:")
    assert delivery.status == "pending" and delivery.attempts == 1


def test_dns_rebinding_is_refused(admin_user, receiver, settings, monkeypatch):
    """Registered while the name resolved to a public address; at send time it resolves to loopback."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    answer = {"address": "93.184.216.34"}
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))],
    )
    webhook = services.webhook_create(actor=admin_user, url="http://hooks.example.com/in", events=["space.created"])
    answer["address"] = "127.0.0.1"
    delivery = _delivery(webhook)
    services.deliveries_send_due()
    assert receiver.requests == []
    assert delivery.attempt_log.get().error.startswith("refused:")


def test_an_unreachable_receiver_is_logged_and_retried(webhook, receiver):
    Webhook.objects.filter(pk=webhook.pk).update(url="http://127.0.0.1:9/closed")
    delivery = _delivery(webhook)
    services.deliveries_send_due()
    delivery.refresh_from_db()
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and attempt.error and delivery.status == "pending"


def test_a_claimed_delivery_is_not_taken_twice(webhook):
    delivery = _delivery(webhook)
    now = timezone.now()
    assert [d.pk for d in services.deliveries_claim_due(now=now)] == [delivery.pk]
    assert services.deliveries_claim_due(now=now) == []  # leased to the first sender
