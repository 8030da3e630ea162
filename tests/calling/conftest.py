"""Fixtures for calling tests: people who are online (a call needs a reachable callee) and call shortcuts."""

import pytest

from calling import services
from presence.models import Presence


def set_presence(user, *, status: str = "online", connected: bool = True, space=None) -> None:  # noqa: ANN001
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

    def ring(caller, callee, kind: str = "voice"):  # noqa: ANN001, ANN202
        return services.call_create(actor=caller, callee_id=callee.id, kind=kind)

    return ring


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The factories set passwords; PBKDF2 would make each test's setup take a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
