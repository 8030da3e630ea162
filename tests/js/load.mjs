// Imports a browser module of static/js under node.
//
// Node before 20.19 / 22.7 reads a .js file outside a "type": "module" package as CommonJS, so the
// import fails with a SyntaxError; then the module is imported from its source as a data: URL, and
// so are the modules it imports (a data: URL cannot resolve "./store.js" by itself).
import { readFile } from "node:fs/promises";

const STATIC_JS = new URL("../../static/js/", import.meta.url);
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*)(["'])\.\/([\w.-]+\.js)\2/g;

async function asDataUrl(name, seen = new Map()) {
  if (seen.has(name)) return seen.get(name);
  let source = await readFile(new URL(name, STATIC_JS), "utf8");
  const names = [...new Set([...source.matchAll(RELATIVE_IMPORT)].map((match) => match[3]))];
  const urls = new Map();
  for (const dependency of names) urls.set(dependency, await asDataUrl(dependency, seen));
  source = source.replace(RELATIVE_IMPORT, (_, keyword, quote, dependency) => `${keyword}${quote}${urls.get(dependency)}${quote}`);
  const url = `data:text/javascript,${encodeURIComponent(source)}`;
  seen.set(name, url);
  return url;
}

/** `await importStatic("socket.js")`: the module's exports, as a browser would load them. */
export async function importStatic(name, { fromSource = false } = {}) {
  if (!fromSource) {
    try {
      return await import(new URL(name, STATIC_JS).href);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  return import(await asDataUrl(name));
}
