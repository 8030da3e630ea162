// Message panels and the conversation list: which panels are open, unread badges, live updates.
//
// One conversation is open at a time. The room chat follows the space you are in: entering a space
// opens it; opening another conversation replaces it, and closing that one brings the room chat
// back. Every durable event goes to the open panel of its conversation (if any) and to the list.

import { Announcer } from "./announcer.js";
import { get, post } from "./api.js";
import { paintAvatar } from "./floor.js";
import { Panel } from "./panel.js";
import { formatTime, snippet } from "./text.js";
import { ThreadPane } from "./thread.js";

const PARKED_MAX = 4; // conversations kept out of the page for a quick return

export class Messages {
  constructor(office) {
    this.office = office;
    this.conversations = new Map();
    this.panels = new Map(); // conversation id -> Panel
    // Conversations opened lately and replaced by another: kept (out of the page) with their
    // messages, still applying the live events, so going back shows them at once (no fetch).
    this.parked = new Map(); // conversation id -> Panel, oldest first
    this.roomPanel = null;
    this.mainPanel = null;
    this.opened = 0; // counts panels opened, so a late room chat never replaces a newer choice
    this.list = document.getElementById("conversation-list");
    this.roomSlot = document.getElementById("room-slot");
    this.mainSlot = document.getElementById("conversation-slot");
    this.empty = document.getElementById("panels-empty");
    // At most one thread is open, beside the conversation it belongs to (thread.js).
    this.thread = null;
    this.threadSlot = document.getElementById("thread-pane");
    this.layoutRoot = document.getElementById("layout");
    this.announcer = new Announcer();
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-open]");
      if (item) this.openById(Number(item.dataset.open));
    });
    const socket = office.socket;
    socket.on("message.created", (data) => this.onMessage(data, true));
    socket.on("message.updated", (data) => this.onMessage(data, false));
    socket.on("message.deleted", (data) => this.onMessage(data, false));
    socket.on("reaction.changed", (data, frame) => {
      this.panelOf(frame.conversation)?.applyReactions(data.message, data.reactions, frame.rev);
      if (this.thread?.id === frame.conversation) this.thread.applyReactions(data.message, data.reactions, frame.rev);
    });
    socket.on("conversation.created", (data) => this.upsertConversation(data));
    socket.on("conversation.updated", (data) => this.upsertConversation(data));
    socket.on("typing", (data) => this.panels.get(data.conversation)?.setTyper(data.user, data.state));
    socket.on("conversation.presence", (data) => {
      const panel = this.panels.get(data.conversation);
      if (panel && panel.watching) panel.setWatchers(data.watchers);
    });
    socket.on("socket.down", () => {
      for (const panel of this.panels.values()) panel.clearTypers();
    });
    socket.on("hello", (data) => {
      if (data.reconnected) {
        for (const panel of this.panels.values()) panel.rewatch();
        this.thread?.load();
        this.load();
      }
    });
    socket.on("space.updated", () => this.roomPanel?.refreshMeeting());
    office.on("me.moved", ({ to }) => this.followRoom(to));
    // A thread stays beside its own conversation only: showing another, or closing it, closes it.
    office.on("panel.shown", ({ panel }) => {
      if (this.thread && panel.id !== this.thread.id) this.closeThread();
    });
    office.on("panel.closed", ({ panel }) => {
      if (this.thread && panel.id === this.thread.id && !this.panels.has(panel.id)) this.closeThread();
    });
    this.setupGroupForm();
    // A phone's view switching to the chats shows a panel that was hidden: what it shows is read.
    office.on("view.changed", () => {
      for (const panel of this.panels.values()) panel.markRead();
    });
    document.addEventListener("visibilitychange", () => {
      for (const panel of this.panels.values()) panel.markRead();
    });
    window.addEventListener("pagehide", () => {
      for (const panel of this.panels.values()) panel.flushRead();
    });
  }

  setupGroupForm() {
    const toggle = document.getElementById("new-group-toggle");
    const form = document.getElementById("new-group-form");
    const show = (open) => {
      form.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) document.getElementById("new-group-title").focus();
    };
    toggle.addEventListener("click", () => show(form.hidden));
    document.getElementById("new-group-cancel").addEventListener("click", () => show(false));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const participants = [...form.querySelectorAll("input[name=participants]:checked")].map((box) => Number(box.value));
      if (!participants.length) {
        this.office.toast("Pick at least one person for the group.", { kind: "error" });
        return;
      }
      try {
        const conversation = await post("conversations/", { title: form.elements.title.value.trim(), participants });
        form.reset();
        show(false);
        this.open(conversation, { focus: true });
      } catch (error) {
        this.office.toast(error.message, { kind: "error", title: "Group not created" });
      }
    });
  }

  async start() {
    await this.load();
    await this.followRoom(this.office.me.current_space);
  }

  async load() {
    try {
      const conversations = await get("conversations/");
      const seen = new Set();
      for (const conversation of conversations) {
        seen.add(conversation.id);
        const known = this.conversations.get(conversation.id);
        // The panel marks what it shows as read: don't let an older count bring a badge back.
        if (this.panels.get(conversation.id)?.visible) conversation.unread_count = 0;
        this.conversations.set(conversation.id, { ...known, ...conversation });
        this.office.socket.track(conversation.id, conversation.rev);
      }
      for (const id of [...this.conversations.keys()]) if (!seen.has(id) && !this.panels.has(id)) this.conversations.delete(id);
      this.renderList();
    } catch (error) {
      this.office.toast(`Conversations could not be loaded: ${error.message}`, { kind: "error" });
    } finally {
      this.list.setAttribute("aria-busy", "false");
    }
  }

  titleOf(conversation) {
    const me = this.office.me.id;
    if (conversation.kind === "direct") {
      const other = (conversation.participants || []).find((id) => id !== me);
      return this.office.people.get(other)?.name || conversation.title || "Direct message";
    }
    if (conversation.kind === "room") {
      const space = this.office.floor.spaces.get(conversation.space);
      return space ? space.name : conversation.title || "Room";
    }
    if (conversation.title) return conversation.title;
    const names = (conversation.participants || [])
      .filter((id) => id !== me)
      .map((id) => this.office.people.get(id)?.name.split(" ")[0])
      .filter(Boolean);
    return names.join(", ") || "Group";
  }

  // -- the list ----------------------------------------------------------------------------------

  renderList() {
    const items = [...this.conversations.values()]
      .filter((c) => (c.participants || []).includes(this.office.me.id))
      .sort((a, b) => mentionsWaiting(b) - mentionsWaiting(a)
        || String(b.last_activity_at || "").localeCompare(String(a.last_activity_at || "")) || b.id - a.id);
    const nodes = items.map((conversation) => this.listItem(conversation));
    this.list.replaceChildren(...nodes);
    document.getElementById("conversations-empty").hidden = items.length > 0;
    let unread = 0;
    for (const conversation of items) unread += conversation.unread_count || 0;
    document.title = `${unread ? `(${unread}) ` : ""}${document.title.replace(/^\(\d+\) /, "")}`;
    this.office.emit("unread.changed", { unread });
    for (const panel of this.panels.values()) panel.refreshUnread();
  }

  listItem(conversation) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "conversation";
    button.dataset.open = conversation.id;
    if (this.panels.has(conversation.id)) button.classList.add("is-open");
    const icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    if (conversation.kind === "direct") {
      const other = this.office.people.get((conversation.participants || []).find((id) => id !== this.office.me.id));
      icon.className = `avatar avatar-static avatar-small status-${other ? other.status : "offline"}`;
      icon.textContent = other ? other.initials : "?";
      paintAvatar(icon, other);
    } else {
      icon.className = "conversation-icon";
      icon.textContent = conversation.kind === "room" ? "#" : "⋮";
    }
    const text = document.createElement("span");
    text.className = "conversation-text";
    const title = document.createElement("span");
    title.className = "conversation-title";
    title.textContent = this.titleOf(conversation);
    const last = document.createElement("span");
    last.className = "conversation-last";
    const message = conversation.last_message;
    if (message) {
      const who = message.kind === "system" ? "" : message.sender === this.office.me.id ? "You: " : `${this.office.people.get(message.sender)?.name.split(" ")[0] || "Someone"}: `;
      last.textContent = message.deleted ? "Message deleted" : `${who}${snippet(message.body, 60)}`;
    } else {
      last.textContent = "No messages yet";
    }
    text.append(title, last);
    const meta = document.createElement("span");
    meta.className = "conversation-meta";
    const time = document.createElement("time");
    time.textContent = message ? formatTime(message.created_at) : "";
    meta.append(time);
    const count = conversation.unread_count || 0;
    if (count > 0) {
      const badge = document.createElement("span");
      badge.className = "badge unread-badge";
      badge.textContent = count > 99 ? "99+" : String(count);
      const unread = document.createElement("span");
      unread.className = "visually-hidden";
      unread.textContent = " unread";
      meta.append(badge, unread);
      button.classList.add("has-unread");
    }
    // Its name is what it shows: title, last message, time, "N unread" (label-content-name-match).
    button.append(icon, text, meta);
    item.append(button);
    return item;
  }

  setUnread(conversationId, count) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || conversation.unread_count === count) return;
    conversation.unread_count = count;
    this.renderList();
  }

  upsertConversation(data) {
    const known = this.conversations.get(data.id) || { unread_count: 0, last_message: null };
    const conversation = { ...known, ...data };
    this.conversations.set(data.id, conversation);
    if (data.rev !== undefined && !known.id) this.office.socket.track(data.id, data.rev);
    const panel = this.panels.get(data.id);
    if (!(data.participants || []).includes(this.office.me.id)) {
      // Removed (or left the room): stop showing it, and forget it if it was parked.
      const parked = this.parked.get(data.id);
      if (parked) {
        this.parked.delete(data.id);
        parked.destroy();
      }
      this.conversations.delete(data.id);
      this.office.socket.forget(data.id);
      if (panel && panel !== this.roomPanel) this.close(panel);
    } else {
      for (const shown of [panel, this.parked.get(data.id), this.thread?.id === data.id ? this.thread : null]) {
        if (!shown) continue;
        shown.conversation = { ...shown.conversation, ...data };
        shown.refreshTitle();
      }
    }
    this.renderList();
  }

  /** The panel showing a conversation, or keeping it parked. */
  panelOf(id) {
    return this.panels.get(id) || this.parked.get(id);
  }

  onMessage(message, created) {
    if (this.thread?.id === message.conversation) this.thread.apply(message);
    this.parked.get(message.conversation)?.apply(message);
    const panel = this.panels.get(message.conversation);
    panel?.apply(message);
    const conversation = this.conversations.get(message.conversation);
    if (!conversation) return;
    const last = conversation.last_message;
    if (!last || message.seq >= last.seq) conversation.last_message = message;
    if (created) {
      conversation.last_activity_at = message.created_at;
      const mine = message.sender === this.office.me.id;
      if (!mine) this.announce(conversation, message, panel);
      if (!mine && !(panel && panel.visible)) conversation.unread_count = (conversation.unread_count || 0) + 1;
    } else if (message.deleted && !(panel && panel.visible) && message.seq > (conversation.last_read_seq || 0)) {
      // A deleted unread message no longer counts (the server says so too on the next load).
      if (message.sender !== this.office.me.id) conversation.unread_count = Math.max(0, (conversation.unread_count || 0) - 1);
    }
    this.renderList();
  }

  /** Say a new message from someone else: in an open panel, or in a conversation of mine outside a room. */
  announce(conversation, message, panel) {
    if (message.kind !== "user" || message.deleted) return;
    if (!panel && conversation.kind === "room") return; // a room I am not in: its badge is enough
    const name = this.office.people.get(message.sender)?.name || "Someone";
    const title = this.titleOf(conversation);
    const files = (message.attachments || []).length;
    const body = snippet(message.body, 160) || (files ? `${files} file${files === 1 ? "" : "s"}` : "");
    const direct = conversation.kind === "direct";
    this.announcer.message(
      conversation.id,
      direct ? `${name}: ${body}` : `${name} in ${title}: ${body}`,
      (count) => (direct ? `${count} new messages from ${name}` : `${count} new messages in ${title}`),
    );
  }

  // -- the thread pane -----------------------------------------------------------------------------

  /** Open the thread of `rootId` (a reply's id opens its root's thread) beside its conversation. */
  openThread(conversationId, rootId, { focus = false } = {}) {
    const conversation = this.conversations.get(conversationId) || this.panels.get(conversationId)?.conversation;
    if (!conversation) return null;
    if (!(this.thread && this.thread.id === conversationId && this.thread.threadRootId === rootId)) {
      this.closeThread();
      const pane = new ThreadPane(this, conversation, rootId);
      this.thread = pane;
      this.threadSlot.append(pane.el);
      this.threadSlot.hidden = false;
      this.layoutRoot.classList.add("has-thread");
      pane.load();
    }
    if (focus) this.thread.parts.input.focus();
    return this.thread;
  }

  closeThread({ focusConversation = false } = {}) {
    const pane = this.thread;
    if (!pane) return;
    this.thread = null;
    pane.destroy();
    this.threadSlot.hidden = true;
    this.layoutRoot.classList.remove("has-thread");
    if (focusConversation) this.panels.get(pane.id)?.parts.input.focus();
  }

  // -- panels ------------------------------------------------------------------------------------

  /** The panel on show: the room chat or another conversation (never both). */
  get current() {
    return this.roomPanel || this.mainPanel;
  }

  async openById(id) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    if (conversation.kind === "room" && conversation.space === this.office.me.current_space) {
      // The room of the space I am in: its own panel (Leave, meetings), in place of any other.
      if (!this.roomPanel) await this.followRoom(conversation.space, { focus: true });
      if (!this.roomPanel) return;
      this.roomPanel.setCollapsed(false);
      this.roomPanel.parts.input.focus();
      this.office.emit("panel.shown", { panel: this.roomPanel, chosen: true });
      return;
    }
    this.open(conversation, { focus: true });
  }

  open(conversation, { focus = false } = {}) {
    if (!this.conversations.has(conversation.id)) {
      this.conversations.set(conversation.id, conversation);
      this.office.socket.track(conversation.id, conversation.rev || 0);
    }
    let panel = this.panels.get(conversation.id);
    if (!panel) {
      // Opening a conversation replaces the one open (the room chat comes back when this one closes).
      if (this.mainPanel) this.park(this.mainPanel);
      if (this.roomPanel) this.close(this.roomPanel);
      panel = this.parked.get(conversation.id);
      this.opened += 1;
      if (panel) {
        this.parked.delete(conversation.id);
        this.panels.set(conversation.id, panel);
        this.mainPanel = panel;
        this.mainSlot.append(panel.el);
        panel.unpark();
      } else {
        panel = new Panel(this, this.conversations.get(conversation.id));
        this.panels.set(conversation.id, panel);
        this.mainPanel = panel;
        this.mainSlot.append(panel.el);
        panel.start();
      }
    }
    panel.setCollapsed(false, { remember: false });
    if (focus) panel.parts.input.focus();
    this.refreshEmpty();
    this.renderList();
    this.office.emit("panel.shown", { panel, chosen: true });
    return panel;
  }

  /** Take the main panel out of the page, keeping it (and at most PARKED_MAX others) for a return. */
  park(panel) {
    panel.park();
    this.panels.delete(panel.id);
    if (this.mainPanel === panel) this.mainPanel = null;
    this.parked.set(panel.id, panel);
    while (this.parked.size > PARKED_MAX) {
      const [oldestId, oldest] = this.parked.entries().next().value;
      this.parked.delete(oldestId);
      oldest.destroy();
    }
  }

  /** Close a panel; closing a conversation of mine brings back the room chat of where I am. */
  close(panel, { back = true } = {}) {
    this.parked.delete(panel.id);
    panel.destroy();
    this.panels.delete(panel.id);
    const wasMain = this.mainPanel === panel;
    if (wasMain) this.mainPanel = null;
    if (this.roomPanel === panel) this.roomPanel = null;
    this.refreshEmpty();
    this.renderList();
    this.office.emit("panel.closed", { panel });
    const here = this.office.me.current_space;
    if (wasMain && back && here != null) this.followRoom(here, { replace: false });
  }

  refreshEmpty() {
    this.empty.hidden = this.panels.size > 0;
  }

  /**
   * Show the room chat of `spaceId` (where I am). After a move it replaces whatever is open;
   * otherwise (`replace: false`, a conversation just closed) only if nothing else opened meanwhile.
   */
  async followRoom(spaceId, { replace = true, focus = false } = {}) {
    const current = this.roomPanel;
    if (current && current.conversation.space === spaceId) return;
    if (current) this.close(current);
    if (spaceId == null) return;
    const started = this.opened;
    let conversation;
    try {
      conversation = await get(`spaces/${spaceId}/conversation/`);
    } catch (error) {
      this.office.toast(`The room chat could not be opened: ${error.message}`, { kind: "error" });
      return;
    }
    if (this.office.me.current_space !== spaceId || this.roomPanel) return; // moved again meanwhile
    if (!replace && (this.mainPanel || this.opened !== started)) return; // something else is on show
    const known = this.conversations.get(conversation.id);
    this.conversations.set(conversation.id, { ...known, ...conversation });
    const existing = this.panelOf(conversation.id);
    if (existing) this.close(existing, { back: false });
    if (this.mainPanel) this.park(this.mainPanel);
    const panel = new Panel(this, this.conversations.get(conversation.id), { room: true });
    this.panels.set(conversation.id, panel);
    this.roomPanel = panel;
    this.roomSlot.append(panel.el);
    this.refreshEmpty();
    this.renderList();
    this.office.emit("panel.shown", { panel, chosen: focus });
    await panel.start();
  }
}

/** Conversations with mentions of me waiting come first, when the server counts them. */
function mentionsWaiting(conversation) {
  return (conversation.unread_mentions || 0) > 0 ? 1 : 0;
}
