// One panel's composer: the text box (Enter sends, Shift+Enter breaks the line), the reply bar,
// attachments, my typing indicator, and optimistic sends; its tools: @mention autocomplete
// (mentions.js), the emoji picker (emoji.js) and a short help on the Markdown it takes. A thread's
// pane has a composer too, whose messages reply into its thread (`replyTo` option).
//
// A message being sent is shown at once under its client_id ("Sending…") and replaced by the
// server's copy when the ack or the event arrives, whichever comes first (the panel calls
// `settle`). Text goes over the socket (`message.send`, resent after a reconnect: idempotent by
// client_id); with files it is a multipart POST. A failed send stays, with Retry and Discard.

import { api } from "./api.js";
import { acceptAttribute, checkFiles, refusedForGood } from "./attachments.js";
import { EmojiPicker } from "./emoji.js";
import { MentionAutocomplete } from "./mentions.js";
import { plainText } from "./message-list.js";
import { formatBytes, newClientId, snippet } from "./text.js";

const TYPING_IDLE_MS = 3000;
const TYPING_REPEAT_MS = 4000;

export class Composer {
  /** `replyTo`: the message id a send replies to when no reply is picked (a thread's root). */
  constructor(panel, { replyTo = null } = {}) {
    this.panel = panel;
    this.office = panel.office;
    this.parts = panel.parts;
    this.defaultReplyTo = replyTo;
    this.pending = new Map(); // client_id -> {message, files, state, error}
    this.replyTo = null;
    this.files = [];
    this.typingSince = 0;
    this.typingTimer = null;
    const p = this.parts;
    p.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.mentions = new MentionAutocomplete(p.input, {
      people: () => this.office.people.values(),
      participants: () => this.panel.conversation?.participants || [],
      me: this.office.me.id,
      anchor: p.composer,
    });
    if (p.emojiToggle) this.emoji = new EmojiPicker(p.emojiToggle, p.input, p.composer);
    if (p.formatToggle) this.setupFormatHelp(p.formatToggle, p.formatHelp);
    p.input.addEventListener("keydown", (event) => {
      if (this.mentions.onKeydown(event)) return; // the autocomplete's key (pick, move, close)
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
    // Files the server would refuse are refused here, before any upload, saying what is allowed.
    this.rules = this.office.data.attachments;
    if (this.rules) p.files.accept = acceptAttribute(this.rules);
    p.files.addEventListener("change", () => {
      const { accepted, refused } = checkFiles([...p.files.files], this.rules, { already: this.files.length });
      this.files.push(...accepted);
      p.files.value = "";
      this.renderFiles();
      this.showRefused(refused.map((refusal) => refusal.reason));
    });
    p.replyCancel.addEventListener("click", () => this.setReply(null));
  }

  destroy() {
    this.stopTyping();
    this.emoji?.close({ focusToggle: false });
    this.closeFormatHelp?.();
  }

  /** The "Aa" toggle shows what the text box takes (the server renders it: messaging/text.py). */
  setupFormatHelp(toggle, help) {
    const outside = (event) => {
      if (!help.contains(event.target) && !toggle.contains(event.target)) show(false);
    };
    const show = (open, { focusToggle = false } = {}) => {
      help.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) document.addEventListener("pointerdown", outside, true);
      else document.removeEventListener("pointerdown", outside, true);
      if (!open && focusToggle) toggle.focus();
    };
    this.closeFormatHelp = () => show(false);
    toggle.addEventListener("click", () => show(help.hidden));
    help.addEventListener("keydown", (event) => {
      if (event.key === "Escape") show(false, { focusToggle: true });
    });
    toggle.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !help.hidden) show(false);
    });
    this.parts.input.addEventListener("focus", () => show(false));
  }

  autosize() {
    const input = this.parts.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(160, input.scrollHeight)}px`;
  }

  // -- my typing indicator -------------------------------------------------------------------------

  onTyping() {
    const now = Date.now();
    const typing = this.parts.input.value.trim().length > 0;
    if (!typing) {
      this.stopTyping();
      return;
    }
    if (!this.typingSince || now - this.typingSince > TYPING_REPEAT_MS) {
      this.typingSince = now;
      this.office.socket.send("typing", { conversation: this.panel.id, state: "start" });
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (!this.typingSince) return;
    this.typingSince = 0;
    this.office.socket.send("typing", { conversation: this.panel.id, state: "stop" });
  }

  // -- reply and attachments -----------------------------------------------------------------------

  setReply(message) {
    this.replyTo = message;
    const p = this.parts;
    p.replyBar.hidden = !message;
    if (message) {
      p.replyName.textContent = this.office.people.get(message.sender)?.name || "Someone";
      p.replySnippet.textContent = snippet(plainText(message), 60);
      p.input.focus();
    }
  }

  showRefused(reasons) {
    const note = this.parts.attachError;
    note.textContent = reasons.join(" ");
    note.hidden = !reasons.length;
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
        this.parts.input.focus();
      });
      item.append(remove);
      bar.append(item);
    });
  }

  // -- sending -------------------------------------------------------------------------------------

  submit() {
    const input = this.parts.input;
    const body = input.value;
    if (!body.trim() && !this.files.length) return;
    const limit = this.office.data.message_max_length;
    if (limit && body.length > limit) {
      // Refused here, the text kept: the server would refuse it too (body_too_long).
      this.showRefused([
        `A message can hold at most ${limit.toLocaleString("en")} characters; this one has ${body.length.toLocaleString("en")}.`,
      ]);
      input.focus();
      return;
    }
    const clientId = newClientId();
    const message = {
      client_id: clientId,
      conversation: this.panel.id,
      kind: "user",
      sender: this.office.me.id,
      body,
      reply_to: this.replyTo ? this.replyTo.id : this.defaultReplyTo,
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
    this.showRefused([]);
    this.setReply(null);
    this.stopTyping();
    this.mentions.close();
    this.panel.list.render(message);
    this.panel.scrollToBottom();
    this.deliver(clientId);
  }

  deliver(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    entry.state = "pending";
    const { message, files } = entry;
    const id = this.panel.id;
    let sending;
    if (files.length) {
      const form = new FormData();
      form.append("body", message.body);
      form.append("client_id", clientId);
      if (message.reply_to) form.append("reply_to", message.reply_to);
      for (const file of files) form.append("attachments", file, file.name);
      sending = api("POST", `conversations/${id}/messages/`, form);
    } else {
      const fields = { conversation: id, body: message.body, client_id: clientId };
      if (message.reply_to) fields.reply_to = message.reply_to;
      sending = this.office.socket.request("message.send", fields);
    }
    sending.then(
      (saved) => this.panel.apply(saved),
      (error) => {
        const current = this.pending.get(clientId);
        if (!current) return; // the event arrived meanwhile: it was sent after all
        current.state = "failed";
        current.error = error;
        const reason = error?.message;
        // What would be refused again (a file's type or size, a text over the limit): no Retry, only Discard.
        const retryable = !refusedForGood(error);
        const element = this.panel.list.render(current.message, { pendingState: "failed", reason, retryable });
        element.title = error.message || "Not sent";
      },
    );
  }

  /** Retry a failed send: shown as sending again, then sent (the same client_id). */
  retry(clientId) {
    const entry = this.pending.get(clientId);
    if (!entry || refusedForGood(entry.error)) return;
    this.panel.list.render(entry.message);
    this.deliver(clientId);
  }

  discard(clientId) {
    this.pending.delete(clientId);
  }

  /** The server's copy of `message` arrived: true if it was one of mine still pending (now settled). */
  settle(message) {
    if (!(message.client_id && message.sender === this.office.me.id && this.pending.has(message.client_id))) return false;
    this.pending.delete(message.client_id);
    return true;
  }
}
