"""The console's webhooks pages: company admins of the webhook's company only."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import UserFactory
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_adds_a_webhook_and_reads_its_log(admin_user, receiver):
    client = _client(admin_user)
    page = client.get("/manage/webhooks/")
    assert page.status_code == 200 and b"No webhooks yet." in page.content
    response = client.post("/manage/webhooks/", {"url": receiver.url, "events": ["space.created"], "secret": ""})
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/manage/webhooks/{webhook.id}/"
    assert webhook.events == ["space.created"] and len(webhook.secret) == 64
    Delivery.objects.create(webhook=webhook, event="space.created", body="{}", next_attempt_at=webhook.created_at)
    services.deliveries_send_due()
    detail = client.get(f"/manage/webhooks/{webhook.id}/")
    assert detail.status_code == 200
    assert b"HTTP 200" in detail.content and b"Succeeded" in detail.content
    assert client.post(f"/manage/webhooks/{webhook.id}/remove/").status_code == 302
    assert not Webhook.objects.exists()


def test_a_private_url_is_refused_on_the_page(admin_user, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = _client(admin_user).post("/manage/webhooks/", {"url": "http://127.0.0.1/x", "events": ["space.created"]})
    assert response.status_code == 400
    assert b"not a public address" in response.content
    assert not Webhook.objects.exists()


def test_members_and_other_companies(admin_user, alice, other_company, receiver):
    webhook = services.webhook_create(actor=admin_user, url=receiver.url, events=["space.created"])
    member = _client(alice)
    assert member.get("/manage/webhooks/").status_code == 403
    assert member.get(f"/manage/webhooks/{webhook.id}/").status_code == 403
    assert member.post(f"/manage/webhooks/{webhook.id}/remove/").status_code == 403
    outsider = _client(UserFactory(company=other_company, is_company_admin=True))
    assert receiver.url.encode() not in outsider.get("/manage/webhooks/").content
    assert outsider.get(f"/manage/webhooks/{webhook.id}/").status_code == 404
    assert outsider.post(f"/manage/webhooks/{webhook.id}/remove/").status_code == 404
    assert Webhook.objects.filter(pk=webhook.pk).exists()


def test_the_console_nav_links_export_and_webhooks(admin_user):
    content = _client(admin_user).get("/manage/webhooks/").content
    assert b'href="/manage/export/"' in content and b'href="/manage/webhooks/" aria-current="page"' in content
