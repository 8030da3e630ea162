// static/js/mentions.js and emoji.js under node: the "@…" at the caret, who it offers and in what
// order, inserting the pick, and moving in the emoji grid.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importStatic } from "./load.mjs";

const { insertMention, mentionOptions, mentionQueryAt } = await importStatic("mentions.js");
const { COLUMNS, EMOJI, gridMove } = await importStatic("emoji.js");

const people = [
  { id: 1, username: "alice", name: "Alice Archer" },
  { id: 2, username: "bob", name: "Bob Baker" },
  { id: 3, username: "bea", name: "Beatrice Cole" },
  { id: 4, username: "carol", name: "Carol Bright" },
  { id: 5, username: "dan", name: "Dan Brown" },
];

describe("the mention at the caret", () => {
  test("an @ at the start or after a space or bracket, up to the caret", () => {
    assert.deepEqual(mentionQueryAt("@bo", 3), { start: 0, query: "bo" });
    assert.deepEqual(mentionQueryAt("hi @bo there", 6), { start: 3, query: "bo" });
    assert.deepEqual(mentionQueryAt("hi (@", 5), { start: 4, query: "" });
    assert.deepEqual(mentionQueryAt("hi @bob.s", 9), { start: 3, query: "bob.s" });
  });

  test("no mention in an address, a path, after a space, or without an @", () => {
    assert.equal(mentionQueryAt("mail me@bob", 11), null);
    assert.equal(mentionQueryAt("see /@bob", 9), null);
    assert.equal(mentionQueryAt("@bob done", 9), null);
    assert.equal(mentionQueryAt("plain", 5), null);
    assert.equal(mentionQueryAt("", 0), null);
  });
});

describe("who an @query offers", () => {
  test("people of the conversation first, then the rest of the company; never me", () => {
    const options = mentionOptions(people, "b", { participants: [1, 4, 5], me: 1, here: false });
    assert.deepEqual(options.map((o) => o.username), ["carol", "dan", "bea", "bob"]);
    assert.deepEqual(options.map((o) => o.member), [true, true, false, false]);
  });

  test("a username match before a name match, within each group", () => {
    const options = mentionOptions(people, "b", { participants: [2, 4], me: null, here: false });
    assert.deepEqual(options.slice(0, 2).map((o) => o.username), ["bob", "carol"]);
  });

  test("@here after the conversation's people, only while it matches", () => {
    const options = mentionOptions(people, "", { participants: [2], me: 1 });
    assert.deepEqual(options.slice(0, 2).map((o) => o.username), ["bob", "here"]);
    assert.equal(mentionOptions(people, "he", { participants: [2] }).at(-1).kind, "here");
    assert.ok(!mentionOptions(people, "bo", { participants: [2] }).some((o) => o.kind === "here"));
  });

  test("at most `limit`, nothing for no match", () => {
    assert.equal(mentionOptions(people, "", { limit: 3 }).length, 3);
    assert.deepEqual(mentionOptions(people, "zz", { here: false }), []);
  });
});

test("inserting a pick replaces the query and leaves one space after it", () => {
  assert.deepEqual(insertMention("hi @bo", 3, 6, "bob"), { text: "hi @bob ", caret: 8 });
  assert.deepEqual(insertMention("hi @bo there", 3, 6, "bob"), { text: "hi @bob there", caret: 8 });
});

describe("the emoji grid", () => {
  test("a small built-in set with names", () => {
    assert.ok(EMOJI.length >= 24 && EMOJI.every((e) => e.char && e.name));
  });

  test("arrows move within the grid and stop at its edges", () => {
    const count = EMOJI.length;
    assert.equal(gridMove(0, "ArrowRight", count), 1);
    assert.equal(gridMove(0, "ArrowLeft", count), 0);
    assert.equal(gridMove(0, "ArrowDown", count), COLUMNS);
    assert.equal(gridMove(1, "ArrowUp", count), 1);
    assert.equal(gridMove(count - 1, "ArrowDown", count), count - 1);
    assert.equal(gridMove(5, "End", count), count - 1);
    assert.equal(gridMove(5, "Home", count), 0);
    assert.equal(gridMove(5, "a", count), null);
  });
});
