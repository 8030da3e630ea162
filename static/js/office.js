// The office page: reads the first render's data, opens the one socket, wires the layout, the floor,
// the avatar menu, the message panels and the presence selector, and exposes `window.office` for
// other modules (static/js/invitations.js adds calls and teleport invitations when it is present). One message
// store (static/js/store.js) holds what the page knows of its conversations: the socket keeps its
// revs there, the panels their messages.

import { get, put } from "./api.js";
import { Floor } from "./floor.js";
import { setupInbox } from "./inbox.js";
import { statusLine } from "./interruptions.js";
import { Layout } from "./layout.js";
import { AvatarMenu } from "./menu.js";
import { setupKnocks } from "./knocks.js";
import { Messages } from "./messages.js";
import { SearchBox } from "./search.js";
import { OfficeSocket } from "./socket.js";
import { setupStatus } from "./status.js";
import { setupSpaceTalk } from "./space-talk.js";
import { MessageStore } from "./store.js";
import { QuickSwitcher } from "./switcher.js";
import { toast } from "./toasts.js";

class Office {
  constructor(data) {
    this.data = data;
    this.me = { ...data.me };
    this.people = new Map(data.people.map((person) => [person.id, { ...person }]));
    this.listeners = new Map();
    this.toast = toast;
    this.invitations = null;
    this.store = new MessageStore();
    this.socket = new OfficeSocket({
      url: this.socketUrl(data.urls.socket),
      banner: document.getElementById("connection-banner"),
      store: this.store,
    });
  }

  socketUrl(path) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return `${scheme}${location.host}${path}`;
  }

  // A tiny event bus for page-level happenings (me.moved, person.updated).
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type)?.delete(fn);
  }

  emit(type, detail) {
    for (const fn of this.listeners.get(type) || []) fn(detail);
  }

  start() {
    this.layout = new Layout(this); // first: the floor fits the area the layout leaves it
    this.floor = new Floor(this);
    this.menu = new AvatarMenu(this);
    this.talk = setupSpaceTalk(this); // the talk of the space I am in (audio, video, screen)
    this.status = setupStatus(this); // my status dialog, the activity action, what dnd held back
    this.messages = new Messages(this);
    this.inbox = setupInbox(this); // notifications: the badge, the list, desktop notifications
    this.knocks = setupKnocks(this); // knocking on spaces I may not simply enter, and answering knocks
    this.search = new SearchBox(this);
    this.switcher = new QuickSwitcher(this);
    this.setupPresence();
    this.socket.on("hello", (data) => this.onHello(data));
    this.socket.on("socket.down", () => {
      this.spaceBeforeDrop = this.me.current_space;
    });
    this.socket.on("error", (frame) => {
      const error = frame.error || {};
      if (error.code === "rate_limited") toast("Slow down a little: too many actions at once.", { kind: "error" });
    });
    this.socket.connect();
    this.loadInvitations();
  }

  async onHello(data) {
    if (!data.reconnected) {
      // Connect before loading: from the hello on, every change reaches this tab, so what the
      // conversation list and the floor load now cannot miss anything in between.
      this.messages.start();
    }
    // The page was rendered before the socket existed (or we were away): refetch the floor.
    const wasIn = this.spaceBeforeDrop;
    this.spaceBeforeDrop = null;
    try {
      const asked = performance.now();
      const [people, spaces] = await Promise.all([get("users/"), get("spaces/")]);
      this.floor.reconcile(people, spaces, asked);
      this.floorSyncedAt = performance.now(); // the browser tests' "interactive" waits for it
    } catch (error) {
      return; // the next reconnect tries again; the socket keeps the floor live meanwhile
    }
    const space = wasIn != null ? this.floor.spaces.get(wasIn) : null;
    if (space && this.me.current_space == null) {
      // Offline longer than the server's grace period: it walked us out of the space.
      toast(`You were disconnected for a while and left ${space.name}.`, {
        title: "Back online",
        timeout: 15000,
        actions: [{ label: `Go back to ${space.name}`, primary: true, onClick: () => this.floor.enter(space.id) }],
      });
    }
  }

  setupPresence() {
    const select = document.getElementById("presence-select");
    const dot = document.getElementById("my-status-dot");
    let chosen = select.value;
    const paint = (status) => {
      dot.className = `presence-dot status-${status}`;
    };
    select.addEventListener("change", async () => {
      const status = select.value;
      paint(status);
      try {
        await put("presence/", { status });
        chosen = status;
      } catch (error) {
        select.value = chosen;
        paint(chosen);
        toast(error.message, { kind: "error", title: "Status not changed" });
      }
    });
    this.on("person.updated", (person) => {
      if (person.id !== this.me.id || person.status === "offline") return;
      // The picker is the status I set by hand; the dot what everyone sees (also automatic ones:
      // in a call, in a meeting, idle, quiet hours), and its title says why.
      const manual = person.status_reason === "manual" ? person.status : "online";
      if (select.value !== manual) select.value = manual;
      chosen = manual;
      paint(person.status);
      dot.title = statusLine(person);
    });
  }

  async loadInvitations() {
    // Calls and teleports live in their own module; the page works without it.
    const url = this.data.urls.invitations;
    if (!url) return;
    try {
      const module = await import(url);
      if (typeof module.setupInvitations === "function") this.invitations = (await module.setupInvitations(this)) || null;
    } catch (error) {
      this.invitations = null;
      toast("Calls and invitations are unavailable right now.", { kind: "error" });
      setTimeout(() => { throw error; });
    }
  }
}

function boot() {
  const script = document.getElementById("office-data");
  if (!script) return;
  const office = new Office(JSON.parse(script.textContent));
  window.office = office;
  office.start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
