// The floor: spaces at their positions, everyone's avatar where they are, kept live by the socket.

import { get, post } from "./api.js";
import { readableUnderWhite } from "./colour.js";
import { STATUS_FIELDS, statusLine } from "./interruptions.js";

const STATUS_LABELS = {
  online: "Online", away: "Away", busy: "Busy", dnd: "Do not disturb", offline: "Offline",
};
const KIND_LABELS = {
  office: "Office", meeting_room: "Meeting room", lounge: "Lounge", focus: "Focus room", kitchen: "Kitchen",
  stage: "Stage",
};
// The floor is drawn to fit its area: positions and sizes scale, text does not (names stay at their
// size, 12 px or more). Below MIN_FIT a space is too small to hold its name and its people, so the
// floor lists the spaces as cards instead (as it always does on a phone; office.css says which).
const MIN_FIT = 0.42;
const MIN_SPACE = { w: 112, h: 84 }; // drawn smaller, a space cannot show a name and its people
const STRETCH = 1.6;
const SPACE_STATUS_LABELS = { available: "Available", in_use: "In use", closed: "Closed" };

export function paintAvatar(element, person) {
  if (!element) return;
  const colour = person ? person.colour : element.dataset.colour;
  // Darkened where needed so the white initials stay readable (any colour a person may pick).
  if (colour && /^#[0-9a-fA-F]{3,8}$/.test(colour)) element.style.setProperty("--avatar", readableUnderWhite(colour));
}

export class Floor {
  constructor(office) {
    this.office = office;
    this.root = document.getElementById("floor");
    this.viewport = document.getElementById("floor-viewport");
    this.wanderers = document.getElementById("wanderers");
    this.spaces = new Map(office.data.spaces.map((space) => [space.id, space]));
    this.enterable = new Set(office.data.enterable);
    this.spaceStamps = new Map(); // space id -> when a live event last touched it
    this.spaceTemplate = document.getElementById("space-template");
    this.avatarTemplate = document.getElementById("avatar-template");
    this.spaceList = document.getElementById("space-list");
    this.scale = { x: 1, y: 1 };
    for (const element of document.querySelectorAll(".avatar[data-colour]")) paintAvatar(element);
    this.layout();
    // The floor's area changes with the window, the side bar and the chat's width: fit it again.
    if (typeof ResizeObserver === "function") {
      let frame = 0;
      new ResizeObserver(() => {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(() => this.layout());
      }).observe(this.viewport);
    } else {
      window.addEventListener("resize", () => this.layout());
    }
    this.root.addEventListener("click", (event) => this.onClick(event));
    this.spaceList.addEventListener("click", (event) => {
      const item = event.target.closest("[data-enter]");
      if (item) this.enter(Number(item.dataset.enter));
    });
    // Live events stamp what they touch, so an older snapshot (reconcile) never undoes them.
    office.socket.on("presence.updated", (data) => this.applyPresence(data, { live: true }));
    // Many people changing at once (a morning login wave) arrive together, the latest per person.
    office.socket.on("presence.batch", (data) => {
      for (const update of data.updates || []) this.applyPresence(update, { live: true });
    });
    office.socket.on("space.created", (data) => this.applySpace(data, { live: true }));
    office.socket.on("space.updated", (data) => this.applySpace(data, { live: true }));
    office.socket.on("space.deleted", (data) => this.removeSpace(data.id));
    this.refreshCounts();
    this.markMine();
  }

  // -- geometry ----------------------------------------------------------------------------------

  place(element) {
    const scale = this.scale;
    if (!scale) {
      // Cards: the stylesheet lays them out.
      for (const side of ["left", "top", "width", "height"]) element.style[side] = "";
      return;
    }
    const { x, y, w, h } = element.dataset;
    element.style.left = `${Math.round((Number(x) || 0) * scale.x)}px`;
    element.style.top = `${Math.round((Number(y) || 0) * scale.y)}px`;
    element.style.width = `${Math.round((Number(w) || 200) * scale.x)}px`;
    element.style.height = `${Math.round((Number(h) || 140) * scale.y)}px`;
  }

  /** Fit the floor to its area (office.css says whether its height counts, and when to use cards). */
  layout() {
    const style = getComputedStyle(this.viewport);
    let width = 200;
    let height = 120;
    let narrowest = Infinity;
    let lowest = Infinity;
    for (const space of this.spaces.values()) {
      width = Math.max(width, space.x + space.w + 20);
      height = Math.max(height, space.y + space.h + 20);
      narrowest = Math.min(narrowest, space.w);
      lowest = Math.min(lowest, space.h);
    }
    const availableWidth = this.viewport.clientWidth - 2;
    const fitsHeight = style.getPropertyValue("--fit-height").trim() === "1";
    const availableHeight = fitsHeight ? this.viewport.clientHeight - 2 : Infinity;
    const fitX = availableWidth > 0 ? Math.min(1, availableWidth / width) : 1;
    const fitY = Math.min(1, availableHeight / height);
    const scale = Math.min(fitX, fitY);
    // A narrow area draws the floor a little taller than the plan's proportions (up to STRETCH),
    // so its spaces have room for their people instead of leaving the area's lower half empty.
    const x = Math.min(fitX, scale * STRETCH);
    const y = Math.min(fitY, scale * STRETCH);
    const tooSmall = scale < MIN_FIT || narrowest * x < MIN_SPACE.w || lowest * y < MIN_SPACE.h;
    const cards = style.getPropertyValue("--floor-cards").trim() === "1" || tooSmall;
    this.root.classList.toggle("is-cards", cards);
    this.root.classList.toggle("is-compact", !cards && scale < 0.8);
    this.scale = cards ? null : { x, y };
    this.root.style.width = cards ? "" : `${Math.floor(width * this.scale.x) + 2}px`;
    this.root.style.height = cards ? "" : `${Math.floor(height * this.scale.y) + 2}px`;
    for (const element of this.root.querySelectorAll(".space")) this.place(element);
  }

  // -- spaces ------------------------------------------------------------------------------------

  /** Highlight a space that a search or the switcher went to, for `ms` (kept across re-renders). */
  markFound(id, ms) {
    const element = this.spaceElement(id);
    if (!element) return null;
    clearTimeout(this.found?.timer);
    const timer = setTimeout(() => {
      if (this.found?.timer === timer) this.found = null;
      this.spaceElement(id)?.classList.remove("is-found");
    }, ms);
    this.found = { id, timer };
    element.classList.add("is-found");
    return element;
  }

  spaceElement(id) {
    return this.root.querySelector(`.space[data-space="${Number(id)}"]`);
  }

  applySpace(space, { live = false } = {}) {
    if (!space || space.id === undefined) return;
    if (live) this.spaceStamps.set(space.id, performance.now());
    this.spaces.set(space.id, space);
    let element = this.spaceElement(space.id);
    if (!element) {
      element = this.spaceTemplate.content.firstElementChild.cloneNode(true);
      element.dataset.space = space.id;
      element.setAttribute("aria-labelledby", `space-${space.id}-name`);
      element.querySelector("[data-role=name]").id = `space-${space.id}-name`;
      element.querySelector(".space-meta").id = `space-${space.id}-meta`;
      element.querySelector("[data-role=enter]").setAttribute("aria-describedby", `space-${space.id}-meta`);
      this.root.append(element);
      if (!space.is_private) this.enterable.add(space.id);
    }
    Object.assign(element.dataset, { x: space.x, y: space.y, w: space.w, h: space.h, capacity: space.capacity });
    element.className = `space kind-${space.kind} status-${space.status}`;
    element.classList.toggle("is-found", this.found?.id === space.id);
    element.classList.toggle("is-private", Boolean(space.is_private));
    element.classList.toggle("is-locked", Boolean(space.is_private) && !this.enterable.has(space.id));
    element.querySelector("[data-role=name]").textContent = space.name;
    element.querySelector("[data-role=lock]").hidden = !space.is_private;
    element.querySelector("[data-role=status]").textContent = SPACE_STATUS_LABELS[space.status] || space.status;
    element.querySelector("[data-role=kind]").textContent = KIND_LABELS[space.kind] || space.kind;
    element.querySelector("[data-role=capacity]").textContent = space.capacity;
    const meeting = element.querySelector("[data-role=meeting]");
    meeting.hidden = !space.meeting;
    element.querySelector("[data-role=meeting-title]").textContent = space.meeting ? space.meeting.title : "";
    this.place(element);
    // Occupants follow presence events; a live space event carries the server's list, so trust it
    // too (a snapshot's list is not: reconcile applies people from their own, fresher-checked list).
    for (const userId of live ? space.occupants || [] : []) {
      const person = this.office.people.get(userId);
      if (person && person.current_space !== space.id) {
        person.current_space = space.id;
        this.moveAvatar(person);
      }
    }
    this.layout();
    this.refreshCounts();
    this.markMine();
  }

  removeSpace(id) {
    this.spaces.delete(id);
    const element = this.spaceElement(id);
    if (!element) return;
    for (const person of this.office.people.values()) {
      if (person.current_space === id) {
        person.current_space = null;
        this.moveAvatar(person);
      }
    }
    element.remove();
    this.layout();
    this.refreshCounts();
  }

  /** space id -> how many people are in it */
  occupancy() {
    const counts = new Map();
    for (const person of this.office.people.values()) {
      if (person.current_space != null) counts.set(person.current_space, (counts.get(person.current_space) || 0) + 1);
    }
    return counts;
  }

  refreshCounts() {
    const counts = this.occupancy();
    for (const element of this.root.querySelectorAll(".space")) {
      const id = Number(element.dataset.space);
      const count = counts.get(id) || 0;
      const space = this.spaces.get(id);
      element.querySelector("[data-role=count]").textContent = count;
      element.classList.toggle("is-full", space ? count >= space.capacity : false);
      element.classList.toggle("is-empty", count === 0);
    }
    this.renderSpaceList(counts);
    const wanderers = [...this.office.people.values()].filter((p) => this.isAround(p)).length;
    document.getElementById("wanderer-count").textContent = wanderers;
    document.getElementById("wanderers-empty").hidden = wanderers > 0;
  }

  /** The side bar's list of spaces: name, people / capacity, meeting, lock; one click enters. */
  renderSpaceList(counts) {
    const mine = this.office.me.current_space;
    const spaces = [...this.spaces.values()].sort((a, b) => a.y - b.y || a.x - b.x || a.id - b.id);
    const items = spaces.map((space) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `space-link status-${space.status}`;
      button.dataset.enter = space.id;
      button.classList.toggle("is-mine", space.id === mine);
      const name = document.createElement("span");
      name.className = "space-link-name";
      name.textContent = space.name;
      const meta = document.createElement("span");
      meta.className = "space-link-meta";
      const count = counts.get(space.id) || 0;
      meta.textContent = space.id === mine ? `${count}/${space.capacity} · you are here`
        : space.meeting ? `${count}/${space.capacity} · ${space.meeting.title}`
        : `${count}/${space.capacity}${space.status === "closed" ? " · closed" : ""}`;
      const text = document.createElement("span");
      text.className = "space-link-text";
      text.append(name, meta);
      button.append(text);
      if (space.is_private) {
        const lock = document.createElement("span");
        lock.className = "space-link-lock";
        lock.textContent = "Private";
        button.append(lock);
      }
      item.append(button);
      return item;
    });
    this.spaceList.replaceChildren(...items);
    document.getElementById("space-count").textContent = spaces.length;
  }

  markMine() {
    const mine = this.office.me.current_space;
    this.renderSpaceList(this.occupancy());
    for (const element of this.root.querySelectorAll(".space")) {
      const isMine = Number(element.dataset.space) === mine;
      element.classList.toggle("is-mine", isMine);
      const enter = element.querySelector("[data-role=enter]");
      const space = this.spaces.get(Number(element.dataset.space));
      enter.setAttribute(
        "aria-label",
        isMine ? `${space ? space.name : "This space"}: you are here` : `Enter ${space ? space.name : "this space"}`,
      );
    }
  }

  // -- people ------------------------------------------------------------------------------------

  avatarFor(person) {
    const button = this.avatarTemplate.content.firstElementChild.cloneNode(true);
    button.dataset.user = person.id;
    button.dataset.colour = person.colour;
    button.querySelector(".initials").textContent = person.initials;
    this.paintStatus(button, person);
    paintAvatar(button, person);
    return button;
  }

  paintStatus(button, person) {
    const status = person.status || "offline";
    button.className = button.className.replace(/\bstatus-\S+/g, "").trim() + ` status-${status}`;
    // The whole status: "Busy · in a call · 🍕 Lunch" (reason and custom text from presence).
    button.title = `${person.name} · ${statusLine(person)}`;
    // Its name is its (hidden) text, not an aria-label over the visible initials.
    const name = button.querySelector("[data-role=avatar-name]");
    if (name) name.textContent = `${person.name} (${statusLine(person) || STATUS_LABELS[status] || status})`;
  }

  personRow(person) {
    const item = document.createElement("li");
    item.className = "person";
    item.dataset.person = person.id;
    const text = document.createElement("span");
    text.className = "person-text";
    const name = document.createElement("span");
    name.className = "person-name";
    name.textContent = person.name;
    const status = document.createElement("span");
    status.className = "person-status";
    status.dataset.role = "status";
    status.textContent = statusLine(person);
    text.append(name, status);
    item.append(this.avatarFor(person), text);
    return item;
  }

  /** "Around the office" lists the people online and in no space (and me, who has the page open). */
  isAround(person) {
    return person.current_space == null && (person.status !== "offline" || person.id === this.office.me.id);
  }

  /** Where a person's avatar is drawn: a space's id, "around" (the side list), or null (nowhere). */
  placeOf(person) {
    if (person.current_space != null) return person.current_space;
    return this.isAround(person) ? "around" : null;
  }

  moveAvatar(person) {
    for (const old of this.root.querySelectorAll(`.occupants .avatar[data-user="${person.id}"]`)) old.remove();
    for (const old of this.wanderers.querySelectorAll(`.person[data-person="${person.id}"]`)) old.remove();
    const space = person.current_space != null ? this.spaceElement(person.current_space) : null;
    if (space) {
      space.querySelector("[data-role=occupants]").append(this.avatarFor(person));
      return;
    }
    if (!this.isAround(person)) return; // offline and in no space: not drawn
    // Not in a space: the side list, ordered by name.
    const row = this.personRow(person);
    const after = [...this.wanderers.children].find((item) => {
      const other = this.office.people.get(Number(item.dataset.person));
      return other && other.name.localeCompare(person.name) > 0;
    });
    this.wanderers.insertBefore(row, after || null);
  }

  applyPresence(data, { live = false } = {}) {
    const person = this.office.people.get(data.user);
    if (!person) {
      this.learnPeople();
      return;
    }
    if (live) person.stamp = performance.now();
    const was = this.placeOf(person);
    for (const field of STATUS_FIELDS) if (field in data) person[field] = data[field];
    person.current_space = data.current_space;
    person.last_seen = data.last_seen;
    // Moving between spaces, or coming online or going offline outside one, redraws the avatar.
    if (this.placeOf(person) !== was) {
      this.moveAvatar(person);
      this.refreshCounts();
    } else {
      for (const button of document.querySelectorAll(`.avatar[data-user="${person.id}"]`)) this.paintStatus(button, person);
      for (const status of document.querySelectorAll(`.person[data-person="${person.id}"] [data-role=status]`)) {
        status.textContent = statusLine(person);
      }
    }
    if (person.id === this.office.me.id) {
      const wasIn = this.office.me.current_space;
      this.office.me.current_space = data.current_space;
      for (const field of STATUS_FIELDS) if (field in data) this.office.me[field] = data[field];
      this.markMine();
      if (wasIn !== data.current_space) this.office.emit("me.moved", { from: wasIn, to: data.current_space });
    }
    this.office.emit("person.updated", person);
  }

  /** Someone we have never seen (joined the company after the page loaded): fetch the people list. */
  learnPeople() {
    if (this.learning) return;
    this.learning = get("users/")
      .then((people) => {
        for (const person of people) {
          if (this.office.people.has(person.id)) continue;
          this.office.people.set(person.id, { ...person });
          this.moveAvatar(this.office.people.get(person.id));
        }
        this.refreshCounts();
      })
      .catch(() => {})
      .finally(() => {
        this.learning = null;
      });
  }

  /** Replace everyone's state with a fresh copy from the server (after each socket hello). */
  reconcile(people, spaces, asked = 0) {
    const fresher = (stamp) => stamp !== undefined && stamp > asked;
    for (const space of spaces) if (!fresher(this.spaceStamps.get(space.id))) this.applySpace(space);
    const known = new Set(spaces.map((s) => s.id));
    for (const id of [...this.spaces.keys()]) {
      if (!known.has(id) && !fresher(this.spaceStamps.get(id))) this.removeSpace(id);
    }
    for (const person of people) {
      if (!this.office.people.has(person.id)) {
        this.office.people.set(person.id, { ...person });
        this.moveAvatar(this.office.people.get(person.id));
      }
      if (fresher(this.office.people.get(person.id).stamp)) continue; // a live event said more
      this.applyPresence({ ...person, user: person.id });
    }
  }

  // -- entering ----------------------------------------------------------------------------------

  onClick(event) {
    if (event.target.closest(".avatar")) return; // the avatar menu handles it
    const element = event.target.closest(".space");
    if (!element) return;
    this.enter(Number(element.dataset.space));
  }

  async enter(spaceId, { anyway = false } = {}) {
    const space = this.spaces.get(spaceId);
    if (!space || this.office.me.current_space === spaceId) return;
    // A meeting inside: offer a knock first (static/js/knocks.js), unless the person chose to walk in.
    if (!anyway && this.office.knocks?.intercept(space)) return;
    const element = this.spaceElement(spaceId);
    element?.classList.add("is-entering");
    try {
      const presence = await post(`spaces/${spaceId}/enter/`);
      this.applyPresence({
        user: this.office.me.id,
        status: presence.status,
        current_space: presence.current_space,
        last_seen: presence.last_seen,
      });
    } catch (error) {
      // Private, full or closed with someone inside: the refusal offers a knock.
      if (this.office.knocks?.offer(space, error)) return;
      this.office.toast(error.message, { kind: "error", title: `Can't enter ${space.name}` });
    } finally {
      element?.classList.remove("is-entering");
    }
  }

  async leave() {
    const spaceId = this.office.me.current_space;
    if (spaceId == null) return;
    try {
      const presence = await post(`spaces/${spaceId}/leave/`);
      this.applyPresence({
        user: this.office.me.id, status: presence.status, current_space: presence.current_space,
        last_seen: presence.last_seen,
      });
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
    }
  }
}
