import assert from "node:assert/strict";
import { test } from "node:test";

import {
  audioLevel, joinLabel, makesOffer, peerChanges, sharingLine, speakingStep, stateWords,
} from "../../static/js/space-talk-state.js";

const p = (user, extra = {}) => ({ user, audio: true, video: false, screen: false, ...extra });

test("the newer joiner of each pair makes the offer, and exactly one side does", () => {
  const list = [p(3), p(1), p(2)];
  assert.equal(makesOffer(list, 1, 3), true);
  assert.equal(makesOffer(list, 3, 1), false);
  for (const a of [1, 2, 3]) for (const b of [1, 2, 3]) {
    if (a !== b) assert.notEqual(makesOffer(list, a, b), makesOffer(list, b, a));
  }
  assert.equal(makesOffer(list, 4, 1), false); // not in it
});

test("peer changes: open to every other participant, close who left, all when I left", () => {
  assert.deepEqual(peerChanges([p(1), p(2), p(3)], 2, new Set([1])), { add: [3], remove: [] });
  assert.deepEqual(peerChanges([p(1), p(2)], 2, new Set([1, 3])), { add: [], remove: [3] });
  assert.deepEqual(peerChanges([p(1), p(3)], 2, new Set([1, 3])), { add: [], remove: [1, 3] });
});

test("state words and the sharing line", () => {
  assert.deepEqual(stateWords(p(1)), []);
  assert.deepEqual(stateWords(p(1, { audio: false, video: true, screen: true })), ["muted", "camera on", "sharing the screen"]);
  const names = { 1: "Ada", 2: "Bo", 3: "Cy" };
  const nameOf = (id) => names[id];
  assert.equal(sharingLine([p(1), p(2)], 3, nameOf), "");
  assert.equal(sharingLine([p(1, { screen: true })], 3, nameOf), "Ada is sharing");
  assert.equal(sharingLine([p(3, { screen: true })], 3, nameOf), "You are sharing");
  assert.equal(sharingLine([p(1, { screen: true }), p(2, { screen: true })], 3, nameOf), "Ada and Bo are sharing");
});

test("audio level is the RMS of a centred frame", () => {
  assert.equal(audioLevel(new Uint8Array(64).fill(128)), 0);
  assert.equal(audioLevel([]), 0);
  const loud = Uint8Array.from({ length: 64 }, (_, i) => (i % 2 ? 255 : 1));
  assert.ok(audioLevel(loud) > 0.95);
});

test("speaking turns on at once and off only after a quiet stretch", () => {
  let state = { speaking: false, quiet: 0 };
  state = speakingStep(state, 0.1);
  assert.equal(state.speaking, true);
  for (let i = 0; i < 11; i += 1) state = speakingStep(state, 0.0);
  assert.equal(state.speaking, true);
  state = speakingStep(state, 0.0);
  assert.equal(state.speaking, false);
  assert.equal(speakingStep({ speaking: false, quiet: 0 }, 0.03).speaking, false);
});

test("the join button says what one click does", () => {
  assert.equal(joinLabel({ participants: [], me: 1, meeting: false }), "Join talk");
  assert.equal(joinLabel({ participants: [], me: 1, meeting: true }), "Join the meeting's talk");
  assert.equal(joinLabel({ participants: [p(2), p(3)], me: 1, meeting: false }), "Join talk (2 in it)");
  assert.equal(joinLabel({ participants: [p(1)], me: 1, meeting: false }), "Leave talk");
});
