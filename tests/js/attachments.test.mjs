// static/js/attachments.js under node: which files the composer refuses before uploading, and why.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importStatic } from "./load.mjs";

const { acceptAttribute, allowedLabels, checkFiles, refusedForGood } = await importStatic("attachments.js");

const rules = {
  max_bytes: 10 * 1024 * 1024,
  max_count: 2,
  types: [
    { type: "image/png", extensions: [".png"], label: "PNG" },
    { type: "application/pdf", extensions: [".pdf"], label: "PDF" },
    { type: "text/plain", extensions: [".txt"], label: "TXT" },
  ],
};
const file = (name, type, size = 10) => ({ name, type, size });

describe("checkFiles", () => {
  test("allowed types within the size are accepted", () => {
    const { accepted, refused } = checkFiles([file("a.png", "image/png"), file("b.pdf", "application/pdf")], rules);
    assert.deepEqual(accepted.map((f) => f.name), ["a.png", "b.pdf"]);
    assert.deepEqual(refused, []);
  });

  test("another type is refused, naming what is allowed", () => {
    const { accepted, refused } = checkFiles([file("setup.exe", "application/x-msdownload")], rules);
    assert.deepEqual(accepted, []);
    assert.equal(refused[0].reason, "setup.exe can't be attached: only PNG, PDF or TXT files are allowed.");
  });

  test("with no declared type the extension decides", () => {
    const { accepted, refused } = checkFiles([file("notes.txt", ""), file("blob", "")], rules);
    assert.deepEqual(accepted.map((f) => f.name), ["notes.txt"]);
    assert.equal(refused[0].file.name, "blob");
  });

  test("a file over the limit is refused with both sizes", () => {
    const { refused } = checkFiles([file("scan.pdf", "application/pdf", 12 * 1024 * 1024)], rules);
    assert.equal(refused[0].reason, "scan.pdf is too big (12 MB): files can be at most 10 MB.");
  });

  test("past the count, counting those already attached", () => {
    const { accepted, refused } = checkFiles([file("a.png", "image/png"), file("b.png", "image/png")], rules, { already: 1 });
    assert.deepEqual(accepted.map((f) => f.name), ["a.png"]);
    assert.equal(refused[0].reason, "b.png was not added: at most 2 files per message.");
  });

  test("without rules nothing is refused", () => {
    assert.equal(checkFiles([file("x.exe", "")], undefined).accepted.length, 1);
  });
});

test("the picker's accept attribute and the labels", () => {
  assert.equal(acceptAttribute(rules), "image/png,.png,application/pdf,.pdf,text/plain,.txt");
  assert.equal(allowedLabels({ types: [{ label: "PNG" }] }), "PNG");
});

test("the server's type and size refusals are for good, a lost connection is not", () => {
  assert.equal(refusedForGood({ status: 415 }), true);
  assert.equal(refusedForGood({ status: 413 }), true);
  assert.equal(refusedForGood({ status: 0, code: "network" }), false);
  assert.equal(refusedForGood({ code: "timeout" }), false);
});

test("a text the server refuses as it is gets no Retry; a busy server does", () => {
  assert.equal(refusedForGood({ status: 400, code: "body_too_long" }), true);
  assert.equal(refusedForGood({ status: 400, code: "invalid_reply_to" }), true);
  assert.equal(refusedForGood({ code: "unavailable" }), false);
  assert.equal(refusedForGood({ code: "rate_limited" }), false);
});
