// The search box in the header: asks `GET search/` as you type (debounced, the latest answer wins)
// and shows, in a panel under the box, the messages found (their snippets with the matches marked),
// then people, spaces and conversations. Choosing a message opens its conversation at that message.
// Keyboard: ArrowDown from the box into the results, ArrowUp/ArrowDown among them, Escape back to
// the box (and again to close), Enter or a click to go.
//
// A snippet is the server's HTML (matches in <mark>, everything else escaped); it is never given to
// innerHTML: `snippetParts` splits it into text and marked text, drawn as text nodes and <mark>s.

import { ApiError, get } from "./api.js";
import { goTo } from "./switcher.js";
import { formatTime } from "./text.js";

const DEBOUNCE_MS = 180;
const MIN_LENGTH = 2;
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

export function decodeEntities(text) {
  return String(text).replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

/** A snippet's HTML as `[{text, mark}]`: `<mark>` and `</mark>` are the only tags it may hold. */
export function snippetParts(html) {
  const parts = [];
  let marked = false;
  for (const piece of String(html ?? "").split(/(<mark>|<\/mark>)/)) {
    if (piece === "<mark>") marked = true;
    else if (piece === "</mark>") marked = false;
    else if (piece) parts.push({ text: decodeEntities(piece), mark: marked });
  }
  return parts;
}

/** `GET search/`'s path for this text (and optional narrowing). */
export function searchPath(q, { conversation, sender, limit } = {}) {
  const params = new URLSearchParams({ q: q.trim() });
  if (conversation) params.set("conversation", String(conversation));
  if (sender) params.set("sender", String(sender));
  if (limit) params.set("limit", String(limit));
  return `search/?${params}`;
}

/** Whether this text is worth asking about yet. */
export function shouldSearch(q) {
  return q.trim().length >= MIN_LENGTH;
}

/** The answer's non-empty sections, in the order shown. */
export function resultSections(results) {
  const sections = [
    { kind: "message", title: "Messages", rows: results.messages || [] },
    { kind: "person", title: "People", rows: results.people || [] },
    { kind: "space", title: "Spaces", rows: results.spaces || [] },
    { kind: "conversation", title: "Conversations", rows: results.conversations || [] },
  ];
  return sections.filter((section) => section.rows.length > 0);
}

export class SearchBox {
  constructor(office) {
    this.office = office;
    this.form = document.getElementById("search-form");
    this.input = document.getElementById("search-input");
    this.panel = document.getElementById("search-results");
    this.timer = null;
    this.ticket = 0;
    this.rows = []; // what each result button stands for, by its data-index
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.run(), DEBOUNCE_MS);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && !this.panel.hidden) {
        event.preventDefault();
        this.focusResult(0);
      } else if (event.key === "Escape") {
        if (!this.panel.hidden) this.hide();
        else this.input.value = "";
      }
    });
    this.input.addEventListener("focus", () => {
      if (this.panel.childElementCount && shouldSearch(this.input.value)) this.show();
    });
    this.panel.addEventListener("keydown", (event) => this.onPanelKey(event));
    this.panel.addEventListener("click", (event) => {
      const button = event.target.closest("[data-index]");
      if (button) this.choose(Number(button.dataset.index));
    });
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !this.panel.contains(event.target) && !this.form.contains(event.target)) this.hide();
    });
  }

  async run() {
    clearTimeout(this.timer);
    const q = this.input.value;
    const ticket = ++this.ticket;
    if (!shouldSearch(q)) {
      this.hide();
      this.panel.replaceChildren();
      return;
    }
    this.panel.setAttribute("aria-busy", "true");
    let results;
    try {
      results = await get(searchPath(q));
    } catch (error) {
      if (ticket !== this.ticket) return;
      this.renderNote(error instanceof ApiError ? error.message : "Search failed.");
      return;
    } finally {
      if (ticket === this.ticket) this.panel.setAttribute("aria-busy", "false");
    }
    if (ticket !== this.ticket) return; // a later search was asked meanwhile
    this.render(results, q);
  }

  show() {
    this.panel.hidden = false;
  }

  hide({ focusInput = false } = {}) {
    this.panel.hidden = true;
    if (focusInput) this.input.focus();
  }

  renderNote(text) {
    const note = document.createElement("p");
    note.className = "search-note muted";
    note.textContent = text;
    this.panel.replaceChildren(note);
    this.rows = [];
    this.show();
  }

  render(results, q) {
    const sections = resultSections(results);
    this.rows = [];
    if (!sections.length) {
      this.renderNote(`Nothing found for “${q.trim()}”.`);
      return;
    }
    const nodes = [];
    for (const section of sections) {
      const wrap = document.createElement("section");
      wrap.className = `search-section search-${section.kind}s`;
      const heading = document.createElement("h3");
      heading.className = "search-heading";
      heading.id = `search-heading-${section.kind}`;
      heading.textContent = section.title;
      const list = document.createElement("ul");
      list.className = "search-list";
      list.setAttribute("aria-labelledby", heading.id);
      for (const row of section.rows) {
        const index = this.rows.length;
        this.rows.push({ kind: section.kind, row });
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "search-result";
        button.dataset.index = index;
        button.dataset.kind = section.kind;
        this.fill(button, section.kind, row);
        item.append(button);
        list.append(item);
      }
      wrap.append(heading, list);
      nodes.push(wrap);
    }
    this.panel.replaceChildren(...nodes);
    this.show();
  }

  fill(button, kind, row) {
    const title = document.createElement("span");
    title.className = "search-result-title";
    const detail = document.createElement("span");
    detail.className = "search-result-detail";
    if (kind === "message") {
      const message = row.message;
      button.dataset.message = message.id;
      const who = this.office.people.get(message.sender)?.name || "Someone";
      title.textContent = `${who} in ${this.conversationName(row.conversation)}`;
      const time = document.createElement("time");
      time.className = "search-result-time";
      time.dateTime = message.created_at;
      time.textContent = ` ${formatTime(message.created_at)}`;
      title.append(time);
      const snippet = document.createElement("span");
      snippet.className = "search-snippet";
      for (const part of snippetParts(row.snippet)) {
        if (part.mark) {
          const mark = document.createElement("mark");
          mark.textContent = part.text;
          snippet.append(mark);
        } else {
          snippet.append(document.createTextNode(part.text));
        }
      }
      button.append(title, snippet);
      return;
    }
    if (kind === "person") {
      title.textContent = row.name;
      detail.textContent = ` @${row.username}${row.title ? ` · ${row.title}` : ""}`;
    } else if (kind === "space") {
      title.textContent = row.name;
      detail.textContent = ` Space${row.is_private ? " · private" : ""} · ${(row.occupants || []).length} inside`;
    } else {
      title.textContent = this.office.messages.titleOf(row);
      detail.textContent = row.kind === "direct" ? " Direct message" : " Group";
    }
    button.append(title, detail);
  }

  conversationName(id) {
    const known = this.office.messages.conversations.get(id);
    if (known) return this.office.messages.titleOf(known);
    for (const space of this.office.floor.spaces.values()) if (space.conversation === id) return space.name;
    return "a conversation";
  }

  buttons() {
    return [...this.panel.querySelectorAll("button[data-index]")];
  }

  focusResult(index) {
    const buttons = this.buttons();
    if (!buttons.length) return;
    buttons[Math.max(0, Math.min(buttons.length - 1, index))].focus();
  }

  onPanelKey(event) {
    const buttons = this.buttons();
    const current = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      this.focusResult(current + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (current <= 0) this.input.focus();
      else this.focusResult(current - 1);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.hide({ focusInput: true });
    }
  }

  async choose(index) {
    const chosen = this.rows[index];
    if (!chosen) return;
    this.hide();
    try {
      if (chosen.kind === "message") await this.openMessage(chosen.row.message);
      else await goTo(this.office, { kind: chosen.kind, id: chosen.row.id });
    } catch (error) {
      this.office.toast(error.message || "That could not be opened.", { kind: "error" });
    }
  }

  /** Open the message's conversation and bring the message into view (loading earlier pages). */
  async openMessage(message) {
    const messages = this.office.messages;
    const id = message.conversation;
    let conversation = messages.conversations.get(id);
    if (!conversation) conversation = await get(`conversations/${id}/`);
    let panel;
    if (conversation.kind === "room" && conversation.space === this.office.me.current_space) {
      if (!messages.conversations.has(id)) messages.conversations.set(id, conversation);
      await messages.openById(id);
      panel = messages.panels.get(id);
    } else {
      panel = messages.open(conversation, { focus: false });
    }
    if (panel) await reveal(panel, message);
  }
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/** Scroll `panel` to `message`, loading older pages until it is there (or the history ends). */
async function reveal(panel, message) {
  const find = () => panel.el.querySelector(`.message[data-id="${Number(message.id)}"]`);
  const started = performance.now();
  while (!panel.destroyed && performance.now() - started < 10000) {
    const element = find();
    if (element) {
      element.scrollIntoView({ block: "center" });
      element.classList.add("is-found");
      setTimeout(() => element.classList.remove("is-found"), 2500);
      return;
    }
    const oldest = panel.store.oldestSeq(panel.id);
    if (panel.loaded && !panel.loadingOlder && (!panel.hasMore || (oldest !== undefined && oldest <= message.seq))) return;
    if (panel.loaded && !panel.loadingOlder) await panel.loadOlder();
    else await nextFrame();
  }
}
