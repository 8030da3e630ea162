// Toasts: short notices at the corner, with optional actions and a countdown (calls, invitations).
//
// Focus: a toast never takes it (it is announced: role status, or alert for errors). Someone who
// moves into one (Tab) can press Escape to dismiss it, and when a toast holding the focus closes
// (answered, dismissed, expired) the focus goes back to where it came from, not to the page's top.
// Alt+Shift+T moves the focus to the newest toast that asks something (a ringing call, an
// invitation): its first button. Those toasts say so to screen readers.

//
// Interruptions: `interruptingToast(kind, presence, ...)` asks the interruption policy
// (static/js/interruptions.js, the twin of presence/policy.py) first. "hold" (dnd) shows nothing and
// counts it in `holds`, which sums up what was held once dnd ends; "quiet" (busy) shows a toast
// without emphasis (`quiet: true`: no sound, no alert role); "ring" shows it as usual.

import { createHoldTracker, interruptionFor } from "./interruptions.js";

export const FOCUS_TOASTS_KEY = "Alt+Shift+T";

/** What dnd held back in this tab (static/js/status.js shows the summary when dnd ends). */
export const holds = createHoldTracker();

document.addEventListener("keydown", (event) => {
  if (!(event.altKey && event.shiftKey && (event.key === "T" || event.code === "KeyT"))) return;
  const asking = [...document.querySelectorAll("#toasts .toast:not(.toast-leaving) .toast-actions button")];
  if (!asking.length) return;
  event.preventDefault();
  asking[asking.length - 1].closest(".toast").querySelector(".toast-actions button").focus();
});

/** Focus `element` if it is still on the page, else the main content. */
export function restoreFocus(element) {
  const target = element && element.isConnected && element !== document.body ? element : document.getElementById("main");
  target?.focus({ preventScroll: true });
}

let container = null;

function root() {
  if (!container) container = document.getElementById("toasts");
  return container;
}

/**
 * Show a toast. Options: kind (info | success | error | invite), timeout ms (0: stays), actions
 * [{label, primary, onClick}], countdown seconds (shown live; closes and calls onExpire at 0).
 * Returns {element, close(), update(text)}.
 */
export function toast(
  message,
  { kind = "info", timeout = 5000, actions = [], countdown = 0, onExpire = null, title = "", quiet = false } = {},
) {
  const element = document.createElement("div");
  element.className = `toast toast-${kind}${quiet ? " toast-quiet" : ""}`;
  element.dataset.interruption = quiet ? "quiet" : "ring";
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  if (title) {
    const heading = document.createElement("strong");
    heading.className = "toast-title";
    heading.textContent = title;
    element.append(heading);
  }
  const text = document.createElement("p");
  text.className = "toast-text";
  text.append(document.createTextNode(message));
  element.append(text);
  let timer = null;
  let ticker = null;
  let cameFrom = null; // what had the focus before it moved into this toast
  element.addEventListener("focusin", (event) => {
    if (!element.contains(event.relatedTarget)) cameFrom = event.relatedTarget;
  });
  element.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      handle.close();
    }
  });
  const handle = {
    element,
    closed: false,
    close() {
      if (handle.closed) return;
      handle.closed = true;
      clearTimeout(timer);
      clearInterval(ticker);
      if (element.contains(document.activeElement)) restoreFocus(cameFrom);
      element.classList.add("toast-leaving");
      setTimeout(() => element.remove(), 180);
    },
    update(value) {
      text.firstChild.textContent = value; // the hint (if any) stays after it
    },
  };
  if (countdown > 0) {
    const clock = document.createElement("span");
    clock.className = "toast-countdown";
    const ends = Date.now() + countdown * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
      clock.textContent = `${left}s`;
      if (left <= 0) {
        handle.close();
        if (onExpire) onExpire();
      }
    };
    tick();
    ticker = setInterval(tick, 250);
    element.append(clock);
  }
  if (actions.length) {
    const hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = ` Press ${FOCUS_TOASTS_KEY} to answer.`;
    text.append(hint);
    const row = document.createElement("div");
    row.className = "toast-actions";
    for (const action of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `btn ${action.primary ? "btn-primary" : "btn-ghost"}`;
      button.textContent = action.label;
      button.addEventListener("click", () => {
        if (action.onClick) action.onClick(handle);
        if (action.keepOpen !== true) handle.close();
      });
      row.append(button);
    }
    element.append(row);
  }
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "toast-dismiss";
  dismiss.setAttribute("aria-label", "Dismiss");
  dismiss.textContent = "✕";
  dismiss.addEventListener("click", () => handle.close());
  element.append(dismiss);
  root()?.append(element);
  if (timeout > 0 && countdown <= 0) timer = setTimeout(() => handle.close(), timeout);
  return handle;
}

/**
 * A toast for something that interrupts (kind: call, teleport, knock, mention, message), as the
 * policy allows under `presence` (mine): null when held (dnd), else the toast's handle, with
 * `handle.interruption` "quiet" or "ring". `decision` overrides the policy when the server already
 * decided (a call.invited with `quiet: true`).
 */
export function interruptingToast(kind, presence, message, options = {}, { show = toast, decision = null } = {}) {
  const answer = decision || interruptionFor(kind, presence);
  if (answer === "hold") {
    holds.hold(kind);
    return null;
  }
  const handle = show(message, { ...options, quiet: answer === "quiet" });
  handle.interruption = answer;
  if (answer === "quiet") handle.element.classList.add("toast-quiet");
  handle.element.dataset.interruption = answer;
  return handle;
}
