/**
 * Output hardening shared by the CSV writers and the HTML digest: spreadsheet formula injection
 * (OWASP "CSV injection") and HTML escaping.
 */

/** First characters that make a spreadsheet treat a cell as a formula (or strip into one). */
const DANGEROUS_FIRST_CHAR = /^[=+\-@\t\r]/;

/**
 * Neutralises formula injection: a cell starting with = + - @ \t \r gets a leading `'`
 * (OWASP recommendation). Deterministic; not idempotent (`'=x` stays `'=x`, which is safe).
 */
export function neutraliseCell(value: string): string {
  return DANGEROUS_FIRST_CHAR.test(value) ? `'${value}` : value;
}

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
