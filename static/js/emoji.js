// The composer's emoji picker: a small built-in set of common emoji in a grid of buttons. The
// toggle opens it with the focus on the first emoji; the arrow keys (and Home / End) move in the
// grid, Enter or Space inserts the emoji at the caret, Escape (or a click outside) closes it and
// gives the focus back to the toggle. `EMOJI` and `gridMove` need no DOM: node tests them.

export const EMOJI = [
  ["😀", "grinning"], ["😄", "smile"], ["😂", "joy"], ["🙂", "slight smile"], ["😉", "wink"], ["😍", "heart eyes"],
  ["🤔", "thinking"], ["😅", "sweat smile"], ["😎", "cool"], ["🥳", "party"], ["😴", "sleeping"], ["😢", "cry"],
  ["😮", "surprised"], ["🙃", "upside down"], ["🤝", "handshake"], ["👍", "thumbs up"], ["👎", "thumbs down"], ["👏", "clap"],
  ["🙌", "raised hands"], ["🙏", "thanks"], ["👋", "wave"], ["💪", "strong"], ["👀", "eyes"], ["✅", "done"],
  ["❌", "no"], ["❤️", "heart"], ["🔥", "fire"], ["🎉", "tada"], ["🚀", "rocket"], ["⭐", "star"],
  ["💡", "idea"], ["☕", "coffee"], ["🍕", "pizza"], ["📅", "calendar"], ["📌", "pin"], ["⚠️", "warning"],
].map(([char, name]) => ({ char, name }));

export const COLUMNS = 6;

/** The index the focus moves to from `index` on `key` in a grid of `count` items, `columns` wide. */
export function gridMove(index, key, count, columns = COLUMNS) {
  switch (key) {
    case "ArrowRight":
      return Math.min(count - 1, index + 1);
    case "ArrowLeft":
      return Math.max(0, index - 1);
    case "ArrowDown":
      return index + columns < count ? index + columns : index;
    case "ArrowUp":
      return index - columns >= 0 ? index - columns : index;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}

/** Insert `text` at the caret of `input` (replacing a selection) and say so with an `input` event. */
export function insertAtCaret(input, text) {
  const start = input.selectionStart ?? input.value.length;
  const end = input.selectionEnd ?? start;
  input.value = input.value.slice(0, start) + text + input.value.slice(end);
  const at = start + text.length;
  input.focus();
  input.setSelectionRange(at, at);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

let pickers = 0;

export class EmojiPicker {
  /** `toggle`: the button that opens it; `input`: where a pick goes; `anchor`: where the grid is put. */
  constructor(toggle, input, anchor) {
    this.toggle = toggle;
    this.input = input;
    pickers += 1;
    const grid = document.createElement("div");
    grid.id = `emoji-picker-${pickers}`;
    grid.className = "composer-popover emoji-picker";
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", "Emoji");
    grid.hidden = true;
    EMOJI.forEach(({ char, name }, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "emoji-option";
      button.textContent = char;
      button.title = name;
      button.setAttribute("aria-label", name);
      button.dataset.index = index;
      button.tabIndex = index === 0 ? 0 : -1; // one tab stop: the arrows move inside
      grid.append(button);
    });
    this.grid = grid;
    anchor.append(grid);
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", grid.id);
    toggle.addEventListener("click", () => (this.open ? this.close() : this.show()));
    grid.addEventListener("click", (event) => {
      const button = event.target.closest(".emoji-option");
      if (!button) return;
      this.close({ focusToggle: false });
      insertAtCaret(this.input, EMOJI[Number(button.dataset.index)].char);
    });
    grid.addEventListener("keydown", (event) => this.onKeydown(event));
    this.outside = (event) => {
      if (!grid.contains(event.target) && !toggle.contains(event.target)) this.close({ focusToggle: false });
    };
  }

  get open() {
    return !this.grid.hidden;
  }

  show() {
    this.grid.hidden = false;
    this.toggle.setAttribute("aria-expanded", "true");
    this.focusAt(0);
    document.addEventListener("pointerdown", this.outside, true);
  }

  close({ focusToggle = true } = {}) {
    if (this.grid.hidden) return;
    this.grid.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", this.outside, true);
    if (focusToggle) this.toggle.focus();
  }

  focusAt(index) {
    const buttons = [...this.grid.querySelectorAll(".emoji-option")];
    buttons.forEach((button, i) => {
      button.tabIndex = i === index ? 0 : -1;
    });
    buttons[index]?.focus();
  }

  onKeydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      this.close();
      return;
    }
    const current = Number(document.activeElement?.dataset?.index ?? 0);
    const next = gridMove(current, event.key, EMOJI.length);
    if (next === null) return;
    event.preventDefault();
    this.focusAt(next);
  }
}
