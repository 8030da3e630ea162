// Test doubles for the browser modules under static/js: a scripted WebSocket and a window-like
// event target. Timers come from node:test's mock.timers, so nothing here waits for real.

/** A WebSocket whose server side the test plays: accept(), deliver(frame), drop(code). */
export class FakeWebSocket {
  static all = [];

  static reset() {
    FakeWebSocket.all = [];
  }

  static last() {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    this.closedWith = null;
    FakeWebSocket.all.push(this);
  }

  // -- the client's side --

  send(text) {
    if (this.readyState !== 1) throw new Error("InvalidStateError: not open");
    this.sent.push(JSON.parse(text));
  }

  close(code = 1000) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedWith = code;
    // As in a browser, the close event comes later.
    setTimeout(() => this.onclose && this.onclose({ code }), 0);
  }

  // -- the server's side --

  accept() {
    this.readyState = 1;
    if (this.onopen) this.onopen();
  }

  hello(user = 1) {
    this.deliver({ type: "hello", data: { user, server_time: "2024-01-01T00:00:00Z" } });
  }

  /** Accept and say hello, as a healthy server does. */
  open(user = 1) {
    this.accept();
    this.hello(user);
    return this;
  }

  deliver(frame) {
    this.onmessage({ data: JSON.stringify(frame) });
  }

  /** The server (or the network) closes the socket with `code`. */
  drop(code = 1006) {
    this.readyState = 3;
    this.closedWith = code;
    if (this.onclose) this.onclose({ code });
  }

  actions(name) {
    return this.sent.filter((frame) => frame.action === name);
  }
}

/** The window's `online` / `offline` events, without a window. */
export class FakeNetwork extends EventTarget {
  fire(type) {
    this.dispatchEvent(new Event(type));
  }
}
