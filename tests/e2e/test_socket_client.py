"""static/js/socket.js in Chromium, against a scripted fake WebSocket: revs, gaps, resume, reconnect."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HARNESS = """
async () => {
  const { OfficeSocket } = await import("/static/js/socket.js");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  class FakeWebSocket {
    constructor(url) {
      FakeWebSocket.all.push(this);
      this.url = url;
      this.sent = [];
      this.readyState = 0;
      setTimeout(() => { this.readyState = 1; this.onopen && this.onopen(); }, 0);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close(code) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      setTimeout(() => this.onclose && this.onclose({ code: code || 1006 }), 0);
    }
    deliver(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
    actions(name) { return this.sent.filter((f) => f.action === name); }
  }
  FakeWebSocket.all = [];
  const banner = document.createElement("div");
  banner.hidden = true;
  document.body.append(banner);
  const socket = new OfficeSocket({ url: "ws://fake/ws/", banner, WebSocketImpl: FakeWebSocket });
  const seen = [];
  socket.on("message.created", (data, frame) => seen.push(frame.rev));
  socket.on("message.updated", (data, frame) => seen.push(frame.rev));
  const created = (rev) => ({ type: "message.created", conversation: 7, rev, data: { id: rev } });
  const out = {};

  socket.connect();
  await sleep(10);
  let ws = FakeWebSocket.all[0];
  ws.deliver({ type: "hello", data: { user: 1 } });
  out.firstResume = ws.actions("resume").length;            // nothing known yet: no resume
  socket.track(7, 0);
  ws.deliver(created(1));
  ws.deliver(created(2));
  ws.deliver(created(2));                                     // duplicate
  out.afterDuplicate = seen.slice();
  ws.deliver(created(5));                                     // gap: 3 and 4 missing
  await sleep(120);
  const resume = ws.actions("resume")[0];
  out.gapResume = resume && resume.conversations;
  // The server replays (compacted: 4 was edited later, it comes at rev 6), then acks.
  ws.deliver(created(3));
  ws.deliver(created(5));                                     // already applied: dropped
  ws.deliver({ type: "message.updated", conversation: 7, rev: 6, data: { id: 4 } });
  ws.deliver({ type: "resumed", ref: resume.ref, data: { conversations: { 7: 6 } } });
  ws.deliver({ type: "ack", ref: resume.ref, data: { conversations: { 7: 6 } } });
  await sleep(10);
  out.afterResume = seen.slice();
  out.floor = socket.lastRev(7);
  ws.deliver(created(4));                                     // late copy of a replayed rev: dropped
  ws.deliver(created(7));
  out.afterLive = seen.slice();

  // request / ack / error
  const acked = socket.request("message.send", { conversation: 7, body: "hi", client_id: "c1" });
  const send = ws.actions("message.send")[0];
  ws.deliver({ type: "ack", ref: send.ref, data: { id: 99 } });
  out.ack = await acked;
  const refused = socket.request("message.send", { conversation: 7, body: "", client_id: "c2" });
  const bad = ws.actions("message.send")[1];
  ws.deliver({ type: "error", ref: bad.ref, error: { code: "empty_body", message: "Say something." } });
  out.error = await refused.then(() => null, (error) => ({ code: error.code, message: error.message }));

  // The connection drops: banner, queued send, reconnect, resume of what we know, then the queue.
  ws.close(1006);
  await sleep(50);
  out.bannerWhileDown = banner.hidden ? "" : banner.textContent;
  const queued = socket.request("message.send", { conversation: 7, body: "later", client_id: "c3" });
  await sleep(1200);
  ws = FakeWebSocket.all[FakeWebSocket.all.length - 1];
  out.reconnects = FakeWebSocket.all.length;
  out.sentBeforeHello = ws.sent.length;
  ws.deliver({ type: "hello", data: { user: 1 } });
  out.order = ws.sent.map((f) => f.action);
  out.reconnectResume = ws.actions("resume")[0].conversations;
  out.bannerAfter = banner.hidden;
  const later = ws.actions("message.send")[0];
  ws.deliver({ type: "ack", ref: later.ref, data: { id: 100 } });
  out.queued = await queued;

  // Signed out: no more reconnects.
  ws.close(4401);
  await sleep(1500);
  out.afterSignOut = { sockets: FakeWebSocket.all.length, state: socket.state, banner: banner.textContent };
  socket.close();
  return out;
}
"""


def test_socket_client_tracks_revs_resumes_gaps_and_reconnects(browser, live_server_url):
    context = browser.new_context(base_url=live_server_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/accounts/login/")
    out = page.evaluate(HARNESS)
    context.close()

    assert out["firstResume"] == 0
    assert out["afterDuplicate"] == [1, 2]
    assert out["gapResume"] == {"7": 2}
    assert out["afterResume"] == [1, 2, 5, 3, 6]
    assert out["floor"] == 6
    assert out["afterLive"] == [1, 2, 5, 3, 6, 7]
    assert out["ack"] == {"id": 99}
    assert out["error"] == {"code": "empty_body", "message": "Say something."}
    assert out["bannerWhileDown"] == "Reconnecting…"
    assert out["reconnects"] == 2
    assert out["sentBeforeHello"] == 0
    assert out["order"] == ["resume", "message.send"]
    assert out["reconnectResume"] == {"7": 7}
    assert out["bannerAfter"] is True
    assert out["queued"] == {"id": 100}
    assert out["afterSignOut"]["sockets"] == 2
    assert out["afterSignOut"]["state"] == "closed"
    assert "signed out" in out["afterSignOut"]["banner"]
    assert errors == []
