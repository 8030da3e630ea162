// Safe text rendering: bodies go in as text nodes; only http(s) links become <a> elements.

const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,!?;:'")\]]+$/;

export function safeHref(candidate) {
  if (typeof candidate !== "string" || !candidate.trim()) return null;
  try {
    const url = new URL(candidate, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (error) {
    return null;
  }
}

/** Append `text` to `container`, turning http(s) URLs into links that open safely in a new tab. */
export function appendLinkified(container, text) {
  const value = String(text ?? "");
  let last = 0;
  for (const match of value.matchAll(LINK)) {
    const raw = match[0].replace(TRAILING, "");
    if (!raw) continue;
    if (match.index > last) container.append(document.createTextNode(value.slice(last, match.index)));
    const href = safeHref(raw);
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = raw;
      link.target = "_blank";
      link.rel = "noopener noreferrer nofollow";
      container.append(link);
    } else {
      container.append(document.createTextNode(raw));
    }
    last = match.index + raw.length;
  }
  if (last < value.length) container.append(document.createTextNode(value.slice(last)));
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? time : `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

export function formatBytes(size) {
  if (!Number.isFinite(size)) return "";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  const megabytes = size / 1024 / 1024;
  return `${Number.isInteger(megabytes) ? megabytes : megabytes.toFixed(1)} MB`;
}

export function newClientId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function snippet(text, length = 80) {
  const value = String(text ?? "").replace(/\s+/g, " ").trim();
  return value.length > length ? `${value.slice(0, length - 1)}…` : value;
}
