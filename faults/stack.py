"""The processes `make faults` runs: a private Redis, a fresh PostgreSQL database, N uvicorn workers and
a private nginx in front of them. Every process is started here and stopped here, by its PID.

Nothing here touches the shared Redis on 6379 or the system's nginx: Redis runs on a spare port with its
own pid file, nginx with its own prefix directory (`nginx -p DIR -c DIR/nginx.conf`, `daemon off;`).
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.render_nginx import private_values, render  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
SHARED_REDIS_PORT = 6379

# What the workers run with (see faults/README.md for why each differs from a default).
WORKER_ENV = {
    "DJANGO_SETTINGS_MODULE": "virtual_office.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_BEHIND_PROXY": "1",
    "WS_RATE_LIMIT": "1000000",  # the load clients are few users sending a lot
    "PRESENCE_OFFLINE_GRACE_SECONDS": "2",
    "CALL_RING_SECONDS": "3",
    "WS_SEND_QUEUE_MAX": "50",  # the slow-client check: frames that may wait for one socket
    "CHANNEL_PREFIX": "vo-faults",
    "DATABASE_POOL_SIZE": "20",  # two workers on a PostgreSQL with max_connections 100, shared
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
}


def free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port != SHARED_REDIS_PORT:
            return port


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def stop_process(proc: subprocess.Popen, grace: float = 8.0, sig: int = signal.SIGTERM) -> None:
    """Stop one process we started, by its PID: `sig`, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except ProcessLookupError:
        pass


class Redis:
    """A private redis-server on a spare port: no persistence, daemonized, its own pid file."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.pidfile = workdir / "redis.pid"
        self.logfile = workdir / "redis.log"
        self.dir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.pid: int | None = None

    def start(self, timeout: float = 10) -> None:
        subprocess.run(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "yes", "--pidfile", str(self.pidfile), "--dir", str(self.dir),
             "--logfile", str(self.logfile), "--maxclients", "10000"],
            check=True, capture_output=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pidfile.exists() and self.ping():
                self.pid = int(self.pidfile.read_text().strip())
                return
            time.sleep(0.05)
        raise RuntimeError(f"private redis on {self.port} did not start: {self.log_tail()}")

    def ping(self) -> bool:
        result = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=5)
        return result.stdout.strip() == "PONG"

    def shutdown(self, timeout: float = 10) -> None:
        """`redis-cli -p P shutdown nosave`; SIGKILL by PID if it is still there after `timeout`."""
        pid = self.pid
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=10)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid = None

    def stop(self) -> None:
        if self.pid is None and self.pidfile.exists():
            try:
                self.pid = int(self.pidfile.read_text().strip())
            except ValueError:
                self.pid = None
        if pid_alive(self.pid):
            self.shutdown()

    def log_tail(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-1500:]
        except OSError:
            return ""


class Database:
    """A fresh PostgreSQL database with a unique name, on the server of DATABASE_URL (default
    127.0.0.1:5432, user postgres, trust auth), created here and dropped here."""

    def __init__(self, server_url: str | None = None) -> None:
        server = urlsplit(server_url or os.environ.get("DATABASE_URL") or DEFAULT_PG)
        if not server.scheme.startswith("postgres"):
            server = urlsplit(DEFAULT_PG)  # SQLite cannot be shared by two workers
        self.name = f"vo_faults_{uuid.uuid4().hex[:10]}"
        self.admin_url = urlunsplit(server._replace(path="/postgres"))
        self.url = urlunsplit(server._replace(path=f"/{self.name}"))
        self.created = False

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def drop(self) -> None:
        if self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False

    def connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)


class Worker:
    """One uvicorn process serving the project (what bench runs as `uvicorn-sansio`)."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.env = env
        self.logfile = workdir / f"worker-{name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def command(self) -> list[str]:
        return [str(VENV_BIN / "uvicorn"), "virtual_office.asgi:application", "--host", "127.0.0.1",
                "--port", str(self.port), "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
                "--lifespan", "off", "--no-access-log", "--log-level", "warning"]

    def start(self) -> None:
        self.starts += 1
        log = open(self.logfile, "ab")
        log.write(f"\n===== start {self.starts} at {time.strftime('%H:%M:%S')} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)
        log.close()

    def wait_ready(self, timeout: float = 40) -> float:
        """Until the port answers HTTP (any status). Returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited: {self.log_tail()}")
            if listening(self.port) and self._answers():
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready on {self.port} after {timeout} s: {self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.settimeout(3)
                conn.sendall(b"GET /api/v1/me/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return conn.recv(16).startswith(b"HTTP/1.1")
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def rss_kb(self) -> int | None:
        return rss_kb(self.proc.pid) if self.alive() else None

    def errors(self) -> int:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return 0
        return text.count("Traceback")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Nginx:
    """A private nginx rendered from deploy/nginx.conf, in the foreground (`daemon off;`), stopped by PID."""

    def __init__(self, workdir: Path, upstream: list[str]) -> None:
        self.prefix = workdir / "nginx"
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.prefix / "nginx.conf"
        user = "root" if os.geteuid() == 0 else None  # the prefix directory is ours only
        self.conf.write_text(render(private_values(self.prefix, self.port, upstream, user=user,
                                                   debug_upstream_header=True)))
        self.proc: subprocess.Popen | None = None
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    def test_config(self) -> None:
        result = subprocess.run([self.binary, "-t", "-p", str(self.prefix), "-c", str(self.conf),
                                 "-e", str(self.prefix / "error.log")], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {result.stderr}")

    def start(self, timeout: float = 10) -> None:
        self.test_config()
        log = open(self.prefix / "stderr.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-p", str(self.prefix), "-c", str(self.conf),
                                      "-e", str(self.prefix / "error.log")], stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=raise_nofile)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'error.log').read_text(errors='replace')[-1500:]}")
            if listening(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not listen")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        workers = children_of(self.proc.pid)
        stop_process(self.proc, grace=10, sig=signal.SIGTERM)  # fast shutdown: closes every connection
        for pid in workers:  # only if the master had to be killed and left its own workers behind
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


class Stack:
    """Everything `make faults` starts, in start order; `stop()` undoes it all and is safe to call twice."""

    def __init__(self, workdir: Path, workers: int = 2) -> None:
        self.workdir = workdir
        self.redis = Redis(workdir)
        self.db = Database()
        self.env = dict(os.environ)
        for key in ("DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS"):
            self.env.pop(key, None)
        self.env.update(WORKER_ENV)
        self.env.update({
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis.url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        })
        self.workers = [Worker(chr(ord("A") + i), workdir, self.env) for i in range(workers)]
        self.nginx: Nginx | None = None

    def worker(self, name: str) -> Worker:
        return next(w for w in self.workers if w.name == name)

    def by_address(self, address: str | None) -> Worker | None:
        if not address:
            return None
        last = address.split(",")[-1].strip()  # after a failover nginx lists every worker it tried
        return next((w for w in self.workers if w.address == last), None)

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {result.stderr[-3000:]}")
        return result.stdout

    def python(self, *args: str, stdin: str = "", timeout: float = 300) -> str:
        result = subprocess.run([sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                input=stdin, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr[-3000:]}")
        return result.stdout

    def start_services(self) -> None:
        self.redis.start()
        self.db.create()

    def start_servers(self) -> None:
        for worker in self.workers:
            worker.start()
        for worker in self.workers:
            worker.wait_ready()
        self.nginx = Nginx(self.workdir, [w.address for w in self.workers])
        self.nginx.start()

    def stop(self) -> list[str]:
        """Stop everything (nginx, workers, redis) and drop the database; returns what went wrong."""
        problems = []
        steps = [("nginx", self.nginx.stop if self.nginx else None)]
        steps += [(f"worker {w.name}", w.stop) for w in self.workers]
        steps += [("redis", self.redis.stop), ("database", self.db.drop)]
        for name, step in steps:
            if step is None:
                continue
            try:
                step()
            except Exception as exc:
                problems.append(f"{name}: {exc}")
        return problems
