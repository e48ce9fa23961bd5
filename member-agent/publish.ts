import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isRetryable } from '../core/aws-errors';
import { retry, sleep as realSleep } from '../core/concurrency';
import { CredreportError } from '../core/errors';
import {
  entryBytes,
  parseAgentFailureDetail,
  type AgentFailureDetail,
  type PartDetail,
} from '../core/event-contract';
import { AGENT_FAILURE_DETAIL_TYPE, EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../core/names';

/** Some parts could not be put on the bus: the report was not delivered whole. */
export class PublishError extends CredreportError {
  constructor(
    message: string,
    readonly failedParts: readonly number[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Some entries of an attempt were not accepted; internal to {@link publishParts}, which retries them. */
class EntriesPending extends CredreportError {
  constructor() {
    super('PutEvents entries pending');
  }
}

/** PutEvents takes at most 10 entries per request. */
export const MAX_ENTRIES_PER_REQUEST = 10;
/** PutEvents request size limit in partitions with 256 KB events (the sum of its entries' sizes). */
export const DEFAULT_MAX_REQUEST_BYTES = 256 * 1024;

/**
 * The PutEvents request limit that goes with an entry limit: a request may carry as many bytes as one
 * event may have. An entry limit above 256 KB is only valid where events may be 1 MB, so requests may
 * be that large too; at or below 256 KB the partition is not known, so the 256 KB request limit holds.
 */
export function maxRequestBytesFor(maxEntryBytes: number): number {
  return Math.max(maxEntryBytes, DEFAULT_MAX_REQUEST_BYTES);
}

export interface PublishResult {
  /** PutEvents requests sent (retries included). */
  readonly requests: number;
  /** Entries that were sent again after a failure. */
  readonly retriedEntries: number;
}

/**
 * Groups parts into PutEvents requests: ≤ 10 entries, and entries totalling less than maxRequestBytes
 * ("the total entry size must be less than 256KB"); a part that is as large as the limit goes alone.
 */
export function batchParts(parts: readonly PartDetail[], maxRequestBytes: number): PartDetail[][] {
  const batches: PartDetail[][] = [];
  let current: PartDetail[] = [];
  let bytes = 0;
  for (const part of parts) {
    const size = entryBytes(part);
    if (
      current.length > 0 &&
      (current.length >= MAX_ENTRIES_PER_REQUEST || bytes + size >= maxRequestBytes)
    ) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(part);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Puts every part on `eventBusName`. Entries that come back with an ErrorCode (FailedEntryCount > 0), and
 * whole requests that fail with a retryable error, are retried alone with bounded exponential backoff (the shared `retry`, docs/ARCHITECTURE.md §12);
 * if any part still fails after `maxAttempts`, throws PublishError (the invocation must fail, so it is
 * visible and retried — the hub never assembles a report with a part missing).
 */
export async function publishParts(
  deps: {
    readonly eventBridge: EventBridgeClient;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly logger?: Logger;
  },
  parts: readonly PartDetail[],
  opts: {
    readonly eventBusName: string;
    readonly maxRequestBytes?: number;
    readonly maxAttempts?: number;
    readonly baseDelayMs?: number;
  },
): Promise<PublishResult> {
  const sleep = deps.sleep ?? realSleep;
  const maxAttempts = opts.maxAttempts ?? 6;
  const baseDelayMs = opts.baseDelayMs ?? 200;
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const toEntry = (part: PartDetail): PutEventsRequestEntry => ({
    Source: EVENT_SOURCE,
    DetailType: EVENT_DETAIL_TYPE,
    Detail: JSON.stringify(part),
    EventBusName: opts.eventBusName,
  });

  let requests = 0;
  let retriedEntries = 0;
  let pending = [...parts];
  const lastErrors = new Map<number, string>();
  // One attempt sends the parts still pending; entries that fail stay pending for the next one.
  const attemptPending = async (attempt: number): Promise<void> => {
    if (attempt > 0) retriedEntries += pending.length;
    const failed: PartDetail[] = [];
    const delivered = new Set<number>();
    for (const batch of batchParts(pending, maxRequestBytes)) {
      requests++;
      let results: PutEventsResultEntry[];
      try {
        const response = await deps.eventBridge.send(new PutEventsCommand({ Entries: batch.map(toEntry) }));
        results = response.Entries ?? [];
        if ((response.FailedEntryCount ?? 0) === 0 && results.length === batch.length) {
          batch.forEach((p) => delivered.add(p.part));
          continue;
        }
      } catch (error) {
        if (!isRetryable(error)) {
          throw new PublishError(
            `PutEvents to ${opts.eventBusName} failed: ${errorName(error)}`,
            pending.filter((p) => !delivered.has(p.part)).map((p) => p.part),
            { cause: error },
          );
        }
        batch.forEach((p) => lastErrors.set(p.part, errorName(error)));
        failed.push(...batch);
        continue;
      }
      batch.forEach((part, i) => {
        const result = results[i];
        // An entry without an EventId (or missing from the response) was not accepted.
        if (result?.EventId === undefined || result.ErrorCode !== undefined) {
          lastErrors.set(part.part, result?.ErrorCode ?? 'NoEventId');
          failed.push(part);
        } else {
          delivered.add(part.part);
        }
      });
    }
    pending = failed;
    if (failed.length > 0) {
      deps.logger?.warn('PutEvents entries failed', {
        attempt: attempt + 1,
        failedParts: failed.map((p) => p.part),
        errorCodes: [...new Set(failed.map((p) => lastErrors.get(p.part)))],
      });
      throw new EntriesPending();
    }
  };
  try {
    await retry(attemptPending, {
      attempts: maxAttempts,
      baseMs: baseDelayMs,
      capMs: 10_000,
      // A non-retryable PutEvents error is already a PublishError: it ends the publish at once.
      retryIf: (error) => error instanceof EntriesPending,
      sleep,
    });
  } catch (error) {
    if (!(error instanceof EntriesPending)) throw error;
    const codes = [...new Set(pending.map((p) => lastErrors.get(p.part) ?? 'unknown'))].join(', ');
    throw new PublishError(
      `${pending.length} of ${parts.length} part(s) could not be put on ${opts.eventBusName} after ${maxAttempts} attempts (${codes})`,
      pending.map((p) => p.part),
    );
  }
  return { requests, retriedEntries };
}

/**
 * Puts one `Credential Report Agent Failure` event on the central bus (docs/ARCHITECTURE.md §4): the hub
 * records it and shows the account as `collection-failed` until a newer report arrives. Validated
 * first, so the agent never sends what the hub would refuse. One request, the client's own retries
 * only: it runs when the run has already failed, often near its timeout. Returns whether the bus
 * accepted it; never throws (the run's own error is what the invocation fails with).
 */
export async function publishAgentFailure(
  deps: { readonly eventBridge: EventBridgeClient; readonly logger?: Logger },
  failure: AgentFailureDetail,
  opts: { readonly eventBusName: string },
): Promise<boolean> {
  try {
    const detail = parseAgentFailureDetail(failure);
    const response = await deps.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: AGENT_FAILURE_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
            EventBusName: opts.eventBusName,
          },
        ],
      }),
    );
    const entry = response.Entries?.[0];
    if ((response.FailedEntryCount ?? 0) > 0 || entry?.EventId === undefined) {
      deps.logger?.error('Could not report the failure to the hub', {
        errorCode: entry?.ErrorCode ?? 'NoEventId',
      });
      return false;
    }
    return true;
  } catch (error) {
    deps.logger?.error('Could not report the failure to the hub', { error: errorName(error) });
    return false;
  }
}
