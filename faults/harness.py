"""What every check shares: the running stack, the seeded people, sockets and REST calls, figures."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from faults import httpclient as http
from faults.client import Conn
from faults.stack import Stack

now = time.monotonic


def log(message: str) -> None:
    """Progress on stderr (the verdicts go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}]   {message}", file=sys.stderr, flush=True)


@dataclass
class Result:
    name: str
    ok: bool
    figures: str
    seconds: float = 0.0

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.figures}"


class CheckFailed(Exception):
    """A check could not get as far as measuring (placement impossible, an answer missing)."""


@dataclass
class Figures:
    """What a check measured so far, in order; printed as `key value, key value`. If a check times out,
    what it had measured is still printed."""

    items: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __setitem__(self, key: str, value: Any) -> None:
        self.items[key] = value

    def __getitem__(self, key: str) -> Any:
        return self.items[key]

    def require(self, condition: bool, why: str) -> None:
        if not condition:
            self.problems.append(why)

    def text(self) -> str:
        parts = [f"{k} {_fmt(v)}" for k, v in self.items.items()]
        text = ", ".join(parts)
        if self.problems:
            text += " -- " + "; ".join(self.problems)
        return text


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(values: list[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds of a list of seconds."""
    if not values:
        return {"n": 0}
    return {"p50": round(percentile(values, 0.5) * 1000, 1), "p99": round(percentile(values, 0.99) * 1000, 1),
            "max": round(max(values) * 1000, 1), "n": len(values)}


class Ctx:
    def __init__(self, stack: Stack, seed: dict, demo: dict) -> None:
        self.stack = stack
        self.companies: dict[str, list[dict]] = {k: v["users"] for k, v in seed["companies"].items()}
        self.demo_users: list[dict] = demo["companies"][0]["users"]
        self.placed: Counter[str] = Counter()  # open harness sockets per worker (direct and through nginx)
        self.via_nginx: Counter[str] = Counter()  # of which through nginx
        self.conns: set[Conn] = set()
        self.notes: dict[str, Any] = {}

    # -- addresses --------------------------------------------------------------------------------

    @property
    def nginx_ws(self) -> str:
        return self.stack.nginx.ws_url

    @property
    def nginx_http(self) -> str:
        return self.stack.nginx.http_url

    def worker_ws(self, name: str) -> str:
        return self.stack.worker(name).ws_url

    def other(self, name: str) -> str:
        return next(w.name for w in self.stack.workers if w.name != name)

    def locate(self, ws: Any, url: str) -> str | None:
        if url == self.nginx_ws:
            worker = self.stack.by_address(ws.response.headers.get("X-Upstream-Addr"))
            return worker.name if worker else None
        return next((w.name for w in self.stack.workers if w.ws_url == url), None)

    def _placed(self, conn: Conn, worker: str | None, delta: int) -> None:
        key = worker or "?"
        self.placed[key] += delta
        if conn.url == self.nginx_ws:
            self.via_nginx[key] += delta

    # -- sockets ----------------------------------------------------------------------------------

    def conn(self, name: str, user: dict, *, via: str = "nginx", **kwargs: Any) -> Conn:
        url = self.nginx_ws if via == "nginx" else self.worker_ws(via)
        conn = Conn(name, url, user["token"], user_id=user["id"], locate=self.locate, on_placed=self._placed,
                    **kwargs)
        self.conns.add(conn)
        return conn

    async def start_all(self, conns: list[Conn], concurrency: int = 50, **kwargs: Any) -> list[Conn]:
        """Open sockets, `concurrency` handshakes at a time; the ones that failed."""
        gate = asyncio.Semaphore(concurrency)

        async def one(conn: Conn) -> bool:
            async with gate:
                return await conn.start(**kwargs)

        results = await asyncio.gather(*(one(c) for c in conns))
        return [c for c, ok in zip(conns, results, strict=True) if not ok]

    async def stop_all(self, conns: list[Conn] | None = None) -> None:
        targets = list(self.conns if conns is None else conns)
        gate = asyncio.Semaphore(1000)

        async def one(conn: Conn) -> None:
            async with gate:
                await conn.stop()

        await asyncio.gather(*(one(c) for c in targets), return_exceptions=True)
        self.conns.difference_update(targets)

    async def steer(self, target: str, ballast_user: dict) -> list[Conn]:
        """Make the next socket through nginx land on `target`: with `least_conn` it goes to the worker
        with the fewest open connections, so open ballast sockets (and close the ones that landed on
        `target`) until `target` has fewer than the other. Returns the ballast, for the caller to close."""
        other = self.other(target)
        ballast: list[Conn] = []
        for attempt in range(12):
            if self.via_nginx[target] < self.via_nginx[other]:
                return ballast
            on_target = [b for b in ballast if b.worker == target and b.open]
            if on_target:
                await on_target[0].stop()
                ballast.remove(on_target[0])
                await asyncio.sleep(0.1)
                continue
            b = self.conn(f"ballast{attempt}", ballast_user)
            if not await b.start():
                raise CheckFailed("a ballast socket did not open")
            ballast.append(b)
        raise CheckFailed(f"could not steer nginx to worker {target}")

    # -- HTTP -------------------------------------------------------------------------------------

    async def api(self, method: str, path: str, user: dict | None, json: Any = None, *, via: str = "nginx",
                  timeout: float = 10.0) -> http.Response:
        base = self.nginx_http if via == "nginx" else self.stack.worker(via).http_url
        return await http.request(method, base + path, token=user["token"] if user else None, json=json,
                                  timeout=timeout)

    async def api_ok(self, method: str, path: str, user: dict, json: Any = None, **kwargs: Any) -> Any:
        response = await self.api(method, path, user, json, **kwargs)
        if response.status >= 300:
            raise CheckFailed(f"{method} {path} answered {response.status}: {response.body[:200]!r}")
        return response.json()

    async def group(self, owner: dict, members: list[dict], title: str) -> tuple[int, int]:
        """A new group conversation through the REST API: (id, rev)."""
        data = await self.api_ok("POST", "/api/v1/conversations/", owner,
                                 {"title": title, "participants": [m["id"] for m in members if m is not owner]},
                                 timeout=30)
        return data["id"], int(data.get("rev", 0))

    async def committed(self, conversation: int, user: dict, timeout: float = 30) -> list[dict]:
        """Every message of a conversation, by keyset pages of 100 (ascending seq)."""
        out: list[dict] = []
        after = 0
        while True:
            page = await self.api_ok("GET", f"/api/v1/conversations/{conversation}/messages/?after={after}&limit=100",
                                     user, timeout=timeout)
            out.extend(page)
            if len(page) < 100:
                return out
            after = page[-1]["seq"]

    async def statuses(self, user: dict, *, via: str = "nginx") -> dict[int, str]:
        data = await self.api_ok("GET", "/api/v1/users/", user, via=via, timeout=15)
        return {u["id"]: u["status"] for u in data}

    async def healthz(self, worker: str, timeout: float = 1.0) -> dict:
        """One probe of a worker's /healthz (direct): status, channel_layer, seconds, or the error."""
        started = now()
        try:
            response = await http.request("GET", self.stack.worker(worker).http_url + "/healthz", timeout=timeout)
        except http.HTTPError as exc:
            return {"t": started, "worker": worker, "status": None, "error": str(exc), "seconds": now() - started}
        body = response.json() or {}
        return {"t": started, "worker": worker, "status": response.status, "body": body,
                "seconds": response.seconds}

    # -- sending ----------------------------------------------------------------------------------

    @staticmethod
    def client_id(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Sender:
    """Sends messages and retries each with the same client_id until it is acknowledged (socket
    `message.send`) or created (REST POST). One task per message, so a stuck one does not hold back the
    next. Records, per message: first attempt, acknowledged time, message id, errors by code."""

    def __init__(self, ctx: Ctx, *, user: dict, conn: Conn | None = None, retry_until: float = 30.0,
                 ack_timeout: float = 5.0, body: str = "", label: str = "m") -> None:
        self.ctx = ctx
        self.user = user
        self.conn = conn
        self.retry_until = retry_until
        self.ack_timeout = ack_timeout
        self.body = body
        self.label = label
        self.sent: dict[str, dict] = {}
        self.errors: Counter[str] = Counter()
        self.tasks: list[asyncio.Task] = []
        self.stopped = False  # for the caller's traffic loop

    def send(self, conversation: int, *, body: str | None = None) -> str:
        client_id = Ctx.client_id(self.label)
        record = {"conversation": conversation, "t_first": now(), "t_send": None, "t_ack": None, "id": None,
                  "attempts": 0}
        self.sent[client_id] = record
        text = body if body is not None else f"{self.label} {len(self.sent)} {self.body}"
        self.tasks.append(asyncio.create_task(self._deliver(client_id, record, text)))
        return client_id

    async def _deliver(self, client_id: str, record: dict, body: str) -> None:
        deadline = record["t_first"] + self.retry_until
        while now() < deadline:
            record["attempts"] += 1
            record["t_send"] = now()
            try:
                if self.conn is not None:
                    answer = await self.conn.request("message.send", timeout=self.ack_timeout,
                                                     conversation=record["conversation"], body=body,
                                                     client_id=client_id)
                    if answer.get("type") == "ack":
                        record["t_ack"], record["id"] = now(), answer["data"]["id"]
                        record["created_at"] = answer["data"].get("created_at")
                        return
                    self.errors[f"error {answer.get('error', {}).get('code')}"] += 1
                else:
                    response = await self.ctx.api("POST", f"/api/v1/conversations/{record['conversation']}/messages/",
                                                  self.user, {"body": body, "client_id": client_id},
                                                  timeout=self.ack_timeout)
                    if response.status in (200, 201):
                        record["t_ack"], record["id"] = now(), response.json()["id"]
                        record["created_at"] = response.json().get("created_at")
                        return
                    code = (response.json() or {}).get("code") if isinstance(response.json(), dict) else None
                    self.errors[f"http {response.status} {code or ''}".strip()] += 1
            except TimeoutError:
                self.errors["no answer in time"] += 1
            except (ConnectionError, http.HTTPError) as exc:
                self.errors[f"{type(exc).__name__}"] += 1
                await asyncio.sleep(0.3)  # the socket is reconnecting, or the proxy has no worker yet
            await asyncio.sleep(0.2)

    async def finish(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)
            for task in self.tasks:
                task.cancel()

    def acked(self) -> dict[int, dict]:
        return {r["id"]: r for r in self.sent.values() if r["id"] is not None}

    def unacked(self) -> int:
        return sum(1 for r in self.sent.values() if r["id"] is None)

    def error_codes(self) -> dict[str, int]:
        return dict(self.errors)


def duplicate_client_ids(messages: list[dict]) -> int:
    """Messages beyond the first for one client_id: a retry that created a second message."""
    counts = Counter(m.get("client_id") for m in messages if m.get("client_id"))
    return sum(n - 1 for n in counts.values() if n > 1)


def established(port: int) -> int:
    """TCP connections established to a local listening port (`ss`)."""
    result = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} )"], capture_output=True,
                            text=True, timeout=10)
    return sum(1 for line in result.stdout.splitlines() if line.strip())


async def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = now() + timeout
    while True:
        if predicate():
            return True
        if now() >= deadline:
            return False
        await asyncio.sleep(interval)
