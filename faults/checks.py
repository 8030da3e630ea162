"""The fault checks of `make faults`, one function each (faults/README.md: what each checks, thresholds).

Each `check_*` gets the shared context and a `Figures` to fill: what it measured, and with
`fig.require(condition, why)` what broke the contract. It may raise `CheckFailed` when it cannot get
as far as measuring. The runner gives each a time cap, so a hang is a FAIL, not a stuck run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from faults import httpclient
from faults.client import Conn, SlowSocket
from faults.harness import (
    CheckFailed,
    Ctx,
    Figures,
    Sender,
    duplicate_client_ids,
    established,
    log,
    ms,
    now,
    percentile,
    wait_until,
)

Check = Callable[[Ctx, Figures], Awaitable[None]]
CHECKS: dict[str, tuple[Check, float]] = {}

# Companies seeded in bulk (slug -> users); the demo company comes from `seed_demo --json`.
COMPANIES = {
    "f-slow": 22,
    "f-redis": 8,
    "f-kill": 60,
    "f-storm": 1001,
    "f-health": 401,
    "f-ghost": 62,
}

BODY = ("Status update: the quarterly review moved to room 4B at 3 pm; bring the slides, the budget sheet and "
        "the list of open questions from last week. ")


def check(name: str, cap: float) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = (fn, cap)
        return fn

    return register


def workers(ctx: Ctx) -> list[str]:
    return [w.name for w in ctx.stack.workers]


def on_worker(conns: list[Conn]) -> dict[str, int]:
    return dict(sorted(Counter(c.worker or "?" for c in conns).items()))


def committed_ids(messages: list[dict]) -> set[int]:
    return {m["id"] for m in messages}


def lost_and_repeats(conns: list[Conn], committed: dict[int, set[int]]) -> tuple[int, int, int]:
    """(messages missing summed over sockets, durable events repeated outside a replay, out of order)."""
    lost = sum(len(c.missing(conv, ids)) for c in conns for conv, ids in committed.items() if conv in c.safe_rev)
    return lost, sum(c.repeats for c in conns), sum(c.out_of_order for c in conns)


async def settle(conns: list[Conn], expected: dict[int, set[int]], timeout: float) -> bool:
    """Until every socket holds every expected message of the conversations it follows."""
    return await wait_until(
        lambda: all(not c.missing(conv, ids) for c in conns for conv, ids in expected.items() if conv in c.safe_rev),
        timeout, 0.2)


async def reconcile(ctx: Ctx, conns: list[Conn], owners: dict[int, dict], wait: float) -> dict[int, list[dict]]:
    """The committed messages of each conversation (REST, every page), once every socket holds them or
    `wait` ran out; fetched again afterwards, since a send retried late also commits late."""
    deadline = now() + wait
    committed: dict[int, list[dict]] = {}
    for _ in range(3):
        committed = {conv: await ctx.committed(conv, user, timeout=10) for conv, user in owners.items()}
        await settle(conns, {conv: committed_ids(m) for conv, m in committed.items()}, max(0.5, deadline - now()))
        again = {conv: len(await ctx.committed(conv, user, timeout=10)) for conv, user in owners.items()}
        if all(again[conv] == len(committed[conv]) for conv in owners) or now() > deadline:
            break
    return committed


def cpu_seconds() -> float:
    """CPU time of this (the clients') process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wall_to_monotonic(iso: str) -> float:
    epoch = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return epoch - (time.time() - now())


def presence_updates(conn: Conn, user_id: int, after: float) -> list[tuple[float, str]]:
    """(time, status) of every presence frame about `user_id` since `after`: `presence.updated`, or
    `presence.batch` whose data has an `updates` list of the same objects."""
    found = []
    for t, frame in conn.presence:
        if t < after:
            continue
        data = frame.get("data") or {}
        updates = data.get("updates", []) if frame.get("type") == "presence.batch" else [data]
        for update in updates:
            if isinstance(update, dict) and update.get("user") == user_id:
                found.append((t, update.get("status")))
    return found


class Probes:
    """/healthz of every worker (direct), every `interval` seconds, each with a 1 s budget."""

    def __init__(self, ctx: Ctx, interval: float = 0.5, timeout: float = 1.0) -> None:
        self.ctx = ctx
        self.interval = interval
        self.timeout = timeout
        self.results: list[dict] = []
        self.task: asyncio.Task | None = None

    def start(self) -> Probes:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            started = now()
            batch = await asyncio.gather(*(self.ctx.healthz(w, timeout=self.timeout + 2) for w in workers(self.ctx)))
            self.results.extend(batch)
            await asyncio.sleep(max(0.0, self.interval - (now() - started)))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    def slow(self, results: list[dict] | None = None) -> list[dict]:
        return [r for r in (self.results if results is None else results)
                if r["status"] is None or r["seconds"] > self.timeout]

    def summary(self, results: list[dict] | None = None) -> dict:
        results = self.results if results is None else results
        statuses = Counter(str(r["status"]) if r["status"] is not None else "no answer" for r in results)
        return {"probes": len(results), "statuses": dict(statuses),
                "max_s": round(max((r["seconds"] for r in results), default=0.0), 2)}


# -- 1 -----------------------------------------------------------------------------------------------


@check("cross_worker", 60)
async def check_cross_worker(ctx: Ctx, fig: Figures) -> None:
    """Sockets on both workers in one group; both workers send; every socket gets every message once."""
    users = ctx.demo_users[:4]
    conversation, rev = await ctx.group(users[0], users, "faults: cross-worker")
    conns = [ctx.conn(f"x{i}.{j}", u, conversations={conversation: rev}) for j in range(2) for i, u in enumerate(users)]
    failed = await ctx.start_all(conns, concurrency=1)  # one at a time: least_conn alternates
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(conns)} sockets did not open")
    fig["sockets"] = on_worker(conns)
    by_worker = {w: [c for c in conns if c.worker == w] for w in workers(ctx)}
    if any(not v for v in by_worker.values()):
        raise CheckFailed(f"nginx put every socket on one worker: {fig['sockets']}")
    user_of = {u["id"]: u for u in users}
    senders = {w: Sender(ctx, user=user_of[v[0].user_id], conn=v[0], label=f"x{w}") for w, v in by_worker.items()}
    per_sender = 100
    started = now()
    for i in range(per_sender):
        for sender in senders.values():
            sender.send(conversation)
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.05 - now()))  # 20 messages/s from each worker
    await asyncio.gather(*(s.finish(15) for s in senders.values()))
    acked = {mid: (w, r) for w, s in senders.items() for mid, r in s.acked().items()}
    await settle(conns, {conversation: set(acked)}, 10)
    messages = (await reconcile(ctx, conns, {conversation: users[0]}, 5))[conversation]
    committed = {conversation: committed_ids(messages)}
    lost, repeats, disorder = lost_and_repeats(conns, committed)
    cross, same = [], []
    for mid, (w, record) in acked.items():
        for conn in conns:
            t = conn.first_live.get(mid)
            if t is not None:
                (same if conn.worker == w else cross).append(t - record["t_first"])
    sent = sum(len(s.sent) for s in senders.values())
    fig["sent"] = sent
    fig["acked"] = len(acked)
    fig["committed"] = len(messages)
    fig["lost"] = lost
    fig["duplicated"] = repeats + duplicate_client_ids(messages)
    fig["out_of_order"] = disorder
    fig["cross_worker_ms"] = ms(cross)
    fig["same_worker_ms"] = ms(same)
    fig["ack_ms"] = ms([r["t_ack"] - r["t_first"] for _, r in acked.values()])
    closed = sum(len(c.unexpected_closes()) for c in conns)
    errors = {k: v for s in senders.values() for k, v in s.error_codes().items()}
    if errors:
        fig["send_errors"] = errors
    fig.require(len(acked) == sent, f"{sent - len(acked)} sends never acknowledged")
    fig.require(len(messages) == sent, f"{len(messages)} messages committed for {sent} sent")
    fig.require(lost == 0, f"{lost} deliveries lost")
    fig.require(fig["duplicated"] == 0, "duplicates")
    fig.require(disorder == 0, "events out of rev order")
    fig.require(closed == 0, f"{closed} sockets closed")


# -- 2 -----------------------------------------------------------------------------------------------


@check("presence", 45)
async def check_presence(ctx: Ctx, fig: Figures) -> None:
    """A user connecting on one worker is seen online by a socket on the other, and offline after it
    leaves (within the grace period + 5 s); GET users/ agrees."""
    observer_user, subject_user, ballast_user = ctx.demo_users[4], ctx.demo_users[5], ctx.demo_users[6]
    subject_id = subject_user["id"]
    grace = float(ctx.stack.env["PRESENCE_OFFLINE_GRACE_SECONDS"])
    before = await ctx.statuses(observer_user)
    if before.get(subject_id) != "offline":
        raise CheckFailed(f"the subject was {before.get(subject_id)} before connecting")
    observer = ctx.conn("observer", observer_user, keep_presence=True)
    if not await observer.start():
        raise CheckFailed("the observer's socket did not open")
    target = ctx.other(observer.worker)
    ballast = await ctx.steer(target, ballast_user)
    subject = ctx.conn("subject", subject_user)
    connected = now()
    if not await subject.start():
        raise CheckFailed("the subject's socket did not open")
    await ctx.stop_all(ballast)
    fig["observer_on"] = observer.worker
    fig["subject_on"] = subject.worker
    if subject.worker == observer.worker:
        raise CheckFailed("could not place the subject on the other worker")
    online = await wait_until(lambda: any(s == "online" for _, s in presence_updates(observer, subject_id, connected)),
                              5)
    if online:
        t = next(t for t, s in presence_updates(observer, subject_id, connected) if s == "online")
        fig["online_seen_after_ms"] = round((t - connected) * 1000)
    else:
        fig["online_seen_after_ms"] = "never (5 s)"
    rest_online = (await ctx.statuses(observer_user)).get(subject_id)
    fig["rest_while_connected"] = rest_online
    left = now()
    await subject.stop()
    ctx.conns.discard(subject)
    budget = grace + 5
    offline = await wait_until(lambda: any(s == "offline" for _, s in presence_updates(observer, subject_id, left)),
                               budget)
    if offline:
        t = next(t for t, s in presence_updates(observer, subject_id, left) if s == "offline")
        fig["offline_seen_after_s"] = round(t - left, 2)
    else:
        fig["offline_seen_after_s"] = f"never ({budget:.0f} s)"
    fig["grace_s"] = grace
    rest_offline = (await ctx.statuses(observer_user)).get(subject_id)
    fig["rest_after_leaving"] = rest_offline
    fig.require(online, "no `online` frame on the other worker within 5 s")
    fig.require(rest_online == "online", f"GET users/ said {rest_online} while connected")
    fig.require(offline, f"no `offline` frame within grace + 5 s ({budget:.0f} s)")
    fig.require(rest_offline == "offline", f"GET users/ said {rest_offline} after leaving")


# -- 3 -----------------------------------------------------------------------------------------------


@check("calls", 45)
async def check_calls(ctx: Ctx, fig: Figures) -> None:
    """A call left ringing becomes `call.missed` exactly once on every socket of caller and callee, which
    sit on both workers, within 2 s of its expiry."""
    caller_user, callee_user = ctx.demo_users[7], ctx.demo_users[8]
    ring = float(ctx.stack.env["CALL_RING_SECONDS"])
    conns = [ctx.conn(f"{role}{j}", u, keep_frames=True)
             for role, u in (("caller", caller_user), ("callee", callee_user)) for j in range(2)]
    if await ctx.start_all(conns, concurrency=1):
        raise CheckFailed("a socket did not open")
    callers, callees = conns[:2], conns[2:]
    fig["caller_on"] = [c.worker for c in callers]
    fig["callee_on"] = [c.worker for c in callees]
    if not any(a.worker != b.worker for a in callers for b in callees):
        raise CheckFailed("caller and callee sockets all on one worker")
    answer = await ctx.api("POST", "/api/v1/calls/", caller_user, {"callee": callee_user["id"], "kind": "voice"})
    if answer.status != 201:
        raise CheckFailed(f"POST calls/ answered {answer.status}: {answer.body[:200]!r}")
    call = answer.json()
    expires = wall_to_monotonic(call["expires_at"])

    def frames(conn: Conn, kind: str) -> list[float]:
        return [t for t, f in conn.frames if f.get("type") == kind and (f.get("data") or {}).get("id") == call["id"]]

    await wait_until(lambda: all(frames(c, "call.missed") for c in conns), ring + 6)
    await asyncio.sleep(3)  # a second `missed` from the other worker would come about now
    missed = [len(frames(c, "call.missed")) for c in conns]
    invited = [len(frames(c, "call.invited")) for c in conns]
    late = [frames(c, "call.missed")[0] - expires for c in conns if frames(c, "call.missed")]
    state = (await ctx.api_ok("GET", f"/api/v1/calls/{call['id']}/", caller_user)).get("state")
    fig["ring_s"] = ring
    fig["invited_per_socket"] = invited
    fig["missed_per_socket"] = missed
    fig["missed_after_expiry_s"] = {"max": round(max(late), 2)} if late else "none"
    fig["state"] = state
    fig.require(all(n == 1 for n in invited), "`call.invited` not exactly once per socket")
    fig.require(all(n == 1 for n in missed), "`call.missed` not exactly once per socket")
    fig.require(bool(late) and max(late) <= 2.0, "`call.missed` later than 2 s after expiry")
    fig.require(state == "missed", f"the call is {state}")


# -- 4 -----------------------------------------------------------------------------------------------


@check("redis_restart", 120)
async def check_redis_restart(ctx: Ctx, fig: Figures) -> None:
    """Redis shut down (nosave) for ~3 s and started again while messages flow between both workers."""
    users = ctx.companies["f-redis"]
    conversation, rev = await ctx.group(users[0], users, "faults: redis restart")
    conns = [ctx.conn(f"r{i}", u, conversations={conversation: rev}, reconnect=True) for i, u in enumerate(users)]
    if await ctx.start_all(conns, concurrency=1):
        raise CheckFailed("a socket did not open")
    fig["sockets"] = on_worker(conns)
    if len(fig["sockets"]) < 2:
        raise CheckFailed("all sockets on one worker")
    socket_sender = Sender(ctx, user=users[0], conn=conns[0], retry_until=45, label="ws")
    rest_sender = Sender(ctx, user=users[1], retry_until=45, label="rest")
    probes = Probes(ctx).start()
    sending = True

    async def traffic() -> None:
        while sending:
            socket_sender.send(conversation)
            rest_sender.send(conversation)
            await asyncio.sleep(0.1)

    flow = asyncio.create_task(traffic())
    await asyncio.sleep(3)
    t_down = now()
    await asyncio.to_thread(ctx.stack.redis.shutdown)
    t_down_done = now()
    await asyncio.sleep(3)
    t_start = now()
    await asyncio.to_thread(ctx.stack.redis.start)
    t_back = now()
    fig["outage_s"] = round(t_back - t_down, 1)
    await asyncio.sleep(8)
    sending = False
    await flow
    await asyncio.gather(socket_sender.finish(45), rest_sender.finish(45))
    acked = set(socket_sender.acked()) | set(rest_sender.acked())
    await settle(conns, {conversation: acked}, 15)
    await probes.stop()
    messages = (await reconcile(ctx, conns, {conversation: users[0]}, 5))[conversation]
    committed = {conversation: committed_ids(messages)}
    lost, repeats, disorder = lost_and_repeats(conns, committed)

    closed = [c for c in conns if c.unexpected_closes()]
    fig["sockets_closed"] = len(closed)
    resync_after = []  # the first `resync` once Redis was being started again (one sent earlier cannot cover it)
    for conn in conns:
        times = [t for t in conn.resyncs if t >= t_start]
        resync_after.append(times[0] - t_back if times else None)
    got = [r for r in resync_after if r is not None]
    fig["resync"] = {"sockets": f"{len(got)}/{len(conns)}",
                     "latest_after_return_s": round(max(got), 2) if got else None,
                     "during_outage": sum(1 for c in conns for t in c.resyncs if t_down <= t < t_start)}
    # Recovery: the first message the socket sender sent after Redis was back that every socket on the
    # other worker got live (not in a replay).
    origin = conns[0].worker
    remote = [c for c in conns if c.worker != origin]
    recovery = None
    for mid, record in sorted(socket_sender.acked().items(), key=lambda item: item[1]["t_first"]):
        if record["t_first"] < t_back:
            continue
        times = [c.first_live.get(mid) for c in remote]
        if all(t is not None for t in times):
            recovery = max(times) - t_back
            break
    fig["cross_worker_back_after_s"] = round(recovery, 2) if recovery is not None else "never"
    fig["sent"] = len(socket_sender.sent) + len(rest_sender.sent)
    fig["unacked"] = socket_sender.unacked() + rest_sender.unacked()
    fig["committed"] = len(messages)
    fig["lost"] = lost
    fig["duplicated"] = repeats + duplicate_client_ids(messages)
    fig["out_of_order"] = disorder
    fig["socket_errors"] = socket_sender.error_codes()
    fig["rest_errors"] = rest_sender.error_codes()
    resume_errors = Counter()
    for conn in conns:
        resume_errors.update(conn.resume_errors)
    if resume_errors:
        fig["resume_errors"] = dict(resume_errors)
    during = [p for p in probes.results if t_down_done + 1.0 <= p["t"] <= t_start - 0.2]
    after = [p for p in probes.results if p["t"] >= t_back + 5]
    named = [p for p in during if p["status"] == 503 and (p.get("body") or {}).get("channel_layer") not in (None, "ok")]
    fig["healthz_during"] = probes.summary(during)
    fig["healthz_after"] = probes.summary(after)

    codes = sorted({x["code"] for c in closed for x in c.unexpected_closes()})
    fig.require(not closed, f"{len(closed)} sockets closed (codes {codes})")
    fig.require(len(got) == len(conns), f"{len(conns) - len(got)} sockets got no `resync` after Redis returned")
    fig.require(all(r <= 5 for r in got), "a `resync` came later than 5 s after Redis returned")
    fig.require(recovery is not None and recovery <= 5, "cross-worker delivery not back within 5 s")
    fig.require(fig["unacked"] == 0, f"{fig['unacked']} messages never acknowledged")
    fig.require(lost == 0, f"{lost} deliveries lost")
    fig.require(fig["duplicated"] == 0, "duplicates")
    fig.require(disorder == 0, "events out of rev order")
    allowed = {"error unavailable", "http 503 unavailable"}
    odd = {k: v for k, v in {**socket_sender.error_codes(), **rest_sender.error_codes()}.items() if k not in allowed}
    fig.require(not odd, f"answers other than `unavailable`: {odd}")
    fig.require(bool(during) and len(named) == len(during),
                "/healthz not 503 naming channel_layer during the outage")
    fig.require(bool(after) and all(p["status"] == 200 for p in after), "/healthz not 200 after Redis returned")
    fig.require(not probes.slow(), f"{len(probes.slow())} /healthz answers took over 1 s")


# -- 5 -----------------------------------------------------------------------------------------------


@check("worker_kill", 120)
async def check_worker_kill(ctx: Ctx, fig: Figures) -> None:
    """kill -9 of one worker: its clients reconnect through nginx and resume with nothing lost; its users
    who do not come back are offline within 30 s. The worker is started again afterwards."""
    users = ctx.companies["f-kill"]
    sender_user = users[0]
    conversation, rev = await ctx.group(sender_user, users, "faults: worker kill")
    followers = [ctx.conn(f"k{i}", u, conversations={conversation: rev}, reconnect=True)
                 for i, u in enumerate(users[1:41])]
    leavers = [ctx.conn(f"leaver{i}", u) for i, u in enumerate(users[41:57])]
    if await ctx.start_all(followers + leavers, concurrency=1):
        raise CheckFailed("a socket did not open")
    placed = Counter(c.worker for c in leavers)
    victim_name = max(workers(ctx), key=lambda w: (placed[w], w == workers(ctx)[0]))
    victim = ctx.stack.worker(victim_name)
    gone = [c for c in leavers if c.worker == victim_name]
    staying = [c for c in leavers if c.worker != victim_name]
    hit = [c for c in followers if c.worker == victim_name]
    spared = [c for c in followers if c.worker != victim_name]
    fig["followers"] = on_worker(followers)
    fig["leavers"] = on_worker(leavers)
    if not gone or not hit or not spared:
        raise CheckFailed("sockets not spread over both workers")
    sender = Sender(ctx, user=sender_user, retry_until=45, label="kill")

    async def traffic() -> None:
        while not sender.stopped:
            sender.send(conversation)
            await asyncio.sleep(0.1)

    flow = asyncio.create_task(traffic())
    await asyncio.sleep(2)
    fig["killed"] = f"{victim_name} (pid {victim.pid})"
    try:
        await _after_kill(ctx, fig, victim, sender_user, conversation, sender, gone, staying, hit, spared,
                          followers, flow)
    finally:
        sender.stopped = True
        fig["restarted_in_s"] = await restart_killed(ctx)


async def _after_kill(ctx: Ctx, fig: Figures, victim: Any, sender_user: dict, conversation: int, sender: Sender,
                      gone: list[Conn], staying: list[Conn], hit: list[Conn], spared: list[Conn],
                      followers: list[Conn], flow: asyncio.Task) -> None:
    """worker_kill from the kill on (split out so that the worker is started again whatever happens)."""
    t_kill = now()
    victim.kill9()
    gone_ids = {c.user_id for c in gone}
    offline_at: float | None = None
    polls = 0

    async def watch_offline() -> None:
        nonlocal offline_at, polls
        while now() - t_kill < 40:
            try:
                statuses = await ctx.statuses(sender_user)
                polls += 1
                if all(statuses.get(uid) == "offline" for uid in gone_ids):
                    offline_at = now()
                    return
            except Exception:
                pass
            await asyncio.sleep(1)

    offline_task = asyncio.create_task(watch_offline())

    def resumed_after(conn: Conn) -> float | None:
        times = [t for t in conn.resumed_at if t > t_kill]
        return times[0] - t_kill if times else None

    await wait_until(lambda: all(resumed_after(c) is not None for c in hit), 35, 0.2)
    await asyncio.sleep(max(0.0, t_kill + 8 - now()))
    sender.stopped = True
    await flow
    await sender.finish(45)
    acked = set(sender.acked())
    await settle(followers, {conversation: acked}, 15)
    await offline_task
    messages = (await reconcile(ctx, followers, {conversation: sender_user}, 5))[conversation]
    committed = {conversation: committed_ids(messages)}
    lost, repeats, disorder = lost_and_repeats(followers, committed)
    delays = [d for d in (resumed_after(c) for c in hit) if d is not None]
    statuses = await ctx.statuses(sender_user)
    connected_ids = {c.user_id for c in followers + staying if c.open}
    not_online = [uid for uid in connected_ids if statuses.get(uid) == "offline"]
    spared_closed = sum(len(c.unexpected_closes()) for c in spared)
    bad_closes = Counter(x["code"] for c in hit for x in c.unexpected_closes()[1:])  # after the kill's own
    fig["reconnected"] = f"{len(delays)}/{len(hit)}"
    fig["resume_s"] = {"p50": round(percentile(delays, 0.5), 2), "max": round(max(delays), 2)} if delays else "none"
    fig["offline_after_s"] = round(offline_at - t_kill, 1) if offline_at else "not within 40 s"
    fig["sent"] = len(sender.sent)
    fig["committed"] = len(messages)
    fig["lost"] = lost
    fig["duplicated"] = repeats + duplicate_client_ids(messages)
    fig["out_of_order"] = disorder
    fig["send_errors"] = sender.error_codes()
    fig["connected_shown_offline"] = len(not_online)
    if bad_closes:
        fig["closes_after_reconnect"] = dict(bad_closes)
    fig.require(len(delays) == len(hit) and max(delays, default=99) <= 30, "not every client resumed within 30 s")
    fig.require(offline_at is not None and offline_at - t_kill <= 30, "users of the dead worker not offline in 30 s")
    fig.require(sender.unacked() == 0, f"{sender.unacked()} messages never created")
    fig.require(lost == 0, f"{lost} deliveries lost")
    fig.require(fig["duplicated"] == 0, "duplicates")
    fig.require(disorder == 0, "events out of rev order")
    fig.require(spared_closed == 0, f"{spared_closed} sockets on the surviving worker closed")
    fig.require(not not_online, f"{len(not_online)} connected users shown offline")
    fig.require(not bad_closes, "sockets closed again after reconnecting")


async def restart_killed(ctx: Ctx) -> float | None:
    """After worker_kill: start the killed worker again (the later checks need both); seconds it took."""
    seconds = None
    for worker in ctx.stack.workers:
        if not worker.alive():
            worker.start()
            seconds = round(await asyncio.to_thread(worker.wait_ready), 1)
    return seconds


# -- 6 -----------------------------------------------------------------------------------------------


async def storm(ctx: Ctx, fig: Figures, slug: str, members: int, per_user: int, groups: int,
                rate: float) -> dict:
    """`members` users with `per_user` sockets each, in `groups` group conversations, all through nginx;
    every socket dropped at once (RST) and reconnected at once; a sender posts `rate` messages/s
    through the storm. Fills `fig`; returns the healthz probes and a summary."""
    users = ctx.companies[slug]
    sender_user, people = users[0], users[1 : members + 1]
    size = len(people) // groups
    convs = []
    for g in range(groups):
        group = people[g * size : (g + 1) * size]
        conversation, rev = await ctx.group(sender_user, [sender_user, *group], f"faults: storm {g}")
        convs.append((conversation, rev, group))
    # Setup shortcut, as bench/seed.py does: the people are marked connected before their first sockets
    # open, so that opening 2,000 sockets does not first send a `presence.updated` per login to the
    # whole company. The storm itself runs on whatever presence the server keeps.
    ids = [u["id"] for u in people]

    def mark_connected() -> None:
        with ctx.stack.db.connect() as db:
            db.execute("UPDATE presence_presence SET connected = true, last_seen = now(), updated_at = now() "
                       "WHERE user_id = ANY(%s)", (ids,))

    await asyncio.to_thread(mark_connected)
    conns = [ctx.conn(f"s{u['id']}.{j}", u, conversations={conversation: rev}, reconnect=True, immediate=True,
                      open_timeout=30)
             for conversation, rev, group in convs for u in group for j in range(per_user)]
    random.shuffle(conns)
    started = now()
    log(f"storm: opening {len(conns)} sockets through nginx")
    failed = await ctx.start_all(conns, concurrency=64)
    log(f"storm: {len(conns) - len(failed)} open in {now() - started:.0f} s")
    fig["sockets"] = len(conns)
    fig["setup_connect_s"] = round(now() - started, 1)
    if failed:
        raise CheckFailed(f"{len(failed)} of {len(conns)} sockets did not open before the storm")
    fig["placement"] = on_worker(conns)
    await asyncio.sleep(2)
    rss_before = {w.name: w.rss_kb() for w in ctx.stack.workers}
    sender_conn = ctx.conn("storm-sender", sender_user, reconnect=True)
    if not await sender_conn.start():
        raise CheckFailed("the sender's socket did not open")
    sender = Sender(ctx, user=sender_user, conn=sender_conn, retry_until=40, label="storm")
    probes = Probes(ctx).start()
    sending = True

    async def traffic() -> None:
        i = 0
        while sending:
            sender.send(convs[i % groups][0])
            i += 1
            await asyncio.sleep(1 / rate)

    flow = asyncio.create_task(traffic())
    await asyncio.sleep(2)
    t_drop = now()
    cpu_at_drop = cpu_seconds()
    for conn in conns:
        conn.abort()

    def resumed_after(conn: Conn) -> float | None:
        times = [t for t in conn.resumed_at if t > t_drop]
        return times[0] - t_drop if times else None

    def resumed_count() -> int:
        return sum(1 for c in conns if resumed_after(c) is not None)

    for _ in range(8):  # 40 s at most
        if await wait_until(lambda: resumed_count() == len(conns), 5, 0.25):
            break
        log(f"storm: {resumed_count()}/{len(conns)} resumed after {now() - t_drop:.0f} s")
    delays = [resumed_after(c) for c in conns]
    done = [d for d in delays if d is not None]
    closes = Counter()
    bad = 0
    for conn in conns:
        for close in conn.unexpected_closes():
            closes[close["code"]] += 1
            if not (close["before_resumed"] and close["code"] == 1013):
                bad += 1
    failures = Counter()
    for conn in conns:
        failures.update(conn.connect_failures)
    fig["resumed_by_30s"] = f"{sum(1 for d in done if d <= 30)}/{len(conns)}"
    fig["all_resumed_after_s"] = round(max(done), 1) if len(done) == len(conns) else \
        f"never ({len(done)} by {now() - t_drop:.0f} s)"
    fig["resume_p50_s"] = round(percentile(done, 0.5), 2) if done else None
    fig["placement_after"] = on_worker([c for c in conns if c.open])
    fig["closes_by_code"] = dict(closes)
    fig["failed_handshakes"] = dict(failures)
    await asyncio.sleep(2)
    sending = False
    await flow
    await sender.finish(15)
    await probes.stop()
    fig["healthz_during"] = probes.summary()
    fig["rss_mb_before"] = {k: round(v / 1024) if v else None for k, v in rss_before.items()}
    fig["rss_mb_after"] = {k: round(v / 1024) if v else None for k, v in
                           ((w.name, w.rss_kb()) for w in ctx.stack.workers)}
    fig["sent"] = len(sender.sent)
    fig["send_errors"] = sender.error_codes()
    if sender_conn.unexpected_closes():
        fig["sender_socket_closes"] = dict(Counter(c["code"] for c in sender_conn.unexpected_closes()))
    fig["harness_cpu"] = f"{cpu_seconds() - cpu_at_drop:.1f} s in {now() - t_drop:.0f} s"
    out = {"probes": probes, "delays": done, "bad_closes": bad, "failures": failures, "conns": conns,
           "lost": None, "sender": sender}
    acked_by_conv: dict[int, set[int]] = {c: set() for c, _, _ in convs}
    for mid, record in sender.acked().items():
        acked_by_conv[record["conversation"]].add(mid)
    resumed = [c for c in conns if resumed_after(c) is not None]
    await settle(resumed, acked_by_conv, 10)
    try:
        found = await reconcile(ctx, resumed, {conversation: sender_user for conversation, _, _ in convs}, 10)
        committed = {conversation: committed_ids(messages) for conversation, messages in found.items()}
        dup_ids = sum(duplicate_client_ids(messages) for messages in found.values())
    except (httpclient.HTTPError, CheckFailed) as exc:
        fig["committed"] = f"unknown (GET messages/: {exc})"
        return out
    lost, repeats, disorder = lost_and_repeats(resumed, committed)
    fig["committed"] = sum(len(v) for v in committed.values())
    fig["lost"] = lost if len(resumed) == len(conns) else f"{lost} on the {len(resumed)} resumed sockets"
    fig["duplicated"] = repeats + dup_ids
    fig["out_of_order"] = disorder
    out["lost"] = lost
    return out


@check("storm", 210)
async def check_storm(ctx: Ctx, fig: Figures) -> None:
    """2,000 sockets (1,000 users, two tabs each) drop at once and reconnect at once."""
    out = await storm(ctx, fig, "f-storm", members=1000, per_user=2, groups=10, rate=10)
    ctx.notes["storm_probes"] = out["probes"]
    conns = out["conns"]
    fig.require(len(out["delays"]) == len(conns) and max(out["delays"]) <= 30,
                f"{sum(1 for d in out['delays'] if d <= 30)}/{len(conns)} sockets resumed within 30 s")
    fig.require(out["lost"] == 0, f"{out['lost']} deliveries lost" if out["lost"] else "lost unknown")
    fig.require(fig.items.get("duplicated") == 0, "duplicates (or unknown)")
    fig.require(out["bad_closes"] == 0, f"{out['bad_closes']} closes other than 1013 before `resumed` (or after it)")
    fig.require(not out["failures"], "handshakes refused or timed out (overload must be a 1013 close)")
    fig.require(out["sender"].unacked() == 0, f"{out['sender'].unacked()} messages never acknowledged")
    await ctx.stop_all(conns)


# -- 7 -----------------------------------------------------------------------------------------------


@check("slow_client", 90)
async def check_slow_client(ctx: Ctx, fig: Figures) -> None:
    """One socket that never reads, in a group with 20 readers (10 on its worker), while messages go
    out at 20/s from its worker: 300, and on up to 600 while the slow socket is still connected (the
    server's kernel alone takes up to tcp_wmem's maximum, 4 MB here, before any frame waits in the
    worker; each message is ~8.6 KB)."""
    users = ctx.companies["f-slow"]
    sender_user, slow_user, reader_users = users[0], users[1], users[2:22]
    conversation, rev = await ctx.group(sender_user, users, "faults: slow client")
    a, b = workers(ctx)
    sender_conn = ctx.conn("slow-sender", sender_user, via=a)
    readers = [ctx.conn(f"reader{i}", u, via=a if i < 10 else b, conversations={conversation: rev})
               for i, u in enumerate(reader_users)]
    if await ctx.start_all([sender_conn, *readers], concurrency=8):
        raise CheckFailed("a socket did not open")
    slow = SlowSocket(ctx.worker_ws(a), slow_user["token"])
    await slow.open()
    t_connected = now()
    await asyncio.sleep(1.5)
    worker = ctx.stack.worker(a)
    rss_before = worker.rss_kb() or 0
    sender = Sender(ctx, user=sender_user, conn=sender_conn, retry_until=30, body=BODY * 60, label="slow")
    started = now()
    dropped_at: float | None = None
    in_kernel = 0
    for i in range(600):
        sender.send(conversation)
        if i >= 299 and i % 10 == 9:
            in_kernel = server_send_queue(worker.port, slow.local_port) or in_kernel
            if not await asyncio.to_thread(client_established, slow.local_port):
                dropped_at = now()
                break
        await asyncio.sleep(max(0.0, started + (i + 1) * 0.05 - now()))
    await sender.finish(20)
    acked = sender.acked()
    await settle(readers, {conversation: set(acked)}, 10)
    rss_after = worker.rss_kb() or 0
    queued = slow.queued_bytes()
    if dropped_at is None and not client_established(slow.local_port):
        dropped_at = now()
    ended = await slow.drain()
    commit_to_receipt, send_to_receipt = [], []
    for mid, record in acked.items():
        created = wall_to_monotonic(record["created_at"]) if record.get("created_at") else None
        for conn in readers:
            t = conn.first_live.get(mid)
            if t is None:
                continue
            send_to_receipt.append(t - record["t_first"])
            if created is not None:
                commit_to_receipt.append(t - created)
    messages = (await reconcile(ctx, readers, {conversation: sender_user}, 5))[conversation]
    lost, repeats, disorder = lost_and_repeats(readers, {conversation: committed_ids(messages)})
    fig["readers"] = on_worker(readers)
    fig["sent"] = len(sender.sent)
    fig["acked"] = len(acked)
    fig["readers_commit_to_receipt_ms"] = ms(commit_to_receipt)
    fig["readers_send_to_receipt_ms"] = ms(send_to_receipt)
    fig["lost"] = lost
    fig["duplicated"] = repeats + duplicate_client_ids(messages)
    fig["rss_growth_mb"] = round((rss_after - rss_before) / 1024, 1)
    ping_limit = 40.0  # uvicorn's own keepalive would drop a peer that never reads after 20 + 20 s
    fig["slow_socket"] = {
        "dropped_after_s": round(dropped_at - t_connected, 1) if dropped_at else "not dropped",
        "ended": ended["end"], "close_code": ended["close_code"], "frames_it_got": ended["text_frames"],
        "kb_it_got": round(ended["bytes"] / 1024), "server_kernel_kb": round(in_kernel / 1024),
        "unread_kb": round(queued / 1024)}
    p99 = percentile(commit_to_receipt, 0.99) if commit_to_receipt else float("inf")
    fig.require(len(acked) == len(sender.sent), f"{len(sender.sent) - len(acked)} sends never acknowledged")
    fig.require(p99 < 0.5, "readers' p99 latency (commit to receipt) not under 500 ms")
    fig.require(lost == 0, f"{lost} deliveries to readers lost")
    fig.require(fig["duplicated"] == 0, "duplicates")
    fig.require(rss_after - rss_before < 50 * 1024, "worker RSS grew by 50 MB or more")
    if ended["close_code"] is not None:
        fig.require(ended["close_code"] == 4008, f"slow socket closed with {ended['close_code']}, not 4008")
    else:
        fig.require(dropped_at is not None and dropped_at - t_connected < ping_limit,
                    f"slow socket not closed with 4008 nor dropped (ended: {ended['end']})")


def client_established(local_port: int | None) -> bool:
    """Our side of a connection is still established (not reset or closed by the server)."""
    if local_port is None:
        return False
    import subprocess

    out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{local_port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    return bool(out.strip())


def server_send_queue(port: int, peer_port: int | None) -> int:
    """Bytes the server's kernel holds unacknowledged toward one peer (`ss` Send-Q of its socket)."""
    if peer_port is None:
        return 0
    import subprocess

    out = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{port} and dport = :{peer_port} )"],
                         capture_output=True, text=True, timeout=10).stdout.split()
    return int(out[1]) if len(out) > 1 and out[1].isdigit() else 0


# -- 8 -----------------------------------------------------------------------------------------------


@check("healthz", 120)
async def check_healthz(ctx: Ctx, fig: Figures) -> None:
    """/healthz within 1 s with 200: on a worker with one idle socket, and on busy workers (storm)."""
    users = ctx.companies["f-health"]
    idle: dict[str, list[dict]] = {}
    for i, name in enumerate(workers(ctx)):
        conn = ctx.conn(f"idle{name}", users[i], via=name)
        if not await conn.start():
            raise CheckFailed(f"the socket on worker {name} did not open")
        await asyncio.sleep(2)
        idle[name] = []
        for _ in range(5):
            idle[name].append(await ctx.healthz(name, timeout=5))
            await asyncio.sleep(0.3)
        await conn.stop()
    for name, results in idle.items():
        fig[f"idle_{name}"] = {"statuses": dict(Counter(str(r["status"]) for r in results)),
                               "max_s": round(max(r["seconds"] for r in results), 2)}
    probes: Probes | None = ctx.notes.get("storm_probes")
    if probes is None:
        # Run alone: a storm of its own (400 sockets) to be busy.
        sub = Figures()
        out = await storm(ctx, sub, "f-health", members=200, per_user=2, groups=4, rate=10)
        probes = out["probes"]
        await ctx.stop_all(out["conns"])
        fig["busy"] = "own storm of 400 sockets"
    else:
        fig["busy"] = "during the storm"
    fig["busy_probes"] = probes.summary()
    for name, results in idle.items():
        fig.require(all(r["status"] == 200 and r["seconds"] <= 1.0 for r in results),
                    f"idle worker {name}: not 200 within 1 s")
    fig.require(bool(probes.results) and not probes.slow(), f"{len(probes.slow())} busy probes took over 1 s")
    fig.require(all(r["status"] == 200 for r in probes.results), "busy probes not all 200")


# -- 9 -----------------------------------------------------------------------------------------------


@check("ghosts", 75)
async def check_ghosts(ctx: Ctx, fig: Figures) -> None:
    """After everything before: per worker, the Connection rows with its server_id = its established
    TCP connections = the sockets the harness holds open there; no rows of dead processes; nobody
    without a socket shown online (every company), nobody with one shown offline."""
    users = ctx.companies["f-ghost"]
    a, b = workers(ctx)
    probes = {a: ctx.conn("probeA", users[0], via=a), b: ctx.conn("probeB", users[1], via=b)}
    crowd = [ctx.conn(f"g{i}", u) for i, u in enumerate(users[2:62])]
    if await ctx.start_all([*probes.values(), *crowd], concurrency=8):
        raise CheckFailed("a socket did not open")
    for conn in crowd[:20]:
        conn.abort(stop=True)  # gone without a close frame
    await ctx.stop_all(crowd[20:40])  # closed cleanly
    grace = float(ctx.stack.env["PRESENCE_OFFLINE_GRACE_SECONDS"])
    await asyncio.sleep(grace + 1)
    everyone = {slug: us for slug, us in ctx.companies.items()}
    everyone["demo"] = ctx.demo_users
    state: dict[str, Any] = {}

    def read_rows() -> list[tuple[int, str]]:
        with ctx.stack.db.connect() as db:
            return list(db.execute("SELECT user_id, server_id FROM presence_connection").fetchall())

    deadline = now() + 45
    while True:
        rows = await asyncio.to_thread(read_rows)
        server_of = {w: next((sid for uid, sid in rows if uid == probes[w].user_id), None) for w in (a, b)}
        per_server = Counter(sid for _, sid in rows)
        tcp = {w.name: established(w.port) for w in ctx.stack.workers}
        held = {w: sum(1 for c in ctx.conns if c.open and c.worker == w) for w in (a, b)}
        counted = {w: per_server.get(server_of[w], 0) if server_of[w] else None for w in (a, b)}
        orphans = sum(n for sid, n in per_server.items() if sid not in server_of.values())
        with_socket = {c.user_id for c in ctx.conns if c.open}
        ghosts: Counter[str] = Counter()
        missing: Counter[str] = Counter()
        for slug, company in everyone.items():
            statuses = await ctx.statuses(company[0], via=a)
            for uid, status in statuses.items():
                if status != "offline" and uid not in with_socket:
                    ghosts[slug] += 1
                if status == "offline" and uid in with_socket:
                    missing[slug] += 1
        state = {"server_counts": counted, "tcp": tcp, "harness_open": held, "orphan_rows": orphans,
                 "online_without_socket": dict(ghosts) or 0, "connected_shown_offline": dict(missing) or 0}
        consistent = all(counted[w] == tcp[w] == held[w] for w in (a, b)) and not orphans and not ghosts \
            and not missing
        if consistent or now() > deadline:
            break
        await asyncio.sleep(1)
    for key, value in state.items():
        fig[key] = value
    for w in (a, b):
        fig.require(state["server_counts"][w] == state["tcp"][w],
                    f"worker {w}: server counts {state['server_counts'][w]} sockets, {state['tcp'][w]} TCP open")
        fig.require(state["tcp"][w] == state["harness_open"][w],
                    f"worker {w}: {state['tcp'][w]} TCP open, the harness holds {state['harness_open'][w]}")
    fig.require(not state["orphan_rows"], f"{state['orphan_rows']} Connection rows of no running worker")
    fig.require(not state["online_without_socket"], f"{state['online_without_socket']} users online without a socket")
    fig.require(not state["connected_shown_offline"], "connected users shown offline")
