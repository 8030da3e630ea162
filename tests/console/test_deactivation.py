"""Deactivating a person signs them out everywhere at once: their sessions and API tokens end, and
their open sockets close with 4401 (not at the next periodic credentials check)."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.authtoken.models import Token

from console import services
from tests.factories import PASSWORD
from tests.realtime.sockets import close_all, closed_with, collect, connect, connect_with_headers, wait_for


def signed_in_sessions(user, n: int) -> list[Client]:
    clients = []
    for _ in range(n):
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        clients.append(client)
    return clients


@pytest.mark.django_db
def test_sessions_and_tokens_end(admin_user, alice, bob):
    alices = signed_in_sessions(alice, 2)
    bobs = signed_in_sessions(bob, 1)
    Token.objects.create(user=alice)
    bob_token = Token.objects.create(user=bob)
    assert all(c.get("/").status_code == 200 for c in alices)
    person = services.user_deactivate(actor=admin_user, person=alice)
    assert not person.is_active
    assert not Token.objects.filter(user=alice).exists()
    for client in alices:
        assert client.get("/").status_code == 302  # to the login page
    # Nobody else is signed out.
    assert bobs[0].get("/").status_code == 200 and Token.objects.filter(pk=bob_token.pk).exists()
    assert Session.objects.count() == 1
    # A deactivated person cannot sign in again, by form or token.
    assert not Client().login(username="alice", password=PASSWORD)
    from rest_framework.test import APIClient

    answer = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert answer.status_code == 400


@pytest.mark.django_db(transaction=True)
async def test_open_sockets_close_at_once(admin_user, alice, bob, settings):
    settings.WS_AUTH_CHECK_SECONDS = 600  # not the periodic check: the deactivation itself
    token = await database_sync_to_async(Token.objects.create)(user=alice)
    tab = await connect(alice)
    api_client = await connect_with_headers([(b"authorization", f"Token {token.key}".encode())])
    assert (await api_client.receive_json_from(timeout=3))["type"] == "hello"
    other = await connect(bob)
    for socket in (tab, api_client, other):
        await collect(socket, quiet=0.2)
    await database_sync_to_async(services.user_deactivate)(actor=admin_user, person=alice)
    assert await closed_with(tab, timeout=2) == 4401
    assert await closed_with(api_client, timeout=2) == 4401
    await other.send_json_to({"action": "ping", "ref": "p"})
    assert (await wait_for(other, "pong", timeout=3))["ref"] == "p"  # bob's socket stays open
    await close_all(other)
