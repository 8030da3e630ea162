"""Experiment only (`BENCH_ASGI_APP=bench.asgi_trace:application bench/run.py ...`): the project's ASGI app
with timestamps along the publish path of `message.created`, one JSON line per event appended to
$BENCH_TRACE (default /tmp/vo-bench-trace.jsonl): on_commit build start/end (`build_start`, `build_end`),
`send_now_start` (group_send from the DB thread), `dispatch_start`/`dispatch_end` in the hub.
Compare with the message's `created_at` to split commit -> first socket."""

import importlib
import os
import time

import orjson

from virtual_office.asgi import application  # noqa: F401  (first: it sets Django up)

events = importlib.import_module("messaging.events")
realtime = importlib.import_module("virtual_office.realtime")

_trace: dict[int, dict] = {}
_out = open(os.environ.get("BENCH_TRACE", "/tmp/vo-bench-trace.jsonl"), "ab", buffering=0)
_message_event = events.message_event
_send_now = realtime.send_now
_dispatch = realtime.Hub.dispatch


def _created_id(message: dict) -> int | None:
    event = message.get("event") or {}
    return event.get("data", {}).get("id") if event.get("type") == "message.created" else None


def message_event(message, event_type):
    started = time.time()
    event = _message_event(message, event_type)
    _trace[message.id] = {
        "id": message.id, "created_at": message.created_at.timestamp(), "build_start": started, "build_end": time.time()
    }
    return event


def send_now(group, message):
    message_id = _created_id(message)
    if message_id in _trace:
        _trace[message_id]["send_now_start"] = time.time()  # before: the hub may dispatch first
    _send_now(group, message)


async def dispatch(self, message):
    message_id = _created_id(message)
    started = time.time()
    await _dispatch(self, message)
    if message_id is not None:
        row = _trace.pop(message_id, {"id": message_id})
        members = len(self.members.get(message["group"], ()))
        row.update(dispatch_start=started, dispatch_end=time.time(), members=members)
        _out.write(orjson.dumps(row) + b"\n")


events.message_event = message_event
realtime.send_now = send_now
realtime.Hub.dispatch = dispatch
