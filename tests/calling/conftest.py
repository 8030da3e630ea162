"""Fixtures for calling tests: people who are online (a call needs a reachable callee) and call shortcuts."""

import os
from collections.abc import Iterator

import pytest

from calling import services
from presence.models import Presence
from tests.servers import free_port, run_server


def set_presence(user, *, status: str = "online", connected: bool = True, space=None) -> None:
    """Presence as a live socket would leave it (the socket itself is not needed for service tests)."""
    Presence.objects.update_or_create(
        user=user, defaults={"status": status, "connected": connected, "current_space": space}
    )


@pytest.fixture
def online(alice, bob, carol):
    for user in (alice, bob, carol):
        set_presence(user)
    return set_presence


@pytest.fixture
def ring(online):
    """ring(caller, callee, kind="voice") -> a ringing Call."""

    def ring(caller, callee, kind: str = "voice"):
        return services.call_create(actor=caller, callee_id=callee.id, kind=kind)

    return ring


# -- real server processes -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker) -> Iterator[list[str]]:
    """Two daphne processes on the test database and one Redis (like two servers behind a balancer),
    with a 2 s ring and a 2 s teleport expiry. Yields their base URLs."""
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("server tests need PostgreSQL and Redis shared with the server processes")
    overrides = {
        "CALL_RING_SECONDS": "2",
        "TELEPORT_EXPIRY_SECONDS": "2",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    with run_server(free_port(), overrides) as first, run_server(free_port(), overrides) as second:
        yield [first.http_url, second.http_url]
