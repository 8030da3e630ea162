// Says new messages to screen readers, politely (a visually hidden aria-live region, #announcer):
// a person who cannot see the panels hears "Bob Baker in Lounge: lunch?" as others type, without
// losing their place. Messages arriving together (a burst, or the catch-up after a reconnect) are
// said once per conversation ("3 new messages in Lounge"), not read out one after another.

const GATHER_MS = 600;

export class Announcer {
  constructor(region = document.getElementById("announcer")) {
    this.region = region;
    this.waiting = new Map(); // where -> [text]
    this.timer = null;
  }

  /**
   * Queue `text` about a new message of conversation `key`; `many(n)` says n of them at once
   * ("3 new messages in Lounge").
   */
  message(key, text, many) {
    if (!this.region) return;
    if (!this.waiting.has(key)) this.waiting.set(key, { texts: [], many });
    this.waiting.get(key).texts.push(text);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), GATHER_MS);
  }

  flush() {
    const lines = [...this.waiting.values()].map(({ texts, many }) => (texts.length === 1 ? texts[0] : many(texts.length)));
    this.waiting.clear();
    if (lines.length) this.say(lines.join(". "));
  }

  say(text) {
    // Emptied first, so the same sentence twice is said twice.
    this.region.textContent = "";
    requestAnimationFrame(() => {
      this.region.textContent = text;
    });
  }
}
