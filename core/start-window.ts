/**
 * When a member agent starts on a scheduled run (docs/ARCHITECTURE.md §10). Every account runs on the same
 * schedule, so without a spread ten thousand agents would put their parts on the central bus in the same
 * minute. Each account waits a fixed offset into the start window instead: derived from its account id
 * alone, so it is the same every day (runs stay one schedule period apart) and needs no state.
 */
import { createHash } from 'node:crypto';
import { CredreportError } from './errors';

/** A start window that is not a whole number of milliseconds from 0 to MAX_START_WINDOW_MS. */
export class StartWindowError extends CredreportError {}

/** Default of the `agentStartWindowMinutes` setting. */
export const DEFAULT_AGENT_START_WINDOW_MINUTES = 4;
/** Largest start window, in milliseconds (the agent's 15-minute timeout bounds it further at synth). */
export const MAX_START_WINDOW_MS = 15 * 60_000;

/** 2^48: the offset comes from the first 48 bits of the hash, exact in a double. */
const HASH_RANGE = 2 ** 48;

/**
 * The account's offset into a window of `windowMs`, in `[0, windowMs)` (0 when the window is 0):
 * the first 48 bits of SHA-256(account id), scaled to the window. SHA-256 makes the offsets uniform over
 * any set of account ids, consecutive ones included, and 48 bits keep the scaling bias below 10⁻⁸.
 */
export function startOffsetMs(accountId: string, windowMs: number): number {
  checkWindow(windowMs);
  if (windowMs === 0) return 0;
  const bits = createHash('sha256').update(accountId, 'utf8').digest().readUIntBE(0, 6);
  return Math.floor((bits / HASH_RANGE) * windowMs);
}

/**
 * How long a scheduled run should wait before collecting: until `scheduledTime` + the account's
 * offset, never longer than the offset itself (a run started late, e.g. by a retry, does not wait
 * again for the time it already lost) and never negative. `scheduledTime` is the schedule event's
 * `time`; when it is missing or not a time, the wait is the offset from now.
 */
export function startDelayMs(
  accountId: string,
  windowMs: number,
  scheduledTime: string | undefined,
  now: Date,
): number {
  const offset = startOffsetMs(accountId, windowMs);
  const scheduledMs = scheduledTime === undefined ? Number.NaN : Date.parse(scheduledTime);
  if (Number.isNaN(scheduledMs)) return offset;
  return Math.min(offset, Math.max(0, scheduledMs + offset - now.getTime()));
}

function checkWindow(windowMs: number): void {
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > MAX_START_WINDOW_MS) {
    throw new StartWindowError(
      `start window must be a whole number of milliseconds from 0 to ${MAX_START_WINDOW_MS} (got ${windowMs})`,
    );
  }
}
