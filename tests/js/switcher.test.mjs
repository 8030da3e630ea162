// static/js/switcher.js under node: how the quick switcher filters and ranks what the page holds.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importStatic } from "./load.mjs";

const { collectItems, matchScore, moveIndex, rankItems } = await importStatic("switcher.js");

const items = [
  { kind: "person", id: 1, label: "Jane Smith", keywords: ["jsmith"] },
  { kind: "person", id: 2, label: "Bob Baker", keywords: ["bob"] },
  { kind: "space", id: 3, label: "Lounge" },
  { kind: "space", id: 4, label: "Big lounge" },
  { kind: "conversation", id: 5, label: "Launch crew", recency: 10 },
  { kind: "conversation", id: 6, label: "Launch team", recency: 20 },
  { kind: "person", id: 7, label: "Zoë Ångström", keywords: ["zoe"] },
];

test("a label starting with the text beats a word starting with it, which beats a substring and scattered letters", () => {
  const order = ["Lounge", "Big lounge", "Bellounger", "Lazy old unused nice green egg"].map((label) => matchScore(label, "lounge"));
  assert.ok(order[0] > order[1] && order[1] > order[2] && order[2] > order[3] && order[3] > 0, order.join(" "));
  assert.equal(matchScore("Lounge", "xyz"), 0);
  assert.ok(matchScore("Jane Smith", "ja sm") > matchScore("Jane Smith", "jsm"));
  assert.ok(matchScore("Jane Smith", "jsm") > 0);
});

test("rankItems filters, ranks by score then kind then recency, and caps the list", () => {
  assert.deepEqual(rankItems(items, "lounge").map((i) => i.id), [3, 4]);
  assert.deepEqual(rankItems(items, "launch").map((i) => i.id), [6, 5]); // same score: the more recent first
  assert.deepEqual(rankItems(items, "jsmith").map((i) => i.id), [1]); // a username finds the person
  assert.deepEqual(rankItems(items, "zoe ang").map((i) => i.id), [7]); // accents do not matter
  assert.deepEqual(rankItems(items, "qqq"), []);
  assert.equal(rankItems(items, "", { limit: 3 }).length, 3);
  assert.deepEqual(rankItems(items, "").slice(0, 2).map((i) => i.kind), ["conversation", "conversation"]);
});

test("moveIndex wraps both ways and copes with an empty list", () => {
  assert.equal(moveIndex(0, 1, 3), 1);
  assert.equal(moveIndex(2, 1, 3), 0);
  assert.equal(moveIndex(0, -1, 3), 2);
  assert.equal(moveIndex(-1, 1, 3), 0);
  assert.equal(moveIndex(-1, -1, 3), 2);
  assert.equal(moveIndex(0, 1, 0), -1);
});

test("collectItems lists my conversations (not rooms), every space and everyone but me", () => {
  const office = {
    me: { id: 1, current_space: 10 },
    people: new Map([
      [1, { id: 1, name: "Me", username: "me" }],
      [2, { id: 2, name: "Bob Baker", username: "bob", title: "Design" }],
    ]),
    floor: { spaces: new Map([[10, { id: 10, name: "Lounge" }], [11, { id: 11, name: "Vault", is_private: true }]]) },
    messages: {
      conversations: new Map([
        [20, { id: 20, kind: "direct", participants: [1, 2], last_activity_at: "2026-12-03T10:00:00Z" }],
        [21, { id: 21, kind: "room", space: 10, participants: [1] }],
        [22, { id: 22, kind: "group", title: "Old", participants: [2] }],
      ]),
      titleOf: (c) => c.title || "Bob Baker",
    },
  };
  const listed = collectItems(office).map((i) => `${i.kind}:${i.id}:${i.label}`);
  assert.deepEqual(listed, ["conversation:20:Bob Baker", "space:10:Lounge", "space:11:Vault", "person:2:Bob Baker"]);
  assert.match(collectItems(office).find((i) => i.id === 10).detail, /you are here/);
});
