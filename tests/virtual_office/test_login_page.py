"""Browser sign-in (/accounts/login/, /admin/login/): failed attempts are throttled per address and per
account, at the token endpoint's rates and in the same budgets, with a 429 page and Retry-After."""

import uuid

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory
from virtual_office import views

LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_throttle_cache(monkeypatch):
    """Each test counts login attempts in its own cache (the shared Redis cache serves other runs too)."""
    cache = LocMemCache(f"throttle-{uuid.uuid4()}", {})
    monkeypatch.setattr(views.LoginAddressThrottle, "cache", cache)
    monkeypatch.setattr(views.LoginAccountThrottle, "cache", cache)
    return cache


def sign_in(username: str, password: str, address: str = "10.0.0.1", url: str = LOGIN_URL, **data):
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password, **data})
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_failed_sign_in_shows_the_form_again_and_the_right_password_signs_in(alice):
    _, response = sign_in("alice", "wrong")
    assert response.status_code == 200 and b"didn't match" in response.content
    client, response = sign_in("alice", PASSWORD, next="/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in(client)


def test_sign_in_is_throttled_per_account(alice, company):
    # Ten failed guesses from ten addresses exhaust alice's account budget (login_account: 10/min)...
    for n in range(10):
        assert sign_in("alice", "wrong", address=f"10.1.0.{n}")[1].status_code == 200
    # ...so even the right password, from a fresh address and spelled differently, is refused for now.
    client, response = sign_in("ALICE ", PASSWORD, address="10.1.1.1")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    text = response.content.decode()
    assert "Too many failed sign-in attempts" in text and "before trying again" in text
    assert response["Content-Type"].startswith("text/html")
    assert not signed_in(client)
    # Another account from that address is not affected, and the form itself still shows.
    UserFactory(company=company, username="bob")
    client, response = sign_in("bob", PASSWORD, address="10.1.1.1")
    assert response.status_code == 302 and signed_in(client)
    assert Client(REMOTE_ADDR="10.1.1.1").get(LOGIN_URL).status_code == 200


def test_sign_in_is_throttled_per_address(alice):
    for n in range(30):  # login_address: 30/min
        assert sign_in(f"guess{n}", "wrong", address="10.2.0.1")[1].status_code == 200
    client, response = sign_in("alice", PASSWORD, address="10.2.0.1")
    assert response.status_code == 429 and not signed_in(client)
    # A forged X-Forwarded-For does not make a new address; the socket's address does.
    _, response = sign_in("alice", PASSWORD, address="10.2.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert response.status_code == 429
    client, response = sign_in("alice", PASSWORD, address="10.2.0.2")
    assert response.status_code == 302 and signed_in(client)


def test_a_throttled_attempt_checks_no_password(alice):
    for n in range(10):
        sign_in("alice", "wrong", address=f"10.3.0.{n}")
    checked = []

    def failed(sender, credentials, request, **kwargs):
        checked.append(credentials["username"])

    user_login_failed.connect(failed)
    try:
        assert sign_in("alice", "still wrong", address="10.3.1.1")[1].status_code == 429
    finally:
        user_login_failed.disconnect(failed)
    assert checked == []


def test_successes_and_incomplete_forms_do_not_count(alice):
    for _ in range(12):
        assert sign_in("alice", PASSWORD)[1].status_code == 302
    for _ in range(12):
        assert sign_in("alice", "")[1].status_code == 200  # no password tried
    assert sign_in("alice", PASSWORD)[1].status_code == 302


def test_browser_and_token_logins_share_one_budget(alice):
    api = APIClient(REMOTE_ADDR="10.4.0.1")
    for _ in range(10):
        assert api.post("/api/v1/auth/token/", {"username": "alice", "password": "x"}, format="json").status_code == 400
    assert sign_in("alice", PASSWORD, address="10.4.0.2")[1].status_code == 429

    UserFactory(company=alice.company, username="erin")
    for n in range(10):
        sign_in("erin", "wrong", address=f"10.4.1.{n}")
    response = APIClient(REMOTE_ADDR="10.4.2.1").post(
        "/api/v1/auth/token/", {"username": "erin", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 429 and response.json()["code"] == "throttled"


def test_the_admin_sign_in_is_throttled_too(company):
    UserFactory(company=company, username="ops", is_staff=True, is_superuser=True)
    for n in range(10):
        assert sign_in("ops", "wrong", address=f"10.5.0.{n}", url=ADMIN_LOGIN_URL)[1].status_code == 200
    client, response = sign_in("ops", PASSWORD, address="10.5.1.1", url=ADMIN_LOGIN_URL, next="/admin/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert 'href="/admin/login/?next=/admin/"' in response.content.decode()
    assert not signed_in(client)
    # The throttled page links back to a local `next` only.
    _, response = sign_in("ops", PASSWORD, address="10.5.1.1", next="https://evil.example/")
    assert response.status_code == 429 and "evil.example" not in response.content.decode()
