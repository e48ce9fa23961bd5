import { CredreportError } from './errors';

/** A time cell that is neither an ISO 8601 timestamp nor one of the tokens AWS writes in its place. */
export class InvalidTimeError extends CredreportError {}

const MS_PER_DAY = 86_400_000;

/**
 * ISO 8601 as IAM writes it (`2024-01-15T10:20:30+00:00`), also with `Z` and fractional seconds.
 * Month, day, hour, minute, second and offset ranges are checked here; day-of-month overflow
 * (`02-30`, which Date.parse silently rolls over) is checked in `isIso`.
 */
const ISO_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digit(s: string, i: number): number {
  return s.charCodeAt(i) - 48;
}

/** True when `cell` is a strict ISO timestamp on a real calendar day. */
function isIso(cell: string): boolean {
  if (!ISO_TIME.test(cell)) return false;
  const day = digit(cell, 8) * 10 + digit(cell, 9);
  if (day <= 28) return true;
  const year = digit(cell, 0) * 1000 + digit(cell, 1) * 100 + digit(cell, 2) * 10 + digit(cell, 3);
  return day <= daysInMonth(year, digit(cell, 5) * 10 + digit(cell, 6));
}

/**
 * Epoch ms of the exact shape IAM writes, `YYYY-MM-DDTHH:MM:SS±HH:MM` (25 characters), by arithmetic; NaN
 * for anything else (other shapes, out-of-range fields), which then takes the regex path. Skipping the
 * regex and Date.parse matters: the merge reads several time cells of every row of the organization.
 */
function fastIsoMs(cell: string): number {
  if (cell.length !== 25) return Number.NaN;
  const sign = cell.charCodeAt(19);
  if (
    cell.charCodeAt(4) !== 45 /* - */ ||
    cell.charCodeAt(7) !== 45 ||
    cell.charCodeAt(10) !== 84 /* T */ ||
    cell.charCodeAt(13) !== 58 /* : */ ||
    cell.charCodeAt(16) !== 58 ||
    cell.charCodeAt(22) !== 58 ||
    (sign !== 43 /* + */ && sign !== 45)
  ) {
    return Number.NaN;
  }
  const year = num4(cell, 0);
  const month = num2(cell, 5);
  const day = num2(cell, 8);
  const hour = num2(cell, 11);
  const minute = num2(cell, 14);
  const second = num2(cell, 17);
  const offHour = num2(cell, 20);
  const offMinute = num2(cell, 23);
  // num2/num4 give -1 for a non-digit, which every lower bound below rejects.
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    offHour < 0 ||
    offHour > 23 ||
    offMinute < 0 ||
    offMinute > 59
  ) {
    return Number.NaN;
  }
  // Date.UTC maps years 0-99 to 1900-1999: leave those to Date.parse on the regex path.
  if (year < 100) return Number.NaN;
  const offsetMs = (offHour * 60 + offMinute) * 60_000;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second);
  return sign === 43 ? utc - offsetMs : utc + offsetMs;
}

function num2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function num4(s: string, i: number): number {
  const hi = num2(s, i);
  const lo = num2(s, i + 2);
  return hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1] ?? 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** True for the tokens AWS writes in a credential report's time columns instead of a timestamp. */
export function isTimeToken(cell: string): boolean {
  return cell === 'N/A' || cell === 'no_information' || cell === 'not_supported';
}

/** True when `cell` is a valid ISO 8601 timestamp in the format the credential report uses. */
export function isReportTimestamp(cell: string): boolean {
  return !Number.isNaN(fastIsoMs(cell)) || isIso(cell);
}

/**
 * Report cell → epoch milliseconds; undefined for N/A, no_information, not_supported, empty.
 * Allocation-free variant of `parseReportTime` for hot paths. Throws InvalidTimeError on other text.
 */
export function parseReportTimeMs(cell: string): number | undefined {
  if (cell === '' || isTimeToken(cell)) return undefined;
  const fast = fastIsoMs(cell);
  if (!Number.isNaN(fast)) return fast;
  if (!isIso(cell)) {
    // The cell itself is left out of the message: errors may end up in coverage details and logs.
    throw new InvalidTimeError(`Not an ISO 8601 timestamp (${cell.length} characters)`);
  }
  return Date.parse(cell);
}

/** Report cell → Date; undefined for N/A, no_information, not_supported, empty. Throws InvalidTimeError on other non-ISO text. */
export function parseReportTime(cell: string): Date | undefined {
  const ms = parseReportTimeMs(cell);
  return ms === undefined ? undefined : new Date(ms);
}

/** Whole days from `earlier` to `later`, rounded down, never negative. */
export function wholeDaysBetween(earlier: Date, later: Date): number {
  return wholeDaysBetweenMs(earlier.getTime(), later.getTime());
}

/** `wholeDaysBetween` on epoch milliseconds. */
export function wholeDaysBetweenMs(earlierMs: number, laterMs: number): number {
  const diff = laterMs - earlierMs;
  return diff > 0 ? Math.floor(diff / MS_PER_DAY) : 0;
}

/**
 * An instant in the one form of every timestamp cell credreport writes (docs/ARCHITECTURE.md §6): the
 * credential report's own, `2026-12-01T06:00:00+00:00` (UTC, whole seconds), so a key created after the
 * report, a first-seen time and AWS's own cells read alike. `ms` must be a finite epoch time.
 */
export function formatReportTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/**
 * A time as credreport writes it in a CSV cell ({@link formatReportTime}), from any ISO 8601 text (IAM's
 * `+00:00` form, an SDK's `…Z` with milliseconds, another offset); undefined when the text is not a
 * timestamp (empty, `N/A`, `no_information`, `not_supported`, anything else), for the caller to fill.
 */
export function reportTimeCell(text: string | undefined): string | undefined {
  if (text === undefined || !isReportTimestamp(text)) return undefined;
  // IAM's own form is already the written form: no Date round trip on the hot path.
  if (text.length === 25 && text.endsWith('+00:00')) return text;
  return formatReportTime(parseReportTimeMs(text) as number);
}
