// One answered call in this tab: media, the RTCPeerConnection, and the signaling that feeds it.
// The offer / answer / ICE candidates travel over the socket as `call.signal` (no media passes
// through the server). Only the tab that placed the call (caller) or answered it (callee) runs one.

import { CallView } from "./call-view.js";

/** m:ss */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function refusal(error) {
  return error && (error.name === "NotAllowedError" || error.name === "SecurityError") ? "blocked" : "none";
}

/** The microphone (and for video the camera) as one stream, asking for each apart if asking for
 * both failed, so that a missing camera still lets them hear you. Returns {stream, devices}, where
 * devices says for each "on", "none" (no such device) or "blocked" (refused). */
export async function acquireMedia(mediaDevices, kind) {
  const video = kind === "video";
  try {
    const stream = await mediaDevices.getUserMedia({ audio: true, video });
    return { stream, devices: { microphone: "on", camera: video ? "on" : null } };
  } catch {
    // One of them is missing or refused: ask for each alone to tell which.
  }
  const devices = { microphone: "on", camera: video ? "on" : null };
  const tracks = [];
  try {
    tracks.push(...(await mediaDevices.getUserMedia({ audio: true })).getTracks());
  } catch (error) {
    devices.microphone = refusal(error);
  }
  if (video) {
    try {
      tracks.push(...(await mediaDevices.getUserMedia({ video: true })).getTracks());
    } catch (error) {
      devices.camera = refusal(error);
    }
  }
  return { stream: tracks.length ? new MediaStream(tracks) : null, devices };
}

/** One answered call in this tab: media, the RTCPeerConnection, and the signaling that feeds it. */
export class CallSession {
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
    this.officeDown = false;
    this.view = new CallView({
      call,
      me: controller.me,
      onHangUp: () => controller.hangUp(this),
      onToggleMute: () => this.toggleMute(),
      onToggleScreen: () => this.toggleScreen(),
    });
    this.screenMid = null; // the transceiver that carries a shared screen, either way (the caller adds it)
    this.screenTrack = null;
  }

  async start() {
    const { stream, devices } = navigator.mediaDevices
      ? await acquireMedia(navigator.mediaDevices, this.call.kind)
      : { stream: null, devices: { microphone: "none", camera: this.call.kind === "video" ? "none" : null } };
    this.stream = stream;
    this.devices = devices;
    this.view.setDevices(devices);
    if (this.ended) return this.stopMedia();
    this.pc = new RTCPeerConnection({ iceServers: this.controller.iceServers });
    if (this.stream) {
      for (const track of this.stream.getTracks()) this.pc.addTrack(track, this.stream);
      if (this.stream.getVideoTracks().length) this.view.play(this.view.local, this.stream);
      else this.view.local.hidden = true;
    }
    // Still receive what I cannot send: their voice without my microphone, their video without my camera.
    if (!this.stream || !this.stream.getAudioTracks().length) this.pc.addTransceiver("audio", { direction: "recvonly" });
    if (this.call.kind === "video" && (!this.stream || !this.stream.getVideoTracks().length)) {
      this.pc.addTransceiver("video", { direction: "recvonly" });
    }
    this.pc.onicecandidate = (event) => {
      if (event.candidate) this.send({ type: "candidate", candidate: event.candidate.toJSON() });
    };
    this.pc.ontrack = (event) => {
      if (this.screenMid !== null && event.transceiver.mid === this.screenMid) {
        this.view.screen.srcObject = new MediaStream([event.track]);
        return;
      }
      const stream = event.streams[0] || new MediaStream([event.track]);
      if (this.view.remote.srcObject !== stream) this.view.play(this.view.remote, stream);
    };
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    if (this.role === "caller") {
      // One more video line for a screen share, by either side, later: replacing its track needs no
      // new offer. The callee learns which line it is from the offer.
      const screen = this.pc.addTransceiver("video", { direction: "sendrecv" });
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.screenMid = screen.mid;
      this.send({ type: "offer", sdp: this.pc.localDescription.sdp, screen: this.screenMid });
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
        if (payload.screen !== undefined && payload.screen !== null) this.screenMid = String(payload.screen);
        await this.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp });
        const screen = this.screenTransceiver();
        if (screen) screen.direction = "sendrecv"; // so that I can share my screen too
        await this.flushCandidates();
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ type: "answer", sdp: this.pc.localDescription.sdp });
      } else if (payload.type === "answer" && this.role === "caller") {
        await this.pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
        await this.flushCandidates();
      } else if (payload.type === "screen") {
        this.view.setSharing(payload.on ? "them" : this.screenTrack ? "me" : null);
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
      // "Connected" says the line works; the device notice under it says what does not (no microphone).
      const tick = () => this.view.setState(
        "connected",
        `Connected · ${clock((Date.now() - this.connectedAt) / 1000)}${this.officeDown ? " · reconnecting to the office…" : ""}`,
      );
      this.tick = tick;
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

  /** The socket dropped (false) or is back (true): said in the status, the call itself goes on. */
  setOfficeLink(up) {
    this.officeDown = !up;
    if (this.tick && this.pc?.connectionState === "connected") this.tick();
    else if (!up && !this.ended) this.view.setState("connecting", "Reconnecting to the office…");
  }

  toggleMute() {
    const tracks = this.stream ? this.stream.getAudioTracks() : [];
    const muted = tracks.some((track) => track.enabled);
    for (const track of tracks) track.enabled = !muted;
    return muted;
  }

  screenTransceiver() {
    return this.pc && this.screenMid !== null ? this.pc.getTransceivers().find((t) => t.mid === this.screenMid) : null;
  }

  /** One click shares my screen (getDisplayMedia) on the call's screen line; again stops it. */
  async toggleScreen() {
    if (this.screenTrack) return this.stopScreen();
    const transceiver = this.screenTransceiver();
    if (!transceiver || this.ended) return;
    let track;
    try {
      track = (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })).getVideoTracks()[0];
    } catch (error) {
      if (error.name !== "NotAllowedError") this.controller.toast(`Could not share the screen: ${error.message}`, { kind: "error" });
      return;
    }
    if (this.ended) return track.stop();
    this.screenTrack = track;
    // The browser's own "Stop sharing" ends the track.
    track.addEventListener("ended", () => this.stopScreen());
    await transceiver.sender.replaceTrack(track);
    this.view.setSharing("me");
    this.send({ type: "screen", on: true });
  }

  async stopScreen() {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = null;
    track.stop();
    const transceiver = this.screenTransceiver();
    if (transceiver && !this.ended) await transceiver.sender.replaceTrack(null).catch(() => {});
    this.view.setSharing(null);
    this.send({ type: "screen", on: false });
  }

  stopMedia() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.screenTrack) this.screenTrack.stop();
    this.screenTrack = null;
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
