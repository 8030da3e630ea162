// The page's twin of presence/policy.py: how a ring, toast, desktop notification, knock or teleport
// may interrupt me, from my presence as the server sends it (me/, users/, presence.updated).
// "ring": as usual; "quiet": no sound, no pop-up emphasis (busy); "hold": no pop-up at all, it waits
// as a notification (dnd). Also the words for a status' reason, and what dnd held back. No DOM here.

export const KINDS = ["call", "teleport", "knock", "mention", "message"];

/** "ring", "quiet" or "hold" for `kind` under `presence` ({status, status_reason, ...}). */
export function interruptionFor(kind, presence) {
  if (!KINDS.includes(kind)) throw new Error(`unknown interruption kind ${kind}`);
  const status = presence && presence.status;
  if (status === "dnd") return "hold";
  if (status === "busy") return "quiet";
  return "ring";
}

function clock(iso, timeZone) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat("en-GB", options).format(date);
}

const REASONS = { in_call: "in a call", in_meeting: "in a meeting", idle: "idle" };
export const STATUS_LABELS = { online: "Online", away: "Away", busy: "Busy", dnd: "Do not disturb", offline: "Offline" };

/** Why someone has their status, in words: "in a call", "quiet hours until 09:00", "until 14:30" (a
 * manual status that ends by itself); "" for plain online and offline. `timeZone` is for tests (the
 * page shows the browser's). */
export function reasonText(presence, { timeZone } = {}) {
  if (!presence) return "";
  const reason = presence.status_reason;
  if (reason === "schedule") {
    return presence.status_until ? `quiet hours until ${clock(presence.status_until, timeZone)}` : "quiet hours";
  }
  if (REASONS[reason]) return REASONS[reason];
  if (reason === "manual" && presence.status_until) return `until ${clock(presence.status_until, timeZone)}`;
  return "";
}

/** The custom part: "🍕 Lunch" (emoji and text), or "". */
export function customText(presence) {
  if (!presence) return "";
  return [presence.status_emoji, presence.status_text].filter(Boolean).join(" ");
}

/** The whole line shown under a name: "Busy · in a call · 🍕 Lunch", "Do not disturb · quiet hours until 09:00". */
export function statusLine(presence, options = {}) {
  if (!presence) return STATUS_LABELS.offline;
  const status = presence.status || "offline";
  return [STATUS_LABELS[status] || status, reasonText(presence, options), customText(presence)].filter(Boolean).join(" · ");
}

/** The status fields a presence carries (users/, me/, presence.updated), to copy from one to another. */
export const STATUS_FIELDS = ["status", "status_reason", "status_text", "status_emoji", "status_until"];

/** Send at most once per `intervalMs` (the page's `activity` action on input: once a minute). */
export function createThrottle(send, { intervalMs = 60000, now = () => Date.now() } = {}) {
  let last = -Infinity;
  return () => {
    const at = now();
    if (at - last < intervalMs) return false;
    last = at;
    send();
    return true;
  };
}

/** What dnd held back: count what arrived while my status was dnd, and say it once it ends.
 * `observe(presence)` returns the summary sentence when my status leaves dnd (else null). */
export function createHoldTracker() {
  let inDnd = false;
  let held = {};
  return {
    get holding() {
      return inDnd;
    },
    /** What is held so far: {kind: count}. */
    get held() {
      return { ...held };
    },
    hold(kind) {
      if (!inDnd) return false;
      held[kind] = (held[kind] || 0) + 1;
      return true;
    },
    observe(presence) {
      const now = Boolean(presence && presence.status === "dnd");
      const was = inDnd;
      inDnd = now;
      if (now && !was) held = {};
      if (!was || now) return null;
      const summary = holdSummary(held);
      held = {};
      return summary;
    },
  };
}

const NOUNS = {
  call: ["call", "calls"],
  teleport: ["invitation", "invitations"],
  knock: ["knock", "knocks"],
  mention: ["mention", "mentions"],
  message: ["message", "messages"],
  notification: ["notification", "notifications"],
};

/** "While you were in do not disturb: 2 calls, 1 mention." or null when nothing was held. */
export function holdSummary(held) {
  const parts = Object.entries(held || {})
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => {
      const [one, many] = NOUNS[kind] || [kind, `${kind}s`];
      return `${count} ${count === 1 ? one : many}`;
    });
  return parts.length ? `While you were in do not disturb: ${parts.join(", ")}.` : null;
}
