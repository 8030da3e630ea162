"""Decide which database and channel layer the test suite uses, and say so.

Prints shell `export` lines. PostgreSQL and Redis are used when reachable (DATABASE_URL, REDIS_URL,
defaulting to the local ones); otherwise SQLite and the in-memory layer, said out loud on stderr.
With REQUIRE_SERVICES=1 an unreachable service is an error (exit 1).
"""

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/virtual_office"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    db = os.environ.get("DATABASE_URL") or DEFAULT_DB
    redis = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    failed = False
    if db.startswith("postgres") and reachable(db, 5432):
        print(f"export DATABASE_URL={db}")
        print(f"PostgreSQL: {db}", file=sys.stderr)
    elif db.startswith("sqlite"):
        print(f"export DATABASE_URL={db}")
    else:
        failed = True
        print(f"PostgreSQL is NOT reachable at {db}: falling back to SQLite.", file=sys.stderr)
        print("export DATABASE_URL=sqlite:///test-db.sqlite3")
    if reachable(redis, 6379):
        print(f"export REDIS_URL={redis}")
        print(f"Redis: {redis}", file=sys.stderr)
    else:
        failed = True
        print(f"Redis is NOT reachable at {redis}: falling back to the in-memory channel layer.", file=sys.stderr)
        print("export REDIS_URL=")
    if failed and required:
        print("REQUIRE_SERVICES=1: refusing to fall back.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
