// My status: the dialog opened from my own avatar menu (status, text, emoji, when it ends, quiet
// hours with a time zone), the `activity` action sent on input (at most once a minute: being idle
// is decided by the server), and the summary of what do-not-disturb held back once it ends.
//
// `setupStatus(office)` needs office.socket, office.me, office.people, office.floor and office.on.

import { ApiError, api, get, put } from "./api.js";
import { createThrottle, statusLine } from "./interruptions.js";
import { holds, toast } from "./toasts.js";

const STATUSES = [
  ["online", "Online", "No status of my own: automatic ones (in a call, idle, quiet hours) show."],
  ["away", "Away", ""],
  ["busy", "Busy", "Calls still ring, quietly."],
  ["dnd", "Do not disturb", "Nothing rings or pops up; it waits as notifications."],
];
const EMOJIS = ["📅", "🍕", "🎧", "🏠", "🤒", "🌴", "🚗", "☕"];
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]; // 0 = Monday, as the server counts
const UNTIL = [
  ["keep", "Keep as it is"],
  ["never", "Don't clear"],
  ["30m", "30 minutes"],
  ["1h", "1 hour"],
  ["4h", "4 hours"],
  ["today", "Today"],
];
// Kinds of stored notifications, as the summary names what was held back.
const HELD_AS = { mention: "mention", direct: "message", thread_reply: "message", knock: "knock", call_missed: "call", teleport_missed: "teleport" };

/** When a "clear after" choice ends, from `now`: null for never, undefined to keep what is set. */
export function untilFor(choice, now = new Date()) {
  if (choice === "keep") return undefined;
  if (choice === "never") return null;
  const minutes = { "30m": 30, "1h": 60, "4h": 240 }[choice];
  if (minutes) return new Date(now.getTime() + minutes * 60000).toISOString();
  if (choice === "today") {
    const end = new Date(now);
    end.setHours(23, 59, 0, 0);
    return end.toISOString();
  }
  return undefined;
}

export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (error) {
    return "UTC";
  }
}

function timeZones() {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch (error) {
    zones = [];
  }
  const mine = browserTimeZone();
  return [...new Set([mine, "UTC", ...zones])].sort((a, b) => (a === mine ? -1 : b === mine ? 1 : a.localeCompare(b)));
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || ["for", "role", "name", "type"].includes(key)) {
      node.setAttribute(key, value);
    } else node[key] = value;
  }
  node.append(...children);
  return node;
}

class StatusDialog {
  constructor(office) {
    this.office = office;
    this.opener = null;
    this.build();
  }

  build() {
    const statusOptions = STATUSES.map(([value, label, hint]) =>
      el("label", { className: "status-choice" }, [
        el("input", { type: "radio", name: "status", value, id: `status-choice-${value}` }),
        el("span", { className: `presence-dot status-${value}`, "aria-hidden": "true" }),
        el("span", { className: "status-choice-text" }, [
          el("span", { text: label }),
          ...(hint ? [el("span", { className: "muted status-hint", text: hint })] : []),
        ]),
      ]),
    );
    this.emoji = el("input", { id: "status-emoji", name: "status_emoji", maxLength: 32, className: "status-emoji-input", placeholder: "🙂", autocomplete: "off" });
    const picks = EMOJIS.map((emoji) =>
      el("button", { type: "button", className: "emoji-pick", text: emoji, "aria-label": `Use ${emoji}`, onclick: () => { this.emoji.value = emoji; } }),
    );
    this.text = el("input", { id: "status-text", name: "status_text", maxLength: 100, placeholder: "What are you up to?", autocomplete: "off" });
    this.until = el("select", { id: "status-until", name: "status_until" }, UNTIL.map(([value, label]) => el("option", { value, text: label })));
    this.quietOn = el("input", { type: "checkbox", id: "quiet-on", name: "quiet_on" });
    this.days = DAYS.map((day, index) => el("input", { type: "checkbox", name: "quiet_days", value: String(index), id: `quiet-day-${index}` }));
    this.start = el("input", { type: "time", id: "quiet-start", name: "quiet_start", value: "18:00" });
    this.end = el("input", { type: "time", id: "quiet-end", name: "quiet_end", value: "09:00" });
    this.zone = el("select", { id: "quiet-timezone", name: "quiet_timezone" }, timeZones().map((zone) => el("option", { value: zone, text: zone })));
    this.error = el("p", { className: "status-error", role: "alert", hidden: true });
    this.current = el("p", { className: "muted status-current", id: "status-current" });
    this.form = el("form", { className: "status-form", id: "status-form", method: "dialog" }, [
      el("h2", { id: "status-dialog-title", text: "Your status" }),
      this.current,
      el("fieldset", { className: "status-choices" }, [el("legend", { text: "Status" }), ...statusOptions]),
      el("div", { className: "status-custom" }, [
        el("label", { for: "status-emoji", text: "Emoji" }),
        el("div", { className: "emoji-row" }, [this.emoji, ...picks]),
        el("label", { for: "status-text", text: "Status text" }),
        this.text,
        el("label", { for: "status-until", text: "Clear after" }),
        this.until,
      ]),
      el("fieldset", { className: "quiet-hours" }, [
        el("legend", { text: "Quiet hours" }),
        el("label", { className: "check" }, [this.quietOn, document.createTextNode(" Do not disturb me during these hours")]),
        el("div", { className: "quiet-days", role: "group", "aria-label": "Days" }, this.days.map((box, index) =>
          el("label", { className: "check" }, [box, document.createTextNode(` ${DAYS[index]}`)]))),
        el("div", { className: "quiet-times" }, [
          el("label", { for: "quiet-start", text: "From" }), this.start,
          el("label", { for: "quiet-end", text: "to" }), this.end,
        ]),
        el("label", { for: "quiet-timezone", text: "Time zone" }),
        this.zone,
      ]),
      this.error,
      el("div", { className: "form-actions" }, [
        el("button", { type: "submit", className: "btn btn-primary", id: "status-save", text: "Save" }),
        el("button", { type: "button", className: "btn btn-ghost", id: "status-clear", text: "Clear status", onclick: () => this.clear() }),
        el("button", { type: "button", className: "btn btn-ghost", id: "status-cancel", text: "Cancel", onclick: () => this.close() }),
      ]),
    ]);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.dialog = el("dialog", { id: "status-dialog", className: "status-dialog", "aria-labelledby": "status-dialog-title" }, [this.form]);
    this.dialog.addEventListener("close", () => this.restoreFocus());
    document.body.append(this.dialog);
  }

  async open(opener = null) {
    this.opener = opener || document.activeElement;
    const me = this.office.me;
    const chosen = me.status_reason === "manual" ? me.status : "online";
    for (const radio of this.form.querySelectorAll("input[name=status]")) radio.checked = radio.value === chosen;
    this.text.value = me.status_text || "";
    this.emoji.value = me.status_emoji || "";
    this.until.value = me.status_until && me.status_reason !== "schedule" ? "keep" : "never";
    this.current.textContent = `Now: ${statusLine(me)}`;
    this.showError("");
    this.dialog.showModal();
    this.form.querySelector("input[name=status]:checked")?.focus();
    try {
      this.fillSchedule(await get("presence/schedule/"));
    } catch (error) {
      this.showError("Your quiet hours could not be loaded.");
    }
  }

  fillSchedule(schedule) {
    const on = Boolean(schedule && schedule.days && schedule.days.length);
    this.hadSchedule = on;
    this.quietOn.checked = on;
    const days = on ? schedule.days : [0, 1, 2, 3, 4];
    for (const box of this.days) box.checked = days.includes(Number(box.value));
    if (on) {
      this.start.value = schedule.start;
      this.end.value = schedule.end;
      if (![...this.zone.options].some((option) => option.value === schedule.timezone)) {
        this.zone.prepend(el("option", { value: schedule.timezone, text: schedule.timezone }));
      }
      this.zone.value = schedule.timezone;
    } else {
      this.zone.value = browserTimeZone();
    }
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  restoreFocus() {
    const target = this.opener && this.opener.isConnected ? this.opener : document.getElementById("main");
    target?.focus({ preventScroll: true });
  }

  applyMine(presence) {
    this.office.floor?.applyPresence({ ...presence, user: this.office.me.id });
  }

  async save() {
    const status = this.form.querySelector("input[name=status]:checked")?.value || "online";
    const body = { status, status_text: this.text.value.trim(), status_emoji: this.emoji.value.trim() };
    const until = untilFor(this.until.value);
    if (until !== undefined) body.status_until = until;
    try {
      this.applyMine(await put("presence/", body));
      if (this.quietOn.checked) {
        const days = this.days.filter((box) => box.checked).map((box) => Number(box.value));
        await put("presence/schedule/", { timezone: this.zone.value, days, start: this.start.value, end: this.end.value });
      } else if (this.hadSchedule) {
        await api("DELETE", "presence/schedule/");
      }
    } catch (error) {
      this.showError(error instanceof ApiError ? error.message : "Your status could not be saved.");
      return;
    }
    this.close();
    toast("Status saved.", { kind: "success", timeout: 2500 });
  }

  async clear() {
    try {
      this.applyMine(await put("presence/", { status: "online", status_text: "", status_emoji: "", status_until: null }));
    } catch (error) {
      this.showError(error.message || "Your status could not be cleared.");
      return;
    }
    this.close();
  }
}

/** The page tells the server someone is there: on input, at most once a minute (any other action
 * of any tab counts too, on the server). */
function sendActivity(socket) {
  const send = createThrottle(() => socket.send("activity"), { intervalMs: 60000 });
  for (const type of ["keydown", "pointerdown", "wheel", "touchstart"]) {
    document.addEventListener(type, send, { capture: true, passive: true });
  }
  return send;
}

/** What dnd held back: stored notifications that arrived meanwhile, and toasts it kept back. */
function summariseHolds(office) {
  holds.observe(office.me);
  office.socket.on("notification.created", (notification) => {
    if (holds.holding) holds.hold(HELD_AS[notification && notification.kind] || "notification");
  });
  office.on("person.updated", (person) => {
    if (person.id !== office.me.id) return;
    const summary = holds.observe(office.me);
    if (summary) toast(summary, { title: "Do not disturb ended", timeout: 15000, kind: "info" });
  });
}

export function setupStatus(office) {
  const dialog = new StatusDialog(office);
  dialog.holds = holds; // what dnd holds back right now (read by the browser tests)
  sendActivity(office.socket);
  summariseHolds(office);
  return dialog;
}
