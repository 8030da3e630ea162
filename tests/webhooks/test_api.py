"""Webhooks over REST: company admins only (members 403, another company's admin 404), the events and
URL checked at registration (private addresses refused unless allowed), query counts of the lists."""

from __future__ import annotations

import socket

import pytest

from tests.factories import UserFactory
from webhooks.models import Attempt, Delivery, Webhook

pytestmark = pytest.mark.django_db

EVENTS = ["message.created", "space.created"]


def _register(client, url: str, **extra):
    return client.post("/api/v1/webhooks/", {"url": url, "events": EVENTS, **extra}, format="json")


def test_an_admin_registers_lists_and_removes(api, admin_user, receiver):
    client = api(admin_user)
    response = _register(client, receiver.url, secret="s" * 32)
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == receiver.url and body["events"] == EVENTS and body["secret"] == "s" * 32
    listed = client.get("/api/v1/webhooks/").json()
    assert [w["id"] for w in listed] == [body["id"]]
    assert client.get(f"/api/v1/webhooks/{body['id']}/deliveries/").json() == []
    assert client.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not Webhook.objects.exists()


def test_a_secret_is_made_when_none_is_given(api, admin_user, receiver):
    body = _register(api(admin_user), receiver.url).json()
    assert len(body["secret"]) == 64


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "http://example.com/", "events": []},
        {"url": "http://example.com/", "events": ["message.reacted"]},
        {"url": "not a url", "events": EVENTS},
        {"url": "http://example.com/", "events": EVENTS, "secret": "short"},
        {"events": EVENTS},
    ],
)
def test_bad_input_is_a_400(api, admin_user, payload):
    assert api(admin_user).post("/api/v1/webhooks/", payload, format="json").status_code == 400


def test_a_url_must_be_http(api, admin_user):
    response = _register(api(admin_user), "ftp://example.com/hooks")
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_url_invalid"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://240.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_private_addresses_are_refused_without_the_setting(api, admin_user, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = _register(api(admin_user), url)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "webhook_url_private"
    assert not Webhook.objects.exists()


def test_a_name_resolving_to_a_private_address_is_refused(api, admin_user, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))],
    )
    response = _register(api(admin_user), "https://hooks.example.com/in")
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_url_private"


def test_an_unresolvable_host_is_refused(api, admin_user, monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    response = _register(api(admin_user), "https://nowhere.invalid/in")
    assert response.status_code == 400
    assert response.json()["code"] == "webhook_url_unresolvable"


def test_members_get_403_everywhere(api, alice, admin_user, receiver):
    webhook_id = _register(api(admin_user), receiver.url).json()["id"]
    client = api(alice)
    assert client.get("/api/v1/webhooks/").status_code == 403
    assert _register(client, receiver.url).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{webhook_id}/").status_code == 403
    assert client.get(f"/api/v1/webhooks/{webhook_id}/deliveries/").status_code == 403
    assert api(None).get("/api/v1/webhooks/").status_code in (401, 403)


def test_another_companys_admin_gets_404(api, admin_user, other_company, receiver):
    webhook_id = _register(api(admin_user), receiver.url).json()["id"]
    outsider = api(UserFactory(company=other_company, is_company_admin=True))
    assert outsider.get("/api/v1/webhooks/").json() == []
    response = outsider.delete(f"/api/v1/webhooks/{webhook_id}/")
    assert response.status_code == 404 and response.json()["code"] == "webhook_not_found"
    assert outsider.get(f"/api/v1/webhooks/{webhook_id}/deliveries/").status_code == 404
    assert Webhook.objects.filter(pk=webhook_id).exists()


def test_deliveries_before_must_be_an_id(api, admin_user, receiver):
    webhook_id = _register(api(admin_user), receiver.url).json()["id"]
    response = api(admin_user).get(f"/api/v1/webhooks/{webhook_id}/deliveries/?before=x")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_before"


def test_list_queries_do_not_grow(api, admin_user, receiver, django_assert_max_num_queries):
    client = api(admin_user)
    for _ in range(5):
        _register(client, receiver.url)
    webhook = Webhook.objects.first()
    for i in range(8):
        delivery = Delivery.objects.create(
            webhook=webhook, event="space.created", body="{}", next_attempt_at=webhook.created_at
        )
        for code in (500, 200):
            Attempt.objects.create(delivery=delivery, status_code=code, duration_ms=i)
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/v1/webhooks/").json()) == 5
    with django_assert_max_num_queries(4):
        rows = client.get(f"/api/v1/webhooks/{webhook.id}/deliveries/").json()
    assert len(rows) == 8 and [a["status_code"] for a in rows[0]["log"]] == [500, 200]
    older = client.get(f"/api/v1/webhooks/{webhook.id}/deliveries/?before={rows[3]['id']}").json()
    assert [r["id"] for r in older] == [r["id"] for r in rows[4:]]
