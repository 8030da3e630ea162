// One panel's read marker: while the panel is visible, what it shows is read. The highest seq shown
// is posted a moment later (several messages, one request), and at once when the panel collapses,
// closes or the page goes away, so a later load agrees with what was seen.

import { api } from "./api.js";

const READ_DELAY_MS = 150;

export class ReadMarker {
  constructor(panel) {
    this.panel = panel;
    this.sent = panel.conversation.last_read_seq || 0;
    this.pending = 0;
    this.timer = null;
  }

  markRead() {
    const panel = this.panel;
    if (!panel.visible || !panel.loaded) return;
    const top = panel.store.newestSeq(panel.id);
    panel.messages.setUnread(panel.id, 0);
    if (top <= this.sent) return;
    this.pending = Math.max(this.pending || 0, top);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), READ_DELAY_MS);
  }

  /** Send the read marker now (collapsing, closing, leaving the page): a later load must agree. */
  flush() {
    clearTimeout(this.timer);
    const seq = this.pending || 0;
    this.pending = 0;
    if (seq <= this.sent) return;
    this.sent = seq;
    api("POST", `conversations/${this.panel.id}/read/`, { seq }, { keepalive: true }).catch(() => {});
  }

  destroy() {
    this.flush();
    clearTimeout(this.timer);
  }
}
