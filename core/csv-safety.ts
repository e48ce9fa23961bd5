/**
 * Output hardening of the CSV writers: spreadsheet formula injection (OWASP "CSV injection"). HTML
 * escaping, which the digest and the mailer need, is in html-escape.ts.
 */

/**
 * Neutralises formula injection: a cell starting with = + - @ \t \r (the characters that make a
 * spreadsheet treat a cell as a formula, or strip into one), or with the fullwidth ＝ ＋ － ＠ that Apple
 * Numbers folds into them, gets a leading `'` (OWASP recommendation). Deterministic; not idempotent
 * (`'=x` stays `'=x`, which is safe). Runs on every cell of both CSVs, so it compares the first
 * character code rather than running a regex.
 */
export function neutraliseCell(value: string): string {
  const first = value.charCodeAt(0);
  return first === 61 /* = */ ||
    first === 43 /* + */ ||
    first === 45 /* - */ ||
    first === 64 /* @ */ ||
    first === 9 /* \t */ ||
    first === 13 /* \r */ ||
    first === 0xff1d /* ＝ */ ||
    first === 0xff0b /* ＋ */ ||
    first === 0xff0d /* － */ ||
    first === 0xff20 /* ＠ */
    ? `'${value}`
    : value;
}
