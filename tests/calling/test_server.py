"""Expiry on real servers: two daphne processes, Redis, token-authenticated `websockets` clients.

Nobody asks for the expiry: the per-process sweepers must announce it, within 2 s, exactly once,
with caller and callee connected to different processes.
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest
import websockets
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from calling.models import Call, Teleport
from messaging.models import Message
from presence.models import Presence
from tests.factories import CompanyFactory, SpaceFactory, UserFactory

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def _request(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def api(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    return await asyncio.to_thread(_request, method, url, token, body)


class Client:
    """A `websockets` client that keeps every frame with its arrival time."""

    def __init__(self, base: str, token: str, user: object) -> None:
        self.url = base.replace("http://", "ws://") + "/ws/"
        self.token = token
        self.user = user
        self.frames: list[tuple[float, dict]] = []

    async def __aenter__(self) -> "Client":
        self.ws = await websockets.connect(self.url, additional_headers={"Authorization": f"Token {self.token}"})
        self.reader = asyncio.create_task(self._read())
        await self.wait_for("hello")
        # The server records the connection just after `hello`; callers check that the callee is online.
        deadline = time.monotonic() + 5
        while not await database_sync_to_async(Presence.objects.filter(user=self.user, connected=True).exists)():
            assert time.monotonic() < deadline, "the server never marked the socket's user online"
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        async for text in self.ws:
            self.frames.append((time.time(), json.loads(text)))

    def of_type(self, frame_type: str) -> list[tuple[float, dict]]:
        return [(at, frame) for at, frame in self.frames if frame["type"] == frame_type]

    async def wait_for(self, frame_type: str, timeout: float = 5.0) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while not self.of_type(frame_type):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {frame_type} within {timeout} s; got {[f['type'] for _, f in self.frames]}")
            await asyncio.sleep(0.02)
        return self.of_type(frame_type)[0]


def missed_ids(ws: Client) -> list[int]:
    return [frame["data"]["id"] for _, frame in ws.of_type("call.missed")]


async def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@database_sync_to_async
def _people(count: int) -> list[tuple[object, str]]:
    company = CompanyFactory()
    users = [UserFactory(company=company) for _ in range(count)]
    return [(user, Token.objects.create(user=user).key) for user in users]


async def test_missed_call_reaches_both_processes_within_2s_once(servers):
    (alice, alice_token), (bob, bob_token) = await _people(2)
    async with Client(servers[0], alice_token, alice) as ws_alice, Client(servers[1], bob_token, bob) as ws_bob:
        body = {"callee": bob.id, "kind": "voice"}
        status, call = await api("POST", f"{servers[0]}/api/v1/calls/", alice_token, body)
        assert status == 201, call
        expires_at = datetime.fromisoformat(call["expires_at"]).timestamp()
        assert 1.5 < expires_at - time.time() <= 2.1  # the server's CALL_RING_SECONDS=2
        for ws in (ws_alice, ws_bob):
            _, invited = await ws.wait_for("call.invited")
            assert invited["data"]["id"] == call["id"]
        lags = []
        for ws in (ws_alice, ws_bob):
            at, missed = await ws.wait_for("call.missed", timeout=6)
            assert missed["data"] == {**missed["data"], "id": call["id"], "state": "missed"}
            lags.append(at - expires_at)
        print(f"call.missed after expiry: {', '.join(f'{lag * 1000:.0f} ms' for lag in lags)}")
        assert all(0 <= lag < 2.0 for lag in lags), lags
        # A second call, rung now, is missed two seconds later: by the time both sides hear that,
        # each process has swept at least twice more (every SWEEP_SECONDS) and announced nothing again.
        status, later = await api("POST", f"{servers[1]}/api/v1/calls/", alice_token, body)
        assert status == 201, later
        for ws in (ws_alice, ws_bob):
            await wait_until(lambda ws=ws: later["id"] in missed_ids(ws), timeout=6)
            assert missed_ids(ws) == [call["id"], later["id"]]
        status, refusal = await api("POST", f"{servers[1]}/api/v1/calls/{call['id']}/accept/", bob_token)
        assert status == 409 and refusal["code"] == "call_expired"
    assert await database_sync_to_async(Call.objects.get)(pk=call["id"]) is not None
    notes = await database_sync_to_async(Message.objects.filter(system__event="call_missed").count)()
    assert notes == 2


async def test_teleport_expires_on_its_own(servers):
    (alice, alice_token), (bob, bob_token) = await _people(2)
    space = await database_sync_to_async(SpaceFactory)(company=alice.company, name="Studio")
    async with Client(servers[1], alice_token, alice) as ws_alice, Client(servers[0], bob_token, bob) as ws_bob:
        status, teleport = await api(
            "POST", f"{servers[1]}/api/v1/teleports/", alice_token, {"invitee": bob.id, "space": space.id}
        )
        assert status == 201, teleport
        expires_at = datetime.fromisoformat(teleport["expires_at"]).timestamp()
        for ws in (ws_alice, ws_bob):
            at, expired = await ws.wait_for("teleport.expired", timeout=6)
            assert expired["data"]["id"] == teleport["id"] and 0 <= at - expires_at < 2.0
        status, refusal = await api("POST", f"{servers[0]}/api/v1/teleports/{teleport['id']}/accept/", bob_token)
        assert status == 409 and refusal["code"] == "teleport_expired"
    state = await database_sync_to_async(lambda: Teleport.objects.get(pk=teleport["id"]).state)()
    assert state == "expired"


async def test_signal_crosses_processes_to_the_other_party_only(servers):
    (alice, alice_token), (bob, bob_token), (carol, carol_token) = await _people(3)
    async with (
        Client(servers[0], alice_token, alice) as ws_alice,
        Client(servers[1], bob_token, bob) as ws_bob,
        Client(servers[1], carol_token, carol) as ws_carol,
    ):
        body = {"callee": bob.id, "kind": "video"}
        status, call = await api("POST", f"{servers[0]}/api/v1/calls/", alice_token, body)
        assert status == 201, call
        status, _ = await api("POST", f"{servers[1]}/api/v1/calls/{call['id']}/accept/", bob_token)
        assert status == 200
        offer = {"type": "offer", "sdp": "v=0\r\n"}
        await ws_alice.ws.send(json.dumps({"action": "call.signal", "ref": 1, "call": call["id"], "payload": offer}))
        _, relayed = await ws_bob.wait_for("call.signal")
        assert relayed["data"] == {"call": call["id"], "from": alice.id, "payload": offer}
        await ws_carol.ws.send(json.dumps({"action": "call.signal", "ref": 2, "call": call["id"], "payload": offer}))
        _, error = await ws_carol.wait_for("error")
        assert error["error"]["code"] == "call_not_found"
        # Carol's refusal came after her frame was handled, so anything it relayed was already on its
        # way; Bob's answer, sent from the same process afterwards, arrives after it.
        answer = {"type": "answer", "sdp": "v=0\r\n"}
        await ws_bob.ws.send(json.dumps({"action": "call.signal", "ref": 3, "call": call["id"], "payload": answer}))
        _, relayed_back = await ws_alice.wait_for("call.signal")
        assert relayed_back["data"] == {"call": call["id"], "from": bob.id, "payload": answer}
        assert len(ws_alice.of_type("call.signal")) == 1 and not ws_carol.of_type("call.signal")
        assert len(ws_bob.of_type("call.signal")) == 1
