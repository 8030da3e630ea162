// The call overlay: remote video (or the other person's initials for voice), my own video, mute
// and hang up. It only draws: the call session feeds it streams and states.

function element(tag, { className = "", text = "", attrs = {} } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

/** The call overlay: remote video (or the other person's initials for voice), my own video, hang up. */
export class CallView {
  constructor({ call, me, onHangUp, onToggleMute }) {
    const other = call.caller.id === me.id ? call.callee : call.caller;
    this.root = element("section", { className: "call-view", attrs: { "aria-label": `Call with ${other.name}`, role: "dialog" } });
    this.root.dataset.call = String(call.id);
    this.root.dataset.kind = call.kind;
    // Where it sits and how wide it is come from office.css (over the floor, clear of the composer).
    Object.assign(this.root.style, {
      borderRadius: "14px", background: "#101418", color: "#fff", boxShadow: "0 12px 40px rgba(0,0,0,.35)",
      overflow: "hidden", fontSize: "14px",
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
    // A non-modal dialog: it takes the focus when the call starts (never from someone typing), and
    // gives it back when the call ends.
    this.cameFrom = document.activeElement;
    document.body.append(this.root);
    this.setState("connecting");
    if (!this.cameFrom?.matches?.("input, textarea, select, [contenteditable]")) this.hangup.focus();
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
    const hadFocus = this.root.contains(document.activeElement);
    this.hangup.disabled = true;
    this.mute.disabled = true;
    setTimeout(() => {
      this.root.remove();
      if (hadFocus || document.activeElement === document.body) {
        const back = this.cameFrom && this.cameFrom.isConnected && this.cameFrom !== document.body ? this.cameFrom : document.getElementById("main");
        back?.focus({ preventScroll: true });
      }
    }, afterMs);
  }
}
