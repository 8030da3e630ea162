// static/js/inbox.js and static/js/knocks.js under node: the inbox's state (unread count, repeats,
// read marks, mentions per conversation), what a notification says, when it may pop up (never under
// dnd; desktop only while hidden and allowed; a toast only for mentions and replies, not for the
// conversation in front of me), and when a refused entry offers a knock.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importStatic } from "./load.mjs";

// toasts.js listens for its keyboard shortcut when it loads: a document that takes listeners is enough.
globalThis.document ??= { addEventListener() {}, getElementById: () => null };

const { InboxState, notificationText, popUp, INTERRUPTION_KIND } = await importStatic("inbox.js");
const { knockHelps, outcomeText } = await importStatic("knocks.js");

const note = (id, fields = {}) => ({
  id, kind: "direct", actor: 2, conversation: 7, message: 100 + id, space: null, call: null,
  created_at: "2026-12-03T10:00:00Z", read: false, excerpt: "", ...fields,
});

describe("inbox state", () => {
  test("the server's count, then live ones counted once", () => {
    const state = new InboxState();
    state.load([note(1), note(2, { read: true })], 4);
    assert.equal(state.unread, 4);
    assert.equal(state.add(note(3)), true);
    assert.equal(state.add(note(3)), false, "a repeat (resume) counts once");
    assert.equal(state.unread, 5);
    assert.deepEqual(state.items().map((n) => n.id), [3, 2, 1], "newest first");
  });

  test("a live one that came while the count was being read is not lost under the older count", () => {
    const state = new InboxState();
    assert.equal(state.add(note(1)), true); // live, while the page's first reads are on their way
    assert.equal(state.add(note(2)), true);
    state.load([note(1)], 1); // the server counted and listed before the second was made
    assert.equal(state.unread, 2);
    const again = new InboxState();
    again.add(note(2));
    again.load([note(2), note(1)], 2); // both read after it: counted once
    assert.equal(again.unread, 2);
  });

  test("marking read", () => {
    const state = new InboxState();
    state.load([note(1), note(2), note(3, { conversation: 9 })], 3);
    assert.deepEqual(state.markRead([1, 1, 42]), [1]);
    assert.equal(state.unread, 2);
    assert.deepEqual(state.unreadIn(7), [2]);
    state.markAllRead();
    assert.equal(state.unread, 0);
    assert.deepEqual(state.unreadIn(9), []);
  });

  test("a mark made while the lists were on their way stands (read is for good)", () => {
    const state = new InboxState();
    state.add(note(1));
    state.add(note(2));
    const readsAtStart = state.reads; // the page asks for its lists here
    state.markAllRead(); // "Mark all read" before they answer
    state.load([note(1), note(2)], 2, readsAtStart); // the lists and count from before the mark
    assert.equal(state.unread, 0, "a count taken before the mark is not believed");
    assert.deepEqual(state.items().filter((n) => !n.read), [], "rows read here stay read");
    state.load([note(3)], 1, state.reads); // a later load counts again
    assert.equal(state.unread, 1);
  });

  test("unread mentions per conversation, for the side bar's order", () => {
    const state = new InboxState();
    state.load([note(1, { kind: "mention" }), note(2, { kind: "mention" }), note(3, { kind: "mention", conversation: 9, read: true }), note(4)], 3);
    assert.deepEqual([...state.unreadMentions()], [[7, 2]]);
    state.markRead([1, 2]);
    assert.equal(state.unreadMentions().size, 0);
  });
});

describe("what a notification says", () => {
  const names = {
    person: (id) => ({ 2: "Bob Baker" })[id] || "",
    space: (id) => ({ 5: "Vault" })[id] || "",
    conversation: (id) => ({ 7: "Launch crew" })[id] || "",
  };
  test("each kind", () => {
    assert.deepEqual(notificationText(note(1, { kind: "mention" }), names), { title: "Bob Baker mentioned you", where: "in Launch crew" });
    assert.equal(notificationText(note(1, { kind: "thread_reply" }), names).title, "Bob Baker replied in your thread");
    assert.equal(notificationText(note(1), names).title, "Bob Baker sent you a message");
    assert.equal(notificationText(note(1, { kind: "call_missed", conversation: null }), names).title, "Missed call from Bob Baker");
    assert.equal(notificationText(note(1, { kind: "knock", space: 5, conversation: null }), names).title, "Bob Baker knocked on Vault");
    assert.equal(notificationText(note(1, { kind: "teleport_missed", space: 5 }), names).title, "Bob Baker invited you to Vault");
    assert.equal(notificationText(note(1, { actor: null }), names).title, "Someone sent you a message");
  });
});

describe("popping up", () => {
  const online = { status: "online" };
  test("nothing at all under dnd, whatever the kind", () => {
    for (const kind of Object.keys(INTERRUPTION_KIND)) {
      for (const hidden of [true, false]) {
        const answer = popUp({ kind, presence: { status: "dnd" }, hidden, permission: "granted" });
        assert.deepEqual([answer.toast, answer.desktop, answer.interruption], [false, false, "hold"], kind);
      }
    }
  });
  test("desktop notifications only while the tab is hidden and once allowed", () => {
    assert.equal(popUp({ kind: "mention", presence: online, hidden: true, permission: "granted" }).desktop, true);
    assert.equal(popUp({ kind: "direct", presence: online, hidden: true, permission: "granted" }).desktop, true);
    assert.equal(popUp({ kind: "mention", presence: online, hidden: false, permission: "granted" }).desktop, false);
    assert.equal(popUp({ kind: "mention", presence: online, hidden: true, permission: "default" }).desktop, false);
    assert.equal(popUp({ kind: "mention", presence: online, hidden: true, permission: "denied" }).desktop, false);
  });
  test("a toast for mentions and replies in the visible tab, not for the open conversation", () => {
    assert.equal(popUp({ kind: "mention", presence: online, hidden: false, conversation: 7, openConversation: 8 }).toast, true);
    assert.equal(popUp({ kind: "thread_reply", presence: online, hidden: false, conversation: 7 }).toast, true);
    assert.equal(popUp({ kind: "mention", presence: online, hidden: false, conversation: 7, openConversation: 7 }).toast, false);
    assert.equal(popUp({ kind: "direct", presence: online, hidden: false, conversation: 7 }).toast, false);
    assert.equal(popUp({ kind: "mention", presence: online, hidden: true, conversation: 7 }).toast, false);
    const busy = popUp({ kind: "mention", presence: { status: "busy" }, hidden: false, conversation: 7 });
    assert.deepEqual([busy.toast, busy.interruption], [true, "quiet"]);
  });
});

describe("knocks", () => {
  const refused = (code, status = 409) => ({ status, code });
  test("a refusal someone inside could lift offers a knock", () => {
    assert.equal(knockHelps(refused("space_private"), 1), true);
    assert.equal(knockHelps(refused("space_full"), 3), true);
    assert.equal(knockHelps(refused("space_private"), 0), false, "nobody inside to open");
    assert.equal(knockHelps(refused("not_found", 404), 2), false);
    assert.equal(knockHelps(refused("network", 0), 2), false);
  });
  test("the knocker hears the outcome", () => {
    assert.equal(outcomeText("admitted", "Vault"), "You were let into Vault.");
    assert.equal(outcomeText("denied", "Vault"), "Nobody let you into Vault this time.");
    assert.equal(outcomeText("expired", "Vault"), "No one answered your knock on Vault.");
  });
});
