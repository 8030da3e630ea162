// The call overlay: remote video (or the other person's initials for voice), my own video, mute
// and hang up. It only draws: the call session feeds it streams and states.
//
// It sits docked over the floor (office.css), clear of the composer. It can be minimised (header,
// status and buttons only) and moved: dragged by its header, or with the arrow keys on the header.
// Wherever it is dropped it never covers the composer; "Dock" puts it back. Both choices are
// remembered for the next call (localStorage `vo.callWindow`).

const STORE_KEY = "vo.callWindow";
const KEY_STEP = 24;

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function remember(patch) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify({ ...remembered(), ...patch }));
  } catch {
    /* private mode: the choice lasts for this call only */
  }
}

/** What the person's microphone and camera do in this call, in words (null: nothing to say). */
export function deviceNotice({ microphone, camera }) {
  const parts = [];
  if (microphone === "none") parts.push("No microphone found: they cannot hear you");
  else if (microphone === "blocked") parts.push("Microphone blocked by the browser: they cannot hear you");
  if (camera === "none") parts.push("No camera found: they cannot see you");
  else if (camera === "blocked") parts.push("Camera blocked by the browser: they cannot see you");
  return parts.length ? `${parts.join(". ")}.` : null;
}

/** Where a window of `size` may sit: inside `view`, and moved above `avoid` (the composer) if it
 * would cover it. Rectangles are {left, top, width, height}; returns {left, top}. */
export function placeWindow(wanted, size, view, avoid) {
  const clamp = (value, low, high) => Math.min(Math.max(value, low), Math.max(low, high));
  let left = clamp(wanted.left, 0, view.width - size.width);
  let top = clamp(wanted.top, 0, view.height - size.height);
  if (avoid) {
    const overlaps = left < avoid.left + avoid.width && left + size.width > avoid.left
      && top < avoid.top + avoid.height && top + size.height > avoid.top;
    if (overlaps) top = clamp(avoid.top - size.height - 8, 0, view.height - size.height);
    const still = left < avoid.left + avoid.width && left + size.width > avoid.left
      && top < avoid.top + avoid.height && top + size.height > avoid.top;
    if (still) left = avoid.left >= size.width + 8 ? avoid.left - size.width - 8 : clamp(left, 0, view.width - size.width);
  }
  return { left: Math.round(left), top: Math.round(top) };
}

function element(tag, { className = "", text = "", attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

/** The call overlay: remote video (or the other person's initials for voice), my own video, hang up. */
export class CallView {
  constructor({ call, me, onHangUp, onToggleMute, onToggleScreen = null }) {
    const other = call.caller.id === me.id ? call.callee : call.caller;
    this.otherName = other.name;
    this.root = element("section", { className: "call-view", attrs: { "aria-label": `Call with ${other.name}`, role: "dialog" } });
    this.root.dataset.call = String(call.id);
    this.root.dataset.kind = call.kind;
    // Where it sits and how wide it is come from office.css (over the floor, clear of the composer).
    Object.assign(this.root.style, {
      borderRadius: "14px", background: "#101418", color: "#fff", boxShadow: "0 12px 40px rgba(0,0,0,.35)",
      overflow: "hidden", fontSize: "14px",
    });
    const header = element("div", {
      className: "call-header",
      attrs: { tabindex: "0", "aria-label": `Call with ${other.name}: drag, or use the arrow keys, to move the window` },
    });
    Object.assign(header.style, { display: "flex", alignItems: "center", gap: "8px", padding: "8px 10px 8px 14px", cursor: "move", touchAction: "none" });
    this.header = header;
    this.title = element("strong", { className: "call-title", text: other.name });
    this.title.style.flex = "1";
    this.status = element("span", { className: "call-status", text: "Connecting…", attrs: { "aria-live": "polite" } });
    this.dock = element("button", { className: "btn btn-ghost call-dock", text: "Dock", attrs: { type: "button", title: "Put the call window back in its place" } });
    this.minimise = element("button", { className: "btn btn-ghost call-minimise", text: "Minimise", attrs: { type: "button", "aria-pressed": "false" } });
    for (const button of [this.dock, this.minimise]) Object.assign(button.style, { color: "#fff", padding: "2px 8px", minHeight: "0" });
    this.dock.hidden = true;
    this.dock.addEventListener("click", () => this.redock());
    this.minimise.addEventListener("click", () => this.setMinimised(this.root.dataset.minimised !== "true"));
    header.append(this.title, this.status, this.dock, this.minimise);
    this.devices = element("p", { className: "call-devices", attrs: { "aria-live": "polite" } });
    Object.assign(this.devices.style, { margin: "0", padding: "0 14px 8px", color: "#ffcc80", fontSize: "13px" });
    this.devices.hidden = true;

    const stage = element("div", { className: "call-stage" });
    this.stage = stage;
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
    // The other side's shared screen, over everything else while they share.
    this.screen = element("video", { className: "call-screen", attrs: { autoplay: "", playsinline: "" } });
    this.screen.muted = true;
    Object.assign(this.screen.style, { position: "absolute", inset: "0", width: "100%", height: "100%", objectFit: "contain", background: "#000" });
    this.screen.hidden = true;
    stage.append(this.remote, this.local, this.screen);
    this.sharing = element("p", { className: "call-sharing", attrs: { role: "status", "aria-live": "polite" } });
    Object.assign(this.sharing.style, { margin: "0", padding: "6px 14px 0", fontWeight: "600", color: "#b9c4ff" });
    this.sharing.hidden = true;

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
    this.share = element("button", { className: "btn btn-ghost call-share", text: "Share screen", attrs: { type: "button", "aria-pressed": "false" } });
    this.share.style.color = "#fff";
    this.share.hidden = !onToggleScreen || !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    if (onToggleScreen) this.share.addEventListener("click", () => onToggleScreen());
    controls.append(this.mute, this.share, this.hangup);

    this.root.append(header, this.devices, this.sharing, stage, controls);
    // A non-modal dialog: it takes the focus when the call starts (never from someone typing), and
    // gives it back when the call ends.
    this.cameFrom = document.activeElement;
    document.body.append(this.root);
    this.setState("connecting");
    this.enableMoving();
    const saved = remembered();
    if (saved.minimised) this.setMinimised(true);
    if (Number.isFinite(saved.left) && Number.isFinite(saved.top)) this.moveTo(saved);
    if (!this.cameFrom?.matches?.("input, textarea, select, [contenteditable]")) this.hangup.focus();
  }

  /** What works: {microphone, camera}, each "on", "none" (no device) or "blocked" (refused). */
  setDevices(devices) {
    const notice = deviceNotice(devices);
    this.root.dataset.microphone = devices.microphone;
    this.root.dataset.camera = devices.camera || "none";
    this.devices.textContent = notice || "";
    this.devices.hidden = !notice;
    if (devices.microphone !== "on") {
      this.mute.disabled = true;
      this.mute.textContent = "No microphone";
    }
  }

  setMinimised(minimised) {
    this.root.dataset.minimised = String(minimised);
    this.stage.hidden = minimised;
    this.minimise.textContent = minimised ? "Expand" : "Minimise";
    this.minimise.setAttribute("aria-pressed", String(minimised));
    remember({ minimised });
    if (this.root.dataset.moved === "true") this.moveTo(this.position());
  }

  position() {
    const rect = this.root.getBoundingClientRect();
    return { left: rect.left, top: rect.top };
  }

  composerRect() {
    const composers = [...document.querySelectorAll(".composer")].filter((node) => node.offsetParent !== null);
    const rect = composers.length ? composers[0].getBoundingClientRect() : null;
    return rect && rect.width > 0 ? { left: rect.left, top: rect.top, width: rect.width, height: rect.height } : null;
  }

  /** Sit at `wanted` (viewport pixels), inside the window and clear of the composer. */
  moveTo(wanted) {
    const rect = this.root.getBoundingClientRect();
    const place = placeWindow(
      wanted, { width: rect.width, height: rect.height },
      { width: window.innerWidth, height: window.innerHeight }, this.composerRect(),
    );
    Object.assign(this.root.style, { left: `${place.left}px`, top: `${place.top}px`, right: "auto", bottom: "auto" });
    this.root.dataset.moved = "true";
    this.dock.hidden = false;
    return place;
  }

  redock() {
    for (const side of ["left", "top", "right", "bottom"]) this.root.style[side] = "";
    this.root.dataset.moved = "false";
    this.dock.hidden = true;
    remember({ left: null, top: null });
    this.header.focus();
  }

  enableMoving() {
    let start = null;
    this.header.addEventListener("pointerdown", (event) => {
      if (event.button !== 0 || event.target.closest("button")) return;
      const at = this.position();
      start = { x: event.clientX, y: event.clientY, left: at.left, top: at.top };
      this.header.setPointerCapture?.(event.pointerId);
      event.preventDefault();
    });
    this.header.addEventListener("pointermove", (event) => {
      if (!start) return;
      this.moveTo({ left: start.left + event.clientX - start.x, top: start.top + event.clientY - start.y });
    });
    const drop = () => {
      if (!start) return;
      start = null;
      remember(this.position());
    };
    this.header.addEventListener("pointerup", drop);
    this.header.addEventListener("pointercancel", drop);
    this.header.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [-KEY_STEP, 0], ArrowRight: [KEY_STEP, 0], ArrowUp: [0, -KEY_STEP], ArrowDown: [0, KEY_STEP] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      const at = this.position();
      remember(this.moveTo({ left: at.left + move[0], top: at.top + move[1] }));
    });
  }

  setState(state, text) {
    this.root.dataset.state = state;
    const labels = { connecting: "Connecting…", connected: "Connected", ended: "Call ended", failed: "Connection lost" };
    this.status.textContent = text || labels[state] || state;
  }

  /** Who shares a screen now: "me", "them" or null; the other side's screen plays in the stage. */
  setSharing(who) {
    this.sharing.hidden = !who;
    this.sharing.textContent = who === "me" ? "You are sharing your screen" : who ? `${this.otherName} is sharing` : "";
    this.share.textContent = who === "me" ? "Stop sharing" : "Share screen";
    this.share.setAttribute("aria-pressed", String(who === "me"));
    this.screen.hidden = who !== "them";
    this.stage.style.height = who === "them" ? "300px" : "";
    if (who === "them" && this.screen.srcObject) this.play(this.screen, this.screen.srcObject);
  }

  play(video, stream) {
    video.srcObject = stream;
    const started = video.play();
    if (started && typeof started.catch === "function") started.catch(() => {}); // autoplay rules: it retries on user input
  }

  close(afterMs = 0) {
    const hadFocus = this.root.contains(document.activeElement);
    this.hangup.disabled = true;
    this.mute.disabled = true;
    this.share.disabled = true;
    setTimeout(() => {
      this.root.remove();
      if (hadFocus || document.activeElement === document.body) {
        const back = this.cameFrom && this.cameFrom.isConnected && this.cameFrom !== document.body ? this.cameFrom : document.getElementById("main");
        back?.focus({ preventScroll: true });
      }
    }, afterMs);
  }
}
