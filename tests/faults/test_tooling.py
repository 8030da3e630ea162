"""The `make faults` tooling itself: nginx rendering, frame parsing, backoff and the client's counting."""

import shutil
import struct
import subprocess

import orjson
import pytest

from deploy.render_nginx import TAG, TEMPLATE, private_values, render
from faults.checks import presence_updates
from faults.client import BACKOFF_CAP, Conn, _parse_frame, backoff_delay
from faults.harness import duplicate_client_ids, percentile
from faults.httpclient import _dechunk


def test_every_tag_of_the_template_is_rendered_for_the_private_copy(tmp_path):
    tags = {TAG.search(line).group(1) for line in TEMPLATE.read_text().splitlines() if TAG.search(line)}
    values = private_values(tmp_path, 8089, ["127.0.0.1:9001", "127.0.0.1:9002"], debug_upstream_header=True)
    assert tags - set(values) == {"mime_types"}  # the one line kept as written
    text = render(values)
    assert "daemon off;" in text
    assert "listen 127.0.0.1:8089;" in text
    assert text.count("server 127.0.0.1:900") == 2
    assert f"pid {tmp_path / 'nginx.pid'};" in text
    assert "add_header X-Upstream-Addr $upstream_addr always;" in text
    assert "/run/" not in text and "/var/log/" not in text  # nothing outside the prefix
    for needed in ('proxy_http_version 1.1;', 'proxy_set_header Upgrade $http_upgrade;',
                   'proxy_set_header Connection "upgrade";', "proxy_read_timeout 3600s;",
                   "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                   "proxy_set_header X-Forwarded-Proto $scheme;", "proxy_set_header Host $host;"):
        assert needed in text


def test_production_render_replaces_only_what_is_given():
    text = render({"upstream": ["10.0.0.1:8001", "10.0.0.2:8001", "10.0.0.3:8001"]})
    assert text.count("server 10.0.0.") == 3
    assert "127.0.0.1:800" not in text
    assert "user www-data;" in text and "listen 80;" in text
    with pytest.raises(ValueError, match="nope"):
        render({"nope": "x"})


def test_websocket_handshakes_are_paced_per_worker_and_nothing_else_is(capsys, monkeypatch, tmp_path):
    from deploy import render_nginx

    monkeypatch.setattr("sys.argv", ["render_nginx.py", "--upstream", "10.0.0.1:8001,10.0.0.2:8001,10.0.0.3:8001"])
    assert render_nginx.main() == 0
    text = capsys.readouterr().out
    assert "limit_req_zone $ws_handshake zone=ws_open:1m rate=300r/s;" in text  # 100 a second per worker
    # Only an Upgrade: websocket request has a key; everything else (pages, API, /healthz) is never limited.
    assert '~*^websocket$ "ws";' in text and 'default "";' in text
    ws_location = text.split("location /ws/ {", 1)[1].split("location / {", 1)[0]
    assert "limit_req zone=ws_open burst=3000;" in ws_location
    assert text.count("limit_req zone=") == 1
    assert "rate=200r/s" in render(private_values(tmp_path, 8089, ["127.0.0.1:9001", "127.0.0.1:9002"]))


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
def test_the_private_copy_is_valid_nginx(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(private_values(tmp_path, 8089, ["127.0.0.1:9001", "127.0.0.1:9002"])))
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack("!Q", n)
    return head + payload


@pytest.mark.parametrize("size", [5, 200, 70_000])
def test_parse_server_frames_of_every_length_encoding(size):
    data = frame(0x1, b"x" * size) + frame(0x8, struct.pack("!H", 4008))
    opcode, payload, used = _parse_frame(data)
    assert (opcode, len(payload)) == (0x1, size)
    opcode, payload, _ = _parse_frame(data[used:])
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 4008
    assert _parse_frame(data[: used - 1]) is None  # incomplete: wait for more


def test_backoff_is_full_jitter_with_a_cap():
    assert all(0 <= backoff_delay(0) <= 0.5 for _ in range(200))
    assert all(0 <= backoff_delay(3) <= 4.0 for _ in range(200))
    assert max(backoff_delay(20) for _ in range(500)) <= BACKOFF_CAP
    assert max(backoff_delay(20) for _ in range(500)) > BACKOFF_CAP / 2


def test_dechunk():
    assert _dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"


def created(conversation: int, rev: int, message_id: int) -> bytes:
    return orjson.dumps({"type": "message.created", "data": {"id": message_id}, "conversation": conversation,
                         "rev": rev})


async def test_client_counts_repeats_outside_replays_only_and_advances_its_resume_rev_after_resumed():
    conn = Conn("t", "ws://x/ws/", "token", conversations={7: 0})
    conn.outstanding = 1  # a resume was sent: what comes now may repeat
    conn._on_frame(created(7, 1, 100))
    conn._on_frame(created(7, 1, 100))
    assert conn.repeats == 0 and conn.safe_rev[7] == 0
    conn.resume_refs.add("r1")
    conn._on_frame(orjson.dumps({"type": "resumed", "ref": "r1", "data": {"conversations": {"7": 1}}}))
    assert conn.resumed_conn and conn.safe_rev[7] == 1
    conn._on_frame(created(7, 2, 101))
    conn._on_frame(created(7, 2, 101))  # live and repeated: a duplicate
    conn._on_frame(created(7, 1, 100))  # live, older than what came: out of order (and seen before)
    assert conn.repeats == 2 and conn.out_of_order == 1
    assert conn.safe_rev[7] == 2
    assert set(conn.messages[7]) == {100, 101}
    assert conn.missing(7, {100, 101, 102}) == {102}
    conn._on_frame(created(8, 1, 500))  # a conversation it does not follow
    assert 8 not in conn.messages


def test_presence_frames_in_both_shapes():
    conn = Conn("t", "ws://x/ws/", "token", keep_presence=True)
    conn.presence = [
        (1.0, {"type": "presence.updated", "data": {"user": 5, "status": "online"}}),
        (2.0, {"type": "presence.batch", "data": {"updates": [{"user": 6, "status": "away"},
                                                             {"user": 5, "status": "offline"}]}}),
    ]
    assert presence_updates(conn, 5, 0) == [(1.0, "online"), (2.0, "offline")]
    assert presence_updates(conn, 5, 1.5) == [(2.0, "offline")]


def test_duplicate_client_ids_and_percentile():
    messages = [{"client_id": "a"}, {"client_id": "a"}, {"client_id": "b"}, {"client_id": None}]
    assert duplicate_client_ids(messages) == 1
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99) == 10
