// Talking in a space: one click joins the talk of the space I am in (microphone on, camera off),
// a bar shows who is in it (muted, camera on, sharing, speaking), and buttons mute, start the
// camera, share the screen and leave. The media goes browser to browser: a WebRTC mesh, one
// RTCPeerConnection per other participant, whose offer / answer / ICE candidates travel over the
// socket as `space.av.signal`. Each connection carries three slots in a fixed order (audio, camera,
// screen): turning the camera or a screen share on or off replaces a slot's track, with no new
// negotiation. With LiveKit configured (`talk.livekit` in the page data) the vendored
// livekit-client carries the media instead. Decisions without the DOM live in space-talk-state.js.

import { post } from "./api.js";
import {
  audioLevel, joinLabel, makesOffer, peerChanges, sharingLine, speakingStep, stateWords,
} from "./space-talk-state.js";

const SLOTS = ["audio", "camera", "screen"];
const LEVEL_MS = 100;

/** One other participant: the RTCPeerConnection to them and what they send me. */
class Peer {
  constructor(talk, userId, offerer) {
    this.talk = talk;
    this.userId = userId;
    this.offerer = offerer;
    this.remoteSet = false;
    this.candidates = [];
    this.closed = false;
    this.streams = Object.fromEntries(SLOTS.map((slot) => [slot, new MediaStream()]));
    this.pc = new RTCPeerConnection({ iceServers: talk.iceServers });
    this.pc.onicecandidate = (event) => {
      if (event.candidate) talk.signal(userId, { type: "candidate", candidate: event.candidate.toJSON() });
    };
    this.pc.ontrack = (event) => {
      const slot = SLOTS[this.pc.getTransceivers().indexOf(event.transceiver)];
      if (!slot) return;
      this.streams[slot] = new MediaStream([event.track]);
      talk.showRemote(this, slot);
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed" && this.offerer) this.restart();
    };
  }

  async offer() {
    for (const slot of SLOTS) {
      const transceiver = this.pc.addTransceiver(slot === "audio" ? "audio" : "video", { direction: "sendrecv" });
      await transceiver.sender.replaceTrack(this.talk.localTrack(slot));
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.talk.signal(this.userId, { type: "offer", sdp: this.pc.localDescription.sdp });
  }

  async restart() {
    // A path that failed (a network change): the offerer asks for new candidates on the same connection.
    await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: true }));
    this.talk.signal(this.userId, { type: "offer", sdp: this.pc.localDescription.sdp });
  }

  async onSignal(payload) {
    if (this.closed) return;
    if (payload.type === "offer") {
      await this.pc.setRemoteDescription({ type: "offer", sdp: payload.sdp });
      const transceivers = this.pc.getTransceivers();
      for (const [index, transceiver] of transceivers.entries()) {
        transceiver.direction = "sendrecv";
        await transceiver.sender.replaceTrack(this.talk.localTrack(SLOTS[index]));
      }
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.talk.signal(this.userId, { type: "answer", sdp: this.pc.localDescription.sdp });
      await this.remoteReady();
    } else if (payload.type === "answer" && this.pc.signalingState === "have-local-offer") {
      await this.pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
      await this.remoteReady();
    } else if (payload.type === "candidate" && payload.candidate) {
      if (this.remoteSet) await this.pc.addIceCandidate(payload.candidate).catch(() => {});
      else this.candidates.push(payload.candidate);
    }
  }

  async remoteReady() {
    this.remoteSet = true;
    const queued = this.candidates;
    this.candidates = [];
    for (const candidate of queued) await this.pc.addIceCandidate(candidate).catch(() => {});
  }

  setTrack(slot, track) {
    const transceiver = this.pc.getTransceivers()[SLOTS.indexOf(slot)];
    if (transceiver) transceiver.sender.replaceTrack(track).catch(() => {});
  }

  close() {
    this.closed = true;
    this.pc.close();
  }
}

export class SpaceTalk {
  constructor(office) {
    this.office = office;
    this.socket = office.socket;
    this.me = office.me.id;
    const config = office.data.talk || {};
    this.iceServers = office.data.ice_servers || [];
    this.livekit = Boolean(config.livekit);
    this.space = office.me.current_space;
    this.participants = this.space != null && config.space === this.space ? config.participants || [] : [];
    this.joined = false; // this tab is in the talk of this.space
    this.joining = false;
    this.rejoin = false;
    this.local = { audio: null, camera: null, screen: null };
    this.state = { audio: true, video: false, screen: false };
    this.peers = new Map();
    this.levels = new Map(); // user id -> {analyser, data, speaking}
    this.audioContext = null;
    this.room = null; // a LiveKit Room, on that path
    this.root = document.getElementById("space-talk");
    if (!this.root) return;
    this.build();
    this.socket.on("space.av.updated", (data) => this.onUpdated(data));
    this.socket.on("space.av.signal", (data) => this.onSignal(data));
    this.socket.on("socket.down", () => this.onSocketDown());
    this.socket.on("hello", () => this.onHello());
    office.on("me.moved", ({ to }) => this.onMoved(to));
    this.socket.on("space.updated", () => this.render()); // after the floor has applied it
    office.on("person.updated", () => this.render());
    window.addEventListener("pagehide", () => this.stopMedia());
    this.render();
  }

  // -- the bar --------------------------------------------------------------------------------

  build() {
    const el = (tag, attrs = {}, text = "") => {
      const node = document.createElement(tag);
      for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
      if (text) node.textContent = text;
      return node;
    };
    this.heading = el("h2", { class: "space-talk-title", id: "space-talk-title" });
    this.sharing = el("p", { class: "space-talk-sharing", role: "status", "aria-live": "polite" });
    this.joinButton = el("button", { type: "button", class: "btn btn-primary btn-small", "data-talk": "join" });
    this.muteButton = el("button", { type: "button", class: "btn btn-small", "data-talk": "mute", "aria-pressed": "false" }, "Mute");
    this.cameraButton = el("button", { type: "button", class: "btn btn-small", "data-talk": "camera", "aria-pressed": "false" }, "Camera");
    this.screenButton = el("button", { type: "button", class: "btn btn-small", "data-talk": "screen", "aria-pressed": "false" }, "Share screen");
    this.controls = el("div", { class: "space-talk-controls" });
    this.controls.append(this.joinButton, this.muteButton, this.cameraButton, this.screenButton);
    this.tiles = el("ul", { class: "space-talk-tiles", "aria-labelledby": "space-talk-title" });
    this.audios = el("div", { class: "space-talk-audio", hidden: "" });
    this.root.replaceChildren(this.heading, this.controls, this.sharing, this.tiles, this.audios);
    this.joinButton.addEventListener("click", () => (this.joined ? this.leave() : this.join()));
    this.muteButton.addEventListener("click", () => this.toggleMute());
    this.cameraButton.addEventListener("click", () => this.toggleCamera());
    this.screenButton.addEventListener("click", () => this.toggleScreen());
  }

  spaceInfo() {
    return this.space != null && this.office.floor ? this.office.floor.spaces.get(this.space) : null;
  }

  nameOf(userId) {
    if (userId === this.me) return this.office.me.name || "You";
    const person = this.office.people.get(userId);
    return person ? person.name : "Someone";
  }

  render() {
    if (!this.root) return;
    const space = this.spaceInfo();
    this.root.hidden = this.space == null;
    if (this.space == null) return;
    this.heading.textContent = space ? `Talk in ${space.name}` : "Talk";
    this.joinButton.textContent = this.joining ? "Joining…" : joinLabel({
      participants: this.joined ? this.participants : this.participants.filter((p) => p.user !== this.me),
      me: this.me,
      meeting: Boolean(space && space.meeting),
    });
    this.joinButton.className = `btn btn-small ${this.joined ? "btn-ghost" : "btn-primary"}`;
    this.joinButton.disabled = this.joining;
    for (const button of [this.muteButton, this.cameraButton, this.screenButton]) button.hidden = !this.joined;
    this.muteButton.textContent = this.state.audio ? "Mute" : "Unmute";
    this.muteButton.setAttribute("aria-pressed", String(!this.state.audio));
    this.cameraButton.textContent = this.state.video ? "Stop camera" : "Camera";
    this.cameraButton.setAttribute("aria-pressed", String(this.state.video));
    this.screenButton.textContent = this.state.screen ? "Stop sharing" : "Share screen";
    this.screenButton.setAttribute("aria-pressed", String(this.state.screen));
    this.screenButton.hidden = !this.joined || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    this.sharing.textContent = sharingLine(this.participants, this.me, (id) => this.nameOf(id));
    this.renderTiles();
  }

  renderTiles() {
    const wanted = new Set(this.participants.map((p) => p.user));
    for (const tile of [...this.tiles.children]) if (!wanted.has(Number(tile.dataset.user))) tile.remove();
    for (const participant of this.participants) {
      let tile = this.tiles.querySelector(`[data-user="${participant.user}"]`);
      if (!tile) {
        tile = document.createElement("li");
        tile.className = "talk-tile";
        tile.dataset.user = participant.user;
        const video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        video.muted = true; // sound plays from the audio elements
        video.className = "talk-video";
        const screen = video.cloneNode();
        screen.className = "talk-screen";
        const badge = document.createElement("span");
        badge.className = "talk-avatar";
        const name = document.createElement("span");
        name.className = "talk-name";
        const words = document.createElement("span");
        words.className = "talk-state";
        tile.append(screen, video, badge, name, words);
        this.tiles.append(tile);
      }
      const person = participant.user === this.me ? this.office.me : this.office.people.get(participant.user) || {};
      tile.querySelector(".talk-avatar").textContent = person.initials || "?";
      if (person.colour) tile.querySelector(".talk-avatar").style.setProperty("--avatar", person.colour);
      tile.querySelector(".talk-name").textContent = participant.user === this.me ? "You" : this.nameOf(participant.user);
      tile.querySelector(".talk-state").textContent = stateWords(participant).join(" · ");
      tile.classList.toggle("is-muted", !participant.audio);
      tile.classList.toggle("has-video", participant.video);
      tile.classList.toggle("has-screen", participant.screen);
      tile.querySelector(".talk-video").hidden = !participant.video;
      tile.querySelector(".talk-screen").hidden = !participant.screen;
      if (participant.user === this.me) {
        this.attach(tile.querySelector(".talk-video"), this.local.camera);
        this.attach(tile.querySelector(".talk-screen"), this.local.screen);
      }
    }
  }

  attach(element, track) {
    const current = element.srcObject && element.srcObject.getTracks()[0];
    if (current === track || (!current && !track)) return;
    element.srcObject = track ? new MediaStream([track]) : null;
    if (track) element.play().catch(() => {});
  }

  tileOf(userId) {
    return this.tiles.querySelector(`[data-user="${userId}"]`);
  }

  /** A remote track arrived (mesh or LiveKit): its slot plays in the tile, audio in an audio element. */
  showRemote(peer, slot) {
    const stream = peer.streams[slot];
    if (slot === "audio") {
      let audio = this.audios.querySelector(`[data-user="${peer.userId}"]`);
      if (!audio) {
        audio = document.createElement("audio");
        audio.autoplay = true;
        audio.dataset.user = peer.userId;
        this.audios.append(audio);
      }
      audio.srcObject = stream;
      audio.play().catch(() => {});
      this.watchLevel(peer.userId, stream);
      return;
    }
    const tile = this.tileOf(peer.userId);
    const element = tile && tile.querySelector(slot === "camera" ? ".talk-video" : ".talk-screen");
    if (element && element.srcObject !== stream) {
      element.srcObject = stream;
      element.play().catch(() => {});
    }
  }

  // -- speaking --------------------------------------------------------------------------------

  watchLevel(userId, stream) {
    if (!window.AudioContext || !stream || !stream.getAudioTracks().length) return;
    try {
      this.audioContext = this.audioContext || new AudioContext();
      const source = this.audioContext.createMediaStreamSource(stream);
      const analyser = this.audioContext.createAnalyser();
      analyser.fftSize = 256;
      source.connect(analyser);
      const old = this.levels.get(userId);
      if (old) old.source.disconnect();
      this.levels.set(userId, { source, analyser, data: new Uint8Array(analyser.fftSize), state: { speaking: false, quiet: 0 } });
    } catch {
      return; // no level meter: the talk still works
    }
    if (!this.levelTimer) this.levelTimer = setInterval(() => this.measure(), LEVEL_MS);
  }

  measure() {
    for (const [userId, entry] of this.levels) {
      entry.analyser.getByteTimeDomainData(entry.data);
      const muted = userId === this.me && !this.state.audio;
      entry.state = speakingStep(entry.state, muted ? 0 : audioLevel(entry.data), { holdFrames: 4 });
      const tile = this.tileOf(userId);
      if (tile) tile.classList.toggle("is-speaking", entry.state.speaking);
    }
  }

  // -- joining and leaving ----------------------------------------------------------------------

  localTrack(slot) {
    return this.local[slot] || null;
  }

  async join() {
    const space = this.space;
    if (space == null || this.joined || this.joining) return;
    this.joining = true;
    this.render();
    try {
      if (!this.local.audio && navigator.mediaDevices) {
        try {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
          this.local.audio = stream.getAudioTracks()[0] || null;
        } catch {
          this.office.toast("No microphone: you can listen, and turn it on later from the browser.", { kind: "error" });
        }
      }
      this.state = { audio: Boolean(this.local.audio), video: false, screen: false };
      const data = await this.socket.request("space.av.join", { space, audio: this.state.audio, video: false });
      if (this.space !== space) return this.leave();
      this.joined = true;
      if (this.local.audio) this.watchLevel(this.me, new MediaStream([this.local.audio]));
      if (this.livekit) await this.connectLivekit(space);
      this.apply(data);
    } catch (error) {
      if (this.joined) this.leave(); // joined, but LiveKit could not be reached: out again
      else this.stopMedia();
      const words = error.code === "av_full" ? error.message : `Could not join the talk: ${error.message}`;
      this.office.toast(words, { kind: "error" });
    } finally {
      this.joining = false;
      this.render();
    }
  }

  async leave({ tell = true } = {}) {
    const space = this.space;
    const was = this.joined;
    this.joined = false;
    this.closePeers();
    this.stopMedia();
    this.participants = this.participants.filter((p) => p.user !== this.me);
    this.render();
    if (tell && was && space != null) {
      try {
        this.apply(await this.socket.request("space.av.leave", { space }, { resend: false }));
      } catch {
        // The socket dropped: the server ended this socket's talk anyway.
      }
    }
  }

  closePeers() {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const [userId, entry] of this.levels) if (userId !== this.me) entry.source.disconnect();
    for (const userId of [...this.levels.keys()]) if (userId !== this.me) this.levels.delete(userId);
    this.audios.replaceChildren();
    if (this.room) {
      this.room.disconnect();
      this.room = null;
    }
  }

  stopMedia() {
    for (const slot of SLOTS) {
      if (this.local[slot]) this.local[slot].stop();
      this.local[slot] = null;
    }
    const mine = this.levels.get(this.me);
    if (mine) mine.source.disconnect();
    this.levels.delete(this.me);
    if (!this.levels.size && this.levelTimer) {
      clearInterval(this.levelTimer);
      this.levelTimer = null;
    }
    this.state = { audio: true, video: false, screen: false };
  }

  onMoved(to) {
    if (to === this.space) return;
    // The server ended my talk of the space I left; here the media stops and the bar follows me.
    if (this.joined) this.leave({ tell: false });
    this.space = to;
    this.participants = [];
    this.render();
    const space = this.spaceInfo();
    if (space && space.meeting && !this.joined) {
      this.office.toast(`“${space.meeting.title}” is on in ${space.name}.`, {
        title: "Meeting",
        timeout: 15000,
        actions: [{ label: "Join its talk", primary: true, onClick: () => this.join() }],
      });
    }
  }

  onSocketDown() {
    // The server ends the talk of a closed socket: join again from the new one, if still inside.
    if (!this.joined) return;
    this.rejoin = true;
    this.joined = false;
    this.closePeers();
    this.render();
  }

  onHello() {
    if (!this.rejoin) return;
    this.rejoin = false;
    // The microphone track is kept: joining again reuses it.
    if (this.space != null && this.office.me.current_space === this.space) this.join();
  }

  // -- what the server says ---------------------------------------------------------------------

  apply(data) {
    if (!data || data.space !== this.space) return;
    this.participants = data.participants || [];
    const mine = this.participants.find((p) => p.user === this.me);
    if (this.joined && !mine && !this.joining) {
      // Another tab took my place, or the server ended it: this tab stops too.
      this.leave({ tell: false });
      return;
    }
    if (this.joined && !this.livekit) {
      const { add, remove } = peerChanges(this.participants, this.me, new Set(this.peers.keys()));
      for (const userId of remove) this.dropPeer(userId);
      for (const userId of add) this.openPeer(userId);
    }
    this.render();
    // Streams that arrived before their tile existed.
    for (const peer of this.peers.values()) for (const slot of ["camera", "screen"]) {
      if (peer.streams[slot].getTracks().length) this.showRemote(peer, slot);
    }
  }

  dropPeer(userId) {
    this.peers.get(userId)?.close();
    this.peers.delete(userId);
    this.audios.querySelector(`[data-user="${userId}"]`)?.remove();
    this.levels.get(userId)?.source.disconnect();
    this.levels.delete(userId);
  }

  openPeer(userId, { answer = false } = {}) {
    const offerer = !answer && makesOffer(this.participants, this.me, userId);
    const peer = new Peer(this, userId, offerer);
    this.peers.set(userId, peer);
    if (offerer) peer.offer().catch((error) => this.office.toast(`Could not connect: ${error.message}`, { kind: "error" }));
    return peer;
  }

  onUpdated(data) {
    if (data.space === this.space) this.apply(data);
  }

  onSignal(data) {
    if (!this.joined || data.space !== this.space || this.livekit) return;
    let peer = this.peers.get(data.from);
    if (data.payload && data.payload.type === "offer" && (!peer || peer.remoteSet)) {
      // Their offer can come before the update that lists them (they joined after me: I answer),
      // or they came back from another tab or a reconnect: a fresh connection replaces the old one.
      if (peer) this.dropPeer(data.from);
      peer = this.openPeer(data.from, { answer: true });
    }
    if (peer) peer.onSignal(data.payload).catch(() => {});
  }

  signal(to, payload) {
    if (!this.joined || this.space == null) return;
    this.socket.request("space.av.signal", { space: this.space, to, payload }, { resend: false }).catch((error) => {
      // They left meanwhile (peer_not_in_talk): the next update closes that connection. Not in the
      // talk from this tab: another tab of mine joined it since, and took my place.
      if (error.code === "not_in_talk" && this.joined) {
        this.leave({ tell: false });
        this.office.toast("You joined this talk from another tab; this one left it.", { kind: "info" });
      }
    });
  }

  // -- my own state -----------------------------------------------------------------------------

  async publishState() {
    if (!this.joined) return;
    this.render();
    try {
      this.apply(await this.socket.request("space.av.update", { space: this.space, ...this.state }));
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
    }
  }

  setSlot(slot, track) {
    this.local[slot] = track;
    for (const peer of this.peers.values()) peer.setTrack(slot, track);
  }

  toggleMute() {
    if (!this.local.audio) {
      this.office.toast("No microphone to unmute.", { kind: "error" });
      return;
    }
    this.state.audio = !this.state.audio;
    this.local.audio.enabled = this.state.audio;
    if (this.room) this.room.localParticipant.setMicrophoneEnabled(this.state.audio);
    this.publishState();
  }

  async toggleCamera() {
    if (this.state.video) {
      this.local.camera?.stop();
      this.setSlot("camera", null);
      this.state.video = false;
      if (this.room) await this.room.localParticipant.setCameraEnabled(false);
      return this.publishState();
    }
    try {
      if (this.room) await this.room.localParticipant.setCameraEnabled(true);
      else {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true });
        this.setSlot("camera", stream.getVideoTracks()[0]);
      }
      this.state.video = true;
      this.publishState();
    } catch (error) {
      this.office.toast(`No camera: ${error.message}`, { kind: "error" });
    }
  }

  async toggleScreen() {
    if (this.state.screen) return this.stopScreen();
    try {
      if (this.room) await this.room.localParticipant.setScreenShareEnabled(true);
      else {
        const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
        const track = stream.getVideoTracks()[0];
        // The browser's own "Stop sharing" ends the track: the talk hears it too.
        track.addEventListener("ended", () => this.stopScreen());
        this.setSlot("screen", track);
      }
      this.state.screen = true;
      this.publishState();
    } catch (error) {
      if (error.name !== "NotAllowedError") this.office.toast(`Could not share the screen: ${error.message}`, { kind: "error" });
    }
  }

  async stopScreen() {
    if (!this.state.screen) return;
    this.local.screen?.stop();
    this.setSlot("screen", null);
    this.state.screen = false;
    if (this.room) await this.room.localParticipant.setScreenShareEnabled(false);
    this.publishState();
  }

  // -- LiveKit ----------------------------------------------------------------------------------

  async connectLivekit(space) {
    const { token, url } = await post(`spaces/${space}/av/token/`, {});
    const client = await loadLivekit(this.office.data.talk.livekit_client);
    const room = new client.Room({ adaptiveStream: true, dynacast: true });
    room.on(client.RoomEvent.TrackSubscribed, (track, publication, participant) => {
      const userId = Number(String(participant.identity).replace("user-", ""));
      const slot = track.kind === "audio" ? "audio" : publication.source === client.Track.Source.ScreenShare ? "screen" : "camera";
      const peer = { userId, streams: { [slot]: new MediaStream([track.mediaStreamTrack]) } };
      this.showRemote(peer, slot);
    });
    await room.connect(url, token);
    this.room = room;
    // LiveKit publishes its own microphone track; ours only feeds the level meter.
    await room.localParticipant.setMicrophoneEnabled(this.state.audio);
  }
}

let livekitLoading = null;

/** The vendored livekit-client UMD build (static/vendor/livekit-client/), loaded on first need. */
function loadLivekit(src) {
  if (window.LivekitClient) return Promise.resolve(window.LivekitClient);
  livekitLoading = livekitLoading || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve(window.LivekitClient);
    script.onerror = () => reject(new Error("the LiveKit client could not be loaded"));
    document.head.append(script);
  });
  return livekitLoading;
}

export function setupSpaceTalk(office) {
  return new SpaceTalk(office);
}
