"""`make bench`: WebSocket fan-out of Virtual Office on real servers, PostgreSQL and Redis.

For each ASGI server (daphne, uvicorn) started as a subprocess on 127.0.0.1:
1. latency: N receiver sockets (N = 10, 100, 1000), each of a different user of one company, all
   active participants of one group conversation; one sender socket posts `message.send` one at a
   time; every receiver timestamps each `message.created`;
2. throughput: the 1,000 sockets stay; the sender posts back to back (next send when the ack is
   back) for a fixed time; deliveries / (last receipt - first send);
3. memory: a fresh server, RSS (/proc/<pid>/status VmRSS) before and after 5,000 idle sockets;
4. lost and duplicated deliveries: every receipt is keyed by (socket, message id);
5. cold group (after the throughput phase, same 1,000 sockets): the sender creates a new group of the
   1,000 through `POST /api/v1/conversations/`, sends its first message at once, then 9 more; the
   first one's commit -> receipt against the later ones';
6. presence storm (once, after every server): two uvicorn worker processes on one Redis, nobody marked
   connected beforehand; 2,000 users of the company connect within 10 s, alternating between the two
   worker ports; time to the last `hello`, presence frames per socket, worker CPU, and how long a
   sample of clients (`GET /api/v1/users/` after `hello`, then every presence frame) takes to see
   all 2,000 online.
Receivers run in separate client processes (bench/client.py, bench/storm_client.py); the sender runs here.
Results: bench/results/latest.json and a dated copy. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "virtual_office.settings")
os.environ.setdefault("CHANNEL_PREFIX", "vo-bench")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vo_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

import websockets  # noqa: E402

TARGETS = {
    "n100_p50_ms": 5.0,
    "n100_p99_ms": 20.0,
    "n1000_p50_ms": 20.0,
    "n1000_p99_ms": 60.0,
    "n1000_whole_send_p99_ms": 100.0,
    "deliveries_per_second": 30_000.0,
    "bytes_per_idle_socket": 50 * 1024,
}
# Issue 11: a whole company connecting at once (the presence storm).
STORM_TARGETS = {
    "last_hello_seconds": 15.0,  # first connect -> the last socket's hello
    "convergence_seconds": 5.0,  # the last socket connected -> the last sampled view equals the truth
    "presence_frames_per_socket_max": 200,
}
# Handshakes in flight per client process. Opening sockets is bound by the server's one database
# thread; more in flight only makes handshakes wait past daphne's 5 s handshake timeout.
CONNECT_CONCURRENCY = 8
APP = os.environ.get("BENCH_ASGI_APP", "virtual_office.asgi:application")  # experiments only
BODY = "Benchmark message: the quarterly review moved to room 4B at 3 pm, bring the slides please."
SERVERS = {
    "daphne": lambda port: [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "-v", "0",
                            APP],
    # uvloop + httptools are picked automatically (installed with uvicorn[standard]); no lifespan
    # (Django's ASGI handler has none); no permessage-deflate: the hub encodes a frame once for all
    # sockets, compression would redo work per socket (browsers would negotiate it otherwise).
    "uvicorn": lambda port: [str(VENV_BIN / "uvicorn"), APP, "--host", "127.0.0.1",
                             "--port", str(port), "--ws", "websockets", "--ws-per-message-deflate", "false",
                             "--lifespan", "off", "--no-access-log", "--log-level", "warning"],
    # The same with uvicorn's newer sans-I/O websockets protocol (for comparison; --servers uvicorn-sansio).
    "uvicorn-sansio": lambda port: [str(VENV_BIN / "uvicorn"), APP, "--host",
                                    "127.0.0.1", "--port", str(port), "--ws", "websockets-sansio",
                                    "--ws-per-message-deflate", "false", "--lifespan", "off", "--no-access-log",
                                    "--log-level", "warning"],
}


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


# -- measurements ---------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def summary_ms(values: list[float]) -> dict:
    values = sorted(v * 1000 for v in values)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.50), 2),
        "p90": round(percentile(values, 0.90), 2),
        "p99": round(percentile(values, 0.99), 2),
        "max": round(values[-1], 2),
        "mean": round(sum(values) / len(values), 2),
    }


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip()


def machine_info() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": socket.gethostname(),
    }


def versions() -> dict:
    from importlib.metadata import version

    names = ["django", "channels", "channels-redis", "redis", "daphne", "uvicorn", "uvloop", "httptools",
             "websockets", "twisted", "autobahn", "orjson", "psycopg"]
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except Exception:
            out[name] = None
    out["postgresql"] = _scalar("show server_version")
    out["redis-server"] = subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "info", "server"],
                                         capture_output=True, text=True).stdout.split("redis_version:")[-1].split()[0] \
        if shutil.which("redis-cli") else None
    return out


def calibration() -> dict:
    """How fast this machine is right now, without the project: the same figures from another day or
    another VM tell whether a change in the results is the code or the machine."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    python_loop = time.perf_counter() - started
    payload = orjson.dumps({"type": "message.created", "data": {"body": BODY, "id": 1}})
    a, b = socket.socketpair()
    try:
        a.setblocking(True)
        b.setblocking(False)
        started = time.perf_counter()
        for _ in range(20_000):
            a.send(payload)
            try:
                while b.recv(65536):
                    pass
            except BlockingIOError:
                pass
        loopback = time.perf_counter() - started
    finally:
        a.close()
        b.close()
    return {"python_loop_3m_ms": round(python_loop * 1000, 1),
            "unix_socketpair_send_recv_us": round(loopback / 20_000 * 1e6, 2)}


def commit_probe() -> dict:
    """How long a small write transaction takes on this PostgreSQL right now (ms): 30 one-row UPDATEs,
    each committed. Mostly the WAL flush of the COMMIT; it grows a lot when other work shares the disk."""
    from django.db import connection, transaction

    from bench.seed import COMPANY_SLUG

    times = []
    with connection.cursor() as cursor:
        for _ in range(30):
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute("UPDATE virtual_office_company SET name = name WHERE slug = %s", [COMPANY_SLUG])
            times.append(time.perf_counter() - started)
    return summary_ms(times)


def _scalar(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return str(cursor.fetchone()[0])


# -- processes -------------------------------------------------------------------------------------

class Server:
    def __init__(self, kind: str, port: int, logdir: Path, pin: str | None, settings_module: str | None = None) -> None:
        self.kind = kind
        self.port = port
        self.url = f"ws://127.0.0.1:{port}/ws/"
        self.logfile = logdir / f"{kind}-{port}-{int(time.time())}.log"
        command = SERVERS[kind](port)
        if pin:
            command = ["taskset", "-c", pin, *command]
        env = dict(os.environ, DJANGO_SETTINGS_MODULE=settings_module or "virtual_office.settings",
                   DJANGO_DEBUG="0", LOG_LEVEL="WARNING", WS_RATE_LIMIT="1000000",
                   DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
        self.log_handle = open(self.logfile, "wb")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log_handle, stderr=subprocess.STDOUT,
                                     preexec_fn=_raise_nofile)
        self.pid = self.proc.pid

    async def ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.logfile.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.kind} did not listen on {self.port}")

    def errors(self) -> list[str]:
        text = self.logfile.read_text(errors="replace")
        return [line for line in text.splitlines() if "Traceback" in line or "ERROR" in line or "Error" in line][:20]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log_handle.close()


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ClientProcess:
    """One bench/client.py process holding a share of the receiver sockets."""

    def __init__(self, proc: asyncio.subprocess.Process, out: Path, count: int) -> None:
        self.proc = proc
        self.out = out
        self.count = count

    @classmethod
    async def start(cls, url: str, tokens: list[str], first_index: int, conversation: int, workdir: Path,
                    pin: str | None) -> ClientProcess:
        token_file = workdir / f"tokens-{first_index}.json"
        token_file.write_bytes(orjson.dumps(tokens))
        out = workdir / f"receipts-{first_index}.json"
        command = [sys.executable, str(ROOT / "bench" / "client.py"), "--url", url, "--tokens", str(token_file),
                   "--first-index", str(first_index), "--conversation", str(conversation), "--out", str(out),
                   "--concurrency", str(CONNECT_CONCURRENCY)]
        if pin:
            command = ["taskset", "-c", pin, *command]
        proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, limit=2**20)
        return cls(proc, out, len(tokens))

    async def line(self, timeout: float) -> dict:
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError("client process ended early")
        return orjson.loads(raw)

    async def command(self, word: str, timeout: float = 60) -> dict:
        self.proc.stdin.write(word.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.line(timeout)

    async def dump(self) -> dict:
        self.proc.stdin.write(b"dump\n")
        await self.proc.stdin.drain()
        await self.line(120)
        return orjson.loads(self.out.read_bytes())

    async def quit(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.stdin.write(b"quit\n")
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 30)
            except (TimeoutError, ConnectionError, BrokenPipeError):
                self.proc.kill()
                await self.proc.wait()


class Receivers:
    def __init__(self, processes: list[ClientProcess], connect: dict) -> None:
        self.processes = processes
        self.connect = connect
        self.failed = set(connect["failed_indexes"])

    @classmethod
    async def open(cls, url: str, tokens: list[str], conversation: int, workers: int, workdir: Path,
                   pin: str | None) -> Receivers:
        share = math.ceil(len(tokens) / workers)
        processes = [
            await ClientProcess.start(url, tokens[i : i + share], i, conversation, workdir, pin)
            for i in range(0, len(tokens), share)
        ]
        started = time.monotonic()
        states = await asyncio.gather(*(p.line(1800) for p in processes))
        seconds = time.monotonic() - started
        failed = sum(s["failed"] for s in states)
        errors: dict[str, int] = {}
        for state in states:
            for k, v in state["errors"].items():
                errors[k] = errors.get(k, 0) + v
        log(f"  {len(tokens)} receivers: {len(tokens) - failed} connected in {seconds:.1f} s "
            f"({len(processes)} client processes, {failed} failed, errors {errors})")
        connect = {
            "sockets": len(tokens),
            "failed": failed,
            "failed_indexes": [i for s in states for i in s["failed_indexes"]],
            # Handshake attempts that failed (each socket gets 3), and frames the open sockets got
            # meanwhile (presence.updated floods when failed handshakes flip users offline and online).
            "connect_errors": {k: v for k, v in errors.items() if k.startswith("connect_error")},
            "frames_during_connect": {k: v for k, v in errors.items() if not k.startswith("connect_error")},
            "seconds": round(seconds, 2),
            "per_second": round((len(tokens) - failed) / seconds, 1),
        }
        return cls(processes, connect)

    async def watch(self) -> dict:
        """Every receiver watches the benchmark conversation (as a page with it open); returns once
        every watch was acknowledged: sockets, acks and the seconds the slowest client process took."""
        states = await asyncio.gather(*(p.command("watch", timeout=90) for p in self.processes))
        frames: Counter[str] = Counter()
        for state in states:
            frames.update(state.get("frames", {}))
        return {"sockets": sum(s["watching"] for s in states), "acked": sum(s["acked"] for s in states),
                "frames": dict(frames),
                "seconds": max(s["seconds"] for s in states)}

    async def accept_any(self) -> None:
        """From now on every conversation's `message.created` is a receipt."""
        await asyncio.gather(*(p.command("any") for p in self.processes))

    async def collect(self) -> dict:
        dumps = await asyncio.gather(*(p.dump() for p in self.processes))
        receipts = [tuple(r) for d in dumps for r in d["receipts"]]
        created = [tuple(r) for d in dumps for r in d.get("created", [])]
        other: dict[str, int] = {}
        closed: dict[str, int] = {}
        for d in dumps:
            for k, v in d["other"].items():
                other[k] = other.get(k, 0) + v
            for k, v in d["closed"].items():
                closed[k] = closed.get(k, 0) + v
        return {"receipts": receipts, "created": created, "other": other, "closed": closed,
                "client_cpu_seconds": sum(d["cpu_seconds"] for d in dumps)}

    async def close(self) -> None:
        await asyncio.gather(*(p.quit() for p in self.processes))


class Sender:
    """The one sending socket: `message.send` with a ref, waits for its ack."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str) -> Sender:
        ws = await websockets.connect(url, additional_headers={"Authorization": f"Token {token}"}, compression=None,
                                      ping_interval=None, max_size=2**22, open_timeout=30)
        hello = orjson.loads(await ws.recv(decode=False))
        assert hello["type"] == "hello", hello
        return cls(ws)

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.time()
            frame = orjson.loads(raw)
            if frame.get("type") in ("ack", "error"):
                future = self.pending.pop(str(frame.get("ref")), None)
                if future is not None and not future.done():
                    future.set_result((now, frame))

    async def send(self, conversation: int) -> dict:
        ref = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self.pending[ref] = future
        frame = orjson.dumps({"action": "message.send", "ref": ref, "conversation": conversation, "body": BODY,
                              "client_id": ref})
        t_send = time.time()
        await self.ws.send(frame.decode())
        t_ack, reply = await asyncio.wait_for(future, 30)
        if reply["type"] != "ack":
            raise RuntimeError(f"message.send refused: {reply}")
        data = reply["data"]
        created = dt.datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")).timestamp()
        return {"id": data["id"], "t_send": t_send, "t_ack": t_ack, "created": created}

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()


# -- phases ----------------------------------------------------------------------------------------

def analyse(sent: list[dict], receipts: list[tuple], audience: list[int], skip: int = 0) -> dict:
    """Latency per receipt, lost and duplicated deliveries. `skip` first messages are warm-up (still
    checked for loss and duplicates, left out of the latency figures)."""
    by_id = {m["id"]: m for m in sent}
    measured = {m["id"] for m in sent[skip:]}
    seen: set[tuple[int, int]] = set()
    duplicated = 0
    stray = 0
    commit, whole = [], []
    last: dict[int, float] = {}
    first: dict[int, float] = {}
    for index, message_id, t in receipts:
        key = (index, message_id)
        if message_id not in by_id:
            stray += 1
            continue
        if key in seen:
            duplicated += 1
            continue
        seen.add(key)
        if message_id in measured:
            m = by_id[message_id]
            commit.append(t - m["created"])
            whole.append(t - m["t_send"])
            last[message_id] = max(last.get(message_id, 0.0), t)
            first[message_id] = min(first.get(message_id, t), t)
    expected = len(sent) * len(audience)
    return {
        "messages": len(sent),
        "warmup_messages": skip,
        "receipts": len(receipts),
        "expected_receipts": expected,
        "lost": expected - len(seen),
        "duplicated": duplicated,
        "stray": stray,
        "commit_to_receipt_ms": summary_ms(commit),
        "whole_send_to_receipt_ms": summary_ms(whole),
        "send_to_ack_ms": summary_ms([m["t_ack"] - m["t_send"] for m in sent[skip:]]),
        "send_to_created_at_ms": summary_ms([m["created"] - m["t_send"] for m in sent[skip:]]),
        "send_to_last_receipt_ms": summary_ms([last[i] - by_id[i]["t_send"] for i in last]),
        # Where the time goes: commit -> the first socket has it (publish: build the event, Redis, hub
        # wake-up), then first -> last socket (the hub writing N frames, and the clients reading them).
        "commit_to_first_receipt_ms": summary_ms([first[i] - by_id[i]["created"] for i in first]),
        "first_to_last_receipt_ms": summary_ms([last[i] - first[i] for i in last]),
    }


async def latency_phase(sender: Sender, receivers: Receivers, conversation: int, audience: list[int],
                        messages: int, gap: float, warmup: int) -> dict:
    await receivers.collect()  # forget anything before the phase
    sent = []
    for _ in range(warmup + messages):
        sent.append(await sender.send(conversation))
        await asyncio.sleep(gap)
    await asyncio.sleep(1.5)
    collected = await receivers.collect()
    result = analyse(sent, collected["receipts"], audience, skip=warmup)
    result["other_frames"] = collected["other"]
    result["closed_sockets"] = collected["closed"]
    result["gap_between_sends_ms"] = gap * 1000
    return result


async def throughput_phase(sender: Sender, receivers: Receivers, server: Server, conversation: int,
                           audience: list[int], seconds: float, window: int, profile_to: str | None = None) -> dict:
    client_cpu0 = (await receivers.collect())["client_cpu_seconds"]
    sent = []
    profiler = None
    if profile_to:
        profiler = subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "-p", str(server.pid), "-d", str(int(seconds)),
                                     "-r", "250", "-f", "raw", "-o", profile_to], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        await asyncio.sleep(1.0)
    cpu0, busy0 = cpu_seconds(server.pid), machine_busy()
    t_start = time.time()

    async def post_until_done() -> None:
        while time.time() - t_start < seconds:
            sent.append(await sender.send(conversation))

    # `window` senders on the one socket: each posts its next message when its previous ack is back.
    await asyncio.gather(*(post_until_done() for _ in range(window)))
    sent.sort(key=lambda m: m["t_send"])
    # Wait until receipts stop arriving (bounded).
    await asyncio.sleep(2.0)
    cpu1, busy1 = cpu_seconds(server.pid), machine_busy()
    if profiler is not None:
        profiler.wait(30)
    collected = await receivers.collect()
    receipts = collected["receipts"]
    result = analyse(sent, receipts, audience)
    ids = {m["id"] for m in sent}
    times = sorted(t for _, mid, t in receipts if mid in ids)
    window = (times[-1] - t_start) if times else float("nan")
    delivered = len(times)
    result.update({
        "seconds_sending": round(sent[-1]["t_ack"] - t_start, 3),
        "window_seconds": round(window, 3),
        "messages_per_second": round(len(sent) / (sent[-1]["t_ack"] - t_start), 1),
        "deliveries_per_second": round(delivered / window, 0),
        "server_cpu_seconds": round(cpu1 - cpu0, 2),
        "deliveries_per_server_cpu_second": round(delivered / max(cpu1 - cpu0, 1e-9), 0),
        "client_cpu_seconds": round(collected["client_cpu_seconds"] - client_cpu0, 2),
        "sends_in_flight": window,
        "machine_cpu_busy_percent": round(100 * (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1), 1),
        "other_frames": collected["other"],
        "closed_sockets": collected["closed"],
    })
    # Steady-state rate: the middle 80 % of the window, excludes ramp-up and the tail.
    if times:
        lo, hi = t_start + 0.1 * window, t_start + 0.9 * window
        middle = sum(1 for t in times if lo <= t <= hi)
        result["deliveries_per_second_middle_80pct"] = round(middle / (hi - lo), 0)
    return result


async def cold_group_phase(sender: Sender, receivers: Receivers, server: Server, seed, audience: list[int],
                           messages: int, gap: float) -> dict:
    """A new group of the connected receivers, created through the API while they are connected; its
    first message (sent as soon as the POST returned) against the next ones."""
    from bench.seed import COLD_GROUP_TITLE
    from bench.storm_client import http_json

    await receivers.accept_any()
    await receivers.collect()  # forget anything before the phase
    member_ids = [seed.user_ids[1 + i] for i in audience]
    title = f"{COLD_GROUP_TITLE} {uuid.uuid4().hex[:8]}"
    t_post = time.time()
    status, body = await asyncio.wait_for(
        http_json(server.url, "POST", "/api/v1/conversations/", seed.tokens[0],
                  {"title": title, "participants": member_ids}), 120)
    t_created = time.time()
    if status != 201 or not isinstance(body, dict):
        raise RuntimeError(f"POST conversations/ answered {status}: {str(body)[:300]}")
    conversation = body["id"]
    sent = []
    for _ in range(messages):
        sent.append(await sender.send(conversation))
        await asyncio.sleep(gap)
    await asyncio.sleep(2.0)
    collected = await receivers.collect()
    receipts = collected["receipts"]
    first_id = sent[0]["id"]
    first = analyse(sent[:1], [r for r in receipts if r[1] == first_id], audience)
    later = analyse(sent[1:], [r for r in receipts if r[1] != first_id], audience)
    both = analyse(sent, receipts, audience)

    def last_receipt_ms(message: dict) -> float | None:
        times = [t for _, mid, t in receipts if mid == message["id"]]
        return round((max(times) - message["created"]) * 1000, 2) if times else None

    created_times = [t for _, cid, t in collected["created"] if cid == conversation]
    result = {
        "members": len(member_ids) + 1,
        "conversation": conversation,
        "post_seconds": round(t_created - t_post, 3),
        # Every receiver's `conversation.created` (it comes with the join of the group's stream);
        # negative: the last one arrived before the POST's answer.
        "conversation_created_frames": len(created_times),
        "post_start_to_last_conversation_created_ms": round((max(created_times) - t_post) * 1000, 2)
        if created_times else None,
        "post_return_to_last_conversation_created_ms": round((max(created_times) - t_created) * 1000, 2)
        if created_times else None,
        "post_return_to_first_send_ms": round((sent[0]["t_send"] - t_created) * 1000, 2),
        "messages": len(sent),
        "gap_between_sends_ms": gap * 1000,
        "first": {
            "commit_to_receipt_ms": first["commit_to_receipt_ms"],
            "commit_to_last_receipt_ms": last_receipt_ms(sent[0]),
            "whole_send_to_receipt_ms": first["whole_send_to_receipt_ms"],
            "send_to_ack_ms": first["send_to_ack_ms"],
            "lost": first["lost"],
            "duplicated": first["duplicated"],
        },
        "later": {
            "commit_to_receipt_ms": later["commit_to_receipt_ms"],
            "commit_to_last_receipt_ms": summary_ms([(v or 0) / 1000 for v in map(last_receipt_ms, sent[1:])]),
            "whole_send_to_receipt_ms": later["whole_send_to_receipt_ms"],
            "send_to_ack_ms": later["send_to_ack_ms"],
            "lost": later["lost"],
            "duplicated": later["duplicated"],
        },
        "lost": both["lost"],
        "duplicated": both["duplicated"],
        "stray": both["stray"],
        "other_frames": collected["other"],
        "closed_sockets": collected["closed"],
    }
    later_p90 = later["commit_to_receipt_ms"].get("p90") or float("nan")
    first_p90 = first["commit_to_receipt_ms"].get("p90") or float("nan")
    result["first_p90_over_later_p90"] = round(first_p90 / later_p90, 2) if later_p90 == later_p90 else None
    return result


async def run_server(kind: str, port: int, seed, args, workdir: Path) -> dict:
    from asgiref.sync import sync_to_async

    from bench.seed import prepare_presence

    prepare = sync_to_async(prepare_presence, thread_sensitive=True)
    out: dict = {"server": kind, "latency": {}}
    server = Server(kind, port, workdir, args.pin_server, args.settings)
    try:
        await server.ready()
        out["command"] = " ".join(SERVERS[kind](port))
        sizes = args.sizes
        biggest = max(sizes)
        for n in sizes:
            await prepare(seed, seed.user_ids[: n + 1])
            receivers = await Receivers.open(server.url, seed.tokens[1 : n + 1], seed.conversations[n],
                                             min(args.workers, n), workdir, args.pin_clients)
            audience = [i for i in range(n) if i not in receivers.failed]
            sender = await Sender.open(server.url, seed.tokens[0])
            await asyncio.sleep(1.0)
            log(f"  {kind} N={n}: latency, {args.messages[n]} messages")
            gap = 0.02 + n * 0.0002
            result = await latency_phase(sender, receivers, seed.conversations[n], audience, args.messages[n],
                                         gap, warmup=3)
            out["latency"][str(n)] = {"connect": {k: v for k, v in receivers.connect.items() if k != "failed_indexes"},
                                      "loadavg_after": load_average(), **result}
            log(f"    commit->receipt {result['commit_to_receipt_ms']}")
            log(f"    whole send      {result['whole_send_to_receipt_ms']}")
            log(f"    lost {result['lost']} dup {result['duplicated']}")
            if n == biggest and args.throughput_seconds > 0:
                log(f"  {kind} N={n}: throughput for {args.throughput_seconds} s")
                profile = f"{args.profile}/{kind}-throughput.txt" if args.profile else None
                result = await throughput_phase(sender, receivers, server, seed.conversations[n], audience,
                                                args.throughput_seconds, args.window, profile)
                out["throughput"] = {"sockets": n, "receivers_watching": False, **result}
                log(f"    {result['deliveries_per_second']} deliveries/s ({result['messages_per_second']} msg/s), "
                    f"server CPU {result['server_cpu_seconds']} s, "
                    f"machine busy {result['machine_cpu_busy_percent']} %, "
                    f"lost {result['lost']} dup {result['duplicated']}")
                # The same with every receiver watching the conversation, as pages with it open: each
                # message is then fan-out only, with no `direct` notification (a row and a frame) per
                # receiver. This is the figure comparable with runs before notifications existed.
                watched = await receivers.watch()
                log(f"  {kind} N={n}: {watched['acked']} of {watched['sockets']} receivers watching after "
                    f"{watched['seconds']} s (frames meanwhile {watched['frames']}); "
                    f"throughput for {args.throughput_seconds} s")
                profile = f"{args.profile}/{kind}-throughput-watching.txt" if args.profile else None
                result = await throughput_phase(sender, receivers, server, seed.conversations[n], audience,
                                                args.throughput_seconds, args.window, profile)
                out["throughput_watching"] = {"sockets": n, "receivers_watching": True, "watch": watched, **result}
                log(f"    {result['deliveries_per_second']} deliveries/s ({result['messages_per_second']} msg/s), "
                    f"server CPU {result['server_cpu_seconds']} s, "
                    f"machine busy {result['machine_cpu_busy_percent']} %, "
                    f"lost {result['lost']} dup {result['duplicated']}")
            if n == biggest and args.cold_messages > 0:
                log(f"  {kind} N={n}: cold group of {len(audience) + 1}, {args.cold_messages} messages")
                result = await cold_group_phase(sender, receivers, server, seed, audience, args.cold_messages, gap)
                out["cold_group"] = {"loadavg_after": load_average(), **result}
                first = result["first"]
                log(f"    POST {result['post_seconds']} s; first message commit->receipt "
                    f"{first['commit_to_receipt_ms']}, last at {first['commit_to_last_receipt_ms']} ms")
                log(f"    messages 2..{result['messages']}: {result['later']['commit_to_receipt_ms']}, "
                    f"last at {result['later']['commit_to_last_receipt_ms']}; lost {result['lost']} "
                    f"dup {result['duplicated']}")
            await sender.close()
            await receivers.close()
            await asyncio.sleep(args.grace)  # let the presence grace timers of closed sockets run out
        out["server_errors"] = server.errors()
    finally:
        server.stop()
        from bench.seed import drop_cold_groups

        await sync_to_async(drop_cold_groups, thread_sensitive=True)()
    if args.memory_sockets:
        out["memory"] = await memory_phase(kind, port, seed, args, workdir)
    return out


async def memory_phase(kind: str, port: int, seed, args, workdir: Path) -> dict:
    from asgiref.sync import sync_to_async

    from bench.seed import prepare_presence

    count = args.memory_sockets
    await sync_to_async(prepare_presence, thread_sensitive=True)(seed, seed.user_ids[: count + 1])
    server = Server(kind, port, workdir, args.pin_server, args.memory_settings)
    receivers = None
    try:
        await server.ready()
        # Warm up: the first socket loads code, opens DB and Redis connections, starts the hub.
        warm = await Sender.open(server.url, seed.tokens[0])
        await warm.close()
        await asyncio.sleep(args.grace + 1)
        before = rss_kb(server.pid)
        log(f"  {kind}: memory, {count} idle sockets (RSS before {before / 1024:.1f} MB)")
        receivers = await Receivers.open(server.url, seed.tokens[1 : count + 1], 0, max(args.workers, 4),
                                         workdir, args.pin_clients)
        connected = count - receivers.connect["failed"]
        await asyncio.sleep(5)
        after = rss_kb(server.pid)
        await asyncio.sleep(5)
        later = rss_kb(server.pid)
        per_socket = (later - before) * 1024 / max(connected, 1)
        log(f"    RSS after {after / 1024:.1f} MB, 5 s later {later / 1024:.1f} MB: {per_socket / 1024:.1f} KB/socket")
        return {
            "sockets": connected,
            "connect": {k: v for k, v in receivers.connect.items() if k != "failed_indexes"},
            "rss_before_kb": before,
            "rss_after_kb": after,
            "rss_after_idle_5s_kb": later,
            "bytes_per_socket": round(per_socket),
            "kb_per_socket": round(per_socket / 1024, 1),
            "server_errors": server.errors(),
            "settings": args.memory_settings or "virtual_office.settings",
            "loadavg_after": load_average(),
        }
    finally:
        server.stop()  # first: the server going away does not run presence settles on live sockets
        if receivers is not None:
            await receivers.close()
        await asyncio.sleep(1)


class StormProcess:
    """One bench/storm_client.py process with its share of the storm's sockets."""

    def __init__(self, proc: asyncio.subprocess.Process, out: Path) -> None:
        self.proc = proc
        self.out = out

    @classmethod
    async def start(cls, plan: dict, name: str, workdir: Path, pin: str | None) -> StormProcess:
        plan_file = workdir / f"storm-plan-{name}.json"
        plan_file.write_bytes(orjson.dumps(plan))
        out = workdir / f"storm-{name}.json"
        command = [sys.executable, str(ROOT / "bench" / "storm_client.py"), "--plan", str(plan_file),
                   "--out", str(out)]
        if pin:
            command = ["taskset", "-c", pin, *command]
        proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, limit=2**20)
        self = cls(proc, out)
        await self.line(60)  # {"started": n}
        return self

    async def line(self, timeout: float) -> dict:
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError("storm client process ended early")
        return orjson.loads(raw)

    async def command(self, word: str, timeout: float = 60) -> dict:
        self.proc.stdin.write(word.encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.line(timeout)

    async def dump(self) -> dict:
        await self.command("dump", 120)
        return orjson.loads(self.out.read_bytes())

    async def quit(self) -> None:
        if self.proc.returncode is None:
            try:
                await self.command("quit", 30)
                await asyncio.wait_for(self.proc.wait(), 30)
            except (TimeoutError, ConnectionError, BrokenPipeError, RuntimeError):
                self.proc.kill()
                await self.proc.wait()


def storm_samples(count: int, samples: int) -> set[int]:
    """`samples` socket indexes spread evenly over the storm (early and late connects), alternating
    between the two workers (index parity picks the worker)."""
    if samples <= 0:
        return set()
    step = max(count // samples, 2)
    return {min(count - 1, k * step + step // 2 + (k % 2)) for k in range(min(samples, count))}


async def storm_phase(seed, args, workdir: Path) -> dict:
    """Issue 11: a whole company connecting at once, over two worker processes, with no presence
    prepared in advance (everyone offline, no Connection rows)."""
    from asgiref.sync import sync_to_async

    from bench.seed import prepare_presence
    from bench.storm_client import http_json
    from virtual_office.realtime import realtime_setting

    count, seconds, kind = args.storm_users, args.storm_seconds, args.storm_server
    prepare = sync_to_async(prepare_presence, thread_sensitive=True)
    commit_before = await sync_to_async(commit_probe, thread_sensitive=True)()
    await prepare(seed, [])  # everyone offline: every storm socket's open is a real presence change
    ports = [args.port + 10, args.port + 11]
    servers = [Server(kind, port, workdir, args.pin_server, args.settings) for port in ports]
    processes: list[StormProcess] = []
    profilers: list[subprocess.Popen] = []
    try:
        for server in servers:
            await server.ready()
        # Warm-up of each worker (code loaded, the hub started, database connections open) with the
        # sender, who is not among the storm's users; then back to "everyone offline".
        idle_fetch = []
        hub_started: list[float] = []
        for server in servers:
            for _ in range(2):  # the second one is timed: what one fetch costs an idle worker
                started = time.time()
                status, _ = await http_json(server.url, "GET", "/api/v1/users/", seed.tokens[0])
                if status != 200:
                    raise RuntimeError(f"warm-up GET users/ answered {status}")
            idle_fetch.append(round((time.time() - started) * 1000, 1))
            hub_started.append(time.time())  # the first socket starts the worker's hub
            warm = await Sender.open(server.url, seed.tokens[0])
            await warm.close()
        await asyncio.sleep(args.grace + 2)  # the sender's presence settles (offline) before the storm
        await prepare(seed, [])
        await asyncio.sleep(1.0)
        users = list(range(1, count + 1))  # seed indexes
        samples = storm_samples(count, args.storm_sample)
        t0 = time.time() + 3.0  # the client processes start and import meanwhile
        # Each hub drops the layer groups no local socket needs every HUB_MAINTENANCE_SECONDS from its
        # start; the warm-up socket left such groups (the company's among them). By default the storm
        # starts after that first pass ("avoid"). "hit" starts it so that the pass of the worker warmed
        # last falls 0.6 s into the storm, while its sockets join the company group (see bench/README.md).
        maintenance = realtime_setting("HUB_MAINTENANCE_SECONDS")
        if args.storm_maintenance == "avoid":
            t0 = max(t0, max(hub_started) + maintenance + 2.0)
        else:
            t0 = max(t0, hub_started[-1] + maintenance - 0.6)
            if t0 > hub_started[-1] + maintenance - 0.3:
                raise RuntimeError("--storm-maintenance hit: the warm-up took too long to align the storm")
        await asyncio.sleep(max(0.0, t0 - 3.0 - time.time()))
        shares: list[list] = [[] for _ in range(args.workers)]
        for i, u in enumerate(users):
            entry = [i, servers[i % 2].url, seed.tokens[u], i * seconds / count, i in samples]
            shares[(i // 2) % args.workers].append(entry)
        truth = [seed.user_ids[u] for u in users]
        processes = [await StormProcess.start({"t0": t0, "truth": truth, "sockets": share}, str(k), workdir,
                                              args.pin_clients)
                     for k, share in enumerate(shares) if share]
        await asyncio.sleep(max(0.0, t0 - time.time() - 0.05))
        cpu0 = [cpu_seconds(s.pid) for s in servers]
        busy0 = machine_busy()
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profilers = [subprocess.Popen([str(VENV_BIN / "py-spy"), "record", "-p", str(s.pid), "-d",
                                           str(int(seconds + 10)), "-r", "100", "-f", "raw", "-o",
                                           f"{args.profile}/storm-worker{k}.txt"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for k, s in enumerate(servers)]
        log(f"  storm: {count} users, {len(samples)} sampled views, over {seconds:g} s to {kind} on ports {ports}")
        deadline = t0 + seconds + args.storm_timeout
        progress = []
        while True:
            await asyncio.sleep(0.5)
            states = await asyncio.gather(*(p.command("status") for p in processes))
            total = {k: sum(st[k] for st in states) for k in states[0]}
            progress.append({"t": round(time.time() - t0, 2), **total,
                             "worker_cpu_seconds": [round(cpu_seconds(s.pid) - c, 2)
                                                    for s, c in zip(servers, cpu0, strict=True)]})
            done = (total["hellos"] + total["failed"] == count and total["fetched"] == total["samples"]
                    and total["converged"] == total["samples"])
            if done or time.time() > deadline:
                break
        t_done = time.time()
        cpu_done = [cpu_seconds(s.pid) - c for s, c in zip(servers, cpu0, strict=True)]
        busy1 = machine_busy()
        stalled = {}
        if not done:  # where the workers are while something is still missing
            for server in servers:
                dump = subprocess.run([str(VENV_BIN / "py-spy"), "dump", "-p", str(server.pid)], capture_output=True,
                                      text=True, timeout=60)
                stalled[str(server.port)] = (dump.stdout or dump.stderr)[-6000:]
        await asyncio.sleep(3.0)  # frames still on their way are counted too
        cpu_tail = [cpu_seconds(s.pid) - c for s, c in zip(servers, cpu0, strict=True)]
        dumps = await asyncio.gather(*(p.dump() for p in processes))
        errors = [line for s in servers for line in s.errors()]
        rss = [rss_kb(s.pid) for s in servers]
    finally:
        for profiler in profilers:
            try:
                profiler.wait(30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        for server in servers:
            server.stop()  # first: the workers going away do not settle the live sockets' presence
        for proc in processes:
            await proc.quit()
    sockets = sorted((s for d in dumps for s in d["sockets"]), key=lambda s: s["index"])
    result = analyse_storm(sockets, t0, t_done, done)
    result.update({
        "server": kind,
        "worker_processes": len(servers),
        "ports": ports,
        "users": count,
        "connect_spread_seconds": seconds,
        "presence_prepared": "none: every user offline and no Connection rows before the storm",
        "sampled_views": len(samples),
        "view": "GET /api/v1/users/ (Token auth) right after hello, then every presence.updated / presence.batch "
                "(frames that came during the fetch applied after it); equal to the truth when exactly the "
                f"{count} storm users are online and everyone else of the company is offline",
        "worker_cpu_seconds": [round(c, 2) for c in cpu_done],
        "worker_cpu_seconds_plus_3s": [round(c, 2) for c in cpu_tail],
        "measured_seconds": round(t_done - t0, 2),
        "machine_cpu_busy_percent": round(100 * (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1), 1),
        "client_cpu_seconds": round(sum(d["cpu_seconds"] for d in dumps), 2),
        "worker_rss_kb": rss,
        "server_errors": errors[:20],
        "stalled_worker_stacks": stalled,
        "progress": progress,
        "loadavg_after": load_average(),
        "commit_probe_ms_before": commit_before,
        # One GET /api/v1/users/ (every person of the company) on each idle worker before the storm.
        "users_fetch_on_idle_worker_ms": idle_fetch,
        "maintenance": args.storm_maintenance,
        # Each worker's hub started this long before t0; its group maintenance runs every 15 s from then.
        "hub_started_before_t0_s": [round(t0 - h, 2) for h in hub_started],
        "targets": STORM_TARGETS,
    })
    met = {
        "every_hello": result["hellos"] == count,
        "last_hello": (result["first_connect_to_last_hello_s"] or 1e9) <= STORM_TARGETS["last_hello_seconds"],
        "convergence": result["convergence_s"] is not None
        and result["convergence_s"] <= STORM_TARGETS["convergence_seconds"],
        "presence_frames_per_socket": result["presence_frames_per_socket"].get("max", 1e9)
        <= STORM_TARGETS["presence_frames_per_socket_max"],
    }
    met["all"] = all(met.values())
    result["targets_met"] = met
    return result


def analyse_storm(sockets: list[dict], t0: float, t_done: float, done: bool) -> dict:
    opened = [s for s in sockets if s["t_hello"] is not None]
    failed = [s["index"] for s in sockets if s["gave_up"]]
    pending = [s["index"] for s in sockets if s["t_hello"] is None and not s["gave_up"]]
    first_connect = min((s["t_start"] for s in sockets if s["t_start"] is not None), default=None)
    last_open = max((s["t_open"] for s in opened), default=None)
    last_hello = max((s["t_hello"] for s in opened), default=None)
    frames = sorted(s["frames"] for s in opened)
    samples = [s for s in sockets if "sample" in s]
    converged = [s["sample"]["converged_at"] for s in samples if s["sample"]["converged_at"] is not None]
    all_converged = bool(samples) and len(converged) == len(samples)
    errors: dict[str, int] = {}
    closed: dict[str, int] = {}
    other: dict[str, int] = {}
    for s in sockets:
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v
        for k, v in s["other"].items():
            other[k] = other.get(k, 0) + v
        if s["closed"] is not None:
            closed[s["closed"]] = closed.get(s["closed"], 0) + 1
    fetches = [s["sample"]["fetch"] for s in samples if s["sample"]["fetch"]]

    def rel(t: float | None) -> float | None:
        return None if t is None or first_connect is None else round(t - first_connect, 3)

    # Sockets whose presence frames stopped well before everyone else's: the hub no longer counts
    # them among the company group's members (they would miss every later change).
    last_flush = max((s["t_last_presence"] for s in opened if s["t_last_presence"]), default=None)
    stopped_early = [s for s in opened if last_flush and (s["t_last_presence"] or 0) < last_flush - 5.0]
    per_worker: dict[int, list[int]] = {}
    for s in opened:
        per_worker.setdefault(s["port"], []).append(s["frames"])
    return {
        "sockets": len(sockets),
        "hellos": len(opened),
        "failed": len(failed),
        "failed_indexes": failed[:50],
        "still_connecting_at_the_end": len(pending),
        "connect_errors": errors,
        "closed_sockets": closed,
        "other_frames": other,
        "first_connect_to_last_hello_s": rel(last_hello),
        "first_connect_to_last_open_s": rel(last_open),
        "connect_to_hello_ms": summary_ms([s["t_hello"] - s["t_start"] for s in opened]),
        "hellos_after_s": {f"{q}": rel(percentile(sorted(s["t_hello"] for s in opened), q)) if opened else None
                           for q in (0.5, 0.9, 0.99)},
        # When the last sampled view equalled the truth, after the last socket opened (and after its hello).
        "convergence_s": round(max(converged) - last_open, 3) if all_converged and last_open else None,
        "convergence_after_last_hello_s": round(max(converged) - last_hello, 3)
        if all_converged and last_hello else None,
        "converged_views": len(converged),
        # Per sampled view at the end: how many users it still had wrong (0 = converged).
        "views_wrong_at_end": sorted(s["sample"]["wrong"] for s in samples),
        "resync_frames": other.get("resync", 0),
        "not_converged": [{"index": s["index"], "wrong": s["sample"]["wrong"],
                           "differing": s["sample"]["differing"], "fetch": s["sample"]["fetch"]}
                          for s in samples if s["sample"]["converged_at"] is None][:10],
        "views_converged_after_s": sorted(rel(t) for t in converged)[-5:],
        "fetch_seconds": summary_ms([f["seconds"] for f in fetches if "seconds" in f and "status" in f]),
        "fetch_statuses": sorted({str(f.get("status", f.get("error"))) for f in fetches}),
        "presence_frames_per_socket": {
            "mean": round(sum(frames) / len(frames), 1) if frames else None,
            "p50": percentile(frames, 0.5) if frames else None,
            "max": frames[-1] if frames else None,
            "min": frames[0] if frames else None,
        },
        "presence_frames_per_socket_by_port": {str(port): {"mean": round(sum(v) / len(v), 1), "max": max(v)}
                                               for port, v in sorted(per_worker.items())},
        "sockets_whose_presence_frames_stopped_5s_early": len(stopped_early),
        "sockets_whose_presence_frames_stopped_early_sample": [
            {"index": s["index"], "port": s["port"], "frames": s["frames"], "hello_after_s": rel(s["t_hello"]),
             "last_presence_after_s": rel(s["t_last_presence"])} for s in stopped_early[:10]],
        "presence_batches_per_socket_mean": round(sum(s["batches"] for s in opened) / max(len(opened), 1), 1),
        "presence_updates_per_socket_mean": round(sum(s["updates"] for s in opened) / max(len(opened), 1), 1),
        "presence_kb_per_socket_mean": round(sum(s["presence_bytes"] for s in opened) / max(len(opened), 1) / 1024, 1),
        "finished": "every socket had its hello and every sampled view converged" if done
        else "gave up at the deadline",
        "seconds_until_done_after_first_connect": rel(t_done),
    }


def targets_met(result: dict) -> dict:
    lat = result.get("latency", {})
    n100 = lat.get("100", {}).get("commit_to_receipt_ms", {})
    n1000 = lat.get("1000", {}).get("commit_to_receipt_ms", {})
    whole = lat.get("1000", {}).get("whole_send_to_receipt_ms", {})
    thr = result.get("throughput", {})
    # The fan-out target is the fan-out's: the phase with every receiver watching, the same work per
    # message as when the target was set. With nobody watching, each message also makes a `direct`
    # notification (a row and a frame) per receiver, which the contract asks for; that phase is
    # reported beside it (bench/README.md).
    fan_out = result.get("throughput_watching") or thr
    mem = result.get("memory", {})
    phases = [*lat.values(), *(p for p in (thr, result.get("throughput_watching")) if p)]
    met = {
        "n100_p50": n100.get("p50", 1e9) <= TARGETS["n100_p50_ms"],
        "n100_p99": n100.get("p99", 1e9) <= TARGETS["n100_p99_ms"],
        "n1000_p50": n1000.get("p50", 1e9) <= TARGETS["n1000_p50_ms"],
        "n1000_p99": n1000.get("p99", 1e9) <= TARGETS["n1000_p99_ms"],
        "n1000_whole_send_p99": whole.get("p99", 1e9) <= TARGETS["n1000_whole_send_p99_ms"],
        "deliveries_per_second": fan_out.get("deliveries_per_second", 0) >= TARGETS["deliveries_per_second"],
        "bytes_per_idle_socket": mem.get("bytes_per_socket", 1e12) <= TARGETS["bytes_per_idle_socket"],
        "zero_lost": bool(phases) and all(p.get("lost", 1) == 0 for p in phases),
        "zero_duplicated": bool(phases) and all(p.get("duplicated", 1) == 0 for p in phases),
    }
    met["all"] = all(met.values())
    return met


def compare(servers: dict) -> dict:
    """Which server is faster, figure by figure (lower latency, higher throughput, less memory)."""
    if len(servers) < 2:
        return {}
    rows = {}
    for n in ("10", "100", "1000"):
        rows[f"n{n}_commit_p50_ms"] = {k: v["latency"].get(n, {}).get("commit_to_receipt_ms", {}).get("p50")
                                       for k, v in servers.items()}
        rows[f"n{n}_commit_p99_ms"] = {k: v["latency"].get(n, {}).get("commit_to_receipt_ms", {}).get("p99")
                                       for k, v in servers.items()}
    rows["deliveries_per_second"] = {k: v.get("throughput", {}).get("deliveries_per_second")
                                     for k, v in servers.items()}
    rows["deliveries_per_second_watching"] = {k: v.get("throughput_watching", {}).get("deliveries_per_second")
                                              for k, v in servers.items()}
    rows["kb_per_idle_socket"] = {k: v.get("memory", {}).get("kb_per_socket") for k, v in servers.items()}
    wins: dict[str, int] = dict.fromkeys(servers, 0)
    for name, row in rows.items():
        values = {k: v for k, v in row.items() if v is not None}
        if len(values) < 2:
            continue
        best = max(values, key=values.get) if name.startswith("deliveries_per_second") else min(values, key=values.get)
        wins[best] += 1
    return {"figures": rows, "wins": wins, "faster": max(wins, key=wins.get)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="daphne,uvicorn,uvicorn-sansio")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--messages", default="10:200,100:100,1000:40",
                        help="measured messages per audience size (after 3 warm-up messages)")
    parser.add_argument("--throughput-seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=4, help="throughput: message.send frames in flight")
    parser.add_argument("--memory-sockets", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="receiver client processes")
    parser.add_argument("--port", type=int, default=8140)
    parser.add_argument("--pin-server", default=None, help="taskset CPU list for the server, e.g. 0")
    parser.add_argument("--pin-clients", default=None, help="taskset CPU list for the client processes, e.g. 1")
    parser.add_argument("--grace", type=float, default=6.0, help="seconds to wait after closing a phase's sockets")
    parser.add_argument("--output", default=str(RESULTS / "latest.json"))
    parser.add_argument("--profile", default=None, help="directory: py-spy the server during the throughput phase")
    parser.add_argument("--settings", default=None, help="DJANGO_SETTINGS_MODULE for the servers (experiments)")
    parser.add_argument("--memory-settings", default=None,
                        help="DJANGO_SETTINGS_MODULE of the memory-phase server (default: as shipped)")
    parser.add_argument("--tag", default="", help="short name for the dated copy")
    parser.add_argument("--connect-concurrency", type=int, default=CONNECT_CONCURRENCY,
                        help="handshakes in flight per client process")
    parser.add_argument("--cold-messages", type=int, default=10,
                        help="cold group: messages to the new group (the first is the cold one); 0 skips it")
    parser.add_argument("--storm-users", type=int, default=2000, help="presence storm: sockets (users); 0 skips it")
    parser.add_argument("--storm-seconds", type=float, default=10.0, help="presence storm: connects spread over")
    parser.add_argument("--storm-sample", type=int, default=50,
                        help="presence storm: clients that fetch GET users/ and keep a view of who is online")
    parser.add_argument("--storm-server", default="uvicorn-sansio", help="presence storm: the two workers' server")
    parser.add_argument("--storm-timeout", type=float, default=60.0,
                        help="presence storm: give up this long after the last scheduled connect")
    parser.add_argument("--storm-maintenance", choices=["avoid", "hit"], default="avoid",
                        help="presence storm: start after each hub's first group maintenance pass (avoid), or "
                             "so that the pass of the worker warmed last falls 0.6 s into the storm (hit)")
    parser.add_argument("--quiet-load", type=float, default=1.0,
                        help="before starting, wait until the 1-minute load average is below this (0: do not wait)")
    parser.add_argument("--quiet-wait", type=float, default=900.0,
                        help="wait at most this long for --quiet-load (polled every 30 s), then run anyway")
    args = parser.parse_args()
    globals()["CONNECT_CONCURRENCY"] = args.connect_concurrency
    args.servers = [s for s in args.servers.split(",") if s]
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    messages = dict(item.split(":") for item in args.messages.split(","))
    args.messages = {n: int(messages.get(str(n), 50)) for n in args.sizes}
    return args


def ensure_database() -> bool:
    """Create the PostgreSQL database of DATABASE_URL if it does not exist (True if created)."""
    from urllib.parse import urlparse

    import psycopg

    url = os.environ["DATABASE_URL"]
    parsed = urlparse(url)
    if not parsed.scheme.startswith("postgres"):
        return False
    name = parsed.path.lstrip("/")
    try:
        psycopg.connect(url, connect_timeout=5).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created database {name}")
    return True


def wait_for_quiet(threshold: float, limit: float) -> dict:
    """Other work on this machine skews every figure: wait (poll every 30 s, at most `limit` s) until
    the 1-minute load average is below `threshold`."""
    started = time.time()
    first = load_average()
    while threshold > 0:
        one = float(load_average().split()[0])
        if one < threshold:
            break
        if time.time() - started >= limit:
            log(f"load average still {one} after {limit:.0f} s: running anyway")
            break
        log(f"load average {one} >= {threshold}: waiting (at most {limit - (time.time() - started):.0f} s more)")
        time.sleep(30)
    busy0 = machine_busy()
    time.sleep(5)
    busy1 = machine_busy()
    return {"threshold": threshold, "loadavg_first": first, "loadavg_at_start": load_average(),
            "waited_seconds": round(time.time() - started, 1),
            # The load average lags a burst by minutes; this is how busy the cores really were just now.
            "cpu_busy_percent_5s_before": round(100 * (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1), 1)}


def main() -> int:
    args = parse_args()
    _raise_nofile()
    quiet = wait_for_quiet(args.quiet_load, args.quiet_wait)
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    from bench.seed import seed as make_seed

    started = time.time()
    commit_at_start = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip()
    uptime_before = load_average()
    log(f"load before: {uptime_before}")
    call_command("migrate", verbosity=0, interactive=False)
    users = max([*args.sizes, args.memory_sockets]) + 1
    users = max(users, args.storm_users + 1)
    seed = make_seed(users, args.sizes)
    log(f"seeded: company {seed.company_id}, {users} users, conversations {seed.conversations}")
    commit_ms = commit_probe()
    log(f"PostgreSQL small write transaction (ms): {commit_ms}")
    speed = calibration()
    log(f"machine calibration: {speed}")
    from bench.seed import drop_cold_groups

    drop_cold_groups()  # left by an interrupted run
    software = versions()
    workdir = Path(tempfile.mkdtemp(prefix="vo-bench-"))
    try:
        servers, storm = asyncio.run(run_all(args, seed, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    comparison = compare(servers)
    default = comparison.get("faster") or (args.servers[0] if args.servers else None)
    git = {
        "commit_at_start": commit_at_start,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        # Uncommitted changes in the tree the servers ran from (other than bench/ itself).
        "changed_files": [line[3:] for line in subprocess.run(["git", "status", "--porcelain"], cwd=ROOT,
                                                               capture_output=True, text=True).stdout.splitlines()
                          if not line[3:].startswith("bench/")],
    }
    result = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git,
        "duration_seconds": round(time.time() - started, 1),
        "machine": {**machine_info(), "loadavg_before": uptime_before, "loadavg_after": load_average(),
                    "quiet_wait": quiet, "postgres_commit_probe_ms_at_start": commit_ms,
                    "calibration": speed},
        "setup": {
            "what": "one company; N receiver sockets, each a different user, all active participants of one "
                    "group conversation; one sender socket (another participant) posting message.send with a ref",
            "servers": {k: v.get("command") for k, v in servers.items()},
            "server_processes": 1,
            "server_cpu_pin": args.pin_server,
            "client_processes": args.workers,
            "client_cpu_pin": args.pin_clients,
            "channel_layer": "channels_redis.core.RedisChannelLayer (one hub channel per process; the process "
                             "that commits delivers to its own sockets without the layer)",
            "database": "PostgreSQL",
            "clock": "time.time() (CLOCK_REALTIME) in every process; created_at is stamped by the server with the "
                     "same clock",
            "commit_to_receipt": "receive time - message.created_at (stamped inside the transaction just before "
                                 "COMMIT, so it is an upper bound: it includes the INSERT and COMMIT)",
            "whole_send_to_receipt": "receive time - time just before the sender wrote the message.send frame "
                                     "(includes socket, permission check, transaction, commit, publish)",
            "messages_per_size": args.messages,
            "warmup_messages": 3,
            "throughput_seconds": args.throughput_seconds,
            "memory_sockets": args.memory_sockets,
            "settings": args.settings or "virtual_office.settings",
            "memory_phase_settings": args.memory_settings or "virtual_office.settings",
            "throughput_sends_in_flight": args.window,
            "connect_concurrency_per_client_process": args.connect_concurrency,
            "cold_group_messages": args.cold_messages,
            "storm": {"users": args.storm_users, "seconds": args.storm_seconds, "sampled_views": args.storm_sample,
                      "server": args.storm_server, "worker_processes": 2},
            "versions": software,
        },
        "servers": servers,
        # Issue 11: the presence storm (two workers, no presence prepared) and its own targets.
        "presence_storm": storm,
        "comparison": comparison,
        "default_server": default,
        "targets": TARGETS,
        "targets_met": servers[default]["targets_met"] if default else {},
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    output.write_bytes(data)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    short = args.tag or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip() or "run"
    (output.parent / f"{stamp}-{short}.json").write_bytes(data)
    log(f"wrote {output} and {stamp}-{short}.json; default server {default}; targets met: {result['targets_met']}")
    if storm:
        log(f"presence storm targets met: {storm['targets_met']}")
    return 0


async def run_all(args: argparse.Namespace, seed, workdir: Path) -> tuple[dict, dict | None]:
    servers = {}
    for i, kind in enumerate(args.servers):
        log(f"== {kind} ==")
        servers[kind] = await run_server(kind, args.port + i, seed, args, workdir)
        servers[kind]["targets_met"] = targets_met(servers[kind])
    storm = None
    if args.storm_users > 0:
        log(f"== presence storm ({args.storm_server}, 2 workers) ==")
        storm = await storm_phase(seed, args, workdir)
        print_storm(storm)
    return servers, storm


def print_storm(storm: dict) -> None:
    frames = storm["presence_frames_per_socket"]
    log(f"    {storm['hellos']} of {storm['sockets']} hellos, {storm['failed']} gave up, "
        f"{storm['still_connecting_at_the_end']} still connecting at the end "
        f"(connect errors {storm['connect_errors']}); last hello {storm['first_connect_to_last_hello_s']} s after "
        f"the first connect; connect -> hello {storm['connect_to_hello_ms']}")
    log(f"    convergence {storm['convergence_s']} s after the last socket opened "
        f"({storm['converged_views']} of {storm['sampled_views']} views; GET users/ {storm['fetch_seconds']})")
    log(f"    presence frames per socket mean {frames['mean']} max {frames['max']} "
        f"({storm['presence_kb_per_socket_mean']} KB); worker CPU {storm['worker_cpu_seconds']} s "
        f"over {storm['measured_seconds']} s; machine busy {storm['machine_cpu_busy_percent']} %")
    log(f"    storm targets met: {storm['targets_met']}")


if __name__ == "__main__":
    sys.exit(main())
