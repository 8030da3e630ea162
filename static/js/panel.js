// One conversation panel: its frame (title, collapse, close / leave, unread badge) and its history
// (the latest page, then older pages as you scroll up), wiring the parts that do the rest:
//   store.js           the messages held, by id at their rev (shared by the page; pure logic)
//   message-list.js    drawing them          message-actions.js  reply, react, edit, delete
//   composer.js        writing and sending   meeting-bar.js      a room's meeting button
//   panel-presence.js  who watches / types   read-marker.js      what was read
//   thread.js          a thread of it, in its own pane beside (messages.js opens it)
//
// Every copy of a message (REST page, socket event, ack, an edit's answer) goes through `apply`:
// the store keeps it only if it is newer than what it holds, and then the list draws it.

import { get } from "./api.js";
import { Composer } from "./composer.js";
import { MeetingBar } from "./meeting-bar.js";
import { MessageActions } from "./message-actions.js";
import { MessageList } from "./message-list.js";
import { PanelPresence } from "./panel-presence.js";
import { ReadMarker } from "./read-marker.js";

const PAGE = 30;

export class Panel {
  constructor(messages, conversation, { room = false } = {}) {
    this.messages = messages;
    this.office = messages.office;
    this.store = this.office.store;
    this.conversation = conversation;
    this.id = conversation.id;
    this.room = room;
    this.hasMore = true;
    this.loadingOlder = false;
    this.loaded = false;
    this.destroyed = false;
    this.build();
  }

  // -- DOM ---------------------------------------------------------------------------------------

  build() {
    const template = document.getElementById("panel-template");
    const el = template.content.firstElementChild.cloneNode(true);
    this.el = el;
    el.dataset.conversation = this.id;
    el.classList.add(`panel-${this.conversation.kind}`);
    const $ = (role) => el.querySelector(`[data-role="${role}"]`);
    this.parts = {
      toggle: $("toggle"), title: $("title"), kindIcon: $("kind-icon"), unread: $("unread"), watchers: $("watchers"),
      close: $("close"), leave: $("leave"), body: $("body"), scroller: $("scroller"), history: $("history"),
      list: $("list"), typing: $("typing"), replyBar: $("reply-bar"), replyName: $("reply-name"),
      replySnippet: $("reply-snippet"), replyCancel: $("reply-cancel"), attachBar: $("attach-bar"), attachError: $("attach-error"),
      composer: $("composer"), input: $("input"), files: $("files"), send: $("send"), meeting: $("meeting"),
      meetingForm: $("meeting-form"), meetingTitle: $("meeting-title"), meetingCancel: $("meeting-cancel"),
      emojiToggle: $("emoji-toggle"), formatToggle: $("format-toggle"), formatHelp: $("format-help"),
    };
    const p = this.parts;
    const bodyId = `panel-body-${this.id}`;
    p.body.id = bodyId;
    p.toggle.setAttribute("aria-controls", bodyId);
    p.kindIcon.textContent = { room: "#", direct: "@", group: "⋮" }[this.conversation.kind] || "#";
    this.refreshTitle();
    p.close.hidden = this.room;
    p.leave.hidden = !this.room;
    p.toggle.addEventListener("click", () => this.setCollapsed(!this.collapsed));
    p.close.addEventListener("click", () => this.messages.close(this));
    p.leave.addEventListener("click", () => this.office.floor.leave());
    this.meetingBar = new MeetingBar(this);
    p.scroller.addEventListener("scroll", () => this.onScroll());
    this.list = new MessageList(this);
    this.composer = new Composer(this);
    this.actions = new MessageActions(this);
    this.presence = new PanelPresence(this);
    this.readMarker = new ReadMarker(this);
    this.collapsed = false;
    if (this.room && localStorage.getItem("vo.roomPanel.collapsed") === "1") this.setCollapsed(true, { remember: false });
  }

  refreshTitle() {
    const title = this.messages.titleOf(this.conversation);
    this.parts.title.textContent = title;
    this.el.setAttribute("aria-label", `${this.room ? "Room chat" : "Conversation"}: ${title}`);
    this.parts.input.placeholder = `Message ${this.conversation.kind === "room" ? "#" : ""}${title}`;
  }

  setCollapsed(collapsed, { remember = true } = {}) {
    this.collapsed = collapsed;
    this.el.classList.toggle("is-collapsed", collapsed);
    this.parts.toggle.setAttribute("aria-expanded", String(!collapsed));
    this.parts.body.hidden = collapsed;
    if (this.room && remember) localStorage.setItem("vo.roomPanel.collapsed", collapsed ? "1" : "0");
    if (collapsed) {
      this.flushRead();
      this.presence.unwatch();
    } else {
      this.presence.watch();
      this.scrollToBottom();
      this.markRead();
    }
    this.refreshUnread();
  }

  refreshUnread() {
    const count = this.messages.conversations.get(this.id)?.unread_count || 0;
    this.parts.unread.hidden = !(this.collapsed && count > 0);
    this.parts.unread.textContent = count;
  }

  refreshMeeting() {
    this.meetingBar.refresh();
  }

  get visible() {
    // On a phone only one view shows at a time: a panel in a hidden view is not being read.
    const shown = typeof this.el.checkVisibility === "function" ? this.el.checkVisibility() : true;
    return !this.collapsed && this.el.isConnected && document.visibilityState === "visible" && shown;
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  async start() {
    this.office.socket.track(this.id, this.conversation.rev || 0);
    if (!this.collapsed) this.presence.watch();
    await this.loadLatest();
  }

  async loadLatest() {
    try {
      const page = await get(`conversations/${this.id}/messages/?limit=${PAGE}`);
      this.hasMore = page.length === PAGE;
      for (const message of page) this.apply(message, { quiet: true });
      this.loaded = true;
      this.renderHistoryStatus();
      this.scrollToBottom();
      this.markRead();
      this.fillViewport();
    } catch (error) {
      this.parts.history.textContent = `Messages could not be loaded: ${error.message}`;
    }
  }

  /** Out of the page, kept: its messages stay in the store and live events still apply to it. */
  park() {
    const s = this.parts.scroller;
    this.parkedAt = { top: s.scrollTop, atBottom: this.nearBottom() };
    this.flushRead();
    this.presence.unwatch();
    this.presence.clearTypers();
    this.el.remove();
  }

  /** Back in the page (the caller put `el` back): where it was, and what is shown now is read. */
  unpark() {
    if (!this.collapsed) this.presence.watch();
    const at = this.parkedAt;
    if (!at || at.atBottom) this.scrollToBottom();
    else this.parts.scroller.scrollTop = at.top;
    this.parkedAt = null;
    this.markRead();
  }

  destroy() {
    this.readMarker.destroy();
    this.presence.destroy();
    this.composer.destroy();
    this.el.remove();
    // The store holds what open panels show: a panel opened again loads afresh.
    this.destroyed = true;
    this.store.drop(this.id);
  }

  // -- applying messages ---------------------------------------------------------------------------

  apply(message, { quiet = false } = {}) {
    if (this.destroyed || !message || message.id === undefined) return;
    if (this.composer.settle(message)) this.list.removePending(message.client_id);
    const applied = this.store.apply(this.id, message);
    if (!applied) return;
    const stick = this.nearBottom();
    this.list.render(applied.message);
    if (applied.created && !quiet) {
      const me = this.office.me.id;
      if (message.sender !== me && message.kind === "user") this.presence.clearTyper(message.sender);
      if (stick || message.sender === me) this.scrollToBottom();
      this.markRead();
    }
  }

  applyReactions(messageId, reactions, rev) {
    if (this.destroyed) return;
    const message = this.store.applyReactions(this.id, messageId, reactions, rev);
    if (message) this.list.render(message);
  }

  // -- scrolling and history ---------------------------------------------------------------------

  renderHistoryStatus() {
    const p = this.parts.history;
    if (this.loadingOlder) p.textContent = "Loading earlier messages…";
    else if (!this.hasMore) p.textContent = this.store.count(this.id) ? "This is the beginning of the conversation." : "No messages yet. Say hello!";
    else p.textContent = "";
  }

  nearBottom() {
    const s = this.parts.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToBottom() {
    const s = this.parts.scroller;
    s.scrollTop = s.scrollHeight;
  }

  onScroll() {
    if (this.parts.scroller.scrollTop < 60) this.loadOlder();
  }

  async loadOlder() {
    if (!this.loaded || !this.hasMore || this.loadingOlder) return;
    const oldest = this.store.oldestSeq(this.id);
    if (oldest === undefined) return;
    this.loadingOlder = true;
    this.renderHistoryStatus();
    const scroller = this.parts.scroller;
    try {
      const page = await get(`conversations/${this.id}/messages/?before=${oldest}&limit=${PAGE}`);
      const before = scroller.scrollHeight;
      const top = scroller.scrollTop;
      for (const message of page) this.apply(message, { quiet: true });
      this.hasMore = page.length === PAGE;
      scroller.scrollTop = top + (scroller.scrollHeight - before);
    } catch (error) {
      this.office.toast(`Earlier messages could not be loaded: ${error.message}`, { kind: "error" });
    } finally {
      this.loadingOlder = false;
      this.renderHistoryStatus();
    }
    this.fillViewport();
  }

  /** A first page that does not fill the panel cannot be scrolled up: load more by itself. */
  fillViewport() {
    const s = this.parts.scroller;
    if (this.hasMore && !this.collapsed && s.clientHeight > 0 && s.scrollHeight <= s.clientHeight + 4) {
      setTimeout(() => this.loadOlder(), 0);
    }
  }

  // -- what messages.js asks of a panel ----------------------------------------------------------

  markRead() {
    this.readMarker.markRead();
  }

  flushRead() {
    this.readMarker.flush();
  }

  get watching() {
    return this.presence.watching;
  }

  setWatchers(watchers) {
    this.presence.setWatchers(watchers);
  }

  rewatch() {
    this.presence.rewatch();
  }

  setTyper(userId, state) {
    this.presence.setTyper(userId, state);
  }

  clearTypers() {
    this.presence.clearTypers();
  }
}
