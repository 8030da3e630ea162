"""Real server processes for tests: daphne on the test database, started and stopped by PID.

    with run_server(8130, {"PRESENCE_OFFLINE_GRACE_SECONDS": "1"}) as server:
        server.http_url, server.ws_url  # http://127.0.0.1:8130, ws://127.0.0.1:8130/ws/

Inside a pytest-django test the process uses the current test database (so use
`@pytest.mark.django_db(transaction=True)`: rows must be committed to be seen) and inherits
REDIS_URL and CHANNEL_PREFIX, so several servers share one channel layer. `env_overrides` wins
over everything (e.g. another DATABASE_URL). Output goes to a log file whose tail is shown when the
server fails to start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPOSITORY = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


@dataclass
class Server:
    port: int
    pid: int
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def current_database_url() -> str | None:
    """DATABASE_URL of the database Django is using now (the test database inside a test run)."""
    try:
        from django.db import connection

        settings = connection.settings_dict
    except Exception:
        return None
    if "postgresql" not in settings["ENGINE"]:
        if str(settings["NAME"]).startswith(("file:", ":memory:")) or "mode=memory" in str(settings["NAME"]):
            raise RuntimeError("an in-memory SQLite test database cannot be shared with a server process")
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings.get("USER") or "", safe="")
    password = quote(settings.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings.get("HOST") or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings['NAME']}"


def free_port() -> int:
    """A TCP port nobody listens on right now (several test runs may share the machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def server_command(kind: str, port: int) -> list[str]:
    """daphne (what `make run` serves with) or uvicorn as in production (README, deploy/)."""
    bin_dir = Path(sys.executable).parent
    app = "virtual_office.asgi:application"
    if kind == "daphne":
        return [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(port), app]
    if kind == "uvicorn":
        return [
            str(bin_dir / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio",
            "--lifespan", "off", "--no-access-log",
        ]
    raise ValueError(f"unknown server {kind!r}")


@contextmanager
def run_server(port: int, env_overrides: dict[str, str] | None = None, *, kind: str = "daphne") -> Iterator[Server]:
    """Start daphne (or uvicorn) on 127.0.0.1:`port`, wait until /healthz answers 200, stop it (by PID)."""
    if _port_taken(port):
        # Waiting for /healthz would be answered by whatever listens there: refuse instead.
        raise RuntimeError(f"port {port} is already in use")
    env = dict(os.environ)
    database_url = current_database_url()
    if database_url:
        env["DATABASE_URL"] = database_url
    env.setdefault("DJANGO_SETTINGS_MODULE", "virtual_office.settings")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(env_overrides or {})
    log = tempfile.NamedTemporaryFile(prefix=f"{kind}-{port}-", suffix=".log", delete=False)
    process = subprocess.Popen(
        server_command(kind, port),
        cwd=REPOSITORY,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(port=port, pid=process.pid, log_path=Path(log.name))
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(server.http_url):
            if process.poll() is not None:
                raise RuntimeError(f"server on port {port} exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} not healthy after {START_TIMEOUT} s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log.close()
