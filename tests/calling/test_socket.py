"""Calling over the socket: invitation events reach both parties only, call.signal reaches only the
other party of an answered call, and the per-process sweeper announces expiry by itself."""

import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from calling import services
from calling.api.serializers import SIGNAL_MAX_BYTES
from calling.models import Call
from tests.factories import CompanyFactory, UserFactory
from tests.realtime.sockets import hub_job_runs
from virtual_office.realtime.consumer import OfficeConsumer

pytestmark = pytest.mark.django_db(transaction=True)

THE_CALL = object()  # stands for the id of the answered call made in the test
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


async def connect(user) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    ws.scope["user"] = user
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=3))["type"] == "hello"
    return ws


async def next_frame(ws: WebsocketCommunicator, frame_type: str, timeout: float = 3.0) -> dict:
    """The next frame of that type, skipping others (presence.updated and the like)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await ws.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))
        if frame["type"] == frame_type:
            return frame


async def frames(ws: WebsocketCommunicator, quiet: float = 0.4) -> list[dict]:
    out = []
    while not await ws.receive_nothing(timeout=quiet):
        out.append(await ws.receive_json_from())
    return out


@pytest.fixture
async def trio():
    """alice, bob (same company, both connected) and carol (same company), plus their sockets."""
    company = await database_sync_to_async(CompanyFactory)()
    users = [await database_sync_to_async(UserFactory)(company=company) for _ in range(3)]
    sockets = [await connect(user) for user in users]
    yield users, sockets
    for ws in sockets:
        await ws.disconnect()


async def test_invitation_events_reach_caller_and_callee_only(trio):
    (alice, bob, carol), (ws_a, ws_b, ws_c) = trio
    call = await database_sync_to_async(services.call_create)(actor=alice, callee_id=bob.id, kind="video")
    for ws in (ws_a, ws_b):
        frame = await next_frame(ws, "call.invited")
        assert frame["data"]["id"] == call.id and frame["data"]["caller"]["id"] == alice.id
    await database_sync_to_async(services.call_decline)(actor=bob, call=call)
    for ws in (ws_a, ws_b):
        assert (await next_frame(ws, "call.declined"))["data"]["state"] == "declined"
    assert not [f for f in await frames(ws_c) if f["type"].startswith("call.")]


async def test_signal_reaches_only_the_other_party(trio):
    (alice, bob, carol), (ws_a, ws_b, ws_c) = trio
    call = await database_sync_to_async(services.call_create)(actor=alice, callee_id=bob.id, kind="video")

    await ws_a.send_json_to({"action": "call.signal", "ref": "early", "call": call.id, "payload": OFFER})
    error = await next_frame(ws_a, "error")
    assert error["ref"] == "early" and error["error"]["code"] == "call_not_active"

    await database_sync_to_async(services.call_accept)(actor=bob, call=call)
    await ws_a.send_json_to({"action": "call.signal", "ref": 1, "call": call.id, "payload": OFFER})
    assert await next_frame(ws_a, "ack") == {"type": "ack", "ref": 1, "data": {"call": call.id}}
    relayed = await next_frame(ws_b, "call.signal")
    assert relayed["data"] == {"call": call.id, "from": alice.id, "payload": OFFER}

    answer = {"type": "answer", "sdp": "v=0\r\n"}
    await ws_b.send_json_to({"action": "call.signal", "ref": 2, "call": call.id, "payload": answer})
    assert (await next_frame(ws_a, "call.signal"))["data"] == {"call": call.id, "from": bob.id, "payload": answer}

    # A colleague who is not in the call can neither send nor receive its signals.
    await ws_c.send_json_to({"action": "call.signal", "ref": 3, "call": call.id, "payload": OFFER})
    error = await next_frame(ws_c, "error")
    assert error["error"] == {"code": "call_not_found", "message": "No such call."}
    assert not [f for f in await frames(ws_c) if f["type"] == "call.signal"]
    assert not [f for f in await frames(ws_a) if f["type"] == "call.signal"]  # no echo to the sender

    await database_sync_to_async(services.call_end)(actor=bob, call=call)
    await ws_a.send_json_to({"action": "call.signal", "ref": 4, "call": call.id, "payload": OFFER})
    assert (await next_frame(ws_a, "error"))["error"]["code"] == "call_not_active"
    assert not [f for f in await frames(ws_b) if f["type"] == "call.signal"]


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"call": "1", "payload": OFFER}, "invalid_call"),
        ({"call": True, "payload": OFFER}, "invalid_call"),
        ({"call": 2**70, "payload": OFFER}, "invalid_call"),
        ({"call": -1, "payload": OFFER}, "invalid_call"),
        ({"payload": OFFER}, "invalid_call"),
        ({"call": THE_CALL}, "invalid_payload"),
        ({"call": THE_CALL, "payload": "offer"}, "invalid_payload"),
        ({"call": THE_CALL, "payload": {}}, "invalid_payload"),
        ({"call": THE_CALL, "payload": {"sdp": "x" * SIGNAL_MAX_BYTES}}, "payload_too_large"),
    ],
)
async def test_bad_signal_frames_get_an_error_and_the_socket_stays_open(trio, frame, code):
    (alice, bob, carol), (ws_a, ws_b, ws_c) = trio
    call = await database_sync_to_async(services.call_create)(actor=alice, callee_id=bob.id, kind="voice")
    await database_sync_to_async(services.call_accept)(actor=bob, call=call)
    frame = {**frame, "call": call.id} if frame.get("call") is THE_CALL else frame
    await ws_a.send_json_to({"action": "call.signal", "ref": "x", **frame})
    assert (await next_frame(ws_a, "error"))["error"]["code"] == code
    assert not [f for f in await frames(ws_b) if f["type"] == "call.signal"]
    await ws_a.send_json_to({"action": "ping", "ref": "p"})
    assert (await next_frame(ws_a, "pong"))["ref"] == "p"


async def test_the_sweeper_announces_a_missed_call_without_anyone_asking(trio):
    (alice, bob, carol), (ws_a, ws_b, ws_c) = trio
    call = await database_sync_to_async(services.call_create)(actor=alice, callee_id=bob.id, kind="voice")
    expiry = timezone.now() + timedelta(milliseconds=300)
    await database_sync_to_async(Call.objects.filter(pk=call.pk).update)(expires_at=expiry)
    for ws in (ws_a, ws_b):
        frame = await next_frame(ws, "call.missed", timeout=4)
        assert frame["data"]["id"] == call.id and frame["data"]["state"] == "missed"
        assert (timezone.now() - expiry).total_seconds() < 2.0
    await hub_job_runs("expiry_sweeper", 2)  # more sweep passes: nothing announced twice
    assert not [f for f in await frames(ws_a) + await frames(ws_b) if f["type"] == "call.missed"]
