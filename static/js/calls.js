// Calls in this tab: the toasts that ring (incoming) or wait (outgoing), the answered call's
// session (static/js/call-session.js), and the notices when a call is declined, missed or ended.
//
// Several tabs of one person all get the events; only the tab that placed a call (caller) or
// answered it (callee) runs its RTCPeerConnection, the other tabs just close their toasts.
//
// An incoming call asks the interruption policy: a busy callee's call (`quiet: true`, decided by the
// server when it rang) shows its toast without emphasis and plays no ring; otherwise it rings.

import { post } from "./api.js";
import { CallSession, clock } from "./call-session.js";
import { secondsLeft } from "./invite-toasts.js";
import { interruptingToast } from "./toasts.js";

/** The ring of an incoming call: two short tones every two seconds (Web Audio; silent where the
 * browser allows no sound before a click). */
export class Ringer {
  constructor() {
    this.context = null;
    this.timer = null;
  }

  start() {
    if (this.timer) return;
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return;
    try {
      this.context = this.context || new AudioContext();
    } catch (error) {
      return;
    }
    const beep = () => {
      const context = this.context;
      if (!context || context.state === "closed") return;
      for (const offset of [0, 0.25]) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.frequency.value = 660;
        gain.gain.value = 0.05;
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(context.currentTime + offset);
        oscillator.stop(context.currentTime + offset + 0.18);
      }
    };
    beep();
    this.timer = setInterval(beep, 2000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}

export class Calls {
  constructor({ socket, me, toast, toasts, iceServers = [] }) {
    this.socket = socket;
    this.me = me;
    this.toast = toast;
    this.toasts = toasts; // InviteToasts, shared with teleports
    this.iceServers = iceServers;
    this.placed = new Set(); // calls placed from this tab (this tab runs the caller side)
    this.session = null; // the answered call this tab is in
    this.lastEnded = null;
    this.ringer = new Ringer();
    this.ringing = new Set(); // incoming calls ringing aloud in this tab
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
    // The call's media go browser to browser, but hanging up and renegotiating need the socket.
    this.socket.on("socket.down", () => this.session?.setOfficeLink(false));
    this.socket.on("hello", () => this.session?.setOfficeLink(true));
    return this;
  }

  /** The recent calls, fetched after a (re)connect: what rang or ended while this tab was away. */
  reconcile(calls) {
    for (const call of calls) {
      if (call.state === "ringing" && call.callee.id === this.me.id) {
        if (!this.toasts.has(`call:${call.id}`)) this.onCallInvited({ ...call, receivedLate: true });
      } else if (call.state === "accepted" && !(this.session && this.session.call.id === call.id)) {
        this.stillInCall(call);
      } else if (call.state !== "ringing") {
        this.toasts.close(`call:${call.id}`);
        if (this.session && this.session.call.id === call.id && call.state !== "accepted") this.session.finish(call);
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
      actions: [{ label: "Hang up", onClick: () => this.toasts.act(`calls/${call.id}/end/`) }],
    });
    handle.element.dataset.call = String(call.id);
    this.toasts.set(`call:${call.id}`, handle);
  }

  /** Ring someone (from the avatar menu). Rejects with the server's sentence when refused. */
  async call(userId, kind = "voice") {
    if (this.session) throw new Error("You are already in a call; hang up first.");
    const call = await post("calls/", { callee: userId, kind });
    this.placed.add(call.id);
    const handle = this.toast(`Calling ${call.callee.name}…`, {
      kind: "invite",
      title: kind === "video" ? "Video call" : "Voice call",
      countdown: secondsLeft(call),
      actions: [{ label: "Cancel", onClick: () => this.toasts.act(`calls/${call.id}/cancel/`) }],
    });
    handle.element.dataset.call = String(call.id);
    handle.element.classList.add("call-outgoing");
    this.toasts.set(`call:${call.id}`, handle);
    return call;
  }

  onCallInvited(call) {
    if (call.callee.id !== this.me.id || this.toasts.has(`call:${call.id}`)) return; // my own outgoing call
    const kind = call.kind === "video" ? "video" : "voice";
    const handle = interruptingToast(
      "call",
      this.me,
      `${call.caller.name} is calling you (${kind}).`,
      {
        kind: "invite",
        title: `Incoming ${kind} call`,
        timeout: 0,
        countdown: secondsLeft(call),
        actions: [
          { label: "Accept", primary: true, onClick: () => this.accept(call) },
          { label: "Decline", onClick: () => this.toasts.act(`calls/${call.id}/decline/`) },
        ],
      },
      { show: this.toast, decision: call.quiet ? "quiet" : null },
    );
    if (!handle) return; // held (dnd): the missed call becomes a notification
    handle.element.dataset.call = String(call.id);
    handle.element.classList.add("call-incoming");
    handle.element.dataset.ring = handle.interruption === "ring" ? "sound" : "silent";
    this.toasts.set(`call:${call.id}`, this.ringingHandle(call.id, handle));
  }

  /** The toast's handle, ringing aloud while it shows unless the call came quietly. */
  ringingHandle(callId, handle) {
    if (handle.interruption !== "ring") return handle;
    this.ringing.add(callId);
    this.ringer.start();
    const close = handle.close.bind(handle);
    handle.close = () => {
      this.ringing.delete(callId);
      if (!this.ringing.size) this.ringer.stop();
      close();
    };
    return handle;
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
    this.toasts.close(`call:${call.id}`);
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
    this.toasts.close(`call:${call.id}`);
    this.endSession(call);
  }

  onCallOver(call, how) {
    const wasShowing = this.toasts.has(`call:${call.id}`);
    this.toasts.close(`call:${call.id}`);
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
}
