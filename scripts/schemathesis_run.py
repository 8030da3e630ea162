"""Fuzz the REST API against its own OpenAPI schema with schemathesis (`make schema-check`).

Creates a fresh database (on the PostgreSQL of DATABASE_URL when it is reachable, else a temporary
SQLite file), migrates and seeds it (`seed_demo --json`, for a company admin's token), starts
uvicorn on a spare port of 127.0.0.1 with the in-memory channel layer and cache (nothing shared with
other runs), and runs `schemathesis run` on /api/schema/ with Token auth, the seeded ids bound to
most path and body ids (a generated config), a bounded number of examples per operation and a time
budget. Checks: no server errors, every status code and response body documented by the schema,
content types as documented. Then stops the server by its PID, drops the database, prints a
summary and exits non-zero on any failure (or a server traceback, or schemathesis not finishing).

    .venv/bin/python scripts/schemathesis_run.py [--max-examples N] [--max-time S] [--seed N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

REPOSITORY = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/virtual_office"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
]
START_TIMEOUT = 60.0
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def log(text: str) -> None:
    print(f"[schema-check] {text}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=2):
            return True
    except OSError:
        return False


class FreshDatabase:
    """A database of its own for this run: `vo_schemathesis_<random>` on PostgreSQL, dropped at the end."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.admin_url: str | None = None
        self.name: str | None = None
        self.sqlite_path: Path | None = None
        base = os.environ.get("DATABASE_URL") or DEFAULT_DB
        if base.startswith("postgres") and reachable(base):
            parsed = urlparse(base)
            self.name = f"vo_schemathesis_{uuid.uuid4().hex[:10]}"
            self.admin_url = urlunparse(parsed._replace(path="/postgres"))
            self.url = urlunparse(parsed._replace(path=f"/{self.name}"))
        else:
            handle, path = tempfile.mkstemp(prefix="vo-schemathesis-", suffix=".sqlite3")
            os.close(handle)
            self.sqlite_path = Path(path)
            self.url = f"sqlite:///{path}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> None:
        if self.name:
            self._admin(f'CREATE DATABASE "{self.name}"')
            log(f"database: PostgreSQL {self.name}")
        else:
            log(f"database: SQLite {self.sqlite_path} (PostgreSQL not reachable)")

    def drop(self) -> None:
        if self.keep:
            log(f"kept database {self.url}")
            return
        if self.name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.sqlite_path:
            self.sqlite_path.unlink(missing_ok=True)


def server_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "virtual_office.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            # A generous socket budget: the fuzzer is one client sending many requests quickly.
            "WS_RATE_LIMIT": "100000",
            # Invitations and resets write mail: kept in memory, never sent to whatever listens on :25.
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    env.pop("REDIS_URL", None)  # the in-memory layer and cache: no counters shared with other runs
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPOSITORY, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def admin_token(seed_output: str) -> str:
    seeded = json.loads(seed_output)
    for company in seeded["companies"]:
        for user in company["users"]:
            if user["is_company_admin"]:
                return user["token"]
    raise RuntimeError("seed_demo made no company admin")


def healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    log_file = log_path.open("wb")
    command = [
        str(BIN / "uvicorn"), "virtual_office.asgi:application", "--host", "127.0.0.1", "--port", str(port),
        "--lifespan", "off", "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(f"http://127.0.0.1:{port}"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError(f"uvicorn did not become healthy:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    log(f"uvicorn pid {process.pid} on http://127.0.0.1:{port}")
    return process


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    log(f"stopped uvicorn pid {process.pid}")


def api_get(base_url: str, token: str, path: str) -> list | dict:
    request = urllib.request.Request(f"{base_url}{path}", headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def toml_list(values: list[int]) -> str:
    return "[" + ", ".join(str(value) for value in sorted(set(values))) + "]"


def write_config(path: Path, base_url: str, token: str) -> None:
    """A schemathesis.toml that binds ids to objects the token's user can see, most of the time:
    random ids alone nearly always meet a 404 and never reach the logic behind it."""
    conversations = api_get(base_url, token, "/api/v1/conversations/")
    messages = [c["last_message"]["id"] for c in conversations if c.get("last_message")]
    ids = {
        "conversations": [c["id"] for c in conversations],
        "messages": messages,
        "users": [u["id"] for u in api_get(base_url, token, "/api/v1/users/")],
        "spaces": [s["id"] for s in api_get(base_url, token, "/api/v1/spaces/")],
    }
    bindings = {
        "path.conversation_id": "conversations",
        "path.message_id": "messages",
        "path.space_id": "spaces",
        "body.reply_to": "messages",
        "body.user": "users",
        "body.callee": "users",
        "body.invitee": "users",
        "body.space": "spaces",
        "body.participants[*]": "users",
    }
    lines = ["[dictionaries]"]
    lines += [f"{name} = {{ values = {toml_list(values)} }}" for name, values in ids.items() if values]
    lines += ["", "[parameters]"]
    lines += [
        f'"{key}" = {{ dictionary = "{name}", probability = 0.8 }}' for key, name in bindings.items() if ids[name]
    ]
    path.write_text("\n".join(lines) + "\n")
    log("ids bound: " + ", ".join(f"{len(values)} {name}" for name, values in ids.items()))


def summarise(ndjson_path: Path) -> dict:
    """Figures from schemathesis' ndjson event stream: operations tested, test cases, and the
    distinct failures (operation, check, message) per check, as schemathesis counts them."""
    operations: set[str] = set()
    unique: dict[str, set[tuple[str, str]]] = {}
    examples = 0
    errors: list[str] = []
    if not ndjson_path.exists():
        return {"operations": 0, "examples": 0, "failures": {}, "failing": {}, "errors": ["no report written"]}
    for line in ndjson_path.read_text().splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"].get("recorder") or {}
            label = recorder.get("label") or "?"
            cases = recorder.get("cases") or {}
            if cases and label.split(" ", 1)[0] in HTTP_METHODS:  # not "Stateful tests"
                operations.add(label)
            examples += len(cases)
            for check_list in (recorder.get("checks") or {}).values():
                for check in check_list:
                    if check.get("status") == "failure":
                        failure = (check.get("failure_info") or {}).get("failure") or {}
                        message = str(failure.get("message", "")).split("\n", 1)[0]
                        # Stateful scenarios name the operation in the failure itself.
                        where = failure.get("operation") or label
                        unique.setdefault(check["name"], set()).add((where, f"{failure.get('title')}: {message}"))
        elif "NonFatalError" in event:
            payload = event["NonFatalError"]
            errors.append(f"{payload.get('label')}: {payload.get('info', {}).get('message', payload)}")
    return {
        "operations": len(operations),
        "examples": examples,
        "failures": {name: len(found) for name, found in unique.items()},
        "failing": {name: sorted(found) for name, found in unique.items()},
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=20, help="test cases per operation and phase (20)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to repeat a run")
    parser.add_argument(
        "--max-time", type=int, default=140,
        help="schemathesis' time budget in seconds: fuzzing and stateful rounds repeat until it is spent (140)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the report directory")
    args = parser.parse_args()

    database = FreshDatabase(keep=args.keep)
    report_dir = Path(tempfile.mkdtemp(prefix="vo-schemathesis-report-"))
    server_log = report_dir / "uvicorn.log"
    process: subprocess.Popen | None = None
    started = time.monotonic()
    try:
        database.create()
        env = server_env(database.url)
        manage(env, "migrate", "--noinput", "-v", "0")
        token = admin_token(manage(env, "seed_demo", "--json"))
        port = free_port()
        process = start_server(env, port, server_log)
        config = report_dir / "schemathesis.toml"
        write_config(config, f"http://127.0.0.1:{port}", token)
        command = [
            str(BIN / "schemathesis"), "--config-file", str(config), "run", f"http://127.0.0.1:{port}/api/schema/",
            "--header", f"Authorization: Token {token}",
            "--checks", ",".join(CHECKS),
            "--max-examples", str(args.max_examples),
            "--max-time", str(args.max_time),
            "--request-timeout", "10",
            "--workers", "1",
            "--suppress-health-check", "all",
            "--report", "ndjson",
            "--report-dir", str(report_dir),
            "--report-ndjson-path", str(report_dir / "events.ndjson"),
            "--output-sanitize", "true",
        ]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        log("running: " + " ".join(part if "Token" not in part else "Authorization: Token ***" for part in command))
        # Run from the report directory: schemathesis keeps a cache directory where it runs.
        try:
            result = subprocess.run(
                command, cwd=report_dir, env={**os.environ, "NO_COLOR": "1"}, check=False, timeout=args.max_time + 60
            )
            schemathesis_status = result.returncode
        except subprocess.TimeoutExpired:
            log(f"schemathesis did not stop within {args.max_time + 60} s")
            schemathesis_status = -1
    finally:
        if process is not None:
            stop_server(process)
        database.drop()

    summary = summarise(report_dir / "events.ndjson")
    server_errors = server_log.read_text(errors="replace").count("Traceback") if server_log.exists() else 0
    total_failures = sum(summary["failures"].values())
    log("summary")
    print(f"  operations tested      {summary['operations']}")
    print(f"  test cases             {summary['examples']}")
    print(f"  unique failures        {total_failures}")
    for check in CHECKS:
        count = summary["failures"].get(check, 0)
        print(f"    {check:<28} {count}")
        for label, message in summary["failing"].get(check, [])[:20]:
            print(f"      {label}: {message[:150]}")
    print(f"  errors                 {len(summary['errors'])}")
    for error in summary["errors"][:10]:
        print(f"    {error[:200]}")
    print(f"  server tracebacks      {server_errors}")
    print(f"  schemathesis exit      {schemathesis_status}")
    print(f"  took                   {time.monotonic() - started:.0f} s")
    if args.keep:
        log(f"report and server log in {report_dir}")
    failed = schemathesis_status != 0 or total_failures > 0 or summary["errors"] or server_errors
    if not args.keep and not failed:
        for path in sorted(report_dir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        report_dir.rmdir()
    elif failed:
        log(f"FAILED; report and server log kept in {report_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
