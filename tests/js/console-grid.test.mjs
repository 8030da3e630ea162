import assert from "node:assert/strict";
import { test } from "node:test";

import { changes, extent, keyed, moved, resized, snap } from "../../static/js/console-grid.js";

const rect = { x: 20, y: 40, w: 200, h: 140 };

test("snap rounds to the 10 px grid", () => {
  assert.equal(snap(14), 10);
  assert.equal(snap(15), 20);
  assert.equal(snap(-4), -0);
});

test("moving snaps and never leaves the floor's top or left", () => {
  assert.deepEqual(moved(rect, 33, -7), { x: 50, y: 30, w: 200, h: 140 });
  assert.deepEqual(moved(rect, -500, -500), { x: 0, y: 0, w: 200, h: 140 });
});

test("resizing snaps and keeps a minimum size", () => {
  assert.deepEqual(resized(rect, 46, 12), { x: 20, y: 40, w: 250, h: 150 });
  assert.deepEqual(resized(rect, -1000, -1000), { x: 20, y: 40, w: 120, h: 80 });
});

test("arrow keys move by one step, with Shift they resize; other keys do nothing", () => {
  assert.deepEqual(keyed(rect, "ArrowRight", false), { ...rect, x: 30 });
  assert.deepEqual(keyed(rect, "ArrowDown", true), { ...rect, h: 150 });
  assert.equal(keyed(rect, "a", false), null);
});

test("changes lists only the fields that differ", () => {
  assert.deepEqual(changes(rect, { ...rect, x: 30 }), { x: 30 });
  assert.equal(changes(rect, { ...rect }), null);
});

test("extent holds every space plus a margin", () => {
  assert.deepEqual(extent([rect, { x: 300, y: 0, w: 100, h: 50 }], 100), { width: 500, height: 280 });
});
