// Knocking on a space I may not simply enter (private to me, full, holding a meeting): the floor asks
// here when entering was refused (or before walking into a meeting), and the toast offers "Knock"
// with an optional note. The people inside get a toast with the note and Admit / Deny (buttons, so
// the keyboard reaches them: Tab, or Alt+Shift+T as for calls); under dnd the policy holds it and
// the knock waits in their inbox. The knocker hears the outcome: let in, turned down, or unanswered.

import { post } from "./api.js";
import { secondsLeft } from "./invite-toasts.js";
import { interruptingToast } from "./toasts.js";

/** 409 codes of `spaces/{id}/enter/` after which knocking may help (someone inside may open). */
export const KNOCKABLE = new Set(["space_private", "space_full", "space_closed"]);

/** Whether to offer a knock after entering `space` was refused with `error` (`occupants`: how many inside). */
export function knockHelps(error, occupants) {
  return Boolean(error) && error.status === 409 && KNOCKABLE.has(error.code) && occupants > 0;
}

/** What the knocker is told when their knock is over. */
export function outcomeText(how, spaceName) {
  return {
    admitted: `You were let into ${spaceName}.`,
    denied: `Nobody let you into ${spaceName} this time.`,
    expired: `No one answered your knock on ${spaceName}.`,
  }[how];
}

export class Knocks {
  constructor(office) {
    this.office = office;
    this.toasts = new Map(); // knock id -> toast handle (mine waiting, or one asking me to answer)
    this.mine = new Set(); // knocks made from this tab
  }

  start() {
    const socket = this.office.socket;
    socket.on("space.knock", (data) => this.onKnock(data));
    for (const how of ["admitted", "denied", "expired"]) socket.on(`knock.${how}`, (data) => this.onOver(data, how));
    return this;
  }

  spaceName(id, fallback = "") {
    return this.office.floor?.spaces.get(id)?.name || fallback || "the space";
  }

  occupants(spaceId) {
    let count = 0;
    for (const person of this.office.people.values()) if (person.current_space === spaceId) count += 1;
    return count;
  }

  /** Before walking in: a space holding a meeting offers a knock first. True when it took over. */
  intercept(space) {
    if (!space || !space.meeting || this.occupants(space.id) === 0) return false;
    this.office.toast(`A meeting is running in ${space.name}: “${space.meeting.title}”.`, {
      title: space.name,
      timeout: 15000,
      actions: [
        { label: "Knock…", primary: true, onClick: () => this.ask(space) },
        { label: "Walk in", onClick: () => this.office.floor.enter(space.id, { anyway: true }) },
      ],
    });
    return true;
  }

  /** Entering was refused: the refusal's toast, with "Knock…" when someone inside could open. */
  offer(space, error) {
    if (!space || !knockHelps(error, this.occupants(space.id))) return false;
    this.office.toast(error.message, {
      kind: "error",
      title: `Can't enter ${space.name}`,
      timeout: 15000,
      actions: [{ label: "Knock…", primary: true, onClick: () => this.ask(space) }],
    });
    return true;
  }

  /** The knock form: an optional note, then Knock or Cancel. */
  ask(space) {
    let input = null;
    const handle = this.office.toast(`Knock on ${space.name}? The people inside decide whether to let you in.`, {
      kind: "invite",
      title: "Knock",
      timeout: 0,
      actions: [
        { label: "Knock", primary: true, onClick: () => this.knock(space, input.value) },
        { label: "Cancel" },
      ],
    });
    const label = document.createElement("label");
    label.className = "knock-note";
    label.textContent = "Note (optional)";
    input = document.createElement("input");
    input.type = "text";
    input.maxLength = 200;
    input.name = "note";
    input.autocomplete = "off";
    input.placeholder = "e.g. Quick question about the release";
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        handle.element.querySelector(".toast-actions .btn-primary")?.click();
      }
    });
    label.append(input);
    handle.element.dataset.knockForm = String(space.id);
    handle.element.querySelector(".toast-actions").before(label);
    input.focus();
    return handle;
  }

  async knock(space, note) {
    let knock;
    try {
      knock = await post(`spaces/${space.id}/knock/`, { note: (note || "").trim() });
    } catch (error) {
      this.office.toast(error.message, { kind: "error", title: `Can't knock on ${space.name}` });
      return null;
    }
    this.mine.add(knock.id);
    const handle = this.office.toast(`You knocked on ${space.name}; waiting for someone inside.`, {
      kind: "invite",
      title: "Knocking",
      countdown: secondsLeft(knock),
    });
    handle.element.dataset.knock = String(knock.id);
    this.toasts.set(knock.id, handle);
    return knock;
  }

  /** Someone knocks on the space I am in: Admit / Deny, as the interruption policy allows. */
  onKnock(data) {
    if (this.toasts.has(data.knock) || data.user === this.office.me.id) return;
    const who = this.office.people.get(data.user)?.name || "Someone";
    const space = this.spaceName(data.space, data.space_name);
    const text = data.note ? `${who} knocks on ${space}: “${data.note}”` : `${who} knocks on ${space}.`;
    const handle = interruptingToast(
      "knock",
      this.office.me,
      text,
      {
        kind: "invite",
        title: "Knock",
        timeout: 0,
        countdown: secondsLeft(data),
        actions: [
          { label: "Admit", primary: true, onClick: () => this.answer(data.knock, "admit") },
          { label: "Deny", onClick: () => this.answer(data.knock, "deny") },
        ],
      },
      { show: this.office.toast },
    );
    if (!handle) return; // held (dnd): it waits in the inbox
    handle.element.dataset.knock = String(data.knock);
    handle.element.classList.add("knock-incoming");
    this.toasts.set(data.knock, handle);
  }

  async answer(knockId, verb) {
    this.toasts.delete(knockId);
    try {
      await post(`knocks/${knockId}/${verb}/`);
    } catch (error) {
      this.office.toast(error.message, { kind: "error" });
    }
  }

  onOver(knock, how) {
    const handle = this.toasts.get(knock.id);
    this.toasts.delete(knock.id);
    handle?.close();
    if (knock.user !== this.office.me.id) return;
    this.mine.delete(knock.id);
    const space = this.spaceName(knock.space, knock.space_name);
    this.office.toast(outcomeText(how, space), { kind: how === "admitted" ? "success" : "info", title: "Knock" });
  }
}

export function setupKnocks(office) {
  return new Knocks(office).start();
}
