"""`make bench`: WebSocket fan-out of Virtual Office on real servers, PostgreSQL and Redis.

For each ASGI server (daphne, uvicorn) started as a subprocess on 127.0.0.1:
1. latency: N receiver sockets (N = 10, 100, 1000), each of a different user of one company, all
   active participants of one group conversation; one sender socket posts `message.send` one at a
   time; every receiver timestamps each `message.created`;
2. throughput: the 1,000 sockets stay; the sender posts back to back (next send when the ack is
   back) for a fixed time; deliveries / (last receipt - first send);
3. memory: a fresh server, RSS (/proc/<pid>/status VmRSS) before and after 5,000 idle sockets;
4. lost and duplicated deliveries: every receipt is keyed by (socket, message id).
Receivers run in separate client processes (bench/client.py); the sender runs here.
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

    async def collect(self) -> dict:
        dumps = await asyncio.gather(*(p.dump() for p in self.processes))
        receipts = [tuple(r) for d in dumps for r in d["receipts"]]
        other: dict[str, int] = {}
        closed: dict[str, int] = {}
        for d in dumps:
            for k, v in d["other"].items():
                other[k] = other.get(k, 0) + v
            for k, v in d["closed"].items():
                closed[k] = closed.get(k, 0) + v
        return {"receipts": receipts, "other": other, "closed": closed,
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
                out["throughput"] = {"sockets": n, **result}
                log(f"    {result['deliveries_per_second']} deliveries/s ({result['messages_per_second']} msg/s), "
                    f"server CPU {result['server_cpu_seconds']} s, "
                    f"machine busy {result['machine_cpu_busy_percent']} %, "
                    f"lost {result['lost']} dup {result['duplicated']}")
            await sender.close()
            await receivers.close()
            await asyncio.sleep(args.grace)  # let the presence grace timers of closed sockets run out
        out["server_errors"] = server.errors()
    finally:
        server.stop()
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


def targets_met(result: dict) -> dict:
    lat = result.get("latency", {})
    n100 = lat.get("100", {}).get("commit_to_receipt_ms", {})
    n1000 = lat.get("1000", {}).get("commit_to_receipt_ms", {})
    whole = lat.get("1000", {}).get("whole_send_to_receipt_ms", {})
    thr = result.get("throughput", {})
    mem = result.get("memory", {})
    phases = [*lat.values(), thr] if thr else list(lat.values())
    met = {
        "n100_p50": n100.get("p50", 1e9) <= TARGETS["n100_p50_ms"],
        "n100_p99": n100.get("p99", 1e9) <= TARGETS["n100_p99_ms"],
        "n1000_p50": n1000.get("p50", 1e9) <= TARGETS["n1000_p50_ms"],
        "n1000_p99": n1000.get("p99", 1e9) <= TARGETS["n1000_p99_ms"],
        "n1000_whole_send_p99": whole.get("p99", 1e9) <= TARGETS["n1000_whole_send_p99_ms"],
        "deliveries_per_second": thr.get("deliveries_per_second", 0) >= TARGETS["deliveries_per_second"],
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
    rows["kb_per_idle_socket"] = {k: v.get("memory", {}).get("kb_per_socket") for k, v in servers.items()}
    wins: dict[str, int] = dict.fromkeys(servers, 0)
    for name, row in rows.items():
        values = {k: v for k, v in row.items() if v is not None}
        if len(values) < 2:
            continue
        best = max(values, key=values.get) if name == "deliveries_per_second" else min(values, key=values.get)
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
    args = parser.parse_args()
    globals()["CONNECT_CONCURRENCY"] = args.connect_concurrency
    args.servers = [s for s in args.servers.split(",") if s]
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    messages = dict(item.split(":") for item in args.messages.split(","))
    args.messages = {n: int(messages.get(str(n), 50)) for n in args.sizes}
    return args


def main() -> int:
    args = parse_args()
    _raise_nofile()
    import django

    django.setup()
    from django.core.management import call_command

    from bench.seed import seed as make_seed

    started = time.time()
    uptime_before = load_average()
    log(f"load before: {uptime_before}")
    call_command("migrate", verbosity=0, interactive=False)
    users = max([*args.sizes, args.memory_sockets]) + 1
    seed = make_seed(users, args.sizes)
    log(f"seeded: company {seed.company_id}, {users} users, conversations {seed.conversations}")
    software = versions()
    workdir = Path(tempfile.mkdtemp(prefix="vo-bench-"))
    try:
        servers = asyncio.run(run_all(args, seed, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    comparison = compare(servers)
    default = comparison.get("faster") or args.servers[0]
    result = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(time.time() - started, 1),
        "machine": {**machine_info(), "loadavg_before": uptime_before, "loadavg_after": load_average()},
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
            "versions": software,
        },
        "servers": servers,
        "comparison": comparison,
        "default_server": default,
        "targets": TARGETS,
        "targets_met": servers[default]["targets_met"],
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
    return 0


async def run_all(args: argparse.Namespace, seed, workdir: Path) -> dict:
    servers = {}
    for i, kind in enumerate(args.servers):
        log(f"== {kind} ==")
        servers[kind] = await run_server(kind, args.port + i, seed, args, workdir)
        servers[kind]["targets_met"] = targets_met(servers[kind])
    return servers


if __name__ == "__main__":
    sys.exit(main())
