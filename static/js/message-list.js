// One panel's message list: renders each message (or a pending one, under its client_id) from the
// templates into the <ol>, in seq order, grouped by sender, with reply quotes, attachments,
// reactions and the "N replies" link that opens a thread. What to show comes from the panel's store;
// this module only draws it. A thread's pane draws its root and replies with one too.
//
// A message's text is the server's `body_html` (Markdown rendered and sanitised there,
// messaging/text.py); it is still parsed inert and kept to the same allow-list here, and `body` is
// only ever inserted as text (a message still being sent has no `body_html` yet).

import { paintAvatar } from "./floor.js";
import { appendLinkified, formatBytes, formatTime, safeHref, snippet } from "./text.js";

// What `body_html` may hold (as messaging/text.py allows): anything else is dropped to its text.
const ALLOWED = {
  P: [], BR: [], EM: [], STRONG: [], S: [], DEL: [], CODE: [], PRE: [], UL: [], LI: [], BLOCKQUOTE: [],
  OL: ["start"], A: ["href", "title"], SPAN: ["class", "data-user"],
};

const DROPPED = new Set(["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT"]);

/** `html` (the server's body_html) as nodes: parsed in a document of its own (inert: it runs no
 * script and loads nothing), kept to the allow-list, and only then brought into the page. */
export function renderedBody(html) {
  const parsed = new DOMParser().parseFromString(`<!doctype html><body>${String(html ?? "")}`, "text/html");
  const template = document.createElement("template");
  for (const element of [...parsed.body.querySelectorAll("*")]) {
    const allowed = ALLOWED[element.tagName];
    if (DROPPED.has(element.tagName)) {
      element.remove(); // their content is code, not text
      continue;
    }
    if (!allowed) {
      element.replaceWith(document.createTextNode(element.textContent));
      continue;
    }
    for (const attribute of [...element.attributes]) {
      if (!allowed.includes(attribute.name)) element.removeAttribute(attribute.name);
    }
    if (element.tagName === "A") {
      const href = safeHref(element.getAttribute("href"));
      if (href) {
        element.setAttribute("href", href);
        element.setAttribute("target", "_blank");
        element.setAttribute("rel", "noopener noreferrer nofollow");
      } else {
        element.removeAttribute("href");
      }
    }
  }
  template.content.append(...[...parsed.body.childNodes].map((node) => document.importNode(node, true)));
  return template.content;
}

/** A message's text as read (its rendering without the Markdown marks), for quotes. */
export function plainText(message) {
  if (typeof message.body_html === "string" && message.body_html) return renderedBody(message.body_html).textContent;
  return message.body || "";
}

const SYSTEM_ICONS = {
  joined: "→", left: "←", meeting_started: "▶", meeting_ended: "■", status_changed: "⚙",
};

export class MessageList {
  constructor(panel) {
    this.panel = panel;
    this.office = panel.office;
    this.list = panel.parts.list;
    this.threadRootId = panel.threadRootId ?? null; // set in a thread's pane
    this.elements = new Map(); // "m<id>" or "c<client_id>" -> <li>
  }

  /** The <li> of a message held (by id), if shown. */
  elementOf(messageId) {
    return this.elements.get(`m${messageId}`);
  }

  /** Take a pending message's <li> away (sent and confirmed, or discarded). */
  removePending(clientId) {
    const key = `c${clientId}`;
    const element = this.elements.get(key);
    this.elements.delete(key);
    element?.remove();
  }

  /**
   * Draw `message` (a new <li>, or in place of its old one). A message without an id is pending:
   * `pendingState` "failed" shows it as not sent, with `reason`, Retry and Discard.
   */
  render(message, { pendingState = null, reason = null, retryable = true } = {}) {
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
      this.fillUserMessage(element, message, $, pendingState, reason, retryable);
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

  fillUserMessage(element, message, $, pendingState, reason, retryable) {
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
    } else if (typeof message.body_html === "string" && (message.body_html || !message.body)) {
      body.classList.add("is-rendered");
      body.append(renderedBody(message.body_html));
      this.markMentions(body);
    } else {
      appendLinkified(body, message.body);
    }
    element.classList.toggle("mentions-me", !message.deleted && (message.mentions || []).includes(me));
    const thread = $("thread");
    const replies = message.reply_count || 0;
    thread.hidden = !replies || this.threadRootId != null || message.id === undefined;
    thread.textContent = replies === 1 ? "1 reply" : `${replies} replies`;
    if (this.threadRootId != null || message.id === undefined) {
      for (const button of element.querySelectorAll(".not-in-thread")) button.hidden = true;
    }
    // In a thread, a reply to its root needs no quote: that is what the whole pane shows.
    if (message.reply_to && message.reply_to !== this.threadRootId) {
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
      const why = failed && reason;
      state.textContent = failed ? `Not sent${why ? `: ${why}` : "."}` : "Sending…";
      if (failed) {
        if (retryable) {
          const retry = document.createElement("button");
          retry.type = "button";
          retry.className = "link-btn";
          retry.dataset.act = "retry";
          retry.textContent = "Retry";
          state.append(" ", retry);
        }
        const discard = document.createElement("button");
        discard.type = "button";
        discard.className = "link-btn";
        discard.dataset.act = "discard";
        discard.textContent = "Discard";
        state.append(" ", discard);
      }
    }
  }

  /** Mentions of me stand out; each says whose name it is. */
  markMentions(body) {
    const me = this.office.me.id;
    for (const mention of body.querySelectorAll(".mention")) {
      const id = mention.dataset.user ? Number(mention.dataset.user) : null;
      if (id !== null) {
        mention.classList.toggle("is-me", id === me);
        const person = this.office.people.get(id);
        if (person) mention.title = person.name;
      } else {
        mention.title = "Everyone online in this conversation";
      }
    }
  }

  fillReplyQuote(container, replyId) {
    const original = this.panel.store.get(this.panel.id, replyId);
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
    container.append(who, " ", original.deleted ? "(deleted message)" : snippet(plainText(original), 90));
  }

  refreshRepliesTo(message) {
    if (message.id === undefined) return;
    for (const quote of this.list.querySelectorAll(`[data-reply-to="${message.id}"]`)) {
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
    const list = this.list;
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
}
