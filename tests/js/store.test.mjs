// static/js/store.js under node: messages by conversation and id at their rev, the floor per
// conversation, what a resume carries, and resync / resumed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importStatic } from "./load.mjs";

const { AHEAD, DUPLICATE, GAP, IN_ORDER, MessageStore } = await importStatic("store.js");

const message = (id, rev, fields = {}) => ({ id, conversation: 7, seq: id, rev, kind: "user", sender: 1, body: `m${id}`, ...fields });

describe("messages", () => {
  test("the same message twice (REST page, event, ack) is kept once", () => {
    const store = new MessageStore();
    const first = store.apply(7, message(1, 3));
    assert.deepEqual(first, { message: message(1, 3), created: true });
    assert.equal(store.apply(7, message(1, 3)), null);
    assert.equal(store.apply(7, { ...message(1, 3) }), null, "a copy of the same rev");
    store.apply(7, message(2, 4));
    assert.equal(store.count(7), 2);
    assert.deepEqual(store.messages(7).map((m) => m.id), [1, 2]);
  });

  test("ids are kept per conversation", () => {
    const store = new MessageStore();
    store.apply(7, message(1, 3));
    const other = store.apply(9, message(1, 1, { conversation: 9, body: "elsewhere" }));
    assert.equal(other.created, true);
    assert.equal(store.get(7, 1).body, "m1");
    assert.equal(store.get(9, 1).body, "elsewhere");
    assert.equal(store.count(7), 1);
    assert.equal(store.count(9), 1);
    assert.equal(store.count(8), 0);
    assert.deepEqual(store.messages(8), []);
  });

  test("an older or equal rev never overwrites what is held", () => {
    const store = new MessageStore();
    store.apply(7, message(1, 5, { body: "edited" }));
    assert.equal(store.apply(7, message(1, 4, { body: "original" })), null);
    assert.equal(store.apply(7, message(1, 5, { body: "same rev, other body" })), null);
    assert.equal(store.get(7, 1).body, "edited");
  });

  test("a newer rev is applied: an edit merges into the message held", () => {
    const store = new MessageStore();
    store.apply(7, message(1, 3, { reactions: [{ emoji: "👍", count: 1 }] }));
    const edited = store.apply(7, { id: 1, rev: 6, body: "edited", edited_at: "2024-01-01T00:01:00Z" });
    assert.equal(edited.created, false);
    assert.equal(edited.message.body, "edited");
    assert.equal(edited.message.edited_at, "2024-01-01T00:01:00Z");
    assert.deepEqual(edited.message.reactions, [{ emoji: "👍", count: 1 }], "fields the update left out stay");
    assert.equal(edited.message.seq, 1);
    assert.equal(store.get(7, 1), edited.message);
    assert.equal(store.get(7, 1).rev, 6);
  });

  test("a newer rev is applied: a delete marks the message deleted, and an older copy does not bring it back", () => {
    const store = new MessageStore();
    store.apply(7, message(1, 3));
    const deleted = store.apply(7, message(1, 8, { deleted: true, body: "" }));
    assert.equal(deleted.created, false);
    assert.equal(store.get(7, 1).deleted, true);
    assert.equal(store.apply(7, message(1, 3)), null, "a late replay of the original");
    assert.equal(store.get(7, 1).deleted, true);
    assert.equal(store.count(7), 1);
  });

  test("nothing without an id (a pending message) is kept", () => {
    const store = new MessageStore();
    assert.equal(store.apply(7, { client_id: "c1", body: "hi" }), null);
    assert.equal(store.apply(7, null), null);
    assert.equal(store.count(7), 0);
  });

  test("reactions: applied when newer than the message, ignored when older or equal", () => {
    const store = new MessageStore();
    store.apply(7, message(1, 5));
    assert.equal(store.applyReactions(7, 1, [{ emoji: "🎉", count: 1 }], 5), null);
    assert.equal(store.applyReactions(7, 1, [{ emoji: "🎉", count: 1 }], 4), null);
    assert.equal(store.get(7, 1).reactions, undefined);
    const changed = store.applyReactions(7, 1, [{ emoji: "🎉", count: 2 }], 6);
    assert.deepEqual(changed.reactions, [{ emoji: "🎉", count: 2 }]);
    assert.equal(changed.rev, 6);
    assert.equal(store.apply(7, message(1, 6)), null, "the message at the reaction's rev is as new");
    assert.equal(store.applyReactions(7, 99, [], 9), null, "a message not held");
  });

  test("seqs: where the next older page starts and how far a read marker goes", () => {
    const store = new MessageStore();
    assert.equal(store.oldestSeq(7), undefined);
    assert.equal(store.newestSeq(7), 0);
    store.apply(7, message(12, 1, { seq: 12 }));
    store.apply(7, message(10, 2, { seq: 10 }));
    store.apply(7, message(15, 3, { seq: 15 }));
    assert.equal(store.oldestSeq(7), 10);
    assert.equal(store.newestSeq(7), 15);
  });

  test("drop forgets a conversation's messages, not its floor", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.apply(7, message(1, 3));
    store.drop(7);
    assert.equal(store.count(7), 0);
    assert.equal(store.lastRev(7), 4);
    assert.equal(store.apply(7, message(1, 3)).created, true, "a panel opened again shows it again");
  });
});

describe("the rev reached per conversation", () => {
  test("in-order events raise the floor; duplicates are told apart", () => {
    const store = new MessageStore();
    store.track(7, 3);
    assert.equal(store.receive(7, 4), IN_ORDER);
    assert.equal(store.receive(7, 5), IN_ORDER);
    assert.equal(store.lastRev(7), 5);
    assert.equal(store.receive(7, 5), DUPLICATE);
    assert.equal(store.receive(7, 2), DUPLICATE);
    assert.equal(store.lastRev(7), 5);
  });

  test("each conversation has its own floor; the first event heard of sets it", () => {
    const store = new MessageStore();
    store.track(7, 3);
    assert.equal(store.receive("9", "20"), IN_ORDER);
    assert.equal(store.receive(7, 4), IN_ORDER);
    assert.equal(store.lastRev(7), 4);
    assert.equal(store.lastRev(9), 20);
    assert.equal(store.lastRev("9"), 20);
    assert.deepEqual(store.known().sort(), [7, 9]);
  });

  test("a gap: the event is applied ahead, the floor stays until the missing rev comes", () => {
    const store = new MessageStore();
    store.track(7, 4);
    assert.equal(store.receive(7, 6), GAP);
    assert.equal(store.lastRev(7), 4);
    assert.equal(store.receive(7, 6), DUPLICATE, "applied ahead already");
    assert.equal(store.receive(7, 5), IN_ORDER);
    assert.equal(store.lastRev(7), 6, "5 joined the run with 6");
  });

  test("track sets the floor of a new conversation only: a later REST rev must not skip events", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.track(7, 9);
    assert.equal(store.lastRev(7), 4);
    store.track(8, undefined);
    assert.equal(store.lastRev(8), 0);
  });

  test("advance only raises a floor, and takes in what was applied ahead of it", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.receive(7, 8);
    store.receive(7, 9);
    store.advance(7, 3);
    assert.equal(store.lastRev(7), 4);
    store.advance(7, 7);
    assert.equal(store.lastRev(7), 9);
    assert.equal(store.receive(7, 9), DUPLICATE);
    assert.equal(store.receive(7, 10), IN_ORDER);
  });

  test("forget drops a conversation's floor (no longer resumed)", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.track(9, 1);
    store.forget(7);
    assert.equal(store.lastRev(7), undefined);
    assert.deepEqual(store.resync(), { 9: 1 });
  });
});

describe("resume", () => {
  test("a resume carries each asked conversation's floor, leaving out unknown ones", () => {
    const store = new MessageStore();
    store.track(7, 3);
    store.receive(7, 4);
    store.receive(7, 6); // a gap: the floor stays at 4
    store.track(9, 10);
    assert.deepEqual(store.resumeRequest([7, 9, 12]), { 7: 4, 9: 10 });
    assert.deepEqual(store.resumeRequest(["9"]), { 9: 10 });
    assert.equal(store.resumeRequest([12]), null);
    assert.equal(store.resumeRequest([]), null);
  });

  test("while a resume runs, replayed revs that skip are applied ahead, not taken for gaps", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.resumeRequest([7]);
    assert.equal(store.isResuming(7), true);
    assert.equal(store.receive(7, 5), AHEAD, "even the next rev waits for the answer");
    assert.equal(store.receive(7, 8), AHEAD);
    assert.equal(store.receive(7, 8), DUPLICATE);
    assert.equal(store.lastRev(7), 4);
  });

  test("resumed: the floor jumps to the rev the server reached, and the resume is over", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.track(9, 10);
    const conversations = store.resumeRequest([7, 9]);
    store.receive(7, 8);
    store.resumed(conversations, { conversations: { 7: 8, 9: 12 } });
    assert.equal(store.lastRev(7), 8);
    assert.equal(store.lastRev(9), 12);
    assert.equal(store.isResuming(7), false);
    assert.equal(store.receive(7, 9), IN_ORDER);
    assert.equal(store.receive(7, 11), GAP, "gaps are chased again");
  });

  test("a failed resume (no answer) ends the resume and leaves the floors", () => {
    const store = new MessageStore();
    store.track(7, 4);
    const conversations = store.resumeRequest([7]);
    store.resumed(conversations, null);
    assert.equal(store.isResuming(7), false);
    assert.equal(store.lastRev(7), 4);
  });

  test("overlapping resumes: the conversation stays resuming until both are answered", () => {
    const store = new MessageStore();
    store.track(7, 4);
    const first = store.resumeRequest([7]);
    const second = store.resync();
    assert.deepEqual(second, { 7: 4 });
    store.resumed(first, { conversations: { 7: 4 } });
    assert.equal(store.isResuming(7), true);
    assert.equal(store.receive(7, 7), AHEAD, "a compacted replay skips 5 and 6");
    store.resumed(second, { conversations: { 7: 7 } });
    assert.equal(store.isResuming(7), false);
    assert.equal(store.lastRev(7), 7);
  });

  test("a dropped socket abandons the resumes it carried", () => {
    const store = new MessageStore();
    store.track(7, 4);
    const lost = store.resumeRequest([7]);
    store.abandonResumes();
    assert.equal(store.isResuming(7), false);
    assert.equal(store.receive(7, 6), GAP);
    store.resumed(lost, null); // its failure comes afterwards: harmless
    assert.equal(store.isResuming(7), false);
  });
});

describe("resync", () => {
  test("asks for every known conversation from its floor, and counts them as resuming", () => {
    const store = new MessageStore();
    store.track(7, 3);
    store.receive(7, 4);
    store.receive(7, 6);
    store.track(9, 10);
    assert.deepEqual(store.resync(), { 7: 4, 9: 10 });
    assert.equal(store.isResuming(7), true);
    assert.equal(store.isResuming(9), true);
  });

  test("knowing no conversation, there is nothing to resume", () => {
    assert.equal(new MessageStore().resync(), null);
  });

  test("the messages held survive a resync; its replays are deduplicated against them", () => {
    const store = new MessageStore();
    store.track(7, 4);
    store.apply(7, message(1, 4));
    const conversations = store.resync();
    assert.equal(store.receive(7, 4), DUPLICATE);
    assert.equal(store.apply(7, message(1, 4)), null);
    assert.equal(store.receive(7, 6), AHEAD);
    assert.equal(store.apply(7, message(1, 6, { body: "edited while we were away" })).created, false);
    store.resumed(conversations, { conversations: { 7: 6 } });
    assert.equal(store.lastRev(7), 6);
    assert.equal(store.get(7, 1).body, "edited while we were away");
  });
});
