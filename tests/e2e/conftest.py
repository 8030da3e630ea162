"""Browser-test fixtures: a real daphne process on the test database with Redis, headless Chromium,
and signed-in pages that fail the test on any console error.

These tests run in their own pytest process (`make test-e2e`, `-m e2e`, DJANGO_ALLOW_ASYNC_UNSAFE=true):
Playwright's sync API keeps an event loop running in the main thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.factories import SpaceFactory
from tests.servers import free_port, run_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

@pytest.fixture(scope="session")
def live_server_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("browser tests need PostgreSQL shared with a server process (set DATABASE_URL)")
    if not os.environ.get("REDIS_URL"):
        pytest.skip("browser tests need Redis shared with a server process (set REDIS_URL)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    port = free_port()
    overrides = {
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        # Long enough that the tests' network cuts do not count as going offline (which leaves the space).
        "PRESENCE_OFFLINE_GRACE_SECONDS": "8",
    }
    with run_server(port, overrides) as server:
        yield server.http_url


@pytest.fixture(scope="session", autouse=True)
def flush_survives_deadlocks():
    """The server process keeps working after a test ends (closing sockets, settling presence), and
    the database flush between tests can deadlock with it; PostgreSQL then aborts the flush. Retry it."""
    from django.core.management.base import CommandError
    from django.core.management.commands import flush
    from django.db import OperationalError

    original = flush.Command.handle

    def handle(self, **options):
        for attempt in range(6):
            try:
                return original(self, **options)
            except CommandError as error:
                cause = error.__cause__
                if not (isinstance(cause, OperationalError) and "deadlock" in str(cause)) or attempt == 5:
                    raise
                time.sleep(0.2 * (attempt + 1))

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def events_reach_the_server(monkeypatch):
    """Writes made by the test itself publish their events to Redis like the server's would.

    Playwright's sync API runs an event loop in this thread, where `async_to_sync` refuses to run:
    publish from a short-lived thread instead."""
    from virtual_office.realtime import publish as realtime

    publish, publish_many = realtime.send_now, realtime.send_many_now

    def in_a_thread(target, *args) -> None:
        worker = threading.Thread(target=target, args=args)
        worker.start()
        worker.join(timeout=10)

    monkeypatch.setattr(realtime, "send_now", lambda group, message: in_a_thread(publish, group, message))
    monkeypatch.setattr(realtime, "send_many_now", lambda messages: in_a_thread(publish_many, messages))


# Spaces several browser tests walk into.
@pytest.fixture
def lounge(company):
    return SpaceFactory(company=company, name="Lounge", kind="lounge", capacity=6, x=20, y=20, w=320, h=180)


@pytest.fixture
def kitchen(company):
    return SpaceFactory(company=company, name="Kitchen", kind="kitchen", capacity=1, x=360, y=20, w=220, h=180)


MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def media_browser(browser):
    """A second Chromium from the same Playwright, with a fake camera and microphone (calls)."""
    media = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + MEDIA_ARGS)
    yield media
    media.close()


@pytest.fixture(scope="session")
def browser(live_server_url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class OfficePage:
    """One signed-in browser context on the office page, with everything its console said."""

    page: object
    context: object
    user: object
    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def wait_connected(self, timeout: float = 10_000) -> None:
        try:
            self.page.wait_for_function(
                "() => window.office && window.office.socket.state === 'open' && window.office.socket.everOpened",
                timeout=timeout,
            )
        except Exception as error:
            state = self.page.evaluate("() => window.office ? window.office.socket.state : 'no window.office'")
            raise AssertionError(f"the page never connected ({state}); browser errors: {self.errors}") from error

    def allow(self, fragment: str) -> None:
        """Console errors containing `fragment` are expected in this test (e.g. a 409 the UI shows)."""
        self.allowed.append(fragment)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(fragment in e for fragment in self.allowed)]


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def open_office_page(
    browser, base_url: str, user, *, width: int = 1280, height: int = 860, route=None
) -> OfficePage:
    """A new browser context signed in as `user`, on `/` with its socket open. Console errors,
    uncaught exceptions and Content-Security-Policy violations are recorded on the OfficePage."""
    context = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url)
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": base_url}])
    page = context.new_page()
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    office = OfficePage(page=page, context=context, user=user)
    page.on("console", lambda message: message.type == "error" and office.errors.append(message.text))
    page.on("pageerror", lambda error: office.errors.append(f"pageerror: {error}"))
    if route is not None:
        page.route_web_socket("**/ws/", route)
    page.goto("/")
    office.wait_connected()
    return office


@pytest.fixture
def open_office(browser, live_server_url: str) -> Iterator[Callable[..., OfficePage]]:
    """`open_office(user, width=1280, height=860)`: a new browser context signed in as `user` on `/`.

    At teardown every page must have logged no console error and thrown no uncaught exception."""
    opened: list[OfficePage] = []

    def open_page(user, *, width: int = 1280, height: int = 860, route=None) -> OfficePage:
        office = open_office_page(browser, live_server_url, user, width=width, height=height, route=route)
        opened.append(office)
        return office

    yield open_page
    problems = {}
    for office in opened:
        errors = office.unexpected_errors()
        if errors:
            problems[office.user.username] = errors
        office.context.close()
    settle_disconnects([office.user for office in opened])
    assert not problems, f"console errors in the browser: {problems}"


def settle_disconnects(users: list, timeout: float = 5.0) -> None:
    """Let the server finish closing the pages' sockets before the test database is flushed, so its
    disconnect writes do not contend with the flush."""
    from presence.models import Connection

    deadline = time.monotonic() + timeout
    while Connection.objects.filter(user__in=users).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class SocketValve:
    """Sits between a page and the server's /ws/ (Playwright WebSocket routing): can hold the page's
    frames of chosen actions, drop the server's frames of chosen types, or cut the connection and
    refuse new ones until restored."""

    def __init__(self) -> None:
        self.drop_types: dict[str, int] = {}  # server frame type -> how many more to drop
        self.dropped: list[str] = []
        self.hold_actions: set[str] = set()
        self.held: list[tuple[object, str]] = []
        self.routes: list[tuple[object, object]] = []
        self.cut = False

    def __call__(self, route) -> None:
        if self.cut:
            route.close(code=4000, reason="network down")
            return
        server = route.connect_to_server()
        self.routes.append((route, server))

        def from_page(message: str | bytes) -> None:
            import json

            if self.cut:
                return
            try:
                action = json.loads(message).get("action")
            except (ValueError, AttributeError):
                action = None
            if action in self.hold_actions:
                self.held.append((server, message))
            else:
                server.send(message)

        route.on_message(from_page)

        def from_server(message: str | bytes) -> None:
            import json

            try:
                kind = json.loads(message).get("type")
            except (ValueError, AttributeError):
                kind = None
            if self.drop_types.get(kind, 0) > 0:
                # Lost on the way, as an at-most-once channel layer may lose it.
                self.drop_types[kind] -= 1
                self.dropped.append(message)
                return
            route.send(message)

        server.on_message(from_server)

    def release(self) -> None:
        held, self.held = self.held, []
        for server, message in held:
            server.send(message)

    def disconnect(self) -> None:
        """Network down: close every routed socket and refuse reconnects until `restore()`."""
        self.cut = True
        routes, self.routes = self.routes, []
        for route, server in routes:
            server.close()
            route.close(code=4000, reason="network down")

    def restore(self) -> None:
        self.cut = False
