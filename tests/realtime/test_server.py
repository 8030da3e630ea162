"""Against real daphne processes sharing one Redis: handshakes, cross-process delivery, presence, resume."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.request
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect as ws_connect

from messaging.models import Message
from presence.models import Presence
from tests.factories import CompanyFactory, UserFactory, group_with
from tests.servers import free_port, run_server

pytestmark = [
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="two server processes need Redis (REDIS_URL)"),
    pytest.mark.skipif(
        "postgres" not in os.environ.get("DATABASE_URL", ""), reason="servers share the test database: PostgreSQL"
    ),
]

SERVER_ENV = {"PRESENCE_OFFLINE_GRACE_SECONDS": "1", "LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def servers(django_db_setup):
    assert connection.settings_dict["NAME"].startswith("test_")
    # Free ports, not fixed ones: other test runs on this machine start servers too.
    with run_server(free_port(), SERVER_ENV) as a, run_server(free_port(), SERVER_ENV) as b:
        yield a, b


@database_sync_to_async
def make_people() -> dict[str, Any]:
    company = CompanyFactory()
    people = {name: UserFactory(company=company, username=f"{name}-{company.id}") for name in ("alice", "bob")}
    people["alice"].is_company_admin = True  # may change the group's participants
    people["alice"].save()
    people["mallory"] = UserFactory(company=CompanyFactory())
    tokens = {name: Token.objects.create(user=user).key for name, user in people.items()}
    conversation = group_with(people["alice"], people["bob"])
    return {"users": people, "tokens": tokens, "conversation": conversation}


def token_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


async def open_socket(server, key: str, **kwargs: Any):
    socket = await ws_connect(server.ws_url, additional_headers=token_headers(key), open_timeout=10, **kwargs)
    hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert hello["type"] == "hello"
    return socket


async def next_of(socket, event_type: str, timeout: float = 5, where=lambda frame: True) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {event_type} within {timeout} s")
        frame = json.loads(await asyncio.wait_for(socket.recv(), remaining))
        if frame["type"] == event_type and where(frame):
            return frame


async def frames_within(socket, seconds: float) -> list[dict]:
    frames = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        try:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), remaining)))
        except TimeoutError:
            break
    return frames


def rest(server, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.http_url}/api/v1/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={**token_headers(key), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def test_handshake_origin_rules(servers):
    a, _ = servers
    data = await make_people()
    key = data["tokens"]["alice"]
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await ws_connect(a.ws_url, origin="http://evil.example", additional_headers=token_headers(key))
    assert refused.value.response.status_code == 403
    # No Origin at all: a token client is let in, anybody else is refused.
    socket = await open_socket(a, key)
    await socket.close()
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await ws_connect(a.ws_url)
    assert refused.value.response.status_code == 403
    # A browser-like Origin of an allowed host with the token: in.
    socket = await open_socket(a, key, origin=f"http://127.0.0.1:{a.port}")
    await socket.close()
    # An allowed Origin but no credentials: accepted, then closed with 4401.
    socket = await ws_connect(a.ws_url, origin=f"http://127.0.0.1:{a.port}")
    with pytest.raises(websockets.exceptions.ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 5)
    assert socket.close_code == 4401


async def test_message_through_one_process_reaches_sockets_on_the_other(servers):
    a, b = servers
    data = await make_people()
    conversation = data["conversation"]
    bob_on_b = await open_socket(b, data["tokens"]["bob"])
    alice_on_a = await open_socket(a, data["tokens"]["alice"])
    mallory_on_b = await open_socket(b, data["tokens"]["mallory"])

    status, message = await asyncio.to_thread(
        rest, a, data["tokens"]["alice"], "POST", f"conversations/{conversation.id}/messages/", {"body": "via REST"}
    )
    assert status == 201
    frame = await next_of(bob_on_b, "message.created")
    assert frame["data"]["id"] == message["id"] and frame["rev"] == 1 and frame["conversation"] == conversation.id

    await alice_on_a.send(json.dumps({
        "action": "message.send", "ref": "m", "conversation": conversation.id, "body": "via socket", "client_id": "k1"
    }))
    ack = await next_of(alice_on_a, "ack")
    frame = await next_of(bob_on_b, "message.created")
    assert frame["data"]["id"] == ack["data"]["id"] and frame["data"]["body"] == "via socket" and frame["rev"] == 2
    assert [f["type"] for f in await frames_within(mallory_on_b, 0.5) if f["type"].startswith("message.")] == []
    for socket in (bob_on_b, alice_on_a, mallory_on_b):
        await socket.close()


async def test_participant_removed_on_one_process_stops_receiving_on_the_other(servers):
    a, b = servers
    data = await make_people()
    conversation_id = data["conversation"].id
    alice_key, bob_key = data["tokens"]["alice"], data["tokens"]["bob"]
    bob_on_b = await open_socket(b, bob_key)

    def post(body: str) -> None:
        status, _ = rest(a, alice_key, "POST", f"conversations/{conversation_id}/messages/", {"body": body})
        assert status == 201

    status, _ = await asyncio.to_thread(
        rest, a, alice_key, "PATCH", f"conversations/{conversation_id}/", {"participants": []}
    )
    assert status == 200
    await asyncio.to_thread(post, "bob cannot read this")
    frames = await frames_within(bob_on_b, 1.0)
    assert [f for f in frames if f["type"].startswith("message.")] == []

    status, _ = await asyncio.to_thread(
        rest, a, alice_key, "PATCH", f"conversations/{conversation_id}/", {"participants": [data["users"]["bob"].id]}
    )
    assert status == 200
    await asyncio.to_thread(post, "welcome back")
    frame = await next_of(bob_on_b, "message.created")
    assert frame["data"]["body"] == "welcome back"
    await bob_on_b.close()


async def test_presence_goes_offline_only_when_the_last_socket_on_any_process_closes(servers):
    a, b = servers
    data = await make_people()
    bob_id = data["users"]["bob"].id
    watcher = await open_socket(a, data["tokens"]["alice"])
    bob_on_a = await open_socket(a, data["tokens"]["bob"])
    await next_of(watcher, "presence.updated", where=lambda f: f["data"]["user"] == bob_id)
    bob_on_b = await open_socket(b, data["tokens"]["bob"])

    def bob_presence() -> Presence:
        return Presence.objects.get(user_id=bob_id)

    await bob_on_a.close()
    # Well past the 1 s grace period: bob still has a socket on the other process.
    frames = await frames_within(watcher, 2.5)
    assert [f for f in frames if f["type"] == "presence.updated" and f["data"]["user"] == bob_id] == []
    presence = await database_sync_to_async(bob_presence)()
    assert presence.connected and presence.effective_status == "online"

    await bob_on_b.close()
    frame = await next_of(watcher, "presence.updated", timeout=6, where=lambda f: f["data"]["user"] == bob_id)
    assert frame["data"]["status"] == "offline" and frame["data"]["last_seen"]
    presence = await database_sync_to_async(bob_presence)()
    assert not presence.connected
    await watcher.close()


def apply(state: dict[int, dict], frame: dict) -> None:
    """A client's rule: keep each message's latest state (by id); an older or equal rev changes nothing."""
    if frame["type"] in ("message.created", "message.updated", "message.deleted"):
        data = frame["data"]
        known = state.get(data["id"])
        if known is None or data["rev"] > known["rev"]:
            state[data["id"]] = data


def database_messages(conversation_id: int) -> list[tuple]:
    return [
        (m.id, m.seq, m.rev, m.body, m.deleted)
        for m in Message.objects.filter(conversation_id=conversation_id).order_by("seq")
    ]


async def test_reconnect_with_resume_while_messages_keep_arriving(servers):
    a, b = servers
    data = await make_people()
    conversation_id = data["conversation"].id
    alice_key, bob_key = data["tokens"]["alice"], data["tokens"]["bob"]

    def send(server, count: int, prefix: str) -> list[dict]:
        sent = []
        for i in range(count):
            status, message = rest(
                server, alice_key, "POST", f"conversations/{conversation_id}/messages/", {"body": f"{prefix} {i}"}
            )
            assert status == 201, message
            sent.append(message)
        return sent

    state: dict[int, dict] = {}
    bob = await open_socket(b, bob_key)
    first = await asyncio.to_thread(send, a, 5, "before")
    while len(state) < 5:
        apply(state, await next_of(bob, "message.created"))
    last_rev = max(m["rev"] for m in state.values())
    await bob.close()

    # While bob is away: 50 messages, edits and deletions (of new and of already seen messages).
    away = await asyncio.to_thread(send, a, 50, "away")

    def edit_and_delete() -> None:
        for message in (first[0], away[3], away[10], away[20]):
            edit = {"body": message["body"] + " (edited)"}
            status, _ = rest(a, alice_key, "PATCH", f"messages/{message['id']}/", edit)
            assert status == 200
        for message in (first[1], away[5], away[20], away[49]):
            status, _ = rest(a, alice_key, "DELETE", f"messages/{message['id']}/")
            assert status == 204
        status, _ = rest(a, bob_key, "POST", f"messages/{away[7]['id']}/reactions/", {"emoji": "🙂"})
        assert status == 200

    await asyncio.to_thread(edit_and_delete)

    # Back, on the other process, while alice keeps writing through both.
    bob = await open_socket(a, bob_key)
    more = asyncio.create_task(asyncio.to_thread(lambda: send(b, 15, "during") + send(a, 5, "during a")))
    # The resume goes out once the new messages have started to land, so the two overlap.
    started = database_sync_to_async(Message.objects.filter(body__startswith="during").exists)
    while not await started() and not more.done():
        await asyncio.sleep(0.01)
    await bob.send(json.dumps({"action": "resume", "ref": "r", "conversations": {str(conversation_id): last_rev}}))

    revs: list[int] = []
    resumed = None
    final_rev = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        assert loop.time() < deadline, "resume did not converge"
        if more.done() and final_rev is None:
            await more
            final_rev = await database_sync_to_async(
                lambda: type(data["conversation"]).objects.get(pk=conversation_id).rev
            )()
        if resumed is not None and final_rev is not None and revs and revs[-1] >= final_rev:
            break
        try:
            frame = json.loads(await asyncio.wait_for(bob.recv(), 0.5))
        except TimeoutError:
            continue
        if frame["type"] == "resumed":
            resumed = frame
        if frame.get("conversation") == conversation_id and "rev" in frame:
            revs.append(frame["rev"])
            apply(state, frame)
    await bob.close()

    assert resumed["ref"] == "r" and resumed["data"]["conversations"][str(conversation_id)] > last_rev
    expected = await database_sync_to_async(database_messages)(conversation_id)
    assert len(expected) == 5 + 50 + 20
    ordered = sorted(state.values(), key=lambda m: m["seq"])
    got = [(m["id"], m["seq"], m["rev"], m["body"], m["deleted"]) for m in ordered]
    assert got == expected
    # On the wire: at most one rewind (live frames that beat the resume request, then the replay);
    # from the replay on, revs only go up: nothing twice, in order.
    rewinds = [i for i in range(1, len(revs)) if revs[i] <= revs[i - 1]]
    assert len(rewinds) <= 1, revs
    replay_on = revs[rewinds[0]:] if rewinds else revs
    assert replay_on == sorted(set(replay_on)), revs
    assert replay_on[0] > last_rev


async def test_ephemeral_events_reach_both_processes_exactly_once(servers):
    """The process that publishes delivers to its own sockets directly and skips its own message when
    the layer brings it back: a typing event (no rev to de-duplicate by) arrives once on each process."""
    a, b = servers
    data = await make_people()
    conversation_id = data["conversation"].id
    alice_on_a = await open_socket(a, data["tokens"]["alice"])
    bob_on_a = await open_socket(a, data["tokens"]["bob"])
    bob_on_b = await open_socket(b, data["tokens"]["bob"])
    for ref, socket in enumerate((bob_on_a, bob_on_b, alice_on_a)):
        await socket.send(json.dumps({"action": "watch", "ref": ref, "conversation": conversation_id}))
        await next_of(socket, "ack", where=lambda frame, ref=ref: frame["ref"] == ref)
    await frames_within(bob_on_a, 0.3)
    await frames_within(bob_on_b, 0.3)

    typing = {"action": "typing", "ref": "t", "conversation": conversation_id, "state": "start"}
    await alice_on_a.send(json.dumps(typing))
    await next_of(alice_on_a, "ack", where=lambda frame: frame["ref"] == "t")
    for socket in (bob_on_a, bob_on_b):
        typing = [f for f in await frames_within(socket, 1.0) if f["type"] == "typing"]
        assert [(f["data"]["user"], f["data"]["state"]) for f in typing] == [(data["users"]["alice"].id, "start")]
    assert [f for f in await frames_within(alice_on_a, 0.3) if f["type"] == "typing"] == []  # not to the typist
    for socket in (alice_on_a, bob_on_a, bob_on_b):
        await socket.close()
