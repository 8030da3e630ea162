// static/js/colour.js under node: avatar colours darkened until white initials are readable.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importStatic } from "./load.mjs";

const { contrast, readableUnderWhite } = await importStatic("colour.js");

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

test("every colour of the palette carries white initials at 4.5:1 or more", () => {
  for (const colour of ["#e76f51", "#2a9d8f", "#264653", "#e9c46a", "#8e44ad", "#3a86ff", "#fb5607", "#6a994e", "#ffffff"]) {
    const shown = readableUnderWhite(colour);
    assert.ok(contrast(rgb(shown), [255, 255, 255]) >= 4.5, `${colour} -> ${shown}`);
  }
});

test("a dark enough colour is left alone; short and odd input is handled", () => {
  assert.equal(readableUnderWhite("#264653"), "#264653");
  assert.equal(readableUnderWhite("#000"), "#000000");
  assert.match(readableUnderWhite("#fc0"), /^#[0-9a-f]{6}$/);
  assert.equal(readableUnderWhite("not a colour"), "not a colour");
});
