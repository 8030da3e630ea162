"""Against a real uvicorn worker, as production runs it: frames over the limit, /healthz while the
hub holds the layer, and a peer that stops reading its socket."""

from __future__ import annotations

import asyncio
import json
import os
import socket as pysocket
import time
import urllib.request

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.factories import CompanyFactory, UserFactory, group_with
from tests.realtime.test_server import next_of, open_socket, rest
from tests.servers import free_port, run_server

pytestmark = [
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the production path runs on Redis (REDIS_URL)"),
    pytest.mark.skipif(
        "postgres" not in os.environ.get("DATABASE_URL", ""), reason="the server shares the test database: PostgreSQL"
    ),
]

SEND_QUEUE_MAX = 50


@pytest.fixture(scope="module")
def worker(django_db_setup):
    assert connection.settings_dict["NAME"].startswith("test_")
    env = {"LOG_LEVEL": "WARNING", "WS_SEND_QUEUE_MAX": str(SEND_QUEUE_MAX), "WS_RATE_LIMIT": "100000"}
    with run_server(free_port(), env, kind="uvicorn") as server:
        yield server


@database_sync_to_async
def make_room(readers: int) -> dict:
    company = CompanyFactory()
    people = [UserFactory(company=company) for _ in range(readers + 2)]
    conversation = group_with(*people)
    return {
        "conversation": conversation.id,
        "keys": [Token.objects.create(user=person).key for person in people],
    }


def healthz(server) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{server.http_url}/healthz", timeout=5) as response:
            return response.status, time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started


async def test_a_frame_over_the_limit_gets_frame_too_large_and_the_socket_stays_open(worker):
    room = await make_room(0)
    socket = await open_socket(worker, room["keys"][0])
    for size in (65 * 1024, 2 * 1024 * 1024):
        await socket.send(json.dumps({"action": "ping", "ref": "big", "pad": "x" * size}))
        error = await next_of(socket, "error")
        assert error["error"]["code"] == "frame_too_large"
    await socket.send(json.dumps({"action": "ping", "ref": "after"}))
    assert (await next_of(socket, "pong"))["ref"] == "after"
    await socket.close()


async def test_healthz_answers_at_once_on_an_idle_worker_with_a_socket_open(worker):
    room = await make_room(0)
    socket = await open_socket(worker, room["keys"][0])
    for _ in range(3):
        status, took = await asyncio.to_thread(healthz, worker)
        assert status == 200 and took < 1.0
    await socket.close()


def raw_socket_that_never_reads(server, key: str) -> pysocket.socket:
    """A WebSocket handshake by hand, then never a read: the kernel buffers fill and stay full."""
    raw = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
    raw.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 4096)  # before connect: a small window
    raw.connect(("127.0.0.1", server.port))
    raw.sendall(
        (
            "GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Token {key}\r\n\r\n"
        ).encode()
    )
    return raw


async def test_a_peer_that_stops_reading_is_dropped_and_holds_no_reader_back(worker):
    readers_count = 5
    room = await make_room(readers_count)
    sender_key, stuck_key, *reader_keys = room["keys"]
    stuck = await asyncio.to_thread(raw_socket_that_never_reads, worker, stuck_key)
    readers = [await open_socket(worker, key) for key in reader_keys]
    latencies: list[float] = []
    bodies: list[list[str]] = [[] for _ in readers]
    big = "y" * 8000  # fills the stuck peer's buffers quickly
    sent: list[str] = []

    async def read(index: int, socket) -> None:
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if frame["type"] == "message.created":
                head, stamp, _ = frame["data"]["body"].split(" ", 2)
                if head == "done":
                    return
                bodies[index].append(head)
                latencies.append(time.time() - float(stamp))

    async def post(body: str) -> None:
        status, _ = await asyncio.to_thread(
            rest, worker, sender_key, "POST", f"conversations/{room['conversation']}/messages/", {"body": body}
        )
        assert status == 201

    tasks = [asyncio.create_task(read(i, s)) for i, s in enumerate(readers)]
    dropped = asyncio.create_task(asyncio.to_thread(peer_closed_later, stuck, 60))
    for i in range(1500):  # until the server gives up on the stuck peer
        sent.append(f"m{i:04d}")
        await post(f"{sent[-1]} {time.time()} {big}")
        if dropped.done():
            break
    await post(f"done {time.time()} .")
    await asyncio.gather(*tasks)
    for got in bodies:
        assert got == sent  # every one, once, in order
    latencies.sort()
    assert latencies[int(len(latencies) * 0.99) - 1] < 0.5
    # Past WS_SEND_QUEUE_MAX waiting frames the server gave up on the stuck peer (4008, then drop).
    assert await dropped, f"the stuck peer is still connected after {len(sent)} messages"
    stuck.close()
    for socket in readers:
        await socket.close()


def peer_closed_later(raw: pysocket.socket, timeout: float) -> bool:
    """Whether the server drops the connection within `timeout` seconds, without reading its data
    (a peer that never reads; peeking at the kernel's buffer only to learn of the FIN or RST)."""
    import select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readable, _, errored = select.select([raw], [], [raw], 0.2)
        if errored:
            return True
        if readable:
            try:
                raw.recv(1, pysocket.MSG_PEEK)
            except OSError:
                return True
            # Data waiting (never read on purpose): ask the kernel whether the peer is gone.
            info = raw.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_INFO, 8)
            if info[0] not in (1,):  # TCP_ESTABLISHED
                return True
            time.sleep(0.2)
    return False
