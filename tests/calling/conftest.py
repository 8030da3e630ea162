"""Fixtures for calling tests: people who are online (a call needs a reachable callee) and call shortcuts."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


# -- real server processes -----------------------------------------------------------------------

SERVER_PORTS = range(
    int(os.environ.get("CALLING_PORT_FIRST", "8150")), int(os.environ.get("CALLING_PORT_LAST", "8154")) + 1
)


def _free_ports(count: int) -> list[int]:
    ports = []
    for port in SERVER_PORTS:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as daphne does: TIME_WAIT is fine
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"need {count} free ports in {SERVER_PORTS.start}-{SERVER_PORTS.stop - 1}")


def _test_database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker) -> Iterator[list[str]]:  # noqa: ANN001
    """Two daphne processes on the test database and one Redis (like two servers behind a balancer),
    with a 2 s ring and a 2 s teleport expiry. Yields their base URLs."""
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("server tests need PostgreSQL and Redis shared with the server processes")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(connection.settings_dict["NAME"]),
        "CALL_RING_SECONDS": "2",
        "TELEPORT_EXPIRY_SECONDS": "2",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
    }
    daphne = Path(sys.executable).with_name("daphne")
    processes: list[tuple[subprocess.Popen, Path]] = []
    urls = []
    try:
        for port in _free_ports(2):
            log_path = Path(tempfile.gettempdir()) / f"vo-calling-server-{port}.log"
            with log_path.open("w") as log:  # the child keeps its own copy of the descriptor
                process = subprocess.Popen(
                    [str(daphne), "-b", "127.0.0.1", "-p", str(port), "virtual_office.asgi:application"],
                    cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                )
            processes.append((process, log_path))
            urls.append(f"http://127.0.0.1:{port}")
        for (process, log_path), url in zip(processes, urls, strict=True):
            deadline = time.monotonic() + 40
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"daphne exited early:\n{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"daphne did not answer /healthz in time; see {log_path}")
                time.sleep(0.3)
        yield urls
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
