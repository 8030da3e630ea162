// Mentions in a composer: the "@…" the caret is in, who matches it (people of the conversation
// first, then the rest of the company, and @here), and the autocomplete that offers them: an ARIA
// combobox on the text box with a listbox of options (ArrowUp / ArrowDown move, Enter or Tab pick,
// Escape closes). The functions above the class need no DOM: node tests them.

export const HERE = "here";
const NAME_CHAR = /[\w.+-]/;
const GLUED = /[\w@.+\-/]/; // an "@" right after one of these is an address or a path, not a mention

/**
 * The mention being typed at `caret` in `text`: `{ start, query }` (`start` is the index of the "@",
 * `query` what follows it up to the caret), or null when the caret is not in one.
 */
export function mentionQueryAt(text, caret) {
  const value = String(text ?? "");
  let index = Math.min(caret ?? value.length, value.length);
  const end = index;
  while (index > 0 && NAME_CHAR.test(value[index - 1])) index -= 1;
  if (index === 0 || value[index - 1] !== "@") return null;
  const start = index - 1;
  if (start > 0 && GLUED.test(value[start - 1])) return null;
  const query = value.slice(index, end);
  if (query.length > 40) return null;
  return { start, query };
}

function matches(person, query) {
  if (!query) return 0;
  const q = query.toLowerCase();
  const username = String(person.username || "").toLowerCase();
  if (username.startsWith(q)) return 3;
  const words = String(person.name || "").toLowerCase().split(/\s+/).filter(Boolean);
  if (words.some((word) => word.startsWith(q))) return 2;
  return username.includes(q) ? 1 : -1;
}

/**
 * Who an "@query" offers, best first, at most `limit`: people of the conversation (`participants`,
 * ids) before the rest of the company, better matches first within each, then by name; never `me`.
 * With `here` (a conversation with participants), "@here" comes after the conversation's people.
 */
export function mentionOptions(people, query, { participants = [], me = null, limit = 8, here = true } = {}) {
  const inConversation = new Set(participants);
  const scored = [];
  for (const person of people) {
    if (!person || person.id === me || !person.username) continue;
    const score = matches(person, query);
    if (score < 0) continue;
    scored.push({ person, score, member: inConversation.has(person.id) });
  }
  scored.sort(
    (a, b) =>
      Number(b.member) - Number(a.member) ||
      b.score - a.score ||
      String(a.person.name || a.person.username).localeCompare(String(b.person.name || b.person.username)),
  );
  const options = scored.map(({ person, member }) => ({
    kind: "person",
    id: person.id,
    username: person.username,
    name: person.name || person.username,
    member,
  }));
  if (here && HERE.startsWith(String(query || "").toLowerCase())) {
    const members = options.filter((option) => option.member).length;
    options.splice(members, 0, { kind: "here", username: HERE, name: "Everyone online here", member: true });
  }
  return options.slice(0, limit);
}

/** `text` with the mention at `start`..`caret` replaced by "@username ", and where the caret goes. */
export function insertMention(text, start, caret, username) {
  const value = String(text ?? "");
  const after = value.slice(caret);
  const spaced = after.startsWith(" ");
  const inserted = `@${username}${spaced ? "" : " "}`;
  const next = value.slice(0, start) + inserted + after;
  // The caret goes past the space after the name either way.
  return { text: next, caret: start + inserted.length + (spaced ? 1 : 0) };
}

let listboxes = 0;

/** The autocomplete on one composer's text box. `people()` and `participants()` are read on each key. */
export class MentionAutocomplete {
  constructor(input, { people, participants, me, anchor }) {
    this.input = input;
    this.people = people;
    this.participants = participants;
    this.me = me;
    this.options = [];
    this.active = -1;
    this.query = null;
    listboxes += 1;
    const list = document.createElement("ul");
    list.id = `mention-list-${listboxes}`;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People to mention");
    list.hidden = true;
    this.list = list;
    (anchor || input.parentElement).append(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    // A pointer pick must not take the focus from the text box first.
    list.addEventListener("mousedown", (event) => event.preventDefault());
    list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-index]");
      if (item) this.pick(Number(item.dataset.index));
    });
  }

  get open() {
    return !this.list.hidden;
  }

  update() {
    const input = this.input;
    const found = input.selectionStart === input.selectionEnd ? mentionQueryAt(input.value, input.selectionStart) : null;
    if (!found) {
      this.close();
      return;
    }
    this.query = found;
    this.options = mentionOptions([...this.people()], found.query, {
      participants: this.participants(),
      me: this.me,
    });
    if (!this.options.length) {
      this.close();
      return;
    }
    this.active = 0;
    this.render();
  }

  render() {
    const items = this.options.map((option, index) => {
      const item = document.createElement("li");
      item.id = `${this.list.id}-${index}`;
      item.className = "mention-option";
      item.setAttribute("role", "option");
      item.dataset.index = index;
      item.setAttribute("aria-selected", String(index === this.active));
      const handle = document.createElement("strong");
      handle.textContent = `@${option.username}`;
      const name = document.createElement("span");
      name.className = "muted";
      name.textContent = option.kind === "here" ? ` ${option.name}` : ` ${option.name}${option.member ? "" : " · not in this conversation"}`;
      item.append(handle, name);
      return item;
    });
    this.list.replaceChildren(...items);
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
    items[this.active]?.scrollIntoView?.({ block: "nearest" });
  }

  close() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.options = [];
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  /** The composer asks first on each key: true when the key was the autocomplete's (do nothing else). */
  onKeydown(event) {
    if (!this.open || event.isComposing) return false;
    const count = this.options.length;
    switch (event.key) {
      case "ArrowDown":
        this.active = (this.active + 1) % count;
        break;
      case "ArrowUp":
        this.active = (this.active - 1 + count) % count;
        break;
      case "Enter":
      case "Tab":
        if (event.shiftKey) return false;
        this.pick(this.active);
        break;
      case "Escape":
        this.close();
        break;
      default:
        return false;
    }
    event.preventDefault();
    if (this.open) this.render();
    return true;
  }

  pick(index) {
    const option = this.options[index];
    const query = this.query;
    if (!option || !query) return;
    const input = this.input;
    const caret = query.start + 1 + query.query.length;
    const { text, caret: at } = insertMention(input.value, query.start, caret, option.username);
    input.value = text;
    input.setSelectionRange(at, at);
    this.close();
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
