// The quick switcher (Ctrl/Cmd+K): a dialog over the people, spaces and conversations the page
// already holds (no request while typing). Type to filter, ArrowUp/ArrowDown to move, Enter to go
// (a conversation opens, a space is shown on the floor or its room opens when you are in it, a
// person's direct conversation opens), Escape to close; focus returns where it was.
//
// `rankItems` and `matchScore` are the filtering and ranking, without the DOM (tests/js/switcher.test.mjs).

import { post } from "./api.js";

const KIND_ORDER = { conversation: 0, person: 1, space: 2 };
const LIMIT = 12;

function fold(text) {
  return String(text ?? "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/**
 * How well `query` names `label` (higher is better; 0: not at all). The whole label starting with
 * the query beats a word of it starting with it, which beats the query found inside a word, which
 * beats its letters in order ("jsm" for "Jane Smith").
 */
export function matchScore(label, query) {
  const text = fold(label).trim();
  const wanted = fold(query).trim().replace(/\s+/g, " ");
  if (!wanted) return 1;
  if (!text) return 0;
  if (text === wanted) return 1000;
  if (text.startsWith(wanted)) return 800 - Math.min(text.length, 200) / 1000;
  const words = text.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (words.some((word) => word.startsWith(wanted))) return 600;
  // Several words, each starting a word of the label ("ja sm").
  const parts = wanted.split(" ");
  if (parts.length > 1 && parts.every((part) => words.some((word) => word.startsWith(part)))) return 500;
  if (text.includes(wanted)) return 400;
  // The letters in order, closer together scoring higher.
  let at = -1;
  let gaps = 0;
  for (const char of wanted.replace(/ /g, "")) {
    const next = text.indexOf(char, at + 1);
    if (next < 0) return 0;
    if (at >= 0) gaps += next - at - 1;
    at = next;
  }
  return Math.max(1, 200 - gaps);
}

/**
 * The items that match `query`, best first: by score, then conversations before people before
 * spaces, then the most recent activity, then the label. Each item: `{kind, id, label, detail?,
 * keywords?: [more names it answers to], recency?: a number, larger is more recent}`.
 */
export function rankItems(items, query, { limit = LIMIT } = {}) {
  const scored = [];
  for (const item of items) {
    let score = matchScore(item.label, query);
    for (const keyword of item.keywords || []) score = Math.max(score, matchScore(keyword, query) - 50);
    if (score > 0) scored.push({ item, score });
  }
  scored.sort((a, b) => b.score - a.score
    || (KIND_ORDER[a.item.kind] ?? 9) - (KIND_ORDER[b.item.kind] ?? 9)
    || (b.item.recency || 0) - (a.item.recency || 0)
    || String(a.item.label).localeCompare(String(b.item.label)));
  return scored.slice(0, limit).map(({ item }) => item);
}

/** The index after moving `delta` from `index` in a list of `length` (wrapping; -1 when empty). */
export function moveIndex(index, delta, length) {
  if (length <= 0) return -1;
  if (index < 0) return delta > 0 ? 0 : length - 1;
  return (index + delta + length) % length;
}

/** What the switcher lists, from what the page holds: `office` as static/js/office.js builds it. */
export function collectItems(office) {
  const me = office.me.id;
  const items = [];
  const messages = office.messages;
  for (const conversation of messages.conversations.values()) {
    if (!(conversation.participants || []).includes(me) || conversation.kind === "room") continue;
    items.push({
      kind: "conversation",
      id: conversation.id,
      label: messages.titleOf(conversation),
      detail: conversation.kind === "direct" ? "Direct message" : "Group",
      recency: Date.parse(conversation.last_activity_at || "") || 0,
    });
  }
  for (const space of office.floor.spaces.values()) {
    items.push({
      kind: "space",
      id: space.id,
      label: space.name,
      detail: space.id === office.me.current_space ? "Space · you are here" : `Space${space.is_private ? " · private" : ""}`,
    });
  }
  for (const person of office.people.values()) {
    if (person.id === me) continue;
    items.push({
      kind: "person",
      id: person.id,
      label: person.name,
      keywords: [person.username, person.display_name].filter(Boolean),
      detail: person.title || `@${person.username}`,
    });
  }
  return items;
}

const ICONS = { conversation: "⋮", person: "@", space: "#" };

export class QuickSwitcher {
  constructor(office) {
    this.office = office;
    this.dialog = document.getElementById("switcher");
    this.input = document.getElementById("switcher-input");
    this.list = document.getElementById("switcher-list");
    this.empty = document.getElementById("switcher-empty");
    this.items = [];
    this.active = -1;
    this.returnTo = null;
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        if (this.dialog.open) this.close();
        else this.open();
      }
    });
    document.getElementById("switcher-open")?.addEventListener("click", () => this.open());
    this.input.addEventListener("input", () => this.render());
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.choose(Number(option.dataset.index));
    });
    // Escape (the dialog's own cancel) and a click on the backdrop close it.
    this.dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.close();
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close();
    });
  }

  open() {
    if (this.dialog.open) return;
    this.returnTo = document.activeElement;
    this.office.menu?.close({ restoreFocus: false });
    this.input.value = "";
    this.dialog.showModal();
    this.render();
    this.input.focus();
  }

  close({ restoreFocus = true } = {}) {
    if (!this.dialog.open) return;
    this.dialog.close();
    if (restoreFocus && this.returnTo && this.returnTo.isConnected) this.returnTo.focus();
    this.returnTo = null;
  }

  render() {
    this.items = rankItems(collectItems(this.office), this.input.value);
    this.active = this.items.length ? 0 : -1;
    const nodes = this.items.map((item, index) => {
      const option = document.createElement("li");
      option.id = `switcher-option-${index}`;
      option.setAttribute("role", "option");
      option.className = `switcher-option switcher-${item.kind}`;
      option.dataset.index = index;
      const icon = document.createElement("span");
      icon.className = "switcher-icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = ICONS[item.kind] || "";
      const label = document.createElement("span");
      label.className = "switcher-label";
      label.textContent = item.label;
      const detail = document.createElement("span");
      detail.className = "switcher-detail";
      detail.textContent = item.detail ? ` ${item.detail}` : "";
      option.append(icon, label, detail);
      return option;
    });
    this.list.replaceChildren(...nodes);
    this.empty.hidden = this.items.length > 0;
    this.paintActive();
  }

  paintActive() {
    for (const option of this.list.children) {
      const selected = Number(option.dataset.index) === this.active;
      option.setAttribute("aria-selected", String(selected));
      option.classList.toggle("is-active", selected);
      if (selected) option.scrollIntoView({ block: "nearest" });
    }
    if (this.active >= 0) this.input.setAttribute("aria-activedescendant", `switcher-option-${this.active}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      this.active = moveIndex(this.active, event.key === "ArrowDown" ? 1 : -1, this.items.length);
      this.paintActive();
    } else if (event.key === "Home" && event.ctrlKey) {
      this.active = this.items.length ? 0 : -1;
      this.paintActive();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (this.active >= 0) this.choose(this.active);
    } else if (event.key === "Tab") {
      event.preventDefault(); // a modal dialog with one field: focus stays in it
    }
  }

  async choose(index) {
    const item = this.items[index];
    if (!item) return;
    this.close({ restoreFocus: false });
    try {
      await goTo(this.office, item);
    } catch (error) {
      this.office.toast(error.message || "That could not be opened.", { kind: "error" });
    }
  }
}

/**
 * Go to what a switcher or search result names: open a conversation; show a space (its room when
 * you are in it, otherwise the space on the floor, where Enter walks in); open a person's direct
 * conversation.
 */
export async function goTo(office, item) {
  if (item.kind === "conversation") {
    await office.messages.openById(item.id);
  } else if (item.kind === "person") {
    const conversation = await post("conversations/direct/", { user: item.id });
    office.messages.open(conversation, { focus: true });
  } else if (item.kind === "space") {
    const space = office.floor.spaces.get(item.id);
    if (space && space.conversation && office.me.current_space === item.id) {
      await office.messages.openById(space.conversation);
      return;
    }
    office.layout?.setView("floor");
    const element = office.floor.markFound(item.id, 2000);
    if (element) {
      element.scrollIntoView({ block: "nearest", inline: "nearest" });
      element.querySelector(".space-enter")?.focus({ preventScroll: true });
    }
  }
}
