/**
 * HTML escaping of every value the digest (core/digest-html.ts) and the mailer put into HTML. Its own
 * module so the HTML writers do not depend on the CSV hardening and vice versa.
 */

const HTML_SPECIAL = /[&<>"']/;
const HTML_SPECIAL_GLOBAL = /[&<>"']/g;
const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function entityFor(ch: string): string {
  return HTML_ENTITIES[ch] ?? ch;
}

/** Escapes `& < > " '` so the value is safe in HTML text and in quoted attribute values. */
export function escapeHtml(value: string): string {
  // Most values (ids, dates, counts) have nothing to escape: skip the replace and its allocation.
  return HTML_SPECIAL.test(value) ? value.replace(HTML_SPECIAL_GLOBAL, entityFor) : value;
}
