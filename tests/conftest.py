"""Shared fixtures: two companies with people, API clients, and an event capture over on_commit."""

import gc
import os

import pytest
from rest_framework.test import APIClient

from tests.contract_events import contract_violations
from tests.factories import CompanyFactory, SpaceFactory, UserFactory


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs the unit tests on two workers) each worker process has its
    own test database (pytest-django names it per worker); its channel layer, rate limits and other
    shared keys get their own Redis prefix too, and so do the servers it starts (they read
    CHANNEL_PREFIX), so that two workers' groups `user.1` never meet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    prefix = f"{os.environ.get('CHANNEL_PREFIX', 'vo')}-{worker}"
    os.environ["CHANNEL_PREFIX"] = prefix
    from django.conf import settings

    config_of_layer = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    if "prefix" in config_of_layer:
        config_of_layer["prefix"] = prefix


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher(request):
    """Tests create many users; a real password hash costs ~100 ms each and proves nothing here.
    Not for browser runs: their server process must verify the hashes with the real hashers."""
    from django.conf import settings

    markexpr = request.config.getoption("-m") or ""
    if "e2e" in markexpr and "not e2e" not in markexpr:
        return
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def health_probes_closed(django_db_setup):
    """/healthz keeps its probe connections open; they end before the test database is dropped."""
    yield
    from virtual_office import health

    health.close_all()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets a channel layer of its own, as each server process has. channels-redis keeps
    asyncio locks per channel prefix in the layer object; a receive still pending when an earlier
    test's event loop closed leaves one locked and bound to that dead loop, and every later receive
    through the same object failed with "bound to a different event loop" (the hub then delivered
    only what its own inbox held)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield


@pytest.fixture(autouse=True)
def frozen_garbage_collected():
    """A hub freezes the collector's objects whenever a socket opens (`Hub.socket_opened`); in a
    server that is what its open sockets hold. In the test process it also froze each finished
    test's garbage, such as the database connections of its event loop's worker threads, and those
    were never closed: the suite ran PostgreSQL out of connections. After a test that froze
    anything, the garbage is collected and what lives is frozen again (as `Hub.collect_garbage`)."""
    before = gc.get_freeze_count()
    yield
    if gc.get_freeze_count() > before:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


@pytest.fixture
def company(db):
    return CompanyFactory(name="Acme", slug="acme")


@pytest.fixture
def other_company(db):
    return CompanyFactory(name="Globex", slug="globex")


@pytest.fixture
def alice(company):
    return UserFactory(company=company, username="alice", display_name="Alice Archer")


@pytest.fixture
def bob(company):
    return UserFactory(company=company, username="bob", display_name="Bob Baker")


@pytest.fixture
def carol(company):
    return UserFactory(company=company, username="carol", display_name="Carol Clark")


@pytest.fixture
def admin_user(company):
    return UserFactory(company=company, username="boss", display_name="Dana Boss", is_company_admin=True)


@pytest.fixture
def mallory(other_company):
    """A user of another company: must never see Acme's objects."""
    return UserFactory(company=other_company, username="mallory", display_name="Mallory Moss")


@pytest.fixture
def space(company):
    return SpaceFactory(company=company, name="Lounge", capacity=3)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    return client_for


@pytest.fixture
def capture_events(django_capture_on_commit_callbacks, monkeypatch):
    """Collects (group, message) pairs that would be sent after commit; rollback leaves it empty. At the
    end of the test, every event collected is checked against the contract (`tests/contract_events.py`)."""
    from virtual_office.realtime import publish as realtime

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "send_now", lambda group, message: sent.append((group, message)))
    monkeypatch.setattr(realtime, "send_many_now", lambda messages: sent.extend((m["group"], m) for m in messages))

    class Capture:
        def __init__(self) -> None:
            self.sent = sent

        def __call__(self):
            return django_capture_on_commit_callbacks(execute=True)

        def types(self, group: str | None = None) -> list[str]:
            return [m["event"]["type"] for g, m in sent if "event" in m and (group is None or g == group)]

    capture = Capture()
    yield capture
    # Every event a service emitted in this test keeps to the contract's event list and shapes.
    problems = [p for _, m in sent if "event" in m for p in contract_violations(m["event"])]
    assert not problems, problems


@pytest.fixture(autouse=True)
def presence_frames_uncoalesced(settings):
    """Socket tests count frames exactly: each presence change goes out at once unless a test
    (tests/realtime/test_faults.py) measures the coalescing itself."""
    settings.PRESENCE_COALESCE_SECONDS = 0


@pytest.fixture(autouse=True)
def no_background_exports_or_webhooks(settings):
    """No export builder or webhook sender thread in the test process (a hub started by a socket
    test would start them, outside the test's database access); tests/exports and tests/webhooks
    build and send by hand, and browser tests' server process runs them as in production."""
    settings.EXPORT_BUILD_IN_THREAD = False
    settings.WEBHOOK_SEND_IN_THREAD = False


@pytest.fixture(autouse=True)
def private_reset_throttle_cache(monkeypatch):
    """Each test counts password reset requests in its own cache (the shared Redis cache outlives a
    run, and the hourly budget would run out over a few runs)."""
    import uuid

    from django.core.cache.backends.locmem import LocMemCache

    from virtual_office import accounts

    cache = LocMemCache(f"reset-throttle-{uuid.uuid4()}", {})
    monkeypatch.setattr(accounts.PasswordResetAddressThrottle, "cache", cache)
    monkeypatch.setattr(accounts.PasswordResetAccountThrottle, "cache", cache)
    return cache
