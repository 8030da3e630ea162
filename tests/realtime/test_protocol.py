"""The socket protocol: errors that keep the socket open, rate limits, auth closes, socket actions."""

import asyncio
import json
import threading
import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from messaging.models import Message
from presence.models import Connection, Presence
from tests.factories import PASSWORD
from tests.realtime.sockets import (
    NOTIFICATIONS,
    close_all,
    closed_with,
    collect,
    collect_all,
    connect,
    connect_with_headers,
    hub_job_runs,
    types,
    wait_for,
)
from virtual_office import shared_state

pytestmark = pytest.mark.django_db(transaction=True)


async def reply(socket) -> dict:
    """The next answer to a client frame (events that arrive meanwhile, e.g. presence, are skipped)."""
    while True:
        frame = await socket.receive_json_from(timeout=3)
        if frame["type"] in ("error", "ack", "pong"):
            return frame


async def ping_answered(socket, ref: str = "alive") -> bool:
    await socket.send_json_to({"action": "ping", "ref": ref})
    return await reply(socket) == {"type": "pong", "ref": ref}


BAD_FRAMES = [
    ("{not json", "bad_json"),
    ("[1, 2, 3]", "bad_frame"),
    ('"just a string"', "bad_frame"),
    ('{"action": "no.such.thing", "ref": "r"}', "unknown_action"),
    ('{"action": 42, "ref": "r"}', "unknown_action"),
    ('{"ref": "r"}', "unknown_action"),
    ('{"action": "ping", "ref": {"nested": 1}}', "bad_ref"),
    ('{"action": "ping", "ref": true}', "bad_ref"),
    ('{"action": "message.send", "ref": "r", "conversation": "abc", "body": "x"}', "invalid_conversation"),
    (
        '{"action": "message.send", "ref": "r", "conversation": 99999999999999999999999, "body": "x"}',
        "invalid_conversation",
    ),
    ('{"action": "message.send", "ref": "r", "conversation": true, "body": "x"}', "invalid_conversation"),
    ('{"action": "message.send", "ref": "r", "conversation": 1.5, "body": "x"}', "invalid_conversation"),
    ('{"action": "message.send", "ref": "r", "conversation": GROUP, "body": 5}', "invalid_body"),
    ('{"action": "message.send", "ref": "r", "conversation": GROUP, "body": {"text": "x"}}', "invalid_body"),
    (
        '{"action": "message.send", "ref": "r", "conversation": GROUP, "body": "x", "client_id": [1]}',
        "invalid_client_id",
    ),
    ('{"action": "message.send", "ref": "r", "conversation": GROUP, "body": "   "}', "empty_body"),
    (
        '{"action": "message.send", "ref": "r", "conversation": GROUP, "body": "x", "reply_to": "nope"}',
        "invalid_reply_to",
    ),
    ('{"action": "typing", "ref": "r", "conversation": GROUP, "state": "maybe"}', "invalid_state"),
    ('{"action": "watch", "ref": "r"}', "invalid_conversation"),
    ('{"action": "resume", "ref": "r", "conversations": [1, 2]}', "invalid_resume"),
    ('{"action": "resume", "ref": "r", "conversations": {"GROUP": "7"}}', "invalid_resume"),
    ('{"action": "resume", "ref": "r", "conversations": {"GROUP": -1}}', "invalid_resume"),
    ('{"action": "resume", "ref": "r", "conversations": {"x": 1}}', "invalid_resume"),
]


async def test_bad_frames_get_an_error_and_the_socket_stays_open(group, alice, db_call):
    socket = await connect(alice)
    for frame, code in BAD_FRAMES:
        await socket.send_to(text_data=frame.replace("GROUP", str(group.id)))
        error = await reply(socket)
        assert error["type"] == "error" and error["error"]["code"] == code, (frame, error)
        assert error["error"]["message"]
        assert error["ref"] == ("r" if code not in ("bad_json", "bad_frame", "bad_ref") else None), (frame, error)
        assert await ping_answered(socket)
    assert await db_call(lambda: Message.objects.count()) == 0
    await close_all(socket)


async def test_oversize_and_binary_frames_are_refused(group, alice, db_call):
    socket = await connect(alice)
    await collect(socket, quiet=0.2, skip=NOTIFICATIONS)
    big = json.dumps({"action": "message.send", "ref": "big", "conversation": group.id, "body": "x" * (64 * 1024)})
    await socket.send_to(text_data=big)
    error = await reply(socket)
    assert error["type"] == "error" and error["error"]["code"] == "frame_too_large"
    # 20,000 four-byte characters: few characters, but more than 64 KiB.
    wide = json.dumps({"action": "message.send", "conversation": group.id, "body": "😀" * 20_000}, ensure_ascii=False)
    assert len(wide) < 64 * 1024 < len(wide.encode())
    await socket.send_to(text_data=wide)
    assert (await reply(socket))["error"]["code"] == "frame_too_large"
    await socket.send_to(bytes_data=b'{"action": "ping"}')
    assert (await reply(socket))["error"]["code"] == "bad_frame"
    assert await ping_answered(socket)
    assert await db_call(lambda: Message.objects.count()) == 0
    await close_all(socket)


async def test_action_of_a_conversation_i_may_not_read_is_not_found(group, carol, mallory, db_call):
    for user in (carol, mallory):
        socket = await connect(user)
        await collect(socket, quiet=0.2, skip=NOTIFICATIONS)
        await socket.send_json_to(
            {"action": "message.send", "ref": 1, "conversation": group.id, "body": "let me in", "client_id": "c1"}
        )
        error = await reply(socket)
        assert error["type"] == "error" and error["ref"] == 1 and error["error"]["code"] == "not_found"
        for action in ("watch", "typing"):
            await socket.send_json_to({"action": action, "ref": action, "conversation": group.id, "state": "start"})
            assert (await reply(socket))["error"]["code"] == "not_found"
        await socket.send_json_to({"action": "resume", "ref": "r", "conversations": {str(group.id): 0}})
        assert (await reply(socket))["error"]["code"] == "not_found"
        await close_all(socket)
    assert await db_call(lambda: Message.objects.count()) == 0


async def test_flood_is_rate_limited_then_closed(alice, settings):
    settings.WS_RATE_LIMIT = 5
    settings.WS_RATE_WINDOW = 3600
    settings.WS_FLOOD_CLOSE_AFTER = 3
    window = int(time.time() // 3600)
    client = shared_state._redis()
    if client is not None:  # a reused id from an earlier run must not count against this one
        await client.delete(shared_state._key("rl", f"ws:{alice.id}", window))
    first, second = await connect(alice), await connect(alice)
    for socket in (first, second):
        await collect(socket, quiet=0.2, skip=NOTIFICATIONS)
    # The limit is per user: two tabs share it.
    for i in range(5):
        socket = first if i % 2 else second
        await socket.send_json_to({"action": "ping", "ref": i})
        assert await reply(socket) == {"type": "pong", "ref": i}
    for i in range(3):
        await first.send_json_to({"action": "ping", "ref": f"x{i}"})
        error = await reply(first)
        assert error["type"] == "error" and error["ref"] == f"x{i}" and error["error"]["code"] == "rate_limited"
    await first.send_json_to({"action": "ping", "ref": "last straw"})
    assert await closed_with(first) == 4029
    await close_all(first, second)


async def test_anonymous_and_inactive_sockets_are_closed_with_4401(alice, db_call):
    from channels.testing import WebsocketCommunicator

    from virtual_office.realtime.consumer import OfficeConsumer

    alice.is_active = False
    for user in (AnonymousUser(), alice, None):
        socket = WebsocketCommunicator(OfficeConsumer.as_asgi(), "/ws/")
        socket.scope["user"] = user
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert await closed_with(socket) == 4401
    # Through the real stack with a wrong token: anonymous too.
    socket = await connect_with_headers([(b"authorization", b"Token not-a-real-token")])
    assert await closed_with(socket) == 4401
    assert await db_call(lambda: Connection.objects.count()) == 0


async def test_message_send_acks_with_the_message_and_retries_are_idempotent(group, alice, bob, db_call):
    ws_alice, ws_bob = await connect(alice), await connect(bob)
    await collect_all({"a": ws_alice, "b": ws_bob}, quiet=0.2, skip=NOTIFICATIONS)
    frame = {
        "action": "message.send",
        "ref": "s1",
        "conversation": group.id,
        "body": "over the socket",
        "client_id": "tab-1-0001",
    }
    await ws_alice.send_json_to(frame)
    got = await collect(ws_alice, skip=NOTIFICATIONS)
    ack = next(f for f in got if f["type"] == "ack")
    assert ack["ref"] == "s1"
    message = ack["data"]
    assert message["body"] == "over the socket" and message["client_id"] == "tab-1-0001"
    assert message["sender"] == alice.id and message["seq"] == 1 and message["conversation"] == group.id
    assert [f["data"]["id"] for f in got if f["type"] == "message.created"] == [message["id"]]

    await ws_alice.send_json_to({**frame, "ref": "s2"})
    retry = await collect(ws_alice, skip=NOTIFICATIONS)
    assert types(retry) == ["ack"] and retry[0]["ref"] == "s2" and retry[0]["data"]["id"] == message["id"]
    # The same client_id with another body is a conflict, not a second message.
    await ws_alice.send_json_to({**frame, "ref": "s3", "body": "something else"})
    conflict = await reply(ws_alice)
    assert conflict["type"] == "error" and conflict["error"]["code"] == "client_id_conflict"
    assert types(await collect(ws_bob, skip=NOTIFICATIONS)) == ["message.created"]
    assert await db_call(lambda: Message.objects.filter(conversation=group).count()) == 1
    await close_all(ws_alice, ws_bob)


async def test_typing_goes_to_other_watchers_only_and_expires(group, alice, bob, admin_user, settings, db_call):
    settings.TYPING_EXPIRES_SECONDS = 0.6
    from messaging.models import Participant

    await db_call(lambda: Participant.objects.create(conversation=group, user=admin_user))
    ws = {"alice": await connect(alice), "bob": await connect(bob), "boss": await connect(admin_user)}
    await collect_all(ws, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        await ws[name].send_json_to({"action": "watch", "ref": "w", "conversation": group.id})
        ack = await wait_for(ws[name], "ack")
        assert alice.id in ack["data"]["watchers"]
    await collect_all(ws, skip=NOTIFICATIONS)

    await ws["alice"].send_json_to({"action": "typing", "ref": "t", "conversation": group.id, "state": "start"})
    got = await collect_all(ws, quiet=0.3, skip=NOTIFICATIONS)
    assert types(got["alice"]) == ["ack"]
    assert types(got["bob"]) == ["typing"]
    assert got["bob"][0]["data"] == {"conversation": group.id, "user": alice.id, "state": "start"}
    assert got["boss"] == []  # a participant who does not have it open
    # No stop from alice: it stops by itself.
    stop = await wait_for(ws["bob"], "typing", timeout=3)
    assert stop["data"]["state"] == "stop"
    assert await collect(ws["boss"], quiet=0.2, skip=NOTIFICATIONS) == []
    await close_all(*ws.values())


async def test_conversation_presence_lists_watchers_and_follows_closes(group, alice, bob, admin_user, db_call):
    from messaging.models import Participant

    await db_call(lambda: Participant.objects.create(conversation=group, user=admin_user))
    ws = {"alice": await connect(alice), "bob": await connect(bob), "boss": await connect(admin_user)}
    await collect_all(ws, skip=NOTIFICATIONS)
    await ws["alice"].send_json_to({"action": "watch", "ref": "w1", "conversation": group.id})
    got = await collect_all(ws, skip=NOTIFICATIONS)
    presence = [f for f in got["alice"] if f["type"] == "conversation.presence"]
    assert presence[-1]["data"] == {"conversation": group.id, "watchers": [alice.id]}
    assert got["bob"] == [] and got["boss"] == []

    await ws["bob"].send_json_to({"action": "watch", "ref": "w2", "conversation": group.id})
    got = await collect_all(ws, skip=NOTIFICATIONS)
    for name in ("alice", "bob"):
        presence = [f for f in got[name] if f["type"] == "conversation.presence"]
        assert presence[-1]["data"]["watchers"] == sorted([alice.id, bob.id])
    assert got["boss"] == []

    # bob types, then his socket closes: alice hears the stop and the smaller watcher list.
    await ws["bob"].send_json_to({"action": "typing", "conversation": group.id, "state": "start"})
    assert (await wait_for(ws["alice"], "typing"))["data"]["state"] == "start"
    await ws["bob"].disconnect()
    got = await collect(ws["alice"], skip=NOTIFICATIONS)
    assert [f["data"]["state"] for f in got if f["type"] == "typing"] == ["stop"]
    assert [f["data"]["watchers"] for f in got if f["type"] == "conversation.presence"][-1] == [alice.id]

    await ws["alice"].send_json_to({"action": "unwatch", "ref": "u", "conversation": group.id})
    ack = await wait_for(ws["alice"], "ack")
    assert ack["data"] == {"conversation": group.id, "watchers": []}
    await close_all(ws["alice"], ws["boss"])


async def test_watch_entries_are_refreshed_while_the_socket_is_open(group, alice, settings):
    settings.WATCH_TTL_SECONDS = 0.8
    settings.WATCH_REFRESH_SECONDS = 0.2
    socket = await connect(alice)
    await socket.send_json_to({"action": "watch", "ref": "w", "conversation": group.id})
    await wait_for(socket, "ack")
    await hub_job_runs("refresh_watches", 8)  # twice the TTL: only the hub's refresh keeps the entry
    assert await shared_state.watchers(group.id) == [alice.id]
    await close_all(socket)
    assert await shared_state.watchers(group.id) == []


def _login_cookie(user) -> str:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client.cookies["sessionid"].value


async def test_logged_out_session_closes_its_socket(alice, settings, db_call):
    settings.WS_AUTH_CHECK_SECONDS = 0.3
    key = await db_call(_login_cookie, alice)
    headers = [(b"cookie", f"sessionid={key}".encode()), (b"origin", b"http://127.0.0.1:8000")]
    socket = await connect_with_headers(headers)
    hello = await socket.receive_json_from(timeout=3)
    assert hello["type"] == "hello" and hello["data"]["user"] == alice.id
    await hub_job_runs("close_revoked_sockets", 2)
    assert await ping_answered(socket)  # checked, still valid: stays open
    await db_call(lambda: Session.objects.filter(session_key=key).delete())  # what logout does
    assert await closed_with(socket, timeout=3) == 4401


async def test_password_change_closes_the_sockets_of_older_sessions(alice, bob, settings, db_call):
    """As for HTTP: a session opened with the old password no longer authenticates."""
    settings.WS_AUTH_CHECK_SECONDS = 0.3
    origin = (b"origin", b"http://127.0.0.1:8000")
    sockets = {}
    for name, user in (("alice", alice), ("bob", bob)):
        key = await db_call(_login_cookie, user)
        sockets[name] = await connect_with_headers([(b"cookie", f"sessionid={key}".encode()), origin])
        assert (await socket_hello(sockets[name]))["data"]["user"] == user.id
    await hub_job_runs("close_revoked_sockets", 2)
    assert await ping_answered(sockets["alice"])  # checked, still valid: stays open

    def change_password() -> None:
        alice.set_password("a new password, much longer")
        alice.save()

    await db_call(change_password)
    assert await closed_with(sockets["alice"], timeout=3) == 4401
    assert await ping_answered(sockets["bob"])
    await close_all(sockets["bob"])


async def socket_hello(socket) -> dict:
    hello = await socket.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return hello


async def test_deleted_token_closes_its_socket(alice, settings, db_call):
    settings.WS_AUTH_CHECK_SECONDS = 0.3
    token = await db_call(lambda: Token.objects.create(user=alice))
    socket = await connect_with_headers([(b"authorization", f"Token {token.key}".encode())])
    assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    await db_call(token.delete)
    assert await closed_with(socket, timeout=3) == 4401


async def test_deactivated_user_is_closed_at_once(alice, bob, settings, db_call):
    settings.WS_AUTH_CHECK_SECONDS = 600  # not the periodic check: the deactivation itself
    tabs = [await connect(alice), await connect(alice)]
    other = await connect(bob)
    for socket in (*tabs, other):
        await collect(socket, quiet=0.2, skip=NOTIFICATIONS)
    alice.is_active = False
    await db_call(alice.save)
    for socket in tabs:
        assert await closed_with(socket, timeout=2) == 4401
    assert await ping_answered(other)
    await close_all(other)


async def test_heartbeat_keeps_rows_fresh_and_sweep_settles_dead_processes(alice, carol, bob, settings, db_call):
    settings.PRESENCE_HEARTBEAT_SECONDS = 0.2
    settings.PRESENCE_STALE_SECONDS = 1.0
    settings.WORKER_HEARTBEAT_SECONDS = 0.2  # how often the sweep runs (its first run is one interval in)
    # carol's only socket was on a process that died a while ago.
    long_ago = timezone.now() - timezone.timedelta(seconds=30)

    def dead_process_socket() -> None:
        Connection.objects.create(channel_name="dead.channel!1", user=carol, server_id="dead", heartbeat_at=long_ago)
        Presence.objects.filter(user=carol).update(connected=True, last_seen=long_ago, updated_at=long_ago)

    await db_call(dead_process_socket)
    socket = await connect(alice)
    watcher = await connect(bob)
    offline = None
    deadline = asyncio.get_running_loop().time() + 5
    while offline is None and asyncio.get_running_loop().time() < deadline:
        frame = await watcher.receive_json_from(timeout=5)
        if frame["type"] == "presence.updated" and frame["data"]["user"] == carol.id:
            offline = frame
    assert offline is not None and offline["data"]["status"] == "offline"
    assert not await db_call(lambda: Connection.objects.filter(user=carol).exists())
    # alice's row is kept fresh although it is older than the stale limit.
    await hub_job_runs("heartbeat_connections", 3)
    row = await db_call(lambda: Connection.objects.get(user=alice))
    assert (timezone.now() - row.heartbeat_at).total_seconds() < 1.0
    assert await db_call(lambda: Presence.objects.get(user=alice).connected)

    # A row swept while its socket is still open (this process stalled) is written back.
    await db_call(lambda: Connection.objects.filter(user=alice).delete())
    await hub_job_runs("heartbeat_connections", 2)
    assert await db_call(lambda: Connection.objects.filter(user=alice).exists())
    await close_all(socket, watcher)


async def test_closing_a_typing_socket_stops_its_typing(group, alice, bob, settings):
    settings.TYPING_EXPIRES_SECONDS = 60  # not the expiry: the close
    typist, reader = await connect(alice), await connect(bob)
    await reader.send_json_to({"action": "watch", "ref": "w", "conversation": group.id})
    await wait_for(reader, "ack")
    # alice types without having the conversation open as a watcher.
    await typist.send_json_to({"action": "typing", "conversation": group.id, "state": "start"})
    assert (await wait_for(reader, "typing"))["data"]["state"] == "start"
    await typist.disconnect()
    stop = await wait_for(reader, "typing", timeout=3)
    assert stop["data"] == {"conversation": group.id, "user": alice.id, "state": "stop"}
    await close_all(reader)


async def test_a_long_sweep_does_not_hold_back_socket_actions(alice, group, settings, monkeypatch):
    """Settling a dead process' users runs beside the socket actions, not in front of them: before,
    4,000 settles on the shared database thread held a `message.send` back for over 30 s."""
    from presence import services as presence_services

    settings.WORKER_HEARTBEAT_SECONDS = 0.1
    sweeping, release = threading.Event(), threading.Event()

    def slow_sweep(**kwargs: object) -> list[int]:
        sweeping.set()
        release.wait(10)
        return []

    monkeypatch.setattr(presence_services, "connections_sweep", slow_sweep)
    socket = await connect(alice)
    try:
        assert await asyncio.to_thread(sweeping.wait, 5)
        await socket.send_json_to(
            {"action": "message.send", "ref": "m", "conversation": group.id, "body": "during the sweep"}
        )
        ack = await wait_for(socket, "ack", timeout=5)
        assert ack["ref"] == "m" and ack["data"]["body"] == "during the sweep"
        assert not release.is_set()  # the sweep was still running
    finally:
        release.set()
    await close_all(socket)


@pytest.mark.django_db
def test_credentials_check_is_three_queries_however_many_sockets(alice, bob, carol, django_assert_num_queries):
    from virtual_office.credentials import credentials_still_valid

    sessions = {user.id: _login_cookie(user) for user in (alice, bob)}
    token = Token.objects.create(user=carol)
    alice.set_password("a new password, much longer")  # alice's session was opened with the old one
    alice.save()
    with django_assert_num_queries(3):  # sessions, users (with the sessions' owners), tokens
        valid_sessions, users, tokens = credentials_still_valid(
            session_keys=set(sessions.values()) | {"no-such-session"},
            user_ids={alice.id, bob.id, carol.id, 999_999},
            token_keys={token.key, "no-such-token"},
        )
    assert valid_sessions == {sessions[bob.id]}
    assert users == {alice.id, bob.id, carol.id} and tokens == {token.key}


async def test_a_dead_process_s_watch_entry_is_not_listed_and_a_refresh_drops_it(settings):
    """`watchers` is one read (asked for every message of a group); an entry whose process stopped
    refreshing it is past the TTL: not listed, and gone from Redis after the next refresh."""
    settings.WATCH_TTL_SECONDS = 30
    conversation_id = 987_654
    key = shared_state._key("watch", conversation_id)
    client = shared_state._redis()
    if client is None:
        pytest.skip("needs Redis (the shared state in one process has no dead processes)")
    await client.delete(key)
    await client.zadd(key, {"41:gone-channel": time.time() - 60})  # refreshed last a minute ago
    await shared_state.watch_add(conversation_id, "42:live-channel")
    assert await shared_state.watchers(conversation_id) == [42]
    assert await client.zrange(key, 0, -1) == [b"42:live-channel"]  # the client does not decode
    await client.delete(key)


async def test_watchers_of_several_conversations_in_one_round_trip_and_after_a_script_flush(settings):
    """The watchers of several conversations come from one pipeline of Redis' own script; a Redis
    that lost its scripts (a restart) gets it again."""
    client = shared_state._redis()
    if client is None:
        pytest.skip("needs Redis")
    first, second, empty = 987_001, 987_002, 987_003
    for conversation_id in (first, second, empty):
        await client.delete(shared_state._key("watch", conversation_id))
    await shared_state.watch_refresh([(first, "5:a"), (first, "5:b"), (first, "7:c"), (second, "9:d")])
    assert await shared_state.watchers_of([first, second, empty, first]) == {first: [5, 7], second: [9], empty: []}
    await client.script_flush()
    assert await shared_state.watchers(first) == [5, 7]
    await client.script_flush()
    assert await shared_state.watchers_of([first, second]) == {first: [5, 7], second: [9]}
    for conversation_id in (first, second):
        await client.delete(shared_state._key("watch", conversation_id))
