"""A benchmark client process: opens many WebSockets (token auth, no Origin) and timestamps receipts.

Started by bench/run.py, one or more at a time, so that the receiving side is spread over processes.
Talks to it by lines of JSON: it prints `{"ready": n, "failed": k}` once every socket has had its
`hello`, then obeys `dump` (write the receipts so far to the --out file and forget them), `watch`
(every socket watches the benchmark conversation, as a page with it open), `any`
(from now on every conversation's `message.created` is a receipt: the cold-group phase, whose
conversation does not exist yet) and `quit`.

A receipt is `[socket index, message id, receive time]`, taken with `time.time()` (CLOCK_REALTIME,
the same clock the server stamps `created_at` with) as soon as `recv()` hands over the frame.
Only `message.created` frames of the benchmark conversation are receipts; other frame types are counted.
`conversation.created` frames are also kept with their receive time, as `[socket index, conversation id,
receive time]` ("created" in the dump).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import Counter

import orjson
import websockets

MARK = b'"message.created"'
CREATED = b'"conversation.created"'


class Receivers:
    def __init__(self, url: str, tokens: list[str], first_index: int, conversation: int) -> None:
        self.url = url
        self.tokens = tokens
        self.first_index = first_index
        self.conversation: int | None = conversation  # None: every conversation
        self.receipts: list[tuple[int, int, float]] = []
        self.created: list[tuple[int, int, float]] = []
        self.other: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.sockets: list[websockets.ClientConnection] = []
        self.tasks: list[asyncio.Task] = []
        self.failed: list[int] = []

    async def open_one(self, index: int, token: str, gate: asyncio.Semaphore) -> bool:
        async with gate:
            for attempt in range(3):
                try:
                    ws = await websockets.connect(
                        self.url,
                        additional_headers={"Authorization": f"Token {token}"},
                        compression=None,
                        ping_interval=None,
                        open_timeout=60,
                        close_timeout=1,
                        max_size=2**20,
                        max_queue=256,
                    )
                    hello = orjson.loads(await asyncio.wait_for(ws.recv(decode=False), 60))
                    if hello.get("type") != "hello":
                        raise RuntimeError(f"first frame was {hello.get('type')}")
                except Exception as exc:
                    self.other[f"connect_error:{type(exc).__name__}"] += 1
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                self.sockets.append(ws)
                self.tasks.append(asyncio.create_task(self.read(index, ws)))
                return True
        self.failed.append(index)
        return False

    async def read(self, index: int, ws: websockets.ClientConnection) -> None:
        receipts = self.receipts
        try:
            while True:
                raw = await ws.recv(decode=False)
                now = time.time()
                if MARK in raw[:40]:
                    frame = orjson.loads(raw)
                    if self.conversation is None or frame.get("conversation") == self.conversation:
                        receipts.append((index, frame["data"]["id"], now))
                        continue
                    self.other["message.created(other conversation)"] += 1
                else:
                    frame = orjson.loads(raw)
                    kind = frame.get("type", "?")
                    if kind == "error":
                        kind = f"error:{frame.get('code', '?')}"
                    self.other[kind] += 1
                    if CREATED in raw[:40]:
                        self.created.append((index, frame["data"].get("id"), now))
        except websockets.ConnectionClosed as exc:
            self.closed[str(exc.rcvd.code if exc.rcvd else "none")] += 1

    async def open_all(self, concurrency: int) -> int:
        gate = asyncio.Semaphore(concurrency)
        results = await asyncio.gather(
            *(self.open_one(self.first_index + i, token, gate) for i, token in enumerate(self.tokens))
        )
        return sum(results)

    def dump(self, path: str) -> int:
        count = len(self.receipts)
        payload = {
            "receipts": self.receipts,
            "created": self.created,
            "other": dict(self.other),
            "closed": dict(self.closed),
            "cpu_seconds": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
        }
        with open(path, "wb") as fh:
            fh.write(orjson.dumps(payload))
        self.receipts.clear()  # in place: the reader tasks hold this list
        self.created.clear()
        self.other.clear()
        return count

    async def watch_all(self, conversation: int) -> int:
        """Every socket watches `conversation`, as a page with it open does (its people then get no
        `direct` notification for its messages); returns once every socket's ack came (or after 60 s),
        with how many did."""
        frame = orjson.dumps({"action": "watch", "ref": "w", "conversation": conversation})
        before = Counter(self.other)
        await asyncio.gather(*(ws.send(frame, text=True) for ws in self.sockets), return_exceptions=True)
        deadline = time.time() + 60
        while self.other["ack"] - before["ack"] < len(self.sockets) and time.time() < deadline:
            await asyncio.sleep(0.05)
        self.watch_frames = dict(Counter(self.other) - before)  # what came meanwhile (errors, presence)
        return self.other["ack"] - before["ack"]

    async def close_all(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def say(obj: dict) -> None:
    sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", required=True, help="file with a JSON list of tokens")
    parser.add_argument("--first-index", type=int, default=0)
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--concurrency", type=int, default=25)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(args.tokens, "rb") as fh:
        tokens = orjson.loads(fh.read())
    receivers = Receivers(args.url, tokens, args.first_index, args.conversation)
    started = time.time()
    ready = await receivers.open_all(args.concurrency)
    say({"ready": ready, "failed": len(tokens) - ready, "failed_indexes": receivers.failed,
         "errors": dict(receivers.other), "seconds": round(time.time() - started, 2)})
    receivers.other.clear()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line == "dump":
            say({"dumped": receivers.dump(args.out)})
        elif line == "watch":
            started = time.time()
            acked = await receivers.watch_all(args.conversation)
            say({"watching": len(receivers.sockets), "acked": acked, "seconds": round(time.time() - started, 2),
                 "frames": receivers.watch_frames})
        elif line == "any":
            receivers.conversation = None
            say({"any": True})
        elif line in ("quit", ""):
            await receivers.close_all()
            say({"quit": True})
            return


if __name__ == "__main__":
    # uvloop (installed with uvicorn[standard]) reads sockets with less CPU than asyncio's default
    # loop; the clients share the 2 cores with the server, so their cost shows in every figure.
    import uvloop

    uvloop.run(main())
