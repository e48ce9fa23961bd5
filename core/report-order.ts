/**
 * Which of two reports of one account is newer (docs/ARCHITECTURE.md §5): the rule that decides whether
 * a report replaces accounts/<id>/latest.json, and whether ingest still needs a part at all. Pure.
 */

/** The times that order two reports of one account. */
export interface ReportTimes {
  readonly generatedTime: string;
  readonly collectedTime?: string;
}

/**
 * Whether `candidate` is newer than `stored`: a later generatedTime, or the same IAM report (IAM reuses
 * one for 4 hours) collected later — its key inventory and privileges are fresher. A stored time that
 * does not parse never blocks a valid report.
 */
export function isNewerReport(candidate: ReportTimes, stored: ReportTimes): boolean {
  const generated = Date.parse(candidate.generatedTime) - Date.parse(stored.generatedTime);
  if (Number.isNaN(generated)) return true;
  if (generated !== 0) return generated > 0;
  const collected = Date.parse(candidate.collectedTime ?? '') - Date.parse(stored.collectedTime ?? '');
  return !Number.isNaN(collected) && collected > 0;
}

/**
 * The times of a stored report read from its JSON text; undefined when the text is not a report (it is
 * then replaceable by any valid report).
 */
export function reportTimesOfJson(text: string): ReportTimes | undefined {
  try {
    const value = JSON.parse(text) as { generatedTime?: unknown; collectedTime?: unknown } | null;
    if (typeof value?.generatedTime !== 'string') return undefined;
    return {
      generatedTime: value.generatedTime,
      ...(typeof value.collectedTime === 'string' ? { collectedTime: value.collectedTime } : {}),
    };
  } catch {
    return undefined;
  }
}
