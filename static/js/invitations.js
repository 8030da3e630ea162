// Calls and teleport invitations in the office page, the module the page loads when it is present:
// wires calls (static/js/calls.js) and teleports (static/js/teleports.js), which share the ringing
// toasts (static/js/invite-toasts.js), and catches up with both after every (re)connect.
//
// `setupInvitations(office)` needs `office.socket` (`on(type, fn)`, `request(action, fields)`) and
// `office.me`; it returns the controller the avatar menu calls (`call(userId, kind)`, `teleport(userId)`).

import { get } from "./api.js";
import { Calls } from "./calls.js";
import { InviteToasts } from "./invite-toasts.js";
import { Teleports } from "./teleports.js";
import { toast as defaultToast } from "./toasts.js";

const RECENT = 10; // how many calls / teleports to look at when (re)connecting

class Invitations {
  constructor(office) {
    const toast = office.toast || defaultToast;
    const shared = { socket: office.socket, me: office.me, toast, toasts: new InviteToasts(toast) };
    this.socket = office.socket;
    this.toasts = shared.toasts;
    this.calls = new Calls({ ...shared, iceServers: (office.data && office.data.ice_servers) || [] });
    this.teleports = new Teleports(shared);
  }

  start() {
    this.calls.start();
    this.teleports.start();
    // Invitations that rang while this tab was loading or disconnected.
    this.socket.on("hello", () => this.reconcile());
    this.reconcile();
    return this;
  }

  async reconcile() {
    let calls = [];
    let teleports = [];
    try {
      [calls, teleports] = await Promise.all([get(`calls/?limit=${RECENT}`), get("teleports/")]);
    } catch (error) {
      return; // the next (re)connect tries again; live events keep working meanwhile
    }
    this.calls.reconcile(calls);
    this.teleports.reconcile(teleports.slice(0, RECENT));
  }

  /** Ring someone (from the avatar menu). Rejects with the server's sentence when refused. */
  call(userId, kind = "voice") {
    return this.calls.call(userId, kind);
  }

  /** Invite someone into my space (from the avatar menu). Rejects with the server's sentence when refused. */
  teleport(userId, spaceId = null) {
    return this.teleports.teleport(userId, spaceId);
  }

  /** The answered call this tab is in (null when none). */
  get session() {
    return this.calls.session;
  }

  get lastEnded() {
    return this.calls.lastEnded;
  }
}

export function setupInvitations(office) {
  return new Invitations(office).start();
}
