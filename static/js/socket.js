// The browser side of /ws/: one socket per tab, reconnect with backoff, request/ack, lossless resume.
//
// Durable conversation events carry `conversation` and `rev`; the store (static/js/store.js) keeps
// each conversation's floor and says which events are duplicates (dropped here) and which reveal a
// gap (the channel layer is at-most-once, or the socket was down): then the socket asks the server
// to `resume` from the floor. On every (re)connect, and on the server's `resync`, it resumes every
// conversation the store knows.
//
// Reconnects wait a random time in [0, min(cap, base * 2^attempt)] ("full jitter"), so when a whole
// worker's clients lose it at once they come back spread out rather than in one wave. The attempt
// counter goes back to 0 only once a connection got `hello` and then stayed up for a while: a server
// that accepts and closes at once (or says hello and then fails) keeps the waits growing.
//
// Nothing here needs a DOM: `location` and the window (for `online` / `offline`) are taken from the
// global scope only when present, or passed in, so node can import and test this module.

import { DUPLICATE, GAP, MessageStore } from "./store.js";

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30000;
export const STABLE_AFTER_HELLO_MS = 5000;

// Close codes. Every code but 4401 means: reconnect with backoff, then resume what we know.
export const CLOSE_SIGNED_OUT = 4401;
export const CLOSE_TRY_AGAIN = 1013; // the server is overloaded (or Redis / the database is away)
export const CLOSE_TOO_SLOW = 4008; // we did not read our frames fast enough
export const CLOSE_FLOOD = 4029; // we sent too much
// After these the server asked for a pause: the wait is never 0 and `online` does not cut it short.
const SLOW_DOWN_CODES = new Set([CLOSE_TRY_AGAIN, CLOSE_FLOOD]);

// An `error` with code `unavailable` answers a request the server could not do right now (Redis or
// the database briefly away). Requests safe to repeat are sent again after waits of about
// 0.5, 1, 2, 4 s; past that they fail with that error.
export const UNAVAILABLE_RETRIES = 4;
export const UNAVAILABLE_BASE_MS = 500;
const REQUEST_TIMEOUT_MS = 20000;
const BANNER_DELAY_MS = 600;
const HEARTBEAT_MS = 25000;
const HEARTBEAT_TIMEOUT_MS = 10000;

export class SocketError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

export class OfficeSocket {
  constructor({
    url,
    banner = null,
    WebSocketImpl = globalThis.WebSocket,
    location = globalThis.location,
    network = globalThis, // where `online` / `offline` fire: the window in a browser
    random = Math.random,
    store = new MessageStore(), // the floors; the office page shares its store with the panels
  } = {}) {
    if (!url) {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      url = `${scheme}${location.host}/ws/`;
    }
    this.url = url;
    this.banner = banner;
    this.WebSocketImpl = WebSocketImpl;
    this.random = random;
    this.ws = null;
    this.greeted = false; // set by each connection's hello (`canSend`)
    this.state = "idle"; // idle | connecting | open | closed (for good)
    this.everOpened = false;
    this.attempt = 0;
    this.handlers = new Map();
    this.nextRef = 1;
    this.inflight = new Map(); // ref -> {frame, resolve, reject, deadline, resend, retry, retries}
    this.retrying = new Map(); // ref -> {request, timer}: answered `unavailable`, to be sent again
    this.queue = []; // requests waiting for an open socket
    this.store = store;
    this.resumeTimer = null;
    this.pendingGaps = new Set();
    this.reconnectTimer = null;
    this.stableTimer = null;
    this.lastDelay = null;
    this.lastCloseCode = null;
    this.bannerTimer = null;
    this.ticker = setInterval(() => this.expireRequests(), 1000);
    // A silently dead connection (sleeping laptop, lost Wi-Fi) only shows itself when a ping goes unanswered.
    this.heartbeat = setInterval(() => this.checkAlive(), HEARTBEAT_MS);
    if (network && typeof network.addEventListener === "function") {
      network.addEventListener("online", () => this.onOnline());
      network.addEventListener("offline", () => {
        if (this.ws) this.ws.close(4000, "offline");
      });
    }
    this.stats = { duplicates: 0, gaps: 0, resumes: 0, reconnects: 0 };
  }

  // -- subscriptions -----------------------------------------------------------------------------

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  emit(type, frame) {
    for (const key of [type, "*"]) {
      for (const fn of this.handlers.get(key) || []) {
        try {
          fn(frame.data, frame);
        } catch (error) {
          // One broken listener must not stop the others (or the socket).
          setTimeout(() => { throw error; });
        }
      }
    }
  }

  // -- connection --------------------------------------------------------------------------------

  connect() {
    if (this.state === "open" || this.state === "connecting" || this.state === "closed") return;
    clearTimeout(this.reconnectTimer);
    this.state = "connecting";
    this.showBanner();
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.greeted = false; // this connection's hello has not come yet: nothing is sent before it
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.state = "open";
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.receive(event.data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.handleClose(event.code);
    };
    ws.onerror = () => {}; // onclose follows and handles it
  }

  handleClose(code) {
    const wasOpen = this.state === "open";
    // Closed before it proved itself: the next wait keeps growing.
    clearTimeout(this.stableTimer);
    this.stableTimer = null;
    this.store.abandonResumes();
    // Requests already sent may or may not have reached the server: resend those that are safe to
    // repeat (message.send is idempotent by client_id), fail the others.
    for (const [ref, request] of this.inflight) {
      this.inflight.delete(ref);
      if (request.resend) this.queue.push(request);
      else request.reject(new SocketError("disconnected", "The connection dropped before an answer came."));
    }
    for (const [ref, { request, timer }] of this.retrying) {
      clearTimeout(timer);
      this.retrying.delete(ref);
      if (request.resend) this.queue.push(request);
      else request.reject(new SocketError("disconnected", "The connection dropped before an answer came."));
    }
    this.lastCloseCode = code;
    if (code === CLOSE_SIGNED_OUT) {
      this.state = "closed";
      this.setBanner("You have been signed out. Reload the page to sign in again.", "error");
      this.failQueue("unauthenticated", "Signed out.");
      this.emit("socket.closed", { data: { code } });
      return;
    }
    this.state = "idle";
    if (wasOpen) this.emit("socket.down", { data: { code } });
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code = null) {
    this.state = "idle";
    this.showBanner();
    const delay = this.reconnectDelay(code);
    this.lastDelay = delay;
    this.attempt += 1;
    this.stats.reconnects += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * Full jitter: anywhere in [0, min(cap, base * 2^attempt)]. After "try again later" (1013) or a
   * flood (4029) at least the base and over at least twice that, still spread over the window.
   */
  reconnectDelay(code = null) {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    if (!SLOW_DOWN_CODES.has(code)) return this.random() * ceiling;
    const least = BACKOFF_BASE_MS;
    return least + this.random() * (Math.max(ceiling, 2 * least) - least);
  }

  onOnline() {
    if (this.state !== "idle" || SLOW_DOWN_CODES.has(this.lastCloseCode)) return;
    this.attempt = 0;
    clearTimeout(this.reconnectTimer);
    this.connect();
  }

  checkAlive() {
    if (!this.canSend()) return;
    const ws = this.ws;
    this.request("ping", {}, { timeout: HEARTBEAT_TIMEOUT_MS, resend: false }).catch((error) => {
      if (error.code === "timeout" && this.ws === ws) ws.close(4000, "no pong");
    });
  }

  /** Reconnect now (tests and the "Retry now" link). */
  reconnectNow() {
    if (this.state === "open" && this.ws) {
      this.ws.close(4000, "reconnect");
      return;
    }
    clearTimeout(this.reconnectTimer);
    this.state = "idle";
    this.connect();
  }

  showBanner() {
    if (this.state === "open" || this.state === "closed") return;
    if (this.everOpened) {
      // Lost a connection we had: say so at once.
      this.setBanner("Reconnecting…", "warn");
      return;
    }
    // The first connection usually opens within a blink: only mention it if it does not.
    if (this.bannerTimer) return;
    this.bannerTimer = setTimeout(() => {
      this.bannerTimer = null;
      if (this.state !== "open" && this.state !== "closed" && !this.everOpened) this.setBanner("Connecting…", "warn");
    }, BANNER_DELAY_MS);
  }

  setBanner(text, level) {
    if (!this.banner) return;
    this.banner.textContent = text || "";
    this.banner.dataset.level = level || "";
    this.banner.hidden = !text;
    const body = this.banner.ownerDocument && this.banner.ownerDocument.body;
    if (body) body.classList.toggle("is-offline", Boolean(text) && level !== "ok");
  }

  hideBanner() {
    clearTimeout(this.bannerTimer);
    this.bannerTimer = null;
    this.setBanner("", "");
  }

  // -- frames ------------------------------------------------------------------------------------

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    switch (frame.type) {
      case "hello":
        this.onHello(frame);
        return;
      case "ack":
      case "pong":
        this.settle(frame.ref, true, frame.data);
        return;
      case "error": {
        const request = frame.ref !== undefined && frame.ref !== null ? this.inflight.get(frame.ref) : undefined;
        if (!request) {
          this.emit("error", frame);
          return;
        }
        const error = frame.error || {};
        const failure = new SocketError(error.code || "error", error.message);
        if (failure.code === "unavailable" && this.retryLater(request, failure)) return;
        this.settle(frame.ref, false, failure);
        return;
      }
      case "resumed":
        return; // the ack of the same request carries the revs
      case "resync":
        // The server may have lost events for this socket (Redis was away): catch up as after a
        // reconnect, on the same socket.
        this.resumeAll();
        this.emit("resync", frame);
        return;
      default:
        break;
    }
    if (frame.conversation !== undefined && frame.rev !== undefined) {
      if (!this.acceptDurable(frame)) return;
    }
    this.emit(frame.type, frame);
  }

  /** Open, and greeted: the server sent this connection's `hello` (requests wait for it). */
  canSend() {
    return this.state === "open" && this.greeted && this.ws !== null && this.ws.readyState === 1;
  }

  onHello(frame) {
    this.greeted = true;
    const reconnected = this.everOpened;
    this.everOpened = true;
    this.hellos = (this.hellos || 0) + 1;
    // Not at once: a server that says hello and then fails must not get a reconnect loop.
    clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      this.stableTimer = null;
      this.attempt = 0;
    }, STABLE_AFTER_HELLO_MS);
    this.hideBanner();
    this.emit("hello", { ...frame, data: { ...frame.data, reconnected } });
    this.resumeAll();
    this.flushQueue();
  }

  /** Resume every conversation we know from its floor: after each (re)connect and on `resync`. */
  resumeAll() {
    if (!this.canSend()) return Promise.resolve(null);
    return this.sendResume(this.store.resync());
  }

  acceptDurable(frame) {
    const conversation = Number(frame.conversation);
    const verdict = this.store.receive(conversation, frame.rev);
    if (verdict === DUPLICATE) {
      this.stats.duplicates += 1;
      return false;
    }
    if (verdict === GAP) {
      this.stats.gaps += 1;
      this.requestResume(conversation);
    }
    return true;
  }

  /** Tell the store about a conversation first loaded over REST (see MessageStore.track). */
  track(conversationId, rev) {
    this.store.track(conversationId, rev);
  }

  advance(conversationId, rev) {
    this.store.advance(conversationId, rev);
  }

  forget(conversationId) {
    this.store.forget(conversationId);
  }

  lastRev(conversationId) {
    return this.store.lastRev(conversationId);
  }

  requestResume(conversationId) {
    this.pendingGaps.add(Number(conversationId));
    if (this.resumeTimer) return;
    // A short wait batches several gaps into one resume.
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      const ids = [...this.pendingGaps].filter((id) => !this.store.isResuming(id));
      this.pendingGaps.clear();
      if (ids.length) this.resume(ids);
    }, 50);
  }

  resume(conversationIds) {
    if (!this.canSend()) return Promise.resolve(null);
    return this.sendResume(this.store.resumeRequest(conversationIds));
  }

  /** Send a resume carrying `conversations` (from the store; null: nothing to resume). */
  sendResume(conversations) {
    if (!conversations) return Promise.resolve(null);
    this.stats.resumes += 1;
    const done = (data) => {
      this.store.resumed(conversations, data);
      this.emit("resumed", { type: "resumed", data: data || { conversations: {} } });
      return data;
    };
    // Not resent after a reconnect (the next hello resumes everything anyway), but retried when the
    // server could not read the history right now.
    const options = { resend: false, retry: true, front: true };
    return this.request("resume", { conversations }, options).then(done, (error) => {
      done(null);
      if (error.code !== "disconnected" && error.code !== "closed") this.emit("error", { type: "error", error });
      return null;
    });
  }

  // -- requests ----------------------------------------------------------------------------------

  /**
   * Send an action; resolves with the ack's data, rejects with a SocketError. `resend`: safe to
   * repeat (message.send, idempotent by client_id), so sent again after a reconnect; `retry`
   * (default: as `resend`): sent again after an `unavailable` answer.
   */
  request(action, fields = {}, { timeout = REQUEST_TIMEOUT_MS, resend = true, retry = resend, front = false } = {}) {
    return new Promise((resolve, reject) => {
      const ref = this.nextRef++;
      const request = {
        ref,
        frame: { ...fields, action, ref },
        resolve,
        reject,
        deadline: Date.now() + timeout,
        resend,
        retry,
        retries: 0,
        lastError: null,
      };
      this.dispatch(request, front);
    });
  }

  dispatch(request, front = false) {
    if (this.canSend()) {
      this.transmit(request);
    } else if (front) {
      this.queue.unshift(request);
    } else {
      this.queue.push(request);
    }
  }

  /**
   * After `unavailable`: send the same frame again after a jittered, growing wait. Returns false
   * when the request is not safe to repeat or has had its retries: the caller rejects it.
   */
  retryLater(request, error) {
    if (!request.retry || request.retries >= UNAVAILABLE_RETRIES) return false;
    this.inflight.delete(request.ref);
    const ceiling = UNAVAILABLE_BASE_MS * 2 ** request.retries;
    request.retries += 1;
    request.lastError = error;
    // Half fixed, half random: a retry at once would most likely meet the same outage, and the
    // random half spreads the many sockets that met it together.
    const delay = ceiling / 2 + this.random() * (ceiling / 2);
    const timer = setTimeout(() => {
      this.retrying.delete(request.ref);
      this.dispatch(request, request.frame.action === "resume");
    }, delay);
    this.retrying.set(request.ref, { request, timer });
    return true;
  }

  /** Fire and forget (typing): dropped when the socket is down. */
  send(action, fields = {}) {
    if (!this.canSend()) return false;
    this.ws.send(JSON.stringify({ ...fields, action }));
    return true;
  }

  transmit(request) {
    this.inflight.set(request.ref, request);
    try {
      this.ws.send(JSON.stringify(request.frame));
    } catch (error) {
      this.inflight.delete(request.ref);
      this.queue.push(request);
    }
  }

  flushQueue() {
    const waiting = this.queue;
    this.queue = [];
    for (const request of waiting) {
      if (this.canSend()) this.transmit(request);
      else this.queue.push(request);
    }
  }

  failQueue(code, message) {
    for (const request of this.queue.splice(0)) request.reject(new SocketError(code, message));
  }

  settle(ref, ok, value) {
    const request = this.inflight.get(ref);
    if (!request) return;
    this.inflight.delete(ref);
    if (ok) request.resolve(value);
    else request.reject(value);
  }

  expireRequests() {
    const now = Date.now();
    const expired = (request) => request.deadline <= now;
    for (const [ref, request] of this.inflight) {
      if (expired(request)) {
        this.inflight.delete(ref);
        request.reject(new SocketError("timeout", "No answer from the server in time."));
      }
    }
    const keep = [];
    for (const request of this.queue) {
      if (expired(request)) request.reject(new SocketError("timeout", "Still offline; not sent."));
      else keep.push(request);
    }
    this.queue = keep;
    for (const [ref, { request, timer }] of this.retrying) {
      if (!expired(request)) continue;
      clearTimeout(timer);
      this.retrying.delete(ref);
      request.reject(request.lastError);
    }
  }

  /** Close for good: no reconnect; what is still waiting fails with code `closed`. */
  close() {
    this.state = "closed";
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    clearTimeout(this.resumeTimer);
    clearTimeout(this.bannerTimer);
    clearInterval(this.ticker);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    // Detached first, so its close event does not count as a drop to reconnect from.
    this.ws = null;
    if (ws) ws.close(1000, "bye");
    const closed = () => new SocketError("closed", "The connection was closed.");
    for (const { request, timer } of this.retrying.values()) {
      clearTimeout(timer);
      request.reject(closed());
    }
    this.retrying.clear();
    for (const request of this.inflight.values()) request.reject(closed());
    this.inflight.clear();
    this.failQueue("closed", "The connection was closed.");
  }
}
