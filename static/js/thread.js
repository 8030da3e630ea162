// A thread in its own pane beside the open conversation: the root and its replies (GET
// messages/{id}/thread/), kept live from the conversation's events (messages.js hands each one
// over), with its own composer whose messages reply into the thread. The replies still show in the
// conversation as well. On a laptop the pane sits right of the chat; on a phone it takes the view.
//
// The pane keeps its own store: the conversation's panel applies the same events to the page's
// store, and each copy must still reach the pane once.

import { get } from "./api.js";
import { Composer } from "./composer.js";
import { MessageActions } from "./message-actions.js";
import { MessageList } from "./message-list.js";
import { MessageStore } from "./store.js";

export class ThreadPane {
  constructor(messages, conversation, rootId) {
    this.messages = messages;
    this.office = messages.office;
    this.conversation = conversation;
    this.id = conversation.id;
    this.threadRootId = rootId;
    this.store = new MessageStore();
    this.destroyed = false;
    const template = document.getElementById("thread-template");
    this.el = template.content.firstElementChild.cloneNode(true);
    this.el.dataset.conversation = this.id;
    this.el.dataset.root = rootId;
    const $ = (role) => this.el.querySelector(`[data-role="${role}"]`);
    this.parts = {
      title: $("title"), count: $("count"), close: $("close"), body: $("body"), scroller: $("scroller"),
      history: $("history"), list: $("list"), replyBar: $("reply-bar"), replyName: $("reply-name"),
      replySnippet: $("reply-snippet"), replyCancel: $("reply-cancel"), attachBar: $("attach-bar"),
      attachError: $("attach-error"), composer: $("composer"), input: $("input"), files: $("files"), send: $("send"),
      emojiToggle: $("emoji-toggle"), formatToggle: $("format-toggle"), formatHelp: $("format-help"),
    };
    this.parts.input.setAttribute("aria-label", "Reply in thread");
    this.parts.input.placeholder = "Reply in thread";
    this.parts.close.addEventListener("click", () => this.messages.closeThread({ focusConversation: true }));
    // Escape in the text box closes the thread, unless it closes something first (a reply being
    // picked, the autocomplete): seen in the capture phase, before the composer handles it.
    this.el.addEventListener(
      "keydown",
      (event) => {
        if (event.key !== "Escape" || event.target !== this.parts.input) return;
        if (this.composer.replyTo || this.composer.mentions.open) return;
        this.messages.closeThread({ focusConversation: true });
      },
      true,
    );
    this.list = new MessageList(this);
    this.composer = new Composer(this, { replyTo: rootId });
    this.actions = new MessageActions(this);
    this.refreshTitle();
  }

  refreshTitle() {
    const where = this.messages.titleOf(this.conversation);
    this.parts.title.textContent = `Thread in ${this.conversation.kind === "room" ? "#" : ""}${where}`;
    this.el.setAttribute("aria-label", `Thread in ${where}`);
  }

  /** The thread as the server has it now (on open, and again after a reconnect). */
  async load() {
    this.parts.history.textContent = "Loading the thread…";
    try {
      const thread = await get(`messages/${this.threadRootId}/thread/`);
      if (this.destroyed) return;
      // A reply is asked by its own id too: the server answers with its root's thread.
      this.threadRootId = thread.root.id;
      this.list.threadRootId = thread.root.id;
      this.composer.defaultReplyTo = thread.root.id;
      for (const message of [thread.root, ...thread.replies]) this.apply(message, { quiet: true });
      this.parts.history.textContent = "";
      this.refreshCount();
      this.scrollToBottom();
    } catch (error) {
      this.parts.history.textContent = `The thread could not be loaded: ${error.message}`;
    }
  }

  belongs(message) {
    return message.id === this.threadRootId || message.thread_root === this.threadRootId;
  }

  apply(message, { quiet = false } = {}) {
    if (this.destroyed || !message || message.id === undefined) return;
    if (this.composer.settle(message)) this.list.removePending(message.client_id);
    if (!this.belongs(message)) return;
    const applied = this.store.apply(this.id, message);
    if (!applied) return;
    if (message.deleted && message.id !== this.threadRootId) {
      // The thread lists the replies that are not deleted (as its endpoint does).
      this.list.elementOf(message.id)?.remove();
      this.list.elements.delete(`m${message.id}`);
      return;
    }
    const stick = this.nearBottom();
    this.list.render(applied.message);
    if (message.id === this.threadRootId) this.refreshCount();
    if (applied.created && !quiet && (stick || message.sender === this.office.me.id)) this.scrollToBottom();
  }

  applyReactions(messageId, reactions, rev) {
    if (this.destroyed) return;
    const message = this.store.applyReactions(this.id, messageId, reactions, rev);
    if (message) this.list.render(message);
  }

  refreshCount() {
    const root = this.store.get(this.id, this.threadRootId);
    const count = root ? root.reply_count || 0 : 0;
    this.parts.count.textContent = count === 1 ? "· 1 reply" : `· ${count} replies`;
  }

  nearBottom() {
    const s = this.parts.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToBottom() {
    const s = this.parts.scroller;
    s.scrollTop = s.scrollHeight;
  }

  destroy() {
    this.destroyed = true;
    this.composer.destroy();
    this.el.remove();
  }
}
