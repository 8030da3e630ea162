// The avatar menu: click (or Enter on) anyone's avatar; the server renders what you may do with them.
// Keyboard: arrows move, Home/End jump, Enter/Space activate, Escape or Tab close (focus returns).

import { post } from "./api.js";
import { paintAvatar } from "./floor.js";
import { statusLine } from "./interruptions.js";

export class AvatarMenu {
  constructor(office) {
    this.office = office;
    this.popover = document.getElementById("avatar-menu");
    this.opener = null;
    this.loading = 0;
    document.addEventListener("click", (event) => this.onDocumentClick(event));
    this.popover.addEventListener("keydown", (event) => this.onKey(event));
    this.popover.addEventListener("click", (event) => this.onItemClick(event));
    window.addEventListener("resize", () => this.close({ restoreFocus: false }));
    office.on("person.updated", (person) => {
      // What you may do with someone changes with their presence: re-render an open menu.
      if (!this.popover.hidden && Number(this.popover.dataset.user) === person.id) this.open(this.opener, person.id, { keepFocus: true });
    });
  }

  onDocumentClick(event) {
    const avatar = event.target.closest("button.avatar[data-user]");
    if (avatar) {
      event.preventDefault();
      event.stopPropagation();
      const userId = Number(avatar.dataset.user);
      if (!this.popover.hidden && Number(this.popover.dataset.user) === userId) this.close();
      else this.open(avatar, userId);
      return;
    }
    if (!this.popover.hidden && !this.popover.contains(event.target)) this.close({ restoreFocus: false });
  }

  async open(avatar, userId, { keepFocus = false } = {}) {
    const ticket = ++this.loading;
    let html;
    try {
      const response = await fetch(`/office/people/${userId}/menu/`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) throw new Error(`The menu could not be loaded (${response.status}).`);
      html = await response.text();
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
      return;
    }
    if (ticket !== this.loading) return; // a later click won
    const focusedAction = this.popover.contains(document.activeElement) ? document.activeElement.dataset.action : null;
    if (this.opener && this.opener !== avatar) this.opener.setAttribute("aria-expanded", "false");
    this.opener = avatar;
    // The partial is our own server-rendered, auto-escaped template.
    const parsed = new DOMParser().parseFromString(html, "text/html");
    this.popover.replaceChildren(...parsed.body.childNodes);
    this.popover.dataset.user = userId;
    // A small non-modal dialog about one person, named by them (and holding the menu of actions).
    const title = this.popover.querySelector(`#menu-title-${Number(userId)}`);
    if (title) this.popover.setAttribute("aria-labelledby", title.id);
    for (const element of this.popover.querySelectorAll(".avatar[data-colour]")) paintAvatar(element);
    this.showStatus(userId);
    this.popover.hidden = false;
    avatar?.setAttribute("aria-expanded", "true");
    this.position(avatar);
    const items = this.items();
    if (keepFocus && focusedAction) {
      // Re-rendered under the keyboard user: stay on the same item.
      const same = items.findIndex((item) => item.dataset.action === focusedAction);
      if (same >= 0) this.focusItem(same);
    } else if (items.length && !keepFocus) this.focusItem(Math.max(0, items.findIndex((item) => !this.isDisabled(item))));
    else if (!items.length) {
      this.popover.tabIndex = -1;
      this.popover.focus();
    }
  }

  /** The status as the page knows it live, with its reason and custom text ("Busy · in a call");
   * in my own menu, the way to set mine. */
  showStatus(userId) {
    const person = this.office.people.get(userId) || (userId === this.office.me.id ? this.office.me : null);
    const line = this.popover.querySelector(".menu-status");
    if (line && person) {
      line.textContent = statusLine(userId === this.office.me.id ? { ...person, ...this.office.me } : person);
      line.dataset.role = "status-line";
    }
    if (userId !== this.office.me.id || !this.office.status) return;
    const note = this.popover.querySelector(".menu-note");
    const list = document.createElement("ul");
    list.className = "menu-items";
    list.setAttribute("role", "menu");
    list.setAttribute("aria-labelledby", `menu-title-${Number(userId)}`);
    const item = document.createElement("li");
    item.setAttribute("role", "none");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "menu-item";
    button.setAttribute("role", "menuitem");
    button.tabIndex = -1;
    button.dataset.action = "status";
    button.dataset.user = String(userId);
    const label = document.createElement("span");
    label.className = "menu-label";
    label.textContent = "Set status…";
    button.append(label);
    item.append(button);
    list.append(item);
    if (note) note.replaceWith(list);
    else this.popover.querySelector(".menu-card")?.append(list);
  }

  position(avatar) {
    if (!avatar || !avatar.isConnected) return;
    const rect = avatar.getBoundingClientRect();
    const menu = this.popover.getBoundingClientRect();
    let left = rect.left + window.scrollX;
    let top = rect.bottom + window.scrollY + 6;
    if (left + menu.width > window.scrollX + document.documentElement.clientWidth - 8) {
      left = window.scrollX + document.documentElement.clientWidth - menu.width - 8;
    }
    if (top + menu.height > window.scrollY + window.innerHeight - 8) {
      // No room below: above the avatar, or else as low as the window allows (the page never grows).
      top = rect.top - menu.height - 6 > 0 ? rect.top + window.scrollY - menu.height - 6
        : window.scrollY + window.innerHeight - menu.height - 8;
    }
    this.popover.style.left = `${Math.max(8, left)}px`;
    this.popover.style.top = `${Math.max(8, top)}px`;
  }

  items() {
    return [...this.popover.querySelectorAll("[role=menuitem]")];
  }

  isDisabled(item) {
    return item.getAttribute("aria-disabled") === "true";
  }

  focusItem(index) {
    const items = this.items();
    if (!items.length) return;
    const target = items[(index + items.length) % items.length] || items[0];
    for (const item of items) item.tabIndex = item === target ? 0 : -1;
    target.focus();
  }

  onKey(event) {
    const items = this.items();
    const current = items.indexOf(document.activeElement);
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        this.focusItem(current + 1);
        break;
      case "ArrowUp":
        event.preventDefault();
        this.focusItem(current - 1);
        break;
      case "Home":
        event.preventDefault();
        this.focusItem(0);
        break;
      case "End":
        event.preventDefault();
        this.focusItem(items.length - 1);
        break;
      case "Escape":
        event.preventDefault();
        this.close();
        break;
      case "Tab":
        this.close();
        break;
      case "Enter":
      case " ":
        if (current >= 0) {
          event.preventDefault();
          this.activate(items[current]);
        }
        break;
      default:
        break;
    }
  }

  onItemClick(event) {
    const item = event.target.closest("[role=menuitem]");
    if (item) this.activate(item);
  }

  close({ restoreFocus = true } = {}) {
    if (this.popover.hidden) return;
    this.popover.hidden = true;
    this.popover.replaceChildren();
    delete this.popover.dataset.user;
    this.loading += 1;
    if (this.opener) {
      this.opener.setAttribute("aria-expanded", "false");
      if (restoreFocus && this.opener.isConnected) this.opener.focus();
    }
    this.opener = null;
  }

  async activate(item) {
    if (this.isDisabled(item)) {
      // Say why, for pointer users who did not hover long enough to see the tooltip.
      this.office.toast(item.getAttribute("title") || "Not available right now.", { kind: "info" });
      return;
    }
    const userId = Number(item.dataset.user);
    const action = item.dataset.action;
    if (action === "status") {
      const opener = this.opener;
      this.close({ restoreFocus: false });
      this.office.status?.open(opener);
      return;
    }
    this.close();
    const person = this.office.people.get(userId);
    const name = person ? person.name : "them";
    const invitations = this.office.invitations;
    try {
      if (action === "message") {
        const conversation = await post("conversations/direct/", { user: userId });
        this.office.messages.open(conversation, { focus: true });
      } else if (action === "voice" || action === "video") {
        if (invitations && typeof invitations.call === "function") await invitations.call(userId, action);
        else {
          await post("calls/", { callee: userId, kind: action });
          this.office.toast(`Calling ${name}…`, { kind: "info" });
        }
      } else if (action === "invite") {
        if (invitations && typeof invitations.teleport === "function") await invitations.teleport(userId);
        else {
          await post("teleports/", { invitee: userId });
          this.office.toast(`Invited ${name} to your space.`, { kind: "success" });
        }
      }
    } catch (error) {
      this.office.toast(error.message || "That did not work.", { kind: "error" });
    }
  }
}
