// One conversation panel: history (infinite scroll up), live messages, composer, optimistic sends.
//
// Messages are kept by id with their rev, so applying the same message twice (REST page, socket
// event, ack, resume replay) never shows it twice, and an older copy never overwrites a newer one.
// A message being sent is shown at once under its client_id and replaced by the server's copy when
// the ack or the event arrives, whichever comes first.

import { api, del, get, patch, post } from "./api.js";
import { paintAvatar } from "./floor.js";
import { appendLinkified, formatBytes, formatTime, newClientId, safeHref, snippet } from "./text.js";

const PAGE = 30;
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "👀", "🙏"];
const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 4000;
const TYPER_EXPIRES_MS = 8000;
const SYSTEM_ICONS = {
  joined: "→", left: "←", meeting_started: "▶", meeting_ended: "■", status_changed: "⚙",
};

export class Panel {
  constructor(messages, conversation, { room = false } = {}) {
    this.messages = messages;
    this.office = messages.office;
    this.conversation = conversation;
    this.id = conversation.id;
    this.room = room;
    this.store = new Map(); // message id -> message
    this.pending = new Map(); // client_id -> {message, files, state}
    this.elements = new Map(); // "m<id>" or "c<client_id>" -> <li>
    this.typers = new Map(); // user id -> timer
    this.watchers = [];
    this.hasMore = true;
    this.loadingOlder = false;
    this.loaded = false;
    this.replyTo = null;
    this.files = [];
    this.typingSince = 0;
    this.typingTimer = null;
    this.readTimer = null;
    this.lastReadSent = conversation.last_read_seq || 0;
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
      replySnippet: $("reply-snippet"), replyCancel: $("reply-cancel"), attachBar: $("attach-bar"),
      composer: $("composer"), input: $("input"), files: $("files"), send: $("send"), meeting: $("meeting"),
      meetingForm: $("meeting-form"), meetingTitle: $("meeting-title"), meetingCancel: $("meeting-cancel"),
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
    p.meeting.addEventListener("click", () => this.onMeetingButton());
    p.meetingCancel.addEventListener("click", () => {
      p.meetingForm.hidden = true;
    });
    p.meetingForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.startMeeting();
    });
    this.refreshMeeting();
    p.scroller.addEventListener("scroll", () => this.onScroll());
    p.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    p.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape" && this.replyTo) {
        this.setReply(null);
      }
    });
    p.input.addEventListener("input", () => {
      this.autosize();
      this.onTyping();
    });
    p.files.addEventListener("change", () => {
      this.files.push(...p.files.files);
      p.files.value = "";
      this.renderFiles();
    });
    p.replyCancel.addEventListener("click", () => this.setReply(null));
    p.list.addEventListener("click", (event) => this.onListClick(event));
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
      this.unwatch();
    } else {
      this.watch();
      this.scrollToBottom();
      this.markRead();
    }
    this.refreshUnread();
  }

  // -- meetings (room panels) ---------------------------------------------------------------------

  get space() {
    return this.room ? this.office.floor.spaces.get(this.conversation.space) : null;
  }

  refreshMeeting() {
    const space = this.space;
    const button = this.parts.meeting;
    button.hidden = !space || space.status === "closed";
    if (!space) return;
    button.textContent = space.meeting ? "End meeting" : "Start meeting";
    this.parts.leave.title = `Leave ${space.name}`;
    button.title = space.meeting ? `End “${space.meeting.title}”` : "Start a meeting in this space";
    if (space.meeting) this.parts.meetingForm.hidden = true;
  }

  onMeetingButton() {
    const space = this.space;
    if (!space) return;
    if (space.meeting) {
      del(`spaces/${space.id}/meeting/`).catch((error) => this.office.toast(error.message, { kind: "error" }));
      return;
    }
    this.setCollapsed(false);
    this.parts.meetingForm.hidden = false;
    this.parts.meetingTitle.focus();
  }

  async startMeeting() {
    const space = this.space;
    const title = this.parts.meetingTitle.value.trim();
    if (!space || !title) return;
    try {
      await post(`spaces/${space.id}/meeting/`, { title });
      this.parts.meetingTitle.value = "";
      this.parts.meetingForm.hidden = true;
    } catch (error) {
      this.office.toast(error.message, { kind: "error", title: "Meeting not started" });
    }
  }

  autosize() {
    const input = this.parts.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(160, input.scrollHeight)}px`;
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  async start() {
    this.office.socket.track(this.id, this.conversation.rev || 0);
    if (!this.collapsed) this.watch();
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

  destroy() {
    this.flushRead();
    this.unwatch();
    this.stopTyping();
    clearTimeout(this.readTimer);
    for (const timer of this.typers.values()) clearTimeout(timer);
    this.el.remove();
  }

  watch() {
    if (this.watching) return;
    this.watching = true;
    this.office.socket
      .request("watch", { conversation: this.id }, { resend: false })
      .then((data) => this.setWatchers(data.watchers))
      .catch(() => {
        this.watching = false;
      });
  }

  unwatch() {
    if (!this.watching) return;
    this.watching = false;
    this.office.socket.request("unwatch", { conversation: this.id }, { resend: false }).catch(() => {});
    this.setWatchers([]);
  }

  /** After a reconnect the server forgot who watches what: say it again. */
  rewatch() {
    this.watching = false;
    this.clearTypers();
    if (!this.collapsed) this.watch();
  }

  // -- applying messages ---------------------------------------------------------------------------

  apply(message, { quiet = false } = {}) {
    if (!message || message.id === undefined) return;
    const me = this.office.me.id;
    if (message.client_id && message.sender === me && this.pending.has(message.client_id)) {
      const key = `c${message.client_id}`;
      const element = this.elements.get(key);
      this.elements.delete(key);
      this.pending.delete(message.client_id);
      element?.remove();
    }
    const known = this.store.get(message.id);
    if (known && known.rev >= message.rev) return;
    const merged = known ? { ...known, ...message } : message;
    this.store.set(message.id, merged);
    const stick = this.nearBottom();
    this.renderMessage(merged);
    if (!known && !quiet) {
      if (message.sender !== me && message.kind === "user") this.clearTyper(message.sender);
      if (stick || message.sender === me) this.scrollToBottom();
      this.markRead();
    }
  }

  applyReactions(messageId, reactions, rev) {
    const message = this.store.get(messageId);
    if (!message || (rev !== undefined && message.rev >= rev)) return;
    message.reactions = reactions;
    if (rev !== undefined) message.rev = rev;
    this.renderMessage(message);
  }

  // -- rendering ---------------------------------------------------------------------------------

  renderMessage(message, { pendingState = null } = {}) {
    const key = message.id !== undefined ? `m${message.id}` : `c${message.client_id}`;
    const system = message.kind === "system";
    const template = document.getElementById(system ? "system-message-template" : "message-template");
    const element = template.content.firstElementChild.cloneNode(true);
    if (message.id !== undefined) element.dataset.id = message.id;
    else delete element.dataset.id;
    if (message.seq !== undefined) element.dataset.seq = message.seq;
    if (message.client_id) element.dataset.clientId = message.client_id;
    const $ = (role) => element.querySelector(`[data-role="${role}"]`);
    $("time").textContent = formatTime(message.created_at);
    if (message.created_at) $("time").dateTime = message.created_at;
    if (system) {
      const event = message.system && message.system.event;
      element.classList.add(`system-${event || "note"}`);
      $("icon").textContent = SYSTEM_ICONS[event] || "•";
      $("body").textContent = message.body;
    } else {
      this.fillUserMessage(element, message, $, pendingState);
    }
    if (!system && message.sender != null) element.dataset.sender = message.sender;
    if (message.created_at) element.dataset.created = message.created_at;
    const old = this.elements.get(key);
    this.elements.set(key, element);
    if (old && old.isConnected) {
      old.replaceWith(element);
    } else {
      this.insertInOrder(element, message);
    }
    this.regroup(element);
    this.regroup(element.nextElementSibling);
    this.refreshRepliesTo(message);
    return element;
  }

  /** Consecutive messages of one person within a few minutes share one name and avatar. */
  regroup(element) {
    if (!element) return;
    const previous = element.previousElementSibling;
    const continued = Boolean(
      previous &&
        element.dataset.sender &&
        previous.dataset.sender === element.dataset.sender &&
        !previous.classList.contains("system") &&
        !element.classList.contains("system") &&
        Math.abs(Date.parse(element.dataset.created) - Date.parse(previous.dataset.created)) < 5 * 60 * 1000,
    );
    element.classList.toggle("is-continued", continued);
  }

  fillUserMessage(element, message, $, pendingState) {
    const me = this.office.me.id;
    const sender = this.office.people.get(message.sender);
    const own = message.sender === me;
    element.classList.toggle("is-own", own);
    const avatar = $("avatar");
    $("initials").textContent = sender ? sender.initials : "?";
    paintAvatar(avatar, sender);
    $("author").textContent = sender ? sender.name : "Someone";
    $("edited").hidden = !message.edited_at || message.deleted;
    const body = $("body");
    if (message.deleted) {
      element.classList.add("is-deleted");
      body.textContent = "This message was deleted.";
    } else {
      appendLinkified(body, message.body);
    }
    if (message.reply_to) {
      const reply = $("reply");
      reply.hidden = false;
      reply.dataset.replyTo = message.reply_to;
      this.fillReplyQuote(reply, message.reply_to);
    }
    const attachments = $("attachments");
    const files = message.deleted ? [] : message.attachments || [];
    attachments.hidden = !files.length;
    for (const file of files) attachments.append(this.attachmentItem(file));
    if (!message.deleted) this.fillReactions($("reactions"), message);
    for (const button of element.querySelectorAll(".own-only")) button.hidden = !own || message.deleted;
    if (message.deleted || message.id === undefined) element.querySelector(".message-actions").hidden = true;
    const state = $("state");
    if (message.id === undefined) {
      const failed = pendingState === "failed";
      element.classList.add(failed ? "is-failed" : "is-pending");
      element.setAttribute("aria-busy", String(!failed));
      const reason = failed && this.pending.get(message.client_id)?.error?.message;
      state.textContent = failed ? `Not sent${reason ? `: ${reason}` : "."}` : "Sending…";
      if (failed) {
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "link-btn";
        retry.dataset.act = "retry";
        retry.textContent = "Retry";
        const discard = document.createElement("button");
        discard.type = "button";
        discard.className = "link-btn";
        discard.dataset.act = "discard";
        discard.textContent = "Discard";
        state.append(" ", retry, " ", discard);
      }
    }
  }

  fillReplyQuote(container, replyId) {
    const original = this.store.get(replyId);
    container.replaceChildren();
    const arrow = document.createElement("span");
    arrow.className = "reply-arrow";
    arrow.textContent = "↪ ";
    container.append(arrow);
    if (!original) {
      container.append("a reply to an earlier message");
      return;
    }
    const who = document.createElement("strong");
    const person = this.office.people.get(original.sender);
    who.textContent = original.kind === "system" ? "System" : person ? person.name : "Someone";
    container.append(who, " ", original.deleted ? "(deleted message)" : snippet(original.body, 90));
  }

  refreshRepliesTo(message) {
    if (message.id === undefined) return;
    for (const quote of this.parts.list.querySelectorAll(`[data-reply-to="${message.id}"]`)) {
      this.fillReplyQuote(quote, message.id);
    }
  }

  attachmentItem(file) {
    const item = document.createElement("li");
    const href = safeHref(file.url);
    const link = document.createElement(href ? "a" : "span");
    if (href) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    if (href && /^image\//.test(file.content_type || "")) {
      const image = document.createElement("img");
      image.src = href;
      image.alt = file.name;
      image.loading = "lazy";
      link.append(image);
      link.className = "attachment-image";
    } else {
      link.className = "attachment-file";
      link.textContent = `📄 ${file.name}`;
      const size = document.createElement("span");
      size.className = "muted";
      size.textContent = ` ${formatBytes(file.size)}`;
      link.append(size);
    }
    item.append(link);
    return item;
  }

  fillReactions(container, message) {
    const me = this.office.me.id;
    for (const reaction of message.reactions || []) {
      const mine = Array.isArray(reaction.users) ? reaction.users.includes(me) : Boolean(reaction.me);
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = `reaction${mine ? " is-mine" : ""}`;
      chip.dataset.act = "toggle-reaction";
      chip.dataset.emoji = reaction.emoji;
      chip.setAttribute("aria-pressed", String(mine));
      const names = (reaction.users || []).map((id) => this.office.people.get(id)?.name || "someone");
      chip.title = names.length ? `${names.join(", ")} reacted ${reaction.emoji}` : reaction.emoji;
      chip.textContent = `${reaction.emoji} ${reaction.count}`;
      container.append(chip);
    }
  }

  insertInOrder(element, message) {
    const list = this.parts.list;
    if (message.seq === undefined) {
      list.append(element);
      return;
    }
    // Walk back from the end: new messages almost always belong there.
    let node = list.lastElementChild;
    while (node && (node.dataset.seq === undefined || Number(node.dataset.seq) > message.seq)) {
      node = node.previousElementSibling;
    }
    list.insertBefore(element, node ? node.nextElementSibling : list.firstElementChild);
    // Pending messages stay below every confirmed one.
    for (const pending of [...list.querySelectorAll(":scope > .is-pending, :scope > .is-failed")]) list.append(pending);
  }

  renderHistoryStatus() {
    const p = this.parts.history;
    if (this.loadingOlder) p.textContent = "Loading earlier messages…";
    else if (!this.hasMore) p.textContent = this.store.size ? "This is the beginning of the conversation." : "No messages yet. Say hello!";
    else p.textContent = "";
  }

  // -- scrolling and history ---------------------------------------------------------------------

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
    const seqs = [...this.store.values()].map((m) => m.seq).filter((seq) => seq !== undefined);
    if (!seqs.length) return;
    this.loadingOlder = true;
    this.renderHistoryStatus();
    const scroller = this.parts.scroller;
    try {
      const page = await get(`conversations/${this.id}/messages/?before=${Math.min(...seqs)}&limit=${PAGE}`);
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

  // -- unread ------------------------------------------------------------------------------------

  get visible() {
    return !this.collapsed && this.el.isConnected && document.visibilityState === "visible";
  }

  markRead() {
    if (!this.visible || !this.loaded) return;
    const seqs = [...this.store.values()].map((m) => m.seq).filter((seq) => seq !== undefined);
    const top = seqs.length ? Math.max(...seqs) : 0;
    this.messages.setUnread(this.id, 0);
    if (top <= this.lastReadSent) return;
    this.readPending = Math.max(this.readPending || 0, top);
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.flushRead(), 150);
  }

  /** Send the read marker now (collapsing, closing, leaving the page): a later load must agree. */
  flushRead() {
    clearTimeout(this.readTimer);
    const seq = this.readPending || 0;
    this.readPending = 0;
    if (seq <= this.lastReadSent) return;
    this.lastReadSent = seq;
    api("POST", `conversations/${this.id}/read/`, { seq }, { keepalive: true }).catch(() => {});
  }

  refreshUnread() {
    const count = this.messages.conversations.get(this.id)?.unread_count || 0;
    this.parts.unread.hidden = !(this.collapsed && count > 0);
    this.parts.unread.textContent = count;
  }

  // -- typing and watchers -----------------------------------------------------------------------

  onTyping() {
    const now = Date.now();
    const typing = this.parts.input.value.trim().length > 0;
    if (!typing) {
      this.stopTyping();
      return;
    }
    if (!this.typingSince || now - this.typingSince > TYPING_REPEAT_MS) {
      this.typingSince = now;
      this.office.socket.send("typing", { conversation: this.id, state: "start" });
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (!this.typingSince) return;
    this.typingSince = 0;
    this.office.socket.send("typing", { conversation: this.id, state: "stop" });
  }

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

  setWatchers(watchers) {
    this.watchers = (watchers || []).filter((id) => id !== this.office.me.id);
    const container = this.parts.watchers;
    container.replaceChildren();
    if (!this.watchers.length) return;
    const label = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    label.setAttribute("class", "watchers-label icon");
    label.setAttribute("viewBox", "0 0 24 24");
    label.setAttribute("width", "16");
    label.setAttribute("height", "16");
    label.setAttribute("aria-hidden", "true");
    const eye = document.createElementNS("http://www.w3.org/2000/svg", "path");
    eye.setAttribute("d", "M1 12s4-8 11-8 11 8 11 8-4 8-11 8-11-8-11-8zm11 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z");
    eye.setAttribute("fill", "none");
    eye.setAttribute("stroke", "currentColor");
    eye.setAttribute("stroke-width", "2");
    label.append(eye);
    container.append(label);
    const names = [];
    for (const id of this.watchers.slice(0, 4)) {
      const person = this.office.people.get(id);
      if (!person) continue;
      names.push(person.name);
      const chip = document.createElement("span");
      chip.className = "avatar avatar-static avatar-tiny";
      chip.title = `${person.name} is here`;
      chip.textContent = person.initials;
      paintAvatar(chip, person);
      container.append(chip);
    }
    container.title = `Here now: ${names.join(", ")}`;
    container.setAttribute("aria-label", `Here now: ${names.join(", ")}`);
  }

  // -- sending -----------------------------------------------------------------------------------

  setReply(message) {
    this.replyTo = message;
    const p = this.parts;
    p.replyBar.hidden = !message;
    if (message) {
      p.replyName.textContent = this.office.people.get(message.sender)?.name || "Someone";
      p.replySnippet.textContent = snippet(message.body, 60);
      p.input.focus();
    }
  }

  renderFiles() {
    const bar = this.parts.attachBar;
    bar.replaceChildren();
    bar.hidden = !this.files.length;
    this.files.forEach((file, index) => {
      const item = document.createElement("li");
      item.textContent = `📎 ${file.name} (${formatBytes(file.size)}) `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "icon-btn";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      remove.textContent = "✕";
      remove.addEventListener("click", () => {
        this.files.splice(index, 1);
        this.renderFiles();
      });
      item.append(remove);
      bar.append(item);
    });
  }

  submit() {
    const input = this.parts.input;
    const body = input.value;
    if (!body.trim() && !this.files.length) return;
    const clientId = newClientId();
    const message = {
      client_id: clientId,
      conversation: this.id,
      kind: "user",
      sender: this.office.me.id,
      body,
      reply_to: this.replyTo ? this.replyTo.id : null,
      reactions: [],
      attachments: this.files.map((file) => ({ name: file.name, size: file.size, content_type: file.type, url: "" })),
      created_at: new Date().toISOString(),
    };
    const files = this.files.slice();
    this.pending.set(clientId, { message, files, state: "pending" });
    input.value = "";
    this.autosize();
    this.files = [];
    this.renderFiles();
    this.setReply(null);
    this.stopTyping();
    this.renderMessage(message);
    this.scrollToBottom();
    this.deliver(clientId);
  }

  deliver(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    entry.state = "pending";
    const { message, files } = entry;
    let sending;
    if (files.length) {
      const form = new FormData();
      form.append("body", message.body);
      form.append("client_id", clientId);
      if (message.reply_to) form.append("reply_to", message.reply_to);
      for (const file of files) form.append("attachments", file, file.name);
      sending = api("POST", `conversations/${this.id}/messages/`, form);
    } else {
      const fields = { conversation: this.id, body: message.body, client_id: clientId };
      if (message.reply_to) fields.reply_to = message.reply_to;
      sending = this.office.socket.request("message.send", fields);
    }
    sending.then(
      (saved) => this.apply(saved),
      (error) => {
        const current = this.pending.get(clientId);
        if (!current) return; // the event arrived meanwhile: it was sent after all
        current.state = "failed";
        current.error = error;
        const element = this.renderMessage(current.message, { pendingState: "failed" });
        element.title = error.message || "Not sent";
      },
    );
  }

  // -- message actions ---------------------------------------------------------------------------

  onListClick(event) {
    const button = event.target.closest("[data-act]");
    const item = event.target.closest(".message");
    if (!item) return;
    if (!button) {
      const quote = event.target.closest("[data-reply-to]");
      if (quote) this.elements.get(`m${quote.dataset.replyTo}`)?.scrollIntoView({ block: "center", behavior: "smooth" });
      return;
    }
    const message = item.dataset.id ? this.store.get(Number(item.dataset.id)) : null;
    switch (button.dataset.act) {
      case "retry": {
        const clientId = item.dataset.clientId;
        const entry = this.pending.get(clientId);
        if (!entry) return;
        this.renderMessage(entry.message);
        this.deliver(clientId);
        break;
      }
      case "discard": {
        const clientId = item.dataset.clientId;
        this.pending.delete(clientId);
        this.elements.delete(`c${clientId}`);
        item.remove();
        break;
      }
      case "reply":
        if (message) this.setReply(message);
        break;
      case "react":
        if (message) this.togglePicker(item, message);
        break;
      case "pick":
        if (message) this.react(message, button.dataset.emoji, true);
        item.querySelector(".reaction-picker")?.remove();
        break;
      case "toggle-reaction":
        if (message) this.react(message, button.dataset.emoji, button.getAttribute("aria-pressed") !== "true");
        break;
      case "edit":
        if (message) this.startEdit(item, message);
        break;
      case "delete":
        if (message) this.confirmDelete(button, message);
        break;
      default:
        break;
    }
  }

  togglePicker(item, message) {
    const open = item.querySelector(".reaction-picker");
    if (open) {
      open.remove();
      return;
    }
    const picker = document.createElement("div");
    picker.className = "reaction-picker";
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", "Pick a reaction");
    for (const emoji of QUICK_REACTIONS) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.act = "pick";
      button.dataset.emoji = emoji;
      button.textContent = emoji;
      button.setAttribute("aria-label", `React with ${emoji}`);
      picker.append(button);
    }
    item.querySelector(".message-main").append(picker);
    picker.querySelector("button").focus();
  }

  async react(message, emoji, add) {
    try {
      const saved = add
        ? await post(`messages/${message.id}/reactions/`, { emoji })
        : await del(`messages/${message.id}/reactions/${encodeURIComponent(emoji)}/`);
      if (saved) this.apply(saved);
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
    }
  }

  startEdit(item, message) {
    const body = item.querySelector("[data-role=body]");
    if (item.querySelector(".edit-box")) return;
    const box = document.createElement("form");
    box.className = "edit-box";
    const field = document.createElement("textarea");
    field.value = message.body;
    field.setAttribute("aria-label", "Edit message");
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "btn btn-primary btn-small";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-ghost btn-small";
    cancel.textContent = "Cancel";
    box.append(field, save, cancel);
    body.hidden = true;
    body.after(box);
    field.focus();
    const finish = () => {
      box.remove();
      body.hidden = false;
    };
    cancel.addEventListener("click", finish);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") finish();
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        box.requestSubmit();
      }
    });
    box.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (field.value === message.body) {
        finish();
        return;
      }
      try {
        const saved = await patch(`messages/${message.id}/`, { body: field.value });
        finish();
        this.apply(saved);
      } catch (error) {
        this.office.toast(error.message, { kind: "error" });
      }
    });
  }

  confirmDelete(button, message) {
    if (button.dataset.confirm !== "1") {
      button.dataset.confirm = "1";
      button.textContent = "Delete?";
      button.classList.add("is-confirming");
      setTimeout(() => {
        if (button.isConnected) {
          button.dataset.confirm = "";
          button.textContent = "Delete";
          button.classList.remove("is-confirming");
        }
      }, 4000);
      return;
    }
    del(`messages/${message.id}/`).catch((error) => this.office.toast(error.message, { kind: "error" }));
  }
}
