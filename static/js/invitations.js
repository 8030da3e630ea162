// Calls and teleport invitations in the office page: toasts that ring and count down, and the call
// view, a peer-to-peer WebRTC connection whose offer / answer / ICE travel over the socket as
// `call.signal` (no media passes through the server).
//
// `setupInvitations(office)` needs `office.socket` (`on(type, fn)`, `request(action, fields)`) and
// `office.me`; it returns the controller the avatar menu calls (`call(userId, kind)`, `teleport(userId)`).
//
// Several tabs of one person all get the events; only the tab that placed a call (caller) or
// answered it (callee) runs its RTCPeerConnection, the other tabs just close their toasts.

import { get, post } from "./api.js";
import { toast as defaultToast } from "./toasts.js";

const RECENT = 10; // how many calls / teleports to look at when (re)connecting

function secondsLeft(invitation) {
  // Count down the server's ring length from now: immune to a skewed client clock.
  const ring = (Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)) / 1000;
  const sinceCreated = invitation.receivedLate ? (Date.now() - Date.parse(invitation.created_at)) / 1000 : 0;
  return Math.max(1, Math.round(ring - sinceCreated));
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function element(tag, { className = "", text = "", attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

/** The call overlay: remote video (or the other person's initials for voice), my own video, hang up. */
class CallView {
  constructor({ call, me, onHangUp, onToggleMute }) {
    const other = call.caller.id === me.id ? call.callee : call.caller;
    this.root = element("section", { className: "call-view", attrs: { "aria-label": `Call with ${other.name}`, role: "dialog" } });
    this.root.dataset.call = String(call.id);
    this.root.dataset.kind = call.kind;
    Object.assign(this.root.style, {
      position: "fixed", right: "16px", bottom: "16px", width: "360px", zIndex: "60", borderRadius: "14px",
      background: "#101418", color: "#fff", boxShadow: "0 12px 40px rgba(0,0,0,.35)", overflow: "hidden",
      fontSize: "14px",
    });
    const header = element("div", { className: "call-header" });
    Object.assign(header.style, { display: "flex", justifyContent: "space-between", padding: "10px 14px" });
    this.title = element("strong", { className: "call-title", text: other.name });
    this.status = element("span", { className: "call-status", text: "Connecting…", attrs: { "aria-live": "polite" } });
    header.append(this.title, this.status);

    const stage = element("div", { className: "call-stage" });
    Object.assign(stage.style, { position: "relative", height: call.kind === "video" ? "220px" : "120px", background: "#000" });
    this.remote = element("video", { className: "call-remote", attrs: { autoplay: "", playsinline: "" } });
    Object.assign(this.remote.style, { width: "100%", height: "100%", objectFit: "cover" });
    this.local = element("video", { className: "call-local", attrs: { autoplay: "", playsinline: "" } });
    this.local.muted = true; // never play my own microphone back to me
    Object.assign(this.local.style, {
      position: "absolute", right: "8px", bottom: "8px", width: "96px", height: "72px", objectFit: "cover",
      borderRadius: "8px", border: "2px solid rgba(255,255,255,.6)", background: "#222",
    });
    if (call.kind === "voice") {
      this.local.hidden = true;
      this.remote.style.opacity = "0"; // still plays the audio
      const face = element("div", { className: "call-face", text: other.initials });
      Object.assign(face.style, {
        position: "absolute", inset: "0", margin: "auto", width: "72px", height: "72px", borderRadius: "50%",
        display: "grid", placeItems: "center", fontSize: "26px", fontWeight: "700", background: other.colour,
      });
      stage.append(face);
    }
    stage.append(this.remote, this.local);

    const controls = element("div", { className: "call-controls" });
    Object.assign(controls.style, { display: "flex", gap: "8px", justifyContent: "center", padding: "10px" });
    this.mute = element("button", { className: "btn btn-ghost call-mute", text: "Mute", attrs: { type: "button" } });
    this.mute.style.color = "#fff";
    this.mute.addEventListener("click", () => {
      const muted = onToggleMute();
      this.mute.textContent = muted ? "Unmute" : "Mute";
      this.mute.setAttribute("aria-pressed", String(muted));
    });
    this.hangup = element("button", { className: "btn call-hangup", text: "Hang up", attrs: { type: "button" } });
    Object.assign(this.hangup.style, { background: "#c62828", color: "#fff", border: "0" });
    this.hangup.addEventListener("click", () => onHangUp());
    controls.append(this.mute, this.hangup);

    this.root.append(header, stage, controls);
    document.body.append(this.root);
    this.setState("connecting");
  }

  setState(state, text) {
    this.root.dataset.state = state;
    const labels = { connecting: "Connecting…", connected: "Connected", ended: "Call ended", failed: "Connection lost" };
    this.status.textContent = text || labels[state] || state;
  }

  play(video, stream) {
    video.srcObject = stream;
    const started = video.play();
    if (started && typeof started.catch === "function") started.catch(() => {}); // autoplay rules: it retries on user input
  }

  close(afterMs = 0) {
    this.hangup.disabled = true;
    this.mute.disabled = true;
    setTimeout(() => this.root.remove(), afterMs);
  }
}

/** One answered call in this tab: media, the RTCPeerConnection, and the signaling that feeds it. */
class CallSession {
  constructor(controller, call, role) {
    this.controller = controller;
    this.call = call;
    this.role = role; // "caller" makes the offer, "callee" answers
    this.otherId = role === "caller" ? call.callee.id : call.caller.id;
    this.pc = null;
    this.stream = null;
    this.pending = []; // signals that arrived before the peer connection was ready
    this.remoteSet = false;
    this.candidates = []; // ICE candidates that arrived before the remote description
    this.ended = false;
    this.connectedAt = null;
    this.ticker = null;
    this.view = new CallView({
      call,
      me: controller.me,
      onHangUp: () => controller.hangUp(this),
      onToggleMute: () => this.toggleMute(),
    });
  }

  async start() {
    const constraints = this.call.kind === "video" ? { audio: true, video: true } : { audio: true, video: false };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (error) {
      this.stream = null;
      this.controller.toast("No microphone or camera available: they will not hear or see you.", { kind: "error" });
    }
    if (this.ended) return this.stopMedia();
    this.pc = new RTCPeerConnection({ iceServers: this.controller.iceServers });
    if (this.stream) {
      for (const track of this.stream.getTracks()) this.pc.addTrack(track, this.stream);
      this.view.play(this.view.local, this.stream);
    } else {
      this.pc.addTransceiver("audio", { direction: "recvonly" });
      if (this.call.kind === "video") this.pc.addTransceiver("video", { direction: "recvonly" });
    }
    this.pc.onicecandidate = (event) => {
      if (event.candidate) this.send({ type: "candidate", candidate: event.candidate.toJSON() });
    };
    this.pc.ontrack = (event) => {
      const stream = event.streams[0] || new MediaStream([event.track]);
      if (this.view.remote.srcObject !== stream) this.view.play(this.view.remote, stream);
    };
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    if (this.role === "caller") {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.send({ type: "offer", sdp: this.pc.localDescription.sdp });
    }
    const queued = this.pending;
    this.pending = [];
    for (const payload of queued) await this.onSignal(payload);
  }

  send(payload) {
    if (this.ended) return;
    this.controller.socket
      .request("call.signal", { call: this.call.id, payload }, { resend: false })
      .catch((error) => {
        // The call ended meanwhile (call_not_active) or the socket dropped: nothing left to negotiate.
        if (!this.ended && error.code !== "call_not_active") this.controller.toast(error.message, { kind: "error" });
      });
  }

  async onSignal(payload) {
    if (this.ended) return;
    if (!this.pc) {
      this.pending.push(payload);
      return;
    }
    try {
      if (payload.type === "offer" && this.role === "callee") {
        await this.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp });
        await this.flushCandidates();
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ type: "answer", sdp: this.pc.localDescription.sdp });
      } else if (payload.type === "answer" && this.role === "caller") {
        await this.pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
        await this.flushCandidates();
      } else if (payload.type === "candidate" && payload.candidate) {
        if (this.remoteSet) await this.pc.addIceCandidate(payload.candidate);
        else this.candidates.push(payload.candidate);
      }
    } catch (error) {
      // A malformed or stale signal: this connection may still succeed on the next one.
      console.warn("call signal not applied", error);
    }
  }

  async flushCandidates() {
    this.remoteSet = true;
    const queued = this.candidates;
    this.candidates = [];
    for (const candidate of queued) await this.pc.addIceCandidate(candidate).catch(() => {});
  }

  onConnectionState() {
    if (!this.pc || this.ended) return;
    const state = this.pc.connectionState;
    if (state === "connected") {
      if (this.connectedAt === null) this.connectedAt = Date.now();
      clearInterval(this.ticker);
      const tick = () => this.view.setState("connected", `Connected · ${clock((Date.now() - this.connectedAt) / 1000)}`);
      tick();
      this.ticker = setInterval(tick, 1000);
    } else if (state === "failed") {
      clearInterval(this.ticker);
      this.view.setState("failed");
      // No route between the two browsers (no TURN server configured): hang up rather than hang.
      this.controller.hangUp(this);
    } else if (state === "disconnected") {
      this.view.setState("connecting", "Reconnecting…");
    }
  }

  toggleMute() {
    const tracks = this.stream ? this.stream.getAudioTracks() : [];
    const muted = tracks.some((track) => track.enabled);
    for (const track of tracks) track.enabled = !muted;
    return muted;
  }

  stopMedia() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
  }

  finish(call) {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ticker);
    if (this.pc) this.pc.close();
    this.stopMedia();
    const duration = call && call.duration_seconds !== null && call.duration_seconds !== undefined
      ? ` · ${clock(call.duration_seconds)}` : "";
    this.view.setState("ended", `Call ended${duration}`);
    this.view.close(2500);
  }
}

class Invitations {
  constructor(office) {
    this.office = office;
    this.socket = office.socket;
    this.me = office.me;
    this.toast = office.toast || defaultToast;
    this.iceServers = (office.data && office.data.ice_servers) || [];
    this.toasts = new Map(); // "call:ID" / "teleport:ID" -> toast handle
    this.placed = new Set(); // calls placed from this tab (this tab runs the caller side)
    this.sent = new Set(); // teleports sent from this tab
    this.session = null; // the answered call this tab is in
    this.lastEnded = null;
  }

  start() {
    const on = (type, fn) => this.socket.on(type, (data) => fn.call(this, data));
    on("call.invited", this.onCallInvited);
    on("call.accepted", this.onCallAccepted);
    on("call.declined", (call) => this.onCallOver(call, "declined"));
    on("call.cancelled", (call) => this.onCallOver(call, "cancelled"));
    on("call.missed", (call) => this.onCallOver(call, "missed"));
    on("call.ended", this.onCallEnded);
    on("call.signal", this.onCallSignal);
    on("teleport.invited", this.onTeleportInvited);
    on("teleport.accepted", (t) => this.onTeleportOver(t, "accepted"));
    on("teleport.declined", (t) => this.onTeleportOver(t, "declined"));
    on("teleport.expired", (t) => this.onTeleportOver(t, "expired"));
    // Invitations that rang while this tab was loading or disconnected.
    this.socket.on("hello", () => this.reconcile());
    this.reconcile();
    return this;
  }

  closeToast(key) {
    const handle = this.toasts.get(key);
    if (handle) handle.close();
    this.toasts.delete(key);
  }

  async reconcile() {
    let calls = [];
    let teleports = [];
    try {
      [calls, teleports] = await Promise.all([get(`calls/?limit=${RECENT}`), get("teleports/")]);
    } catch (error) {
      return; // the next (re)connect tries again; live events keep working meanwhile
    }
    for (const call of calls) {
      if (call.state === "ringing" && call.callee.id === this.me.id) {
        if (!this.toasts.has(`call:${call.id}`)) this.onCallInvited({ ...call, receivedLate: true });
      } else if (call.state === "accepted" && !(this.session && this.session.call.id === call.id)) {
        this.stillInCall(call);
      } else if (call.state !== "ringing") {
        this.closeToast(`call:${call.id}`);
        if (this.session && this.session.call.id === call.id && call.state !== "accepted") this.session.finish(call);
      }
    }
    for (const teleport of teleports.slice(0, RECENT)) {
      if (teleport.state === "pending" && teleport.invitee.id === this.me.id) {
        if (!this.toasts.has(`teleport:${teleport.id}`)) this.onTeleportInvited({ ...teleport, receivedLate: true });
      } else if (teleport.state !== "pending") {
        this.closeToast(`teleport:${teleport.id}`);
      }
    }
  }

  stillInCall(call) {
    // Answered elsewhere (another tab, or before a reload): this tab has no media for it, but the
    // call keeps both people busy until someone hangs up, so offer that.
    if (this.toasts.has(`call:${call.id}`)) return;
    const other = call.caller.id === this.me.id ? call.callee : call.caller;
    const handle = this.toast(`You are in a call with ${other.name} in another window.`, {
      kind: "invite",
      title: "Call in progress",
      timeout: 0,
      actions: [{ label: "Hang up", onClick: () => this.act(`calls/${call.id}/end/`) }],
    });
    handle.element.dataset.call = String(call.id);
    this.toasts.set(`call:${call.id}`, handle);
  }

  // -- calls ------------------------------------------------------------------------------------

  /** Ring someone (from the avatar menu). Rejects with the server's sentence when refused. */
  async call(userId, kind = "voice") {
    if (this.session) throw new Error("You are already in a call; hang up first.");
    const call = await post("calls/", { callee: userId, kind });
    this.placed.add(call.id);
    const handle = this.toast(`Calling ${call.callee.name}…`, {
      kind: "invite",
      title: kind === "video" ? "Video call" : "Voice call",
      countdown: secondsLeft(call),
      actions: [{ label: "Cancel", onClick: () => this.act(`calls/${call.id}/cancel/`) }],
    });
    handle.element.dataset.call = String(call.id);
    handle.element.classList.add("call-outgoing");
    this.toasts.set(`call:${call.id}`, handle);
    return call;
  }

  async act(path) {
    try {
      return await post(path);
    } catch (error) {
      this.toast(error.message, { kind: "error" });
      return null;
    }
  }

  onCallInvited(call) {
    if (call.callee.id !== this.me.id || this.toasts.has(`call:${call.id}`)) return; // my own outgoing call
    const kind = call.kind === "video" ? "video" : "voice";
    const handle = this.toast(`${call.caller.name} is calling you (${kind}).`, {
      kind: "invite",
      title: `Incoming ${kind} call`,
      timeout: 0,
      countdown: secondsLeft(call),
      actions: [
        { label: "Accept", primary: true, onClick: () => this.accept(call) },
        { label: "Decline", onClick: () => this.act(`calls/${call.id}/decline/`) },
      ],
    });
    handle.element.dataset.call = String(call.id);
    handle.element.classList.add("call-incoming");
    this.toasts.set(`call:${call.id}`, handle);
  }

  async accept(call) {
    if (this.session) {
      this.toast("You are already in a call; hang up first.", { kind: "error" });
      return;
    }
    // The session exists before the accept is sent: the caller's offer may arrive before our answer.
    const session = (this.session = new CallSession(this, call, "callee"));
    try {
      const accepted = await post(`calls/${call.id}/accept/`);
      session.call = accepted;
    } catch (error) {
      if (this.session === session) this.session = null;
      session.finish(null);
      session.view.close(0);
      this.toast(error.message, { kind: "error", title: "Could not answer" });
      return;
    }
    session.start().catch((error) => this.failed(session, error));
  }

  onCallAccepted(call) {
    this.closeToast(`call:${call.id}`);
    if (this.placed.has(call.id) && !this.session) {
      this.placed.delete(call.id);
      const session = (this.session = new CallSession(this, call, "caller"));
      session.start().catch((error) => this.failed(session, error));
    }
  }

  onCallSignal(data) {
    if (this.session && this.session.call.id === data.call && data.from === this.session.otherId) {
      this.session.onSignal(data.payload || {});
    }
  }

  failed(session, error) {
    console.warn("call setup failed", error);
    this.toast("The call could not be set up in this browser.", { kind: "error" });
    this.hangUp(session);
  }

  async hangUp(session) {
    if (session.ended || session.hangingUp) return;
    session.hangingUp = true;
    let call = null;
    try {
      call = await post(`calls/${session.call.id}/end/`);
    } catch (error) {
      // Both hung up at once: the other side's end won, and its call.ended says so.
      if (error.code !== "call_ended") this.toast(error.message, { kind: "error" });
    }
    // The call.ended event tidies up too; this covers a socket that is down right now.
    this.endSession(call || session.call);
  }

  endSession(call) {
    const session = this.session;
    if (!session || session.call.id !== call.id) return;
    this.session = null;
    session.finish(call);
    this.lastEnded = { id: call.id, state: call.state, duration_seconds: call.duration_seconds };
    // Once per session, whichever comes first: my own hang-up's answer or the call.ended event.
    if (call.state === "ended") {
      const names = { [call.caller.id]: call.caller.name, [call.callee.id]: call.callee.name };
      const who = call.ended_by === this.me.id ? "you" : names[call.ended_by] || "the other side";
      this.toast(`Call ended by ${who} (${clock(call.duration_seconds || 0)}).`, { kind: "info", title: "Call ended" });
    }
  }

  onCallEnded(call) {
    this.closeToast(`call:${call.id}`);
    this.endSession(call);
  }

  onCallOver(call, how) {
    const wasShowing = this.toasts.has(`call:${call.id}`);
    this.closeToast(`call:${call.id}`);
    const placedHere = this.placed.delete(call.id);
    if (this.session && this.session.call.id === call.id) this.endSession(call);
    const iAmCaller = call.caller.id === this.me.id;
    if (how === "declined" && iAmCaller && placedHere) {
      this.toast(`${call.callee.name} declined the call.`, { kind: "info" });
    } else if (how === "missed" && iAmCaller && placedHere) {
      this.toast(`${call.callee.name} did not answer.`, { kind: "info" });
    } else if (how === "missed" && !iAmCaller && wasShowing) {
      this.toast(`Missed ${call.kind} call from ${call.caller.name}.`, { kind: "info" });
    } else if (how === "cancelled" && !iAmCaller && wasShowing) {
      this.toast(`${call.caller.name} hung up.`, { kind: "info" });
    }
  }

  // -- teleports --------------------------------------------------------------------------------

  /** Invite someone into my space (from the avatar menu). Rejects with the server's sentence when refused. */
  async teleport(userId, spaceId = null) {
    const body = spaceId === null ? { invitee: userId } : { invitee: userId, space: spaceId };
    const teleport = await post("teleports/", body);
    this.sent.add(teleport.id);
    const handle = this.toast(`Invited ${teleport.invitee.name} to ${teleport.space.name}; waiting for an answer.`, {
      kind: "invite",
      countdown: secondsLeft(teleport),
    });
    handle.element.dataset.teleport = String(teleport.id);
    this.toasts.set(`teleport:${teleport.id}`, handle);
    return teleport;
  }

  onTeleportInvited(teleport) {
    if (teleport.invitee.id !== this.me.id || this.toasts.has(`teleport:${teleport.id}`)) return;
    const handle = this.toast(`${teleport.inviter.name} invites you to ${teleport.space.name}.`, {
      kind: "invite",
      title: "Teleport",
      timeout: 0,
      countdown: secondsLeft(teleport),
      actions: [
        { label: "Go there", primary: true, onClick: () => this.act(`teleports/${teleport.id}/accept/`) },
        { label: "Decline", onClick: () => this.act(`teleports/${teleport.id}/decline/`) },
      ],
    });
    handle.element.dataset.teleport = String(teleport.id);
    handle.element.classList.add("teleport-incoming");
    this.toasts.set(`teleport:${teleport.id}`, handle);
  }

  onTeleportOver(teleport, how) {
    const wasShowing = this.toasts.has(`teleport:${teleport.id}`);
    this.closeToast(`teleport:${teleport.id}`);
    const sentHere = this.sent.delete(teleport.id);
    const iAmInviter = teleport.inviter.id === this.me.id;
    if (iAmInviter && sentHere) {
      const verbs = { accepted: "is on the way to", declined: "declined your invitation to", expired: "did not answer your invitation to" };
      this.toast(`${teleport.invitee.name} ${verbs[how]} ${teleport.space.name}.`, { kind: how === "accepted" ? "success" : "info" });
    } else if (!iAmInviter && wasShowing && how === "accepted") {
      this.toast(`You are now in ${teleport.space.name}.`, { kind: "success" });
    }
  }
}

export function setupInvitations(office) {
  return new Invitations(office).start();
}
