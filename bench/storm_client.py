"""A presence-storm client process: opens its share of the storm's sockets on a fixed schedule and keeps
what each one saw of the company's presence.

Started by bench/run.py (two of them). The plan file (JSON) holds `t0` (time.time() of the first
connect), `truth` (the user ids that will be online; every other user of the company is offline) and
`sockets`: `[index, url, token, at, sample]`, socket `index` opening at `t0 + at` whether or not the
earlier ones have finished (a storm, not a paced ramp). For each socket it records when the handshake
started, when it opened and when `hello` arrived, and counts the `presence.updated` and
`presence.batch` frames (and the updates they carry) from `hello` on.

A sampled socket (`sample` true) also keeps its own view of who is online, as the page does: after
its `hello` it fetches `GET /api/v1/users/` (Token auth) and then applies every presence frame (the
frames that arrived while the fetch was in flight are applied after it, in arrival order). It
records when its view last became equal to the truth (`converged_at`, None while it differs).

Lines of JSON on stdin/stdout: `status` -> `{"hellos", "failed", "samples", "converged"}`;
`dump` -> writes everything to --out; `quit` closes the sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import Counter
from urllib.parse import urlparse

import orjson
import websockets

UPDATED = b'"presence.updated"'
BATCH = b'"presence.batch"'


async def http_json(url: str, method: str, path: str, token: str, body: object = None) -> tuple[int, object]:
    """One plain HTTP/1.1 request on a fresh connection (Connection: close), JSON in and out.
    `url` gives the host and port (ws:// or http://)."""
    parsed = urlparse(url)
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    try:
        data = orjson.dumps(body) if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                f"Authorization: Token {token}\r\nAccept: application/json\r\nConnection: close\r\n")
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        writer.write(head.encode() + b"\r\n" + data)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        out, rest = bytearray(), payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2 :]
        payload = bytes(out)
    return status, orjson.loads(payload) if payload else None


class View:
    """One sampled socket's idea of who is online, compared with the truth as it changes."""

    def __init__(self, truth: frozenset[int]) -> None:
        self.truth = truth
        self.online: dict[int, bool] = {}
        self.wrong = len(truth)  # nothing known yet: every user who should be online is missing
        self.converged_at: float | None = None
        self.fetched_at: float | None = None

    def load(self, users: list[dict], now: float) -> None:
        self.online = {u["id"]: u.get("status") != "offline" for u in users}
        self.wrong = sum(1 for uid, on in self.online.items() if on != (uid in self.truth))
        self.wrong += sum(1 for uid in self.truth if uid not in self.online)
        self.fetched_at = now
        self._check(now)

    def apply(self, update: dict, now: float) -> None:
        uid = update.get("user")
        on = update.get("status") != "offline"
        should = uid in self.truth
        before = self.online.get(uid)
        if before is None:
            before_wrong = should  # unknown counts as wrong for a user who should be online
        else:
            before_wrong = before != should
        self.online[uid] = on
        self.wrong += int(on != should) - int(before_wrong)
        self._check(now)

    def _check(self, now: float) -> None:
        if self.wrong == 0:
            if self.converged_at is None:
                self.converged_at = now
        else:
            self.converged_at = None

    def differing(self, limit: int = 20) -> list[int]:
        out = [uid for uid, on in self.online.items() if on != (uid in self.truth)]
        out += [uid for uid in self.truth if uid not in self.online]
        return sorted(out)[:limit]


class Socket:
    def __init__(self, index: int, url: str, token: str, at: float, sample: bool, truth: frozenset[int]) -> None:
        self.index = index
        self.url = url
        self.token = token
        self.at = at
        self.view = View(truth) if sample else None
        self.t_start: float | None = None  # first handshake attempt
        self.t_open: float | None = None
        self.t_hello: float | None = None
        self.attempts = 0
        self.gave_up = False  # 3 attempts, no hello
        self.frames = 0  # presence.updated + presence.batch, from hello on
        self.batches = 0
        self.updates = 0  # presence updates carried by those frames
        self.presence_bytes = 0
        self.t_last_presence: float | None = None
        self.other: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.closed: str | None = None
        self.fetch: dict | None = None
        self.ws: websockets.ClientConnection | None = None
        self.fetch_task: asyncio.Task | None = None
        self.pending: list[tuple[bytes, float]] | None = [] if sample else None  # frames during the fetch

    def to_json(self) -> dict:
        out = {"index": self.index, "port": urlparse(self.url).port, "t_start": self.t_start, "t_open": self.t_open,
               "gave_up": self.gave_up,
               "t_hello": self.t_hello, "attempts": self.attempts, "frames": self.frames, "batches": self.batches,
               "updates": self.updates, "presence_bytes": self.presence_bytes,
               "t_last_presence": self.t_last_presence, "other": dict(self.other),
               "errors": dict(self.errors), "closed": self.closed}
        if self.view is not None:
            out["sample"] = {"fetch": self.fetch, "converged_at": self.view.converged_at, "wrong": self.view.wrong,
                             "differing": self.view.differing()}
        return out


class Storm:
    def __init__(self, plan: dict) -> None:
        self.t0 = plan["t0"]
        truth = frozenset(plan["truth"])
        self.sockets = [Socket(i, url, token, at, sample, truth) for i, url, token, at, sample in plan["sockets"]]
        self.tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.run(s)) for s in self.sockets]

    async def run(self, s: Socket) -> None:
        delay = self.t0 + s.at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        for attempt in range(3):
            s.attempts = attempt + 1
            if s.t_start is None:
                s.t_start = time.time()
            try:
                ws = await websockets.connect(s.url, additional_headers={"Authorization": f"Token {s.token}"},
                                              compression=None, ping_interval=None, open_timeout=60, close_timeout=1,
                                              max_size=2**22, max_queue=1024)
                s.t_open = time.time()
                hello = orjson.loads(await asyncio.wait_for(ws.recv(decode=False), 60))
                if hello.get("type") != "hello":
                    raise RuntimeError(f"first frame was {hello.get('type')}")
                s.t_hello = time.time()
            except Exception as exc:
                s.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            s.ws = ws
            break
        else:
            s.gave_up = True
            return
        if s.view is not None:
            s.fetch_task = asyncio.create_task(self.fetch(s))  # kept: the loop holds tasks only weakly
        await self.read(s)

    async def fetch(self, s: Socket) -> None:
        started = time.time()
        try:
            status, users = await http_json(s.url, "GET", "/api/v1/users/", s.token)
        except Exception as exc:
            s.fetch = {"error": type(exc).__name__, "started": started, "seconds": time.time() - started}
            return
        now = time.time()
        s.fetch = {"status": status, "started": started, "seconds": round(now - started, 4),
                   "users": len(users) if isinstance(users, list) else None}
        if status == 200 and isinstance(users, list):
            s.view.load(users, now)
        pending, s.pending = s.pending, None
        for raw, t in pending:
            self.apply(s, raw, t)

    def apply(self, s: Socket, raw: bytes, now: float) -> None:
        frame = orjson.loads(raw)
        if frame.get("type") == "presence.batch":
            for update in frame["data"]["updates"]:
                s.view.apply(update, now)
        else:
            s.view.apply(frame["data"], now)

    async def read(self, s: Socket) -> None:
        try:
            while True:
                raw = await s.ws.recv(decode=False)
                now = time.time()
                head = raw[:40]
                if UPDATED in head or BATCH in head:
                    s.frames += 1
                    s.t_last_presence = now
                    s.presence_bytes += len(raw)
                    if BATCH in head:
                        s.batches += 1
                        s.updates += raw.count(b'"user"')
                    else:
                        s.updates += 1
                    if s.view is not None:
                        if s.pending is not None:
                            s.pending.append((raw, now))
                        else:
                            self.apply(s, raw, now)
                else:
                    s.other[orjson.loads(raw).get("type", "?")] += 1
        except websockets.ConnectionClosed as exc:
            s.closed = str(exc.rcvd.code if exc.rcvd else "none")

    def status(self) -> dict:
        samples = [s for s in self.sockets if s.view is not None]
        return {
            "hellos": sum(1 for s in self.sockets if s.t_hello is not None),
            "failed": sum(1 for s in self.sockets if s.gave_up),
            "samples": len(samples),
            "converged": sum(1 for s in samples if s.view.converged_at is not None),
            "fetched": sum(1 for s in samples if s.fetch is not None),
        }

    def dump(self, path: str) -> None:
        payload = {"sockets": [s.to_json() for s in self.sockets],
                   "cpu_seconds": sum(resource.getrusage(resource.RUSAGE_SELF)[:2])}
        with open(path, "wb") as fh:
            fh.write(orjson.dumps(payload))

    async def close(self) -> None:
        for task in [*self.tasks, *(s.fetch_task for s in self.sockets if s.fetch_task is not None)]:
            task.cancel()
        await asyncio.gather(*(s.ws.close() for s in self.sockets if s.ws is not None), return_exceptions=True)


def say(obj: dict) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True, help="JSON file: t0, truth, sockets")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(args.plan, "rb") as fh:
        storm = Storm(orjson.loads(fh.read()))
    storm.start()
    say({"started": len(storm.sockets)})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "status":
            say(storm.status())
        elif line == "dump":
            storm.dump(args.out)
            say({"dumped": True})
        elif line in ("quit", ""):
            await storm.close()
            say({"quit": True})
            return


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
