/** The day partition of the digest's runs/date=…/ outputs (docs/ARCHITECTURE.md §5). Pure. */

/** `now` → `YYYY-MM-DD` (UTC), the partition of runs/. */
export const runDate = (now: Date): string => now.toISOString().slice(0, 10);

/** `now` → `YYYY-MM-DDTHHMMSSZ` (UTC, second precision): a name that sorts by time and is safe in an S3 key. */
export const logStamp = (now: Date): string => `${now.toISOString().slice(0, 19).replace(/:/g, '')}Z`;

/** The run date named by a runs/ common prefix (`runs/date=YYYY-MM-DD/`), if it is one. */
export function runDateOfPrefix(prefix: string): string | undefined {
  return /date=(\d{4}-\d{2}-\d{2})\/$/.exec(prefix)?.[1];
}

/** The `limit` newest of `dates` (YYYY-MM-DD), newest first. */
export function newestRunDates(dates: readonly string[], limit: number): string[] {
  return [...dates].sort().slice(-limit).reverse();
}
