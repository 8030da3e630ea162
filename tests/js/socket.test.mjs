// static/js/socket.js under node: reconnect backoff, close codes, resync, retries of `unavailable`.
// A scripted FakeWebSocket plays the server; node:test's mock timers stand in for time.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { FakeNetwork, FakeWebSocket } from "./fakes.mjs";
import { importStatic } from "./load.mjs";

const {
  OfficeSocket,
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  STABLE_AFTER_HELLO_MS,
  UNAVAILABLE_BASE_MS,
  UNAVAILABLE_RETRIES,
} = await importStatic("socket.js");
const { MessageStore } = await importStatic("store.js");

const HIGHEST = 0.999999; // Math.random() is below 1
let sockets = [];

function makeSocket(options = {}) {
  const socket = new OfficeSocket({
    url: "ws://office.test/ws/",
    WebSocketImpl: FakeWebSocket,
    network: new FakeNetwork(),
    random: () => HIGHEST,
    ...options,
  });
  sockets.push(socket);
  return socket;
}

/** Wait out the scheduled reconnect; returns the new socket (asserting one was opened then, not before). */
function waitForReconnect(socket) {
  const before = FakeWebSocket.all.length;
  const delay = socket.lastDelay;
  if (delay >= 1) {
    mock.timers.tick(Math.floor(delay) - (Number.isInteger(delay) ? 1 : 0));
    assert.equal(FakeWebSocket.all.length, before, `reconnected before its ${delay} ms wait`);
  }
  mock.timers.tick(1);
  assert.equal(FakeWebSocket.all.length, before + 1, `no reconnect after ${delay} ms`);
  return FakeWebSocket.last();
}

/** The ceiling of the wait just scheduled, read back through a random() of (almost) 1. */
const ceilingOf = (delay) => Math.round(delay / HIGHEST);

beforeEach(() => {
  FakeWebSocket.reset();
  mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"] });
});

afterEach(() => {
  for (const socket of sockets) socket.close();
  sockets = [];
  mock.timers.reset();
});

describe("reconnect backoff", () => {
  test("waits grow from the base and double up to the 30 s cap", () => {
    const socket = makeSocket();
    socket.connect();
    let ws = FakeWebSocket.last();
    const ceilings = [];
    for (let i = 0; i < 10; i += 1) {
      ws.drop(1006); // refused before it ever opened
      assert.ok(socket.lastDelay >= 0 && socket.lastDelay <= BACKOFF_CAP_MS, `delay ${socket.lastDelay}`);
      ceilings.push(ceilingOf(socket.lastDelay));
      ws = waitForReconnect(socket);
    }
    const base = BACKOFF_BASE_MS;
    const expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((k) => Math.min(BACKOFF_CAP_MS, base * k));
    assert.deepEqual(ceilings, expected);
    assert.ok(base >= 500 && base <= 1000);
  });

  test("full jitter: every wait lies in [0, min(cap, base * 2^attempt)], down to 0", () => {
    const socket = makeSocket({ random: Math.random });
    for (let attempt = 0; attempt < 40; attempt += 1) {
      socket.attempt = attempt;
      const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
      for (let i = 0; i < 50; i += 1) {
        const delay = socket.reconnectDelay();
        assert.ok(delay >= 0 && delay <= ceiling, `attempt ${attempt}: ${delay} outside [0, ${ceiling}]`);
      }
    }
    const floorSocket = makeSocket({ random: () => 0 });
    floorSocket.attempt = 6;
    assert.equal(floorSocket.reconnectDelay(), 0);
  });

  test("the cap is 30 s, however many attempts", () => {
    assert.equal(BACKOFF_CAP_MS, 30000);
    const socket = makeSocket();
    for (const attempt of [6, 10, 50, 2000]) {
      socket.attempt = attempt;
      const delay = socket.reconnectDelay();
      assert.ok(delay <= 30000 && delay > 29990, `attempt ${attempt}: ${delay}`);
    }
  });

  test("a server that accepts (or even says hello) and closes at once does not reset the counter", () => {
    const socket = makeSocket();
    socket.connect();
    let ws = FakeWebSocket.last();
    const ceilings = [];
    for (let i = 0; i < 3; i += 1) {
      ws.accept();
      ws.drop(1011);
      ceilings.push(ceilingOf(socket.lastDelay));
      ws = waitForReconnect(socket);
    }
    for (let i = 0; i < 2; i += 1) {
      ws.open();
      mock.timers.tick(STABLE_AFTER_HELLO_MS - 1);
      ws.drop(1011);
      ceilings.push(ceilingOf(socket.lastDelay));
      ws = waitForReconnect(socket);
    }
    assert.deepEqual(ceilings, [1, 2, 4, 8, 16].map((k) => BACKOFF_BASE_MS * k));
  });

  test("the counter resets once a connection got hello and stayed up", () => {
    const socket = makeSocket();
    socket.connect();
    let ws = FakeWebSocket.last();
    for (let i = 0; i < 4; i += 1) {
      ws.drop(1006);
      ws = waitForReconnect(socket);
    }
    assert.equal(socket.attempt, 4);
    ws.open();
    assert.equal(socket.attempt, 4, "not reset by hello alone");
    mock.timers.tick(STABLE_AFTER_HELLO_MS);
    assert.equal(socket.attempt, 0);
    ws.drop(1006);
    assert.equal(ceilingOf(socket.lastDelay), BACKOFF_BASE_MS);
  });

  test("the `online` event reconnects at once", () => {
    const network = new FakeNetwork();
    const socket = makeSocket({ network });
    socket.connect();
    let ws = FakeWebSocket.last();
    for (let i = 0; i < 3; i += 1) {
      ws.drop(1006);
      ws = waitForReconnect(socket);
    }
    ws.drop(1006);
    const before = FakeWebSocket.all.length;
    network.fire("online");
    assert.equal(FakeWebSocket.all.length, before + 1);
    assert.equal(socket.state, "connecting");
  });

  test("`offline` closes the socket, which then reconnects with backoff", () => {
    const network = new FakeNetwork();
    const socket = makeSocket({ network });
    socket.connect();
    const ws = FakeWebSocket.last().open();
    network.fire("offline");
    assert.equal(ws.closedWith, 4000);
    mock.timers.tick(0);
    assert.equal(socket.state, "idle");
    waitForReconnect(socket);
  });
});

/** A socket that is up (hello received) and knows conversation 7 at rev 4 and 9 at rev 10. */
function connectedWithHistory(options = {}) {
  const socket = makeSocket(options);
  socket.connect();
  const ws = FakeWebSocket.last().open();
  socket.track(7, 3);
  ws.deliver({ type: "message.created", conversation: 7, rev: 4, data: { id: 40 } });
  socket.track(9, 10);
  return { socket, ws };
}

const created = (conversation, rev) => ({ type: "message.created", conversation, rev, data: { id: rev } });

describe("close codes", () => {
  test("1013: never straight back, `online` does not cut the wait short, then resume", () => {
    const network = new FakeNetwork();
    const { socket, ws } = connectedWithHistory({ random: () => 0, network });
    ws.drop(1013);
    assert.equal(socket.state, "idle");
    assert.ok(socket.lastDelay >= BACKOFF_BASE_MS, `waited only ${socket.lastDelay} ms`);
    network.fire("online");
    assert.equal(FakeWebSocket.all.length, 1, "`online` bypassed the 1013 wait");
    const next = waitForReconnect(socket);
    next.accept();
    assert.deepEqual(next.sent, [], "nothing is sent before hello");
    next.hello();
    const [resume] = next.actions("resume");
    assert.deepEqual(resume.conversations, { 7: 4, 9: 10 });
  });

  test("1013 again and again: the waits keep growing and stay within the cap", () => {
    const socket = makeSocket();
    socket.connect();
    let ws = FakeWebSocket.last();
    const delays = [];
    for (let i = 0; i < 9; i += 1) {
      ws.accept();
      ws.drop(1013);
      delays.push(socket.lastDelay);
      ws = waitForReconnect(socket);
    }
    for (let i = 1; i < delays.length; i += 1) assert.ok(delays[i] >= delays[i - 1], `${delays}`);
    assert.ok(delays.every((delay) => delay >= BACKOFF_BASE_MS && delay <= BACKOFF_CAP_MS), `${delays}`);
    assert.ok(delays.at(-1) > BACKOFF_CAP_MS * 0.99);
  });

  test("4008 (too slow to read): reconnect with backoff, resume, resend the pending message", () => {
    const { socket, ws } = connectedWithHistory({ random: () => 0.5 });
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    assert.equal(ws.actions("message.send").length, 1);
    ws.drop(4008);
    assert.equal(socket.state, "idle");
    assert.ok(socket.lastDelay > 0 && socket.lastDelay <= BACKOFF_BASE_MS);
    const next = waitForReconnect(socket).open();
    assert.deepEqual(next.sent.map((frame) => frame.action), ["resume", "message.send"]);
    assert.deepEqual(next.actions("resume")[0].conversations, { 7: 4, 9: 10 });
    const again = next.actions("message.send")[0];
    assert.equal(again.client_id, "c1");
    next.deliver({ type: "ack", ref: again.ref, data: { id: 41 } });
    return sent.then((data) => assert.deepEqual(data, { id: 41 }));
  });

  test("4029 (flood): reconnect after a wait that is never 0, then resume", () => {
    const { socket, ws } = connectedWithHistory({ random: () => 0 });
    ws.drop(4029);
    assert.ok(socket.lastDelay >= BACKOFF_BASE_MS);
    const next = waitForReconnect(socket).open();
    assert.deepEqual(next.actions("resume")[0].conversations, { 7: 4, 9: 10 });
  });

  test("4401: signed out for good, no reconnect, waiting requests fail", async () => {
    const { socket, ws } = connectedWithHistory();
    const refused = socket.request("message.send", { conversation: 7, body: "x", client_id: "c2" });
    ws.drop(4401);
    await assert.rejects(refused, (error) => error.code === "unauthenticated");
    mock.timers.tick(10 * BACKOFF_CAP_MS);
    assert.equal(FakeWebSocket.all.length, 1);
    assert.equal(socket.state, "closed");
  });
});

describe("resync", () => {
  test("resumes every known conversation from its floor, on the same socket", async () => {
    const { socket, ws } = connectedWithHistory();
    ws.deliver(created(7, 6)); // 5 is missing: applied ahead, the floor stays at 4
    const seen = [];
    socket.on("resync", () => seen.push("resync"));
    ws.deliver({ type: "resync" });
    assert.equal(FakeWebSocket.all.length, 1, "resync must not reconnect");
    assert.equal(ws.readyState, 1);
    assert.deepEqual(seen, ["resync"]);
    const resumes = ws.actions("resume");
    assert.equal(resumes.length, 1);
    assert.deepEqual(resumes[0].conversations, { 7: 4, 9: 10 });
    ws.deliver(created(7, 5));
    ws.deliver({ type: "resumed", ref: resumes[0].ref, data: { conversations: { 7: 8, 9: 12 } } });
    ws.deliver({ type: "ack", ref: resumes[0].ref, data: { conversations: { 7: 8, 9: 12 } } });
    await Promise.resolve();
    assert.equal(socket.lastRev(7), 8);
    assert.equal(socket.lastRev(9), 12);
  });

  test("sends the same resume as a reconnect does", () => {
    const { socket, ws } = connectedWithHistory();
    ws.deliver({ type: "resync" });
    const onResync = ws.actions("resume")[0];
    ws.drop(1006);
    const next = waitForReconnect(socket).open();
    const onReconnect = next.actions("resume")[0];
    assert.deepEqual(onResync.conversations, onReconnect.conversations);
  });

  test("knowing no conversation yet, sends nothing", () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    ws.deliver({ type: "resync" });
    assert.deepEqual(ws.sent, []);
  });

  test("a resync during a resume: replayed revs are not chased as gaps until both are done", async () => {
    const { socket, ws } = connectedWithHistory();
    ws.drop(1006);
    const next = waitForReconnect(socket).open();
    const first = next.actions("resume")[0];
    next.deliver({ type: "resync" });
    const second = next.actions("resume")[1];
    assert.deepEqual(second.conversations, { 7: 4, 9: 10 });
    next.deliver({ type: "ack", ref: first.ref, data: { conversations: { 7: 4, 9: 10 } } });
    await Promise.resolve();
    next.deliver(created(7, 7)); // compacted replay: 5 and 6 were folded into later revs
    mock.timers.tick(100);
    assert.equal(socket.stats.gaps, 0);
    assert.equal(next.actions("resume").length, 2);
    next.deliver({ type: "ack", ref: second.ref, data: { conversations: { 7: 7, 9: 10 } } });
    await Promise.resolve();
    assert.equal(socket.lastRev(7), 7);
  });
});

const unavailable = (ref) => ({
  type: "error",
  ref,
  error: { code: "unavailable", message: "The server cannot do this right now; try again in a few seconds." },
});

/** Follows a promise's state, to assert it is still pending. */
function watch(promise) {
  const box = { state: "pending" };
  promise.then(
    () => { box.state = "resolved"; },
    () => { box.state = "rejected"; },
  );
  return box;
}

// Lets every promise callback run (setImmediate is not among the mocked timers).
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("`unavailable` answers", () => {
  test("message.send is sent again, the same frame, after a growing jittered wait, then resolves", async () => {
    const socket = makeSocket({ random: () => 0 });
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    const state = watch(sent);
    const waits = [];
    for (let retry = 0; retry < UNAVAILABLE_RETRIES; retry += 1) {
      const frames = ws.actions("message.send");
      ws.deliver(unavailable(frames.at(-1).ref));
      await flush();
      assert.equal(state.state, "pending");
      // random() = 0: the shortest wait, half the window; never at once.
      const wait = (UNAVAILABLE_BASE_MS * 2 ** retry) / 2;
      mock.timers.tick(wait - 1);
      assert.equal(ws.actions("message.send").length, frames.length, `retry ${retry} came early`);
      mock.timers.tick(1);
      assert.equal(ws.actions("message.send").length, frames.length + 1, `retry ${retry} did not come`);
      waits.push(wait);
    }
    assert.deepEqual(waits, [250, 500, 1000, 2000]);
    const frames = ws.actions("message.send");
    assert.ok(frames.every((frame) => frame.client_id === "c1" && frame.ref === frames[0].ref && frame.body === "hi"));
    ws.deliver({ type: "ack", ref: frames[0].ref, data: { id: 5 } });
    assert.deepEqual(await sent, { id: 5 });
  });

  test("the waits are jittered within their window", () => {
    const socket = makeSocket({ random: () => HIGHEST });
    socket.connect();
    const ws = FakeWebSocket.last().open();
    socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" }).catch(() => {});
    ws.deliver(unavailable(ws.actions("message.send")[0].ref));
    mock.timers.tick(UNAVAILABLE_BASE_MS - 1);
    assert.equal(ws.actions("message.send").length, 1, "the longest wait is the whole window");
    mock.timers.tick(1);
    assert.equal(ws.actions("message.send").length, 2);
  });

  test(`after ${UNAVAILABLE_RETRIES} retries it fails with that error`, async () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    for (let answer = 0; answer <= UNAVAILABLE_RETRIES; answer += 1) {
      ws.deliver(unavailable(ws.actions("message.send")[0].ref));
      mock.timers.tick(UNAVAILABLE_BASE_MS * 2 ** answer);
    }
    await assert.rejects(sent, (error) => error.code === "unavailable" && /try again/.test(error.message));
    assert.equal(ws.actions("message.send").length, 1 + UNAVAILABLE_RETRIES);
  });

  test("a request that is not safe to repeat fails at once", async () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const signal = socket.request("call.signal", { call: 3, payload: {} }, { resend: false });
    ws.deliver(unavailable(ws.actions("call.signal")[0].ref));
    await assert.rejects(signal, (error) => error.code === "unavailable");
    mock.timers.tick(60000);
    assert.equal(ws.actions("call.signal").length, 1);
  });

  test("other errors fail at once, also for message.send", async () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    const ref = ws.actions("message.send")[0].ref;
    ws.deliver({ type: "error", ref, error: { code: "rate_limited", message: "Slow down." } });
    await assert.rejects(sent, (error) => error.code === "rate_limited");
  });

  test("a retry still waiting when the socket drops is sent after the next hello", async () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    ws.deliver(unavailable(ws.actions("message.send")[0].ref));
    ws.drop(1006);
    const next = waitForReconnect(socket).open();
    const [again] = next.actions("message.send");
    assert.equal(again.client_id, "c1");
    mock.timers.tick(10000);
    assert.equal(next.actions("message.send").length + ws.actions("message.send").length, 2, "sent twice only");
    next.deliver({ type: "ack", ref: again.ref, data: { id: 6 } });
    assert.deepEqual(await sent, { id: 6 });
  });

  test("a resume answered `unavailable` is retried and then advances the floors", async () => {
    const { socket, ws } = connectedWithHistory();
    ws.deliver({ type: "resync" });
    const [resume] = ws.actions("resume");
    ws.deliver(unavailable(resume.ref));
    mock.timers.tick(UNAVAILABLE_BASE_MS);
    const retried = ws.actions("resume");
    assert.equal(retried.length, 2);
    assert.deepEqual(retried[1].conversations, { 7: 4, 9: 10 });
    ws.deliver({ type: "ack", ref: retried[1].ref, data: { conversations: { 7: 9, 9: 10 } } });
    await Promise.resolve();
    assert.equal(socket.lastRev(7), 9);
  });
});

describe("close()", () => {
  test("closes for good: no reconnect, waiting requests fail with `closed`", async () => {
    const socket = makeSocket();
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const sent = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
    socket.close();
    await assert.rejects(sent, (error) => error.code === "closed");
    mock.timers.tick(10 * BACKOFF_CAP_MS);
    assert.equal(ws.closedWith, 1000);
    assert.equal(FakeWebSocket.all.length, 1);
    assert.equal(socket.state, "closed");
  });
});

describe("without a DOM", () => {
  test("the URL comes from an injected location; a banner without a document still works", () => {
    const socket = makeSocket({ url: undefined, location: { protocol: "https:", host: "office.test:8443" } });
    assert.equal(socket.url, "wss://office.test:8443/ws/");
    const banner = { textContent: "", dataset: {}, hidden: true };
    const withBanner = makeSocket({ banner });
    withBanner.connect();
    FakeWebSocket.last().open();
    FakeWebSocket.last().drop(1006);
    assert.equal(banner.textContent, "Reconnecting…");
    assert.equal(banner.hidden, false);
  });
});

describe("the store", () => {
  test("floors live in the store the socket is given (the page shares it with its panels)", async () => {
    const store = new MessageStore();
    store.track(7, 3);
    const socket = makeSocket({ store });
    socket.connect();
    const ws = FakeWebSocket.last().open();
    const [resume] = ws.actions("resume");
    assert.deepEqual(resume.conversations, { 7: 3 });
    ws.deliver(created(7, 4)); // during the resume: applied ahead
    assert.equal(store.lastRev(7), 3);
    ws.deliver({ type: "ack", ref: resume.ref, data: { conversations: { 7: 4 } } });
    await flush();
    assert.equal(store.lastRev(7), 4);
    ws.deliver(created(7, 5));
    assert.equal(store.lastRev(7), 5);
    socket.track(9, 2);
    assert.equal(store.lastRev(9), 2);
    socket.forget(9);
    assert.equal(store.lastRev(9), undefined);
  });
});
