// The toasts of calls and teleport invitations that ring or wait for an answer: at most one per
// invitation (keyed "call:ID" / "teleport:ID"), counting down the server's ring length, with the
// answer (accept, decline, cancel, hang up) posted to the REST API.

import { post } from "./api.js";

/** Seconds left to ring, from the server's times: immune to a skewed client clock. */
export function secondsLeft(invitation) {
  const ring = (Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)) / 1000;
  const sinceCreated = invitation.receivedLate ? (Date.now() - Date.parse(invitation.created_at)) / 1000 : 0;
  return Math.max(1, Math.round(ring - sinceCreated));
}

export class InviteToasts {
  constructor(toast) {
    this.toast = toast;
    this.handles = new Map(); // "call:ID" / "teleport:ID" -> toast handle
  }

  has(key) {
    return this.handles.has(key);
  }

  set(key, handle) {
    this.handles.set(key, handle);
  }

  close(key) {
    const handle = this.handles.get(key);
    if (handle) handle.close();
    this.handles.delete(key);
  }

  /** POST an answer; a refusal shows the server's sentence and resolves null. */
  async act(path) {
    try {
      return await post(path);
    } catch (error) {
      this.toast(error.message, { kind: "error" });
      return null;
    }
  }
}
