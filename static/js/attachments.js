// What may be attached, checked before anything is uploaded: the page's rules (office/page.py
// `attachment_rules`, from the settings ATTACHMENT_ALLOWED_TYPES / ATTACHMENT_MAX_BYTES /
// ATTACHMENT_MAX_COUNT) say which types, how big and how many. The server checks again; this only
// spares a person an upload that would be refused, and tells them what is allowed instead.
// No DOM here: tested with node (tests/js/attachments.test.mjs).

import { formatBytes } from "./text.js";

function extensionOf(name) {
  const match = /\.[^./\\]+$/.exec(String(name || ""));
  return match ? match[0].toLowerCase() : "";
}

/** "PNG, JPG or PDF": the allowed types as a person would name them. */
export function allowedLabels(rules) {
  const labels = [...new Set((rules.types || []).map((type) => type.label))];
  if (labels.length <= 1) return labels.join("");
  return `${labels.slice(0, -1).join(", ")} or ${labels[labels.length - 1]}`;
}

/** The file input's `accept`: the allowed types and their extensions (the picker offers only those). */
export function acceptAttribute(rules) {
  return (rules.types || []).flatMap((type) => [type.type, ...(type.extensions || [])]).join(",");
}

/**
 * Split `files` into those that may be attached (next to `already` attached ones) and those that
 * may not, each with a sentence saying why and what is allowed.
 */
export function checkFiles(files, rules, { already = 0 } = {}) {
  const accepted = [];
  const refused = [];
  if (!rules) return { accepted: [...files], refused };
  const types = new Set((rules.types || []).map((type) => type.type));
  const extensions = new Set((rules.types || []).flatMap((type) => type.extensions || []));
  for (const file of files) {
    const declared = String(file.type || "").split(";")[0].trim().toLowerCase();
    const extension = extensionOf(file.name);
    // Browsers declare the type from the name; with none declared, the name's extension decides.
    const typeAllowed = declared ? types.has(declared) : extensions.has(extension);
    let reason = null;
    if (!typeAllowed) {
      reason = `${file.name} can't be attached: only ${allowedLabels(rules)} files are allowed.`;
    } else if (file.size > rules.max_bytes) {
      reason = `${file.name} is too big (${formatBytes(file.size)}): files can be at most ${formatBytes(rules.max_bytes)}.`;
    } else if (already + accepted.length >= rules.max_count) {
      reason = `${file.name} was not added: at most ${rules.max_count} files per message.`;
    }
    if (reason) refused.push({ file, reason });
    else accepted.push(file);
  }
  return { accepted, refused };
}

/** A refusal from the server that sending the same files again cannot change. */
// Refusals of the message itself: sending the same again cannot succeed.
const REFUSED_AS_IS = new Set(["too_many_attachments", "body_too_long", "invalid_body", "empty_body", "invalid_reply_to"]);

export function refusedForGood(error) {
  return Boolean(error && ([413, 415].includes(error.status) || REFUSED_AS_IS.has(error.code)));
}
