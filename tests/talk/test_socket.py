"""Talking in a space over the socket: join, update, leave, the relay rules of space.av.signal, the
mesh cap (`av_full`), occupants only, another company's space and people, and leaving the talk when
the socket that joined closes or the person leaves the space."""

import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from presence.models import Connection, Presence
from spaces import services as space_services
from talk import services
from talk.api.serializers import SIGNAL_MAX_BYTES
from talk.models import TalkParticipant
from tests.factories import CompanyFactory, SpaceFactory, UserFactory
from virtual_office.realtime.consumer import OfficeConsumer

pytestmark = pytest.mark.django_db(transaction=True)

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


async def connect(user) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
    ws.scope["user"] = user
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_json_from(timeout=3))["type"] == "hello"
    return ws


# Frames read past while waiting for something else (an event can arrive before the ack of the
# action that caused it): later waits look here first.
_skipped: dict[int, list[dict]] = {}


async def _frames(ws: WebsocketCommunicator, timeout: float):
    for frame in _skipped.pop(id(ws), []):
        yield frame
    deadline = time.monotonic() + timeout
    while True:
        yield await ws.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))


async def _first(ws: WebsocketCommunicator, wanted, timeout: float) -> dict:
    passed = []
    try:
        async for frame in _frames(ws, timeout):
            if wanted(frame):
                return frame
            passed.append(frame)
    finally:
        _skipped[id(ws)] = passed + _skipped.get(id(ws), [])
    raise AssertionError("unreachable")


async def next_frame(ws: WebsocketCommunicator, frame_type: str, timeout: float = 3.0, **match) -> dict:
    """The next frame of that type (whose data has `match`); the frames passed are dropped."""
    frame = await _first(
        ws,
        lambda f: f["type"] == frame_type and all(f.get("data", {}).get(k) == v for k, v in match.items()),
        timeout,
    )
    _skipped.pop(id(ws), None)
    return frame


async def answer(ws: WebsocketCommunicator, ref: str, timeout: float = 3.0) -> dict:
    """The ack or error answering `ref`; frames passed stay for the next wait."""
    return await _first(ws, lambda f: f.get("ref") == ref and f["type"] in ("ack", "error"), timeout)


async def act(ws: WebsocketCommunicator, action: str, **fields) -> dict:
    ref = f"{action}-{time.monotonic_ns()}"
    await ws.send_json_to({"action": action, "ref": ref, **fields})
    return await answer(ws, ref)


def who(frame: dict) -> list[int]:
    return [p["user"] for p in frame["data"]["participants"]]


async def shows(ws: WebsocketCommunicator, space, users: list, timeout: float = 3.0, **state) -> dict:
    """Wait for the `space.av.updated` of that space listing exactly `users` (in that order), the
    first of them in `state` if given (`screen=True`)."""
    ids = [u.id for u in users]

    def wanted(f: dict) -> bool:
        if f["type"] != "space.av.updated" or f["data"]["space"] != space.id or who(f) != ids:
            return False
        return all(f["data"]["participants"][0][k] == v for k, v in state.items())

    frame = await _first(ws, wanted, timeout)
    _skipped.pop(id(ws), None)
    return frame


@pytest.fixture
async def lounge():
    """Four people of one company and their sockets; the first three are in the Lounge."""
    company = await database_sync_to_async(CompanyFactory)()
    space = await database_sync_to_async(SpaceFactory)(company=company, name="Lounge", capacity=8)
    users = [await database_sync_to_async(UserFactory)(company=company) for _ in range(4)]
    sockets = [await connect(user) for user in users]
    for user in users[:3]:
        await database_sync_to_async(space_services.space_enter)(actor=user, space=space)
    yield space, users, sockets
    for ws in sockets:
        await ws.disconnect()


async def test_join_update_leave_reach_the_occupants(lounge):
    space, (a, b, c, outsider), (ws_a, ws_b, ws_c, ws_out) = lounge
    ack = await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    assert ack["type"] == "ack" and ack["data"] == {
        "space": space.id,
        "participants": [{"user": a.id, "audio": True, "video": False, "screen": False}],
    }
    for ws in (ws_a, ws_b, ws_c):
        await shows(ws, space, [a])

    assert (await act(ws_b, "space.av.join", space=space.id, audio=True, video=True))["type"] == "ack"
    frame = await shows(ws_c, space, [a, b])  # first joiner first
    assert frame["data"]["participants"][1] == {"user": b.id, "audio": True, "video": True, "screen": False}

    ack = await act(ws_a, "space.av.update", space=space.id, audio=False, video=True, screen=True)
    assert ack["data"]["participants"][0] == {"user": a.id, "audio": False, "video": True, "screen": True}
    await shows(ws_b, space, [a, b], screen=True, audio=False)

    assert (await act(ws_a, "space.av.leave", space=space.id))["type"] == "ack"
    await shows(ws_c, space, [b])
    # Someone who is not in the space hears nothing of its talk.
    assert not [f for f in await frames_of(ws_out) if f["type"] == "space.av.updated"]
    # Updating a talk one is not in is refused.
    error = await act(ws_a, "space.av.update", space=space.id, audio=True, video=False, screen=False)
    assert error["type"] == "error" and error["error"]["code"] == "not_in_talk"


async def frames_of(ws: WebsocketCommunicator, quiet: float = 0.3) -> list[dict]:
    out = _skipped.pop(id(ws), [])
    while not await ws.receive_nothing(timeout=quiet):
        out.append(await ws.receive_json_from())
    return out


async def test_joining_makes_me_busy_in_call_until_i_leave(lounge):
    space, (a, *_), (ws_a, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    presence = await database_sync_to_async(Presence.objects.get)(user=a)
    assert presence.engagements.get("in_call") == [f"talk.{space.id}"]
    await act(ws_a, "space.av.leave", space=space.id)
    presence = await database_sync_to_async(Presence.objects.get)(user=a)
    assert "in_call" not in presence.engagements


async def test_only_occupants_join(lounge):
    space, (a, b, c, outsider), (ws_a, ws_b, ws_c, ws_out) = lounge
    error = await act(ws_out, "space.av.join", space=space.id, audio=True, video=False)
    assert error["type"] == "error" and error["error"]["code"] == "not_in_space"
    assert not await database_sync_to_async(TalkParticipant.objects.filter(user=outsider).exists)()
    error = await act(ws_out, "space.av.state", space=space.id)
    assert error["error"]["code"] == "not_in_space"


async def test_bad_frames_are_errors(lounge):
    space, _, (ws_a, *_) = lounge
    for fields, code in [
        ({}, "invalid_space"),
        ({"space": "x"}, "invalid_space"),
        ({"space": space.id, "audio": "loud"}, "invalid_audio"),
        ({"space": 2**70}, "invalid_space"),
        ({"space": 999_999_999}, "not_found"),
    ]:
        error = await act(ws_a, "space.av.join", **fields)
        assert error["type"] == "error" and error["error"]["code"] == code, (fields, error)


async def test_another_companys_space_and_people_are_errors(lounge):
    space, (a, b, c, _), (ws_a, ws_b, *_) = lounge
    other = await database_sync_to_async(CompanyFactory)()
    their_space = await database_sync_to_async(SpaceFactory)(company=other, name="Their lounge")
    mallory = await database_sync_to_async(UserFactory)(company=other)
    ws_m = await connect(mallory)
    try:
        await database_sync_to_async(space_services.space_enter)(actor=mallory, space=their_space)
        assert (await act(ws_m, "space.av.join", space=their_space.id, audio=True, video=False))["type"] == "ack"
        # Acme cannot join, look at, or signal into their space, nor they into ours.
        for ws, target in ((ws_a, their_space), (ws_m, space)):
            for action in ("space.av.join", "space.av.state", "space.av.leave"):
                error = await act(ws, action, space=target.id, audio=True, video=False)
                assert error["type"] == "error" and error["error"]["code"] == "not_found", (action, error)
        await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
        error = await act(ws_a, "space.av.signal", space=space.id, to=mallory.id, payload=OFFER)
        assert error["error"]["code"] == "peer_not_in_talk"
        error = await act(ws_m, "space.av.signal", space=space.id, to=a.id, payload=OFFER)
        assert error["error"]["code"] == "not_in_talk"
        error = await act(ws_a, "space.av.signal", space=their_space.id, to=mallory.id, payload=OFFER)
        assert error["error"]["code"] == "not_in_talk"
        assert not [
            f
            for f in await frames_of(ws_m)
            if f["type"] in ("space.av.signal", "space.av.updated") and f["data"]["space"] == space.id
        ]
    finally:
        await ws_m.disconnect()


async def test_signal_is_relayed_only_between_two_participants(lounge):
    space, (a, b, c, outsider), (ws_a, ws_b, ws_c, ws_out) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    # b is in the space but not in its talk: neither way.
    error = await act(ws_a, "space.av.signal", space=space.id, to=b.id, payload=OFFER)
    assert error["type"] == "error" and error["error"]["code"] == "peer_not_in_talk"
    error = await act(ws_b, "space.av.signal", space=space.id, to=a.id, payload=OFFER)
    assert error["error"]["code"] == "not_in_talk"

    await act(ws_b, "space.av.join", space=space.id, audio=True, video=False)
    ack = await act(ws_b, "space.av.signal", space=space.id, to=a.id, payload=OFFER)
    assert ack["type"] == "ack"
    relayed = await next_frame(ws_a, "space.av.signal")
    assert relayed["data"] == {"space": space.id, "from": b.id, "payload": OFFER}
    # Nobody else hears it.
    for ws in (ws_c, ws_out):
        assert not [f for f in await frames_of(ws) if f["type"] == "space.av.signal"]

    for fields, code in [
        ({"to": a.id}, "invalid_payload"),
        ({"to": a.id, "payload": {}}, "invalid_payload"),
        ({"to": a.id, "payload": {"sdp": "x" * (SIGNAL_MAX_BYTES + 1)}}, "payload_too_large"),
        ({"to": b.id, "payload": OFFER}, "invalid_to"),
        ({"to": "a", "payload": OFFER}, "invalid_to"),
        ({"to": outsider.id, "payload": OFFER}, "peer_not_in_talk"),
    ]:
        error = await act(ws_b, "space.av.signal", space=space.id, **fields)
        assert error["type"] == "error" and error["error"]["code"] == code, (fields, error)


async def test_another_tab_of_a_participant_cannot_signal(lounge):
    space, (a, b, *_), (ws_a, ws_b, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    await act(ws_b, "space.av.join", space=space.id, audio=True, video=False)
    second_tab = await connect(a)
    try:
        error = await act(second_tab, "space.av.signal", space=space.id, to=b.id, payload=OFFER)
        assert error["error"]["code"] == "not_in_talk"
    finally:
        await second_tab.disconnect()
    # Closing that other tab did not end a's talk.
    assert await database_sync_to_async(TalkParticipant.objects.filter(user=a).exists)()


async def test_mesh_is_full_past_its_max(lounge, settings):
    settings.SPACE_AV_MESH_MAX = 2
    space, (a, b, c, _), (ws_a, ws_b, ws_c, _) = lounge
    assert (await act(ws_a, "space.av.join", space=space.id, audio=True, video=False))["type"] == "ack"
    assert (await act(ws_b, "space.av.join", space=space.id, audio=True, video=False))["type"] == "ack"
    error = await act(ws_c, "space.av.join", space=space.id, audio=True, video=False)
    assert error["type"] == "error" and error["error"]["code"] == "av_full"
    # Someone already in may join again (another tab, a reload) without counting twice.
    assert (await act(ws_b, "space.av.join", space=space.id, audio=False, video=False))["type"] == "ack"
    # With LiveKit carrying the media there is no mesh to fill.
    settings.LIVEKIT_URL, settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET = "ws://lk:7880", "key", "s" * 32
    assert (await act(ws_c, "space.av.join", space=space.id, audio=True, video=False))["type"] == "ack"


async def test_closing_the_socket_that_joined_leaves_the_talk(lounge):
    space, (a, b, *_), (ws_a, ws_b, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    await act(ws_b, "space.av.join", space=space.id, audio=True, video=False)
    await ws_a.disconnect()
    await shows(ws_b, space, [b])
    presence = await database_sync_to_async(Presence.objects.get)(user=a)
    assert "in_call" not in presence.engagements


async def test_leaving_or_moving_out_of_the_space_leaves_the_talk(lounge):
    space, (a, b, c, _), (ws_a, ws_b, ws_c, _) = lounge
    kitchen = await database_sync_to_async(SpaceFactory)(company=space.company, name="Kitchen")
    for ws in (ws_a, ws_b, ws_c):
        await act(ws, "space.av.join", space=space.id, audio=True, video=False)
    await database_sync_to_async(space_services.space_leave)(actor=a)
    await shows(ws_c, space, [b, c])
    # The leaver's page hears it too (it is no longer an occupant).
    await shows(ws_a, space, [b, c])
    await database_sync_to_async(space_services.space_enter)(actor=b, space=kitchen)
    await shows(ws_c, space, [c])
    assert not await database_sync_to_async(TalkParticipant.objects.filter(user_id__in=[a.id, b.id]).exists)()
    # Entering a space with a talk going shows it to the newcomer.
    await database_sync_to_async(space_services.space_enter)(actor=a, space=space)
    await shows(ws_a, space, [c])


async def test_deleting_the_space_ends_its_talk(lounge):
    space, (a, *_), (ws_a, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    admin = await database_sync_to_async(UserFactory)(company=space.company, is_company_admin=True)
    await database_sync_to_async(space_services.space_delete)(actor=admin, space=space)
    presence = await database_sync_to_async(Presence.objects.get)(user=a)
    assert "in_call" not in presence.engagements
    assert not await database_sync_to_async(TalkParticipant.objects.exists)()


async def test_a_dead_workers_talks_are_swept(lounge):
    """A process that died closed no sockets: once its Connection rows are swept, so is its talk."""
    space, (a, b, *_), (ws_a, ws_b, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    await act(ws_b, "space.av.join", space=space.id, audio=True, video=False)
    row = await database_sync_to_async(TalkParticipant.objects.get)(user=a)
    await database_sync_to_async(Connection.objects.filter(channel_name=row.channel_name).delete)()
    await database_sync_to_async(TalkParticipant.objects.filter(pk=row.pk).update)(
        joined_at=timezone.now() - timedelta(minutes=1)
    )
    swept = await database_sync_to_async(services.talks_sweep)()
    assert [p.user_id for p in swept] == [a.id]
    await shows(ws_b, space, [b])


async def test_calling_someone_beside_you_also_in_the_talk(lounge):
    """Two people in the same space, both in its talk, can still call each other (a talk makes them
    busy, which rings quietly; only another call makes a callee refuse)."""
    from calling import services as calling_services
    from office.page import avatar_menu_options

    space, (a, b, *_), (ws_a, ws_b, *_) = lounge
    await act(ws_a, "space.av.join", space=space.id, audio=True, video=False)
    await act(ws_b, "space.av.join", space=space.id, audio=True, video=False)
    options = await database_sync_to_async(avatar_menu_options)(a, b)
    assert {o.action: o.disabled for o in options}["voice"] is False
    call = await database_sync_to_async(calling_services.call_create)(actor=a, callee_id=b.id, kind="voice")
    assert (await next_frame(ws_b, "call.invited"))["data"]["id"] == call.id
    accepted = await database_sync_to_async(calling_services.call_accept)(actor=b, call=call)
    assert accepted.state == "accepted"
    await database_sync_to_async(calling_services.call_end)(actor=a, call=accepted)
    # The call ending did not end the talk's `in_call`.
    presence = await database_sync_to_async(Presence.objects.get)(user=a)
    assert presence.engagements.get("in_call") == [f"talk.{space.id}"]
