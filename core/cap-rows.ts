/**
 * Display bounds of the digest (docs/ARCHITECTURE.md §6 "Email", §11 "Bounded input"): how many rows of a list
 * are shown and how long one shown value may be. Independent of the ingest bounds, because `credreport merge`
 * inputs (a previous run's CSV, local metadata) and the hub's own collection reach the renderer without
 * passing ingest. One small piece so that every renderer caps the same way.
 */

/** Longest value shown in a digest cell, in UTF-16 code units, before it is cut with `…`. */
export const DISPLAY_CELL_CHARS = 200;

/** The rows of a list that are shown, and how many are not. */
export interface CappedRows<T> {
  readonly shown: readonly T[];
  /** Rows of the whole list that are not shown (`total` − shown). */
  readonly hidden: number;
}

/**
 * The first `limit` rows (the caller's order: most important first) and the number left out. `total` is
 * the size of the whole list when `rows` is already a prefix of it (a delta list keeps its first 100 items
 * and counts the rest); it is never taken as smaller than `rows.length`.
 */
export function capRows<T>(rows: readonly T[], limit: number, total = rows.length): CappedRows<T> {
  const keep = Math.max(0, Math.floor(limit));
  const shown = rows.length > keep ? rows.slice(0, keep) : rows;
  return { shown, hidden: Math.max(total, rows.length) - shown.length };
}

/**
 * `value` cut to `maxChars` with a trailing `…` (the `…` included in the bound), never splitting a
 * surrogate pair. Cheap on huge input: only the kept prefix is copied.
 */
export function displayCell(value: string, maxChars = DISPLAY_CELL_CHARS): string {
  if (value.length <= maxChars) return value;
  let end = Math.max(0, maxChars - 1);
  const last = value.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}

/**
 * Row limits halved `step` times (rounded down), for cutting a digest further when it does not fit: step 0
 * is `limits` itself, and every limit reaches 0 after at most {@link halvingSteps} steps.
 */
export function halveLimits<T extends { readonly [K in keyof T]: number }>(limits: T, step: number): T {
  const out = { ...limits };
  for (const key of Object.keys(limits) as (keyof T)[]) {
    (out as Record<keyof T, number>)[key] = Math.floor(limits[key] / 2 ** step);
  }
  return out;
}

/** Halvings after which every limit of `limits` is 0. */
export function halvingSteps<T extends { readonly [K in keyof T]: number }>(limits: T): number {
  const largest = Math.max(0, ...(Object.values(limits) as number[]));
  return largest < 1 ? 0 : Math.floor(Math.log2(largest)) + 1;
}
