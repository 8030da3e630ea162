// What a click on a message in one panel's list does: open its thread, jump to the quoted message, reply, react
// (the quick picker or a reaction chip), edit in place, delete (click twice), and retry or discard
// a send that failed. Saved changes go back through the panel (`apply`), like every other copy.

import { del, patch, post } from "./api.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "👀", "🙏"];

export class MessageActions {
  constructor(panel) {
    this.panel = panel;
    this.office = panel.office;
    panel.parts.list.addEventListener("click", (event) => this.onListClick(event));
  }

  onListClick(event) {
    const panel = this.panel;
    const button = event.target.closest("[data-act]");
    const item = event.target.closest(".message");
    if (!item) return;
    if (!button) {
      const quote = event.target.closest("[data-reply-to]");
      if (quote) panel.list.elementOf(quote.dataset.replyTo)?.scrollIntoView({ block: "center", behavior: "smooth" });
      return;
    }
    const message = item.dataset.id ? panel.store.get(panel.id, Number(item.dataset.id)) : null;
    switch (button.dataset.act) {
      case "retry":
        panel.composer.retry(item.dataset.clientId);
        break;
      case "discard": {
        const clientId = item.dataset.clientId;
        panel.composer.discard(clientId);
        panel.list.removePending(clientId);
        item.remove();
        break;
      }
      case "reply":
        if (message) panel.composer.setReply(message);
        break;
      case "thread":
        // "N replies" under a root, or "Reply in thread" in the toolbar: the thread opens beside.
        if (message) this.office.messages.openThread(panel.id, message.thread_root || message.id, { focus: true });
        break;
      case "react":
        if (message) this.togglePicker(item, message);
        break;
      case "pick":
        if (message) this.react(message, button.dataset.emoji, true);
        item.querySelector(".reaction-picker")?.remove();
        break;
      case "toggle-reaction":
        if (message) this.react(message, button.dataset.emoji, button.getAttribute("aria-pressed") !== "true");
        break;
      case "edit":
        if (message) this.startEdit(item, message);
        break;
      case "delete":
        if (message) this.confirmDelete(button, message);
        break;
      default:
        break;
    }
  }

  togglePicker(item, message) {
    const open = item.querySelector(".reaction-picker");
    if (open) {
      open.remove();
      return;
    }
    const picker = document.createElement("div");
    picker.className = "reaction-picker";
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", "Pick a reaction");
    for (const emoji of QUICK_REACTIONS) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.act = "pick";
      button.dataset.emoji = emoji;
      button.textContent = emoji;
      button.setAttribute("aria-label", `React with ${emoji}`);
      picker.append(button);
    }
    item.querySelector(".message-main").append(picker);
    picker.querySelector("button").focus();
  }

  async react(message, emoji, add) {
    try {
      const saved = add
        ? await post(`messages/${message.id}/reactions/`, { emoji })
        : await del(`messages/${message.id}/reactions/${encodeURIComponent(emoji)}/`);
      if (saved) this.panel.apply(saved);
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
    }
  }

  startEdit(item, message) {
    const body = item.querySelector("[data-role=body]");
    if (item.querySelector(".edit-box")) return;
    const box = document.createElement("form");
    box.className = "edit-box";
    const field = document.createElement("textarea");
    field.value = message.body;
    field.setAttribute("aria-label", "Edit message");
    const save = document.createElement("button");
    save.type = "submit";
    save.className = "btn btn-primary btn-small";
    save.textContent = "Save";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-ghost btn-small";
    cancel.textContent = "Cancel";
    box.append(field, save, cancel);
    body.hidden = true;
    body.after(box);
    field.focus();
    const finish = () => {
      box.remove();
      body.hidden = false;
    };
    cancel.addEventListener("click", finish);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") finish();
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        box.requestSubmit();
      }
    });
    box.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (field.value === message.body) {
        finish();
        return;
      }
      try {
        const saved = await patch(`messages/${message.id}/`, { body: field.value });
        finish();
        this.panel.apply(saved);
      } catch (error) {
        this.office.toast(error.message, { kind: "error" });
      }
    });
  }

  confirmDelete(button, message) {
    if (button.dataset.confirm !== "1") {
      // The first click asks (the icon gains a "Delete?"), a second within 4 s deletes.
      button.dataset.confirm = "1";
      const ask = document.createElement("span");
      ask.className = "confirm-label";
      ask.textContent = "Delete?";
      button.append(ask);
      button.setAttribute("aria-label", "Delete? Press again to delete");
      button.classList.add("is-confirming");
      setTimeout(() => {
        if (button.isConnected) {
          button.dataset.confirm = "";
          ask.remove();
          button.setAttribute("aria-label", "Delete");
          button.classList.remove("is-confirming");
        }
      }, 4000);
      return;
    }
    del(`messages/${message.id}/`).catch((error) => this.office.toast(error.message, { kind: "error" }));
  }
}
