// The inbox: my notifications (mentions, replies in my threads, direct messages I was not watching,
// missed calls and teleports, knocks), a badge with how many are unread (in the top bar, and in the
// phone's tab bar), the list in a panel (a click opens the conversation and marks it read; "Mark all
// read"), and desktop notifications through the browser's Notification API once the person opts in
// (a button in the panel), shown only while the tab is hidden.
//
// `notification.created` arrives also under dnd: the badge counts it, but nothing pops up (no toast,
// no desktop notification): the interruption policy (static/js/interruptions.js) says "hold".
// Conversations with an unread mention of me sort first in the side bar (`unread_mentions`, which
// static/js/messages.js sorts by).
//
// The top half of this module is DOM-free (InboxState, notificationText, popUp): node tests cover it.

import { get, post } from "./api.js";
import { interruptionFor } from "./interruptions.js";
import { formatTime } from "./text.js";
import { interruptingToast } from "./toasts.js";

const RECENT = 30; // shown in the panel
const UNREAD_MAX = 100; // read on every (re)connect, for the sidebar's mention order

/** The policy's kind for a notification's kind. */
export const INTERRUPTION_KIND = {
  mention: "mention",
  thread_reply: "mention",
  direct: "message",
  call_missed: "call",
  teleport_missed: "teleport",
  knock: "knock",
};

/** Notifications this tab knows, by id, and the server's unread count. */
export class InboxState {
  constructor() {
    this.byId = new Map();
    this.unread = 0;
    this.reads = 0; // how many times this tab marked something read: a count read before one is stale
  }

  /**
   * Rows from the list endpoint (any order); the server's count when known. The count and the lists
   * are read by separate requests while live notifications keep arriving: one that came live and is
   * newer than anything the lists returned may have been made after the server counted, so it is
   * added to what the lists say is unread rather than lost under an older count.
   *
   * Read is for good: a row this tab marked read while the lists were on their way stays read, and
   * pass `readsAtStart` (this.reads when the requests went out) so that a count taken before such a
   * mark is not believed (the answer to the mark brings the server's count).
   */
  load(rows, unread = null, readsAtStart = this.reads) {
    const newestListed = rows.reduce((newest, row) => Math.max(newest, row.id), 0);
    for (const row of rows) {
      const known = this.byId.get(row.id);
      this.byId.set(row.id, { ...known, ...row, read: Boolean(row.read || known?.read) });
    }
    if (unread === null || readsAtStart !== this.reads) return;
    const listedUnread = new Set(rows.filter((row) => !row.read).map((row) => row.id)).size;
    const newerLive = [...this.byId.values()].filter((row) => row.id > newestListed && !row.read).length;
    this.unread = Math.max(unread, listedUnread + newerLive);
  }

  /** A live notification: true if it is new to this tab (a repeat after a resume counts once). */
  add(notification) {
    if (this.byId.has(notification.id)) return false;
    this.byId.set(notification.id, { ...notification });
    if (!notification.read) this.unread += 1;
    return true;
  }

  /** Mark these read here (the server is told separately); returns the ids that were unread. */
  markRead(ids) {
    const changed = [];
    for (const id of ids) {
      const row = this.byId.get(id);
      if (row && !row.read) {
        row.read = true;
        changed.push(id);
      }
    }
    this.unread = Math.max(0, this.unread - changed.length);
    if (changed.length) this.reads += 1;
    return changed;
  }

  markAllRead() {
    for (const row of this.byId.values()) row.read = true;
    this.unread = 0;
    this.reads += 1;
  }

  /** Unread ones about a conversation (known to this tab). */
  unreadIn(conversationId) {
    return this.items().filter((row) => !row.read && row.conversation === conversationId).map((row) => row.id);
  }

  /** Newest first. */
  items() {
    return [...this.byId.values()].sort((a, b) => b.id - a.id);
  }

  /** conversation id -> unread mentions of me in it. */
  unreadMentions() {
    const counts = new Map();
    for (const row of this.byId.values()) {
      if (!row.read && row.kind === "mention" && row.conversation != null) {
        counts.set(row.conversation, (counts.get(row.conversation) || 0) + 1);
      }
    }
    return counts;
  }
}

/**
 * What a notification says: `{title, where}` ("Bob Baker mentioned you", "in Launch crew").
 * `names`: {person(id), space(id), conversation(id)} -> display names ("" when unknown).
 */
export function notificationText(notification, names) {
  const who = names.person(notification.actor) || "Someone";
  const space = names.space(notification.space) || "a space";
  const conversation = names.conversation(notification.conversation);
  const where = conversation ? `in ${conversation}` : "";
  switch (notification.kind) {
    case "mention":
      return { title: `${who} mentioned you`, where };
    case "thread_reply":
      return { title: `${who} replied in your thread`, where };
    case "direct":
      return { title: `${who} sent you a message`, where };
    case "call_missed":
      return { title: `Missed call from ${who}`, where: "" };
    case "teleport_missed":
      return { title: `${who} invited you to ${space}`, where: "the invitation expired" };
    case "knock":
      return { title: `${who} knocked on ${space}`, where: "" };
    default:
      return { title: `${who}: ${notification.kind}`, where };
  }
}

/**
 * Whether and how a new notification may pop up in this tab: `{toast, desktop}`.
 * Nothing under "hold" (dnd). A desktop notification only while the tab is hidden and once the person
 * allowed them; a toast only while the tab shows, for mentions and thread replies (calls, teleports
 * and knocks have their own toasts; a direct message shows as the conversation's unread badge),
 * and not for the conversation open in front of them.
 */
export function popUp({ kind, presence, hidden, permission, openConversation = null, conversation = null }) {
  const answer = interruptionFor(INTERRUPTION_KIND[kind] || "message", presence);
  if (answer === "hold") return { toast: false, desktop: false, interruption: answer };
  const desktop = Boolean(hidden) && permission === "granted";
  const toast = !hidden && (kind === "mention" || kind === "thread_reply") && (conversation == null || conversation !== openConversation);
  return { toast, desktop, interruption: answer };
}

// -- the page ----------------------------------------------------------------------------------------

function badgeText(count) {
  return count > 99 ? "99+" : String(count);
}

export class Inbox {
  constructor(office) {
    this.office = office;
    this.state = new InboxState();
    this.toggle = document.getElementById("inbox-toggle");
    this.tab = document.getElementById("inbox-tab");
    this.panel = document.getElementById("inbox-panel");
    this.list = document.getElementById("inbox-list");
    this.empty = document.getElementById("inbox-empty");
    this.readAll = document.getElementById("inbox-read-all");
    this.desktopButton = document.getElementById("inbox-desktop");
    this.desktopNote = document.getElementById("inbox-desktop-note");
    this.loaded = false;
    this.openedFrom = null;
  }

  start() {
    if (!this.toggle || !this.panel) return this;
    for (const button of [this.toggle, this.tab]) {
      button?.addEventListener("click", () => (this.panel.hidden ? this.show(button) : this.hide()));
    }
    this.readAll.addEventListener("click", () => this.markAllRead());
    this.desktopButton.addEventListener("click", () => this.askDesktop());
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-notification]");
      if (item) this.openNotification(this.state.byId.get(Number(item.dataset.notification)));
    });
    // Escape closes it from anywhere while it is open (the focus may have left it), back to its button.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) {
        event.stopPropagation();
        this.hide({ restore: true });
      }
    });
    document.addEventListener("pointerdown", (event) => {
      if (this.panel.hidden) return;
      if (this.panel.contains(event.target) || this.toggle.contains(event.target) || this.tab?.contains(event.target)) return;
      this.hide();
    });
    const socket = this.office.socket;
    socket.on("hello", () => this.refresh());
    socket.on("notification.created", (data) => this.onCreated(data));
    // A conversation shown in front of me: what notified me of it is read.
    this.office.on("panel.shown", ({ panel }) => {
      const id = panel && (panel.id ?? panel.conversation?.id);
      if (id != null && !document.hidden) this.readConversation(Number(id));
    });
    document.addEventListener("visibilitychange", () => {
      const current = this.office.messages?.current;
      if (!document.hidden && current && current.visible !== false) this.readConversation(Number(current.id));
    });
    // The side bar re-renders from the server's rows now and then: keep its mention order.
    this.office.on("unread.changed", () => this.syncMentions());
    this.paintDesktop();
    this.paint();
    return this;
  }

  /** After every (re)connect: the count and what arrived meanwhile. */
  async refresh() {
    const readsAtStart = this.state.reads;
    try {
      const [me, recent, unread] = await Promise.all([
        get("me/"),
        get(`notifications/?limit=${RECENT}`),
        get(`notifications/?unread=1&limit=${UNREAD_MAX}`),
      ]);
      this.state.load([...recent, ...unread], me.notifications_unread ?? null, readsAtStart);
      this.loaded = true;
    } catch (error) {
      return; // the next reconnect tries again; live events keep the badge meanwhile
    }
    this.paint();
  }

  names() {
    const office = this.office;
    return {
      person: (id) => (id != null ? office.people.get(id)?.name || "" : ""),
      space: (id) => (id != null ? office.floor?.spaces.get(id)?.name || "" : ""),
      conversation: (id) => {
        const conversation = id != null ? office.messages?.conversations.get(id) : null;
        return conversation ? office.messages.titleOf(conversation) : "";
      },
    };
  }

  onCreated(notification) {
    if (!this.state.add(notification)) return;
    const open = this.office.messages?.current;
    const openConversation = open && !document.hidden ? Number(open.id) : null;
    if (notification.conversation != null && notification.conversation === openConversation) {
      // In front of me already (a mention in the open chat): read, and nothing pops up.
      this.markRead([notification.id]);
      return;
    }
    this.paint();
    const decision = popUp({
      kind: notification.kind,
      presence: this.office.me,
      hidden: document.hidden,
      permission: typeof Notification === "function" ? Notification.permission : "unsupported",
      openConversation,
      conversation: notification.conversation,
    });
    const text = notificationText(notification, this.names());
    if (decision.desktop) this.desktop(notification, text);
    if (decision.toast) {
      interruptingToast(
        INTERRUPTION_KIND[notification.kind],
        this.office.me,
        [text.where, notification.excerpt].filter(Boolean).join(": "),
        {
          title: text.title,
          timeout: 8000,
          actions: [{ label: "Open", primary: true, onClick: () => this.openNotification(notification) }],
        },
        { show: this.office.toast, decision: decision.interruption },
      );
    }
  }

  desktop(notification, text) {
    try {
      const shown = new Notification(text.title, {
        body: [text.where, notification.excerpt].filter(Boolean).join(": "),
        tag: `vo-notification-${notification.id}`,
      });
      shown.addEventListener("click", () => {
        window.focus();
        this.openNotification(notification);
        shown.close();
      });
    } catch (error) {
      // Some browsers allow the API only from a service worker: the badge still says it.
    }
  }

  async askDesktop() {
    if (typeof Notification !== "function") return;
    try {
      await Notification.requestPermission();
    } finally {
      this.paintDesktop();
    }
  }

  paintDesktop() {
    if (!this.desktopButton) return;
    const supported = typeof Notification === "function";
    const permission = supported ? Notification.permission : "unsupported";
    this.desktopButton.hidden = permission !== "default";
    const notes = {
      granted: "Desktop notifications are on while this tab is hidden.",
      denied: "Desktop notifications are blocked for this site in your browser.",
      unsupported: "This browser shows no desktop notifications.",
      default: "",
    };
    this.desktopNote.textContent = notes[permission] || "";
    this.desktopNote.hidden = !this.desktopNote.textContent;
  }

  // -- reading ----------------------------------------------------------------------------------

  async markRead(ids) {
    const changed = this.state.markRead(ids);
    this.paint();
    if (!changed.length) return;
    try {
      const answer = await post("notifications/read/", { ids: changed });
      this.state.unread = answer.notifications_unread;
      this.paint();
    } catch (error) {
      // Read here; the server catches up with the next "read" or with the next load.
    }
  }

  async readConversation(conversationId) {
    if (!this.state.unreadIn(conversationId).length) return;
    this.state.markRead(this.state.unreadIn(conversationId));
    this.paint();
    try {
      const answer = await post("notifications/read/", { conversation: conversationId });
      this.state.unread = answer.notifications_unread;
      this.paint();
    } catch (error) {
      // as markRead
    }
  }

  async markAllRead() {
    this.state.markAllRead();
    this.paint();
    try {
      const answer = await post("notifications/read/", { all: true });
      this.state.unread = answer.notifications_unread;
    } catch (error) {
      this.office.toast(error.message, { kind: "error", title: "Not marked read" });
    }
    this.paint();
  }

  /** A click on a notification: open what it is about, and mark it read. */
  async openNotification(notification) {
    if (!notification) return;
    this.hide();
    this.markRead([notification.id]);
    const messages = this.office.messages;
    if (notification.conversation != null && messages) {
      if (!messages.conversations.has(notification.conversation)) {
        try {
          messages.open(await get(`conversations/${notification.conversation}/`), { focus: true });
        } catch (error) {
          this.office.toast(error.message, { kind: "error", title: "Cannot open it" });
        }
        return;
      }
      await messages.openById(notification.conversation);
      return;
    }
    if (notification.space != null) {
      const element = document.querySelector(`.space[data-space="${Number(notification.space)}"]`);
      this.office.layout?.setView?.("floor");
      element?.scrollIntoView({ block: "nearest" });
      element?.querySelector("[data-role=enter]")?.focus();
    }
  }

  // -- drawing ------------------------------------------------------------------------------------

  show(from) {
    this.openedFrom = from || this.toggle;
    this.panel.hidden = false;
    for (const button of [this.toggle, this.tab]) button?.setAttribute("aria-expanded", "true");
    this.renderList();
    (this.list.querySelector("button") || this.readAll).focus();
    if (!this.loaded) this.refresh();
  }

  hide({ restore = false } = {}) {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    for (const button of [this.toggle, this.tab]) button?.setAttribute("aria-expanded", "false");
    if (restore) this.openedFrom?.focus();
  }

  paint() {
    const count = this.state.unread;
    for (const badge of [document.getElementById("inbox-badge"), document.getElementById("inbox-tab-badge")]) {
      if (!badge) continue;
      badge.hidden = count === 0;
      badge.textContent = badgeText(count);
    }
    const unread = count ? `, ${count} unread` : "";
    this.toggle.setAttribute("aria-label", `Notifications${unread}`);
    this.tab?.setAttribute("aria-label", `Inbox${unread}`); // its visible name is "Inbox"
    if (!this.panel.hidden) this.renderList();
    this.syncMentions();
  }

  renderList() {
    const names = this.names();
    const items = this.state.items().slice(0, Math.max(RECENT, this.state.unread));
    const nodes = items.map((notification) => {
      const text = notificationText(notification, names);
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `inbox-item kind-${notification.kind}${notification.read ? "" : " is-unread"}`;
      button.dataset.notification = notification.id;
      const title = document.createElement("span");
      title.className = "inbox-title";
      title.textContent = text.title;
      const meta = document.createElement("span");
      meta.className = "inbox-meta";
      meta.textContent = [text.where, formatTime(notification.created_at)].filter(Boolean).join(" · ");
      button.append(title, meta);
      if (notification.excerpt) {
        const excerpt = document.createElement("span");
        excerpt.className = "inbox-excerpt";
        excerpt.textContent = notification.excerpt;
        button.append(excerpt);
      }
      if (!notification.read) {
        const unread = document.createElement("span");
        unread.className = "visually-hidden";
        unread.textContent = " (unread)";
        button.append(unread);
      }
      item.append(button);
      return item;
    });
    this.list.replaceChildren(...nodes);
    this.empty.hidden = nodes.length > 0;
  }

  /** Unread mentions per conversation onto the side bar's rows; re-sort only when one changed. */
  syncMentions() {
    const messages = this.office.messages;
    if (!messages || !messages.conversations) return;
    const counts = this.state.unreadMentions();
    let changed = false;
    for (const conversation of messages.conversations.values()) {
      const count = counts.get(conversation.id) || 0;
      if ((conversation.unread_mentions || 0) !== count) {
        conversation.unread_mentions = count;
        changed = true;
      }
    }
    if (changed) messages.renderList();
  }
}

export function setupInbox(office) {
  return new Inbox(office).start();
}
