// Who else is in one panel's conversation right now: the people watching it (the eye in the header;
// the panel watches while it is open) and the people typing ("Ana is typing…"). Neither outlives
// the socket: after a reconnect the panel watches again and the typing line starts empty.

import { paintAvatar } from "./floor.js";
import { statusLine } from "./interruptions.js";

const TYPER_EXPIRES_MS = 8000;
const SVG = "http://www.w3.org/2000/svg";

export class PanelPresence {
  constructor(panel) {
    this.panel = panel;
    this.office = panel.office;
    this.parts = panel.parts;
    this.watching = false;
    this.watchers = [];
    this.typers = new Map(); // user id -> timer
  }

  destroy() {
    this.unwatch();
    for (const timer of this.typers.values()) clearTimeout(timer);
  }

  // -- watchers ----------------------------------------------------------------------------------

  watch() {
    if (this.watching) return;
    this.watching = true;
    this.office.socket
      .request("watch", { conversation: this.panel.id }, { resend: false })
      .then((data) => this.setWatchers(data.watchers))
      .catch(() => {
        this.watching = false;
      });
  }

  unwatch() {
    if (!this.watching) return;
    this.watching = false;
    this.office.socket.request("unwatch", { conversation: this.panel.id }, { resend: false }).catch(() => {});
    this.setWatchers([]);
  }

  /** After a reconnect the server forgot who watches what: say it again. */
  rewatch() {
    this.watching = false;
    this.clearTypers();
    if (!this.panel.collapsed) this.watch();
  }

  setWatchers(watchers) {
    this.watchers = (watchers || []).filter((id) => id !== this.office.me.id);
    const container = this.parts.watchers;
    container.replaceChildren();
    // The label always says who is here now: nobody (no label at all), or everyone by name.
    container.hidden = !this.watchers.length;
    if (!this.watchers.length) {
      container.removeAttribute("title");
      container.removeAttribute("aria-label");
      container.removeAttribute("role");
      return;
    }
    const eyeIcon = document.createElementNS(SVG, "svg");
    eyeIcon.setAttribute("class", "watchers-label icon");
    eyeIcon.setAttribute("viewBox", "0 0 24 24");
    eyeIcon.setAttribute("width", "16");
    eyeIcon.setAttribute("height", "16");
    eyeIcon.setAttribute("aria-hidden", "true");
    const eye = document.createElementNS(SVG, "path");
    eye.setAttribute("d", "M1 12s4-8 11-8 11 8 11 8-4 8-11 8-11-8-11-8zm11 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z");
    eye.setAttribute("fill", "none");
    eye.setAttribute("stroke", "currentColor");
    eye.setAttribute("stroke-width", "2");
    eyeIcon.append(eye);
    container.append(eyeIcon);
    const names = this.watchers.map((id) => this.office.people.get(id)?.name || "someone");
    for (const id of this.watchers.slice(0, 4)) {
      const person = this.office.people.get(id);
      if (!person) continue;
      const chip = document.createElement("span");
      chip.className = "avatar avatar-static avatar-tiny";
      // Their status too ("Busy · in a meeting"): whether a reply will come soon.
      chip.title = `${person.name} is here · ${statusLine(person)}`;
      chip.textContent = person.initials;
      paintAvatar(chip, person);
      container.append(chip);
    }
    const label = `Here now: ${names.join(", ")}`;
    container.title = label;
    // One picture with one name for screen readers: the chips inside are its drawing.
    container.setAttribute("role", "img");
    container.setAttribute("aria-label", label);
  }

  // -- typing ------------------------------------------------------------------------------------

  setTyper(userId, state) {
    if (userId === this.office.me.id) return;
    clearTimeout(this.typers.get(userId));
    if (state === "start") this.typers.set(userId, setTimeout(() => this.clearTyper(userId), TYPER_EXPIRES_MS));
    else this.typers.delete(userId);
    this.renderTyping();
  }

  clearTyper(userId) {
    if (!this.typers.has(userId)) return;
    clearTimeout(this.typers.get(userId));
    this.typers.delete(userId);
    this.renderTyping();
  }

  clearTypers() {
    for (const timer of this.typers.values()) clearTimeout(timer);
    this.typers.clear();
    this.renderTyping();
  }

  renderTyping() {
    const names = [...this.typers.keys()].map((id) => this.office.people.get(id)?.name.split(" ")[0] || "Someone");
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    this.parts.typing.textContent = text;
  }
}
