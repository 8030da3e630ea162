// Teleport invitations in this tab: "come to my space" sent from the avatar menu (a toast waits for
// the answer), received (a toast to go there or decline), and the notice when one is answered or
// expires. Going there is the server's doing: accepting moves my presence.

import { post } from "./api.js";
import { secondsLeft } from "./invite-toasts.js";
import { interruptingToast } from "./toasts.js";

export class Teleports {
  constructor({ socket, me, toast, toasts }) {
    this.socket = socket;
    this.me = me;
    this.toast = toast;
    this.toasts = toasts; // InviteToasts, shared with calls
    this.sent = new Set(); // teleports sent from this tab
  }

  start() {
    const on = (type, fn) => this.socket.on(type, (data) => fn.call(this, data));
    on("teleport.invited", this.onTeleportInvited);
    on("teleport.accepted", (t) => this.onTeleportOver(t, "accepted"));
    on("teleport.declined", (t) => this.onTeleportOver(t, "declined"));
    on("teleport.expired", (t) => this.onTeleportOver(t, "expired"));
    return this;
  }

  /** The recent teleports, fetched after a (re)connect: what arrived or was answered meanwhile. */
  reconcile(teleports) {
    for (const teleport of teleports) {
      if (teleport.state === "pending" && teleport.invitee.id === this.me.id) {
        if (!this.toasts.has(`teleport:${teleport.id}`)) this.onTeleportInvited({ ...teleport, receivedLate: true });
      } else if (teleport.state !== "pending") {
        this.toasts.close(`teleport:${teleport.id}`);
      }
    }
  }

  /** Invite someone into my space (from the avatar menu). Rejects with the server's sentence when refused. */
  async teleport(userId, spaceId = null) {
    const body = spaceId === null ? { invitee: userId } : { invitee: userId, space: spaceId };
    const teleport = await post("teleports/", body);
    this.sent.add(teleport.id);
    const handle = this.toast(`Invited ${teleport.invitee.name} to ${teleport.space.name}; waiting for an answer.`, {
      kind: "invite",
      countdown: secondsLeft(teleport),
    });
    handle.element.dataset.teleport = String(teleport.id);
    this.toasts.set(`teleport:${teleport.id}`, handle);
    return teleport;
  }

  onTeleportInvited(teleport) {
    if (teleport.invitee.id !== this.me.id || this.toasts.has(`teleport:${teleport.id}`)) return;
    // The interruption policy: busy shows it without emphasis; dnd holds it (the server refuses
    // teleports to dnd people, so this is a status that changed while it was on its way).
    const handle = interruptingToast(
      "teleport",
      this.me,
      `${teleport.inviter.name} invites you to ${teleport.space.name}.`,
      {
        kind: "invite",
        title: "Teleport",
        timeout: 0,
        countdown: secondsLeft(teleport),
        actions: [
          { label: "Go there", primary: true, onClick: () => this.toasts.act(`teleports/${teleport.id}/accept/`) },
          { label: "Decline", onClick: () => this.toasts.act(`teleports/${teleport.id}/decline/`) },
        ],
      },
      { show: this.toast },
    );
    if (!handle) return;
    handle.element.dataset.teleport = String(teleport.id);
    handle.element.classList.add("teleport-incoming");
    this.toasts.set(`teleport:${teleport.id}`, handle);
  }

  onTeleportOver(teleport, how) {
    const wasShowing = this.toasts.has(`teleport:${teleport.id}`);
    this.toasts.close(`teleport:${teleport.id}`);
    const sentHere = this.sent.delete(teleport.id);
    const iAmInviter = teleport.inviter.id === this.me.id;
    if (iAmInviter && sentHere) {
      const verbs = { accepted: "is on the way to", declined: "declined your invitation to", expired: "did not answer your invitation to" };
      this.toast(`${teleport.invitee.name} ${verbs[how]} ${teleport.space.name}.`, { kind: how === "accepted" ? "success" : "info" });
    } else if (!iAmInviter && wasShowing && how === "accepted") {
      this.toast(`You are now in ${teleport.space.name}.`, { kind: "success" });
    }
  }
}
