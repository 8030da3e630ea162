// static/js/interruptions.js under node: the page's twin of presence/policy.py.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importStatic } from "./load.mjs";

const { KINDS, createHoldTracker, createThrottle, holdSummary, interruptionFor, reasonText, statusLine } =
  await importStatic("interruptions.js");

const presence = (status, extra = {}) => ({
  status, status_reason: null, status_text: "", status_emoji: "", status_until: null, ...extra,
});

test("dnd holds, busy is quiet, everything else rings, for every kind (as presence/policy.py)", () => {
  for (const kind of KINDS) {
    assert.equal(interruptionFor(kind, presence("dnd", { status_reason: "manual" })), "hold");
    assert.equal(interruptionFor(kind, presence("dnd", { status_reason: "schedule" })), "hold");
    assert.equal(interruptionFor(kind, presence("busy", { status_reason: "in_call" })), "quiet");
    assert.equal(interruptionFor(kind, presence("busy", { status_reason: "in_meeting" })), "quiet");
    for (const status of ["online", "away", "offline"]) assert.equal(interruptionFor(kind, presence(status)), "ring");
  }
  assert.equal(interruptionFor("call", null), "ring");
});

test("an unknown kind is a mistake in the page, not a silent ring", () => {
  assert.throws(() => interruptionFor("shout", presence("online")), /unknown interruption kind/);
});

test("reasons in words, quiet hours with their end in the given time zone", () => {
  const until = "2026-12-04T09:00:00+00:00";
  assert.equal(reasonText(presence("busy", { status_reason: "in_call" })), "in a call");
  assert.equal(reasonText(presence("busy", { status_reason: "in_meeting" })), "in a meeting");
  assert.equal(reasonText(presence("away", { status_reason: "idle" })), "idle");
  assert.equal(
    reasonText(presence("dnd", { status_reason: "schedule", status_until: until }), { timeZone: "UTC" }),
    "quiet hours until 09:00",
  );
  assert.equal(
    reasonText(presence("dnd", { status_reason: "schedule", status_until: until }), { timeZone: "Europe/Berlin" }),
    "quiet hours until 10:00",
  );
  assert.equal(
    reasonText(presence("busy", { status_reason: "manual", status_until: until }), { timeZone: "UTC" }),
    "until 09:00",
  );
  assert.equal(reasonText(presence("online")), "");
  assert.equal(reasonText(presence("busy", { status_reason: "manual" })), "");
});

test("the status line joins status, reason and the custom text", () => {
  assert.equal(
    statusLine(presence("busy", { status_reason: "in_call", status_emoji: "🍕", status_text: "Lunch" })),
    "Busy · in a call · 🍕 Lunch",
  );
  assert.equal(statusLine(presence("dnd", { status_reason: "manual" })), "Do not disturb");
  assert.equal(statusLine(presence("online", { status_text: "Reviewing" })), "Online · Reviewing");
  assert.equal(
    statusLine(presence("dnd", { status_reason: "schedule", status_until: "2026-12-04T09:00:00Z" }), { timeZone: "UTC" }),
    "Do not disturb · quiet hours until 09:00",
  );
  assert.equal(statusLine(null), "Offline");
});

test("what dnd held back is summed up once, when dnd ends", () => {
  const tracker = createHoldTracker();
  assert.equal(tracker.observe(presence("online")), null);
  assert.equal(tracker.hold("call"), false, "nothing is held outside dnd");
  tracker.observe(presence("dnd", { status_reason: "schedule" }));
  assert.equal(tracker.holding, true);
  tracker.hold("call");
  tracker.hold("call");
  tracker.hold("mention");
  assert.deepEqual(tracker.held, { call: 2, mention: 1 });
  assert.equal(tracker.observe(presence("dnd", { status_reason: "manual" })), null, "still dnd");
  assert.equal(tracker.observe(presence("online")), "While you were in do not disturb: 2 calls, 1 mention.");
  assert.equal(tracker.observe(presence("online")), null, "said once");
  tracker.observe(presence("dnd"));
  assert.equal(tracker.observe(presence("busy")), null, "nothing held: nothing said");
  assert.equal(holdSummary({ teleport: 1, knock: 3 }), "While you were in do not disturb: 1 invitation, 3 knocks.");
});

test("the activity action goes out at most once a minute", () => {
  let clock = 0;
  let sent = 0;
  const activity = createThrottle(() => (sent += 1), { intervalMs: 60000, now: () => clock });
  assert.equal(activity(), true);
  clock = 59999;
  assert.equal(activity(), false);
  clock = 60000;
  assert.equal(activity(), true);
  assert.equal(sent, 2);
});
