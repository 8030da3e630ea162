// static/js/search.js under node: snippets are split into text and marks (never parsed as HTML),
// the query string, and which sections show.
import assert from "node:assert/strict";
import { test } from "node:test";

import { importStatic } from "./load.mjs";

const { decodeEntities, resultSections, searchPath, shouldSearch, snippetParts } = await importStatic("search.js");

test("a snippet becomes text and marked text, its entities decoded once", () => {
  assert.deepEqual(snippetParts("The <mark>report</mark> is &lt;b&gt;ready&lt;/b&gt; &amp;amp; &quot;done&quot; &#x27;ok&#x27;"), [
    { text: "The ", mark: false },
    { text: "report", mark: true },
    { text: ' is <b>ready</b> &amp; "done" \'ok\'', mark: false },
  ]);
  // Anything that looks like markup but is not <mark> stays text.
  assert.deepEqual(snippetParts("<img src=x onerror=alert(1)>"), [{ text: "<img src=x onerror=alert(1)>", mark: false }]);
  assert.deepEqual(snippetParts(""), []);
  assert.deepEqual(snippetParts(null), []);
  assert.equal(decodeEntities("&lt;&gt;&amp;lt;"), "<>&lt;");
});

test("the search path carries the text and the narrowing, encoded", () => {
  assert.equal(searchPath('  "release notes" -draft & more '), "search/?q=%22release+notes%22+-draft+%26+more");
  assert.equal(searchPath("x", { conversation: 4, sender: 2, limit: 5 }), "search/?q=x&conversation=4&sender=2&limit=5");
  assert.equal(shouldSearch(" a "), false);
  assert.equal(shouldSearch("ab"), true);
});

test("only sections with rows show, in order", () => {
  const sections = resultSections({ messages: [], people: [{ id: 1 }], spaces: [{ id: 2 }], conversations: [] });
  assert.deepEqual(sections.map((s) => s.kind), ["person", "space"]);
  assert.deepEqual(resultSections({}), []);
});
