/**
 * Ingest of one `Credential Report Part` event (docs/ARCHITECTURE.md §2, §4): verify the sender, store the part,
 * and when the report's parts are all present, assemble, validate and store the account's report. A
 * `Credential Report Agent Failure` event is verified the same way (sender, forgery, strict bounded
 * schema, time) and recorded in accounts/<id>/agent-failure.json (AgentFailures metric).
 *
 * Rejection handling (decided here, documented in the README):
 * - An event that is invalid (wrong source/detail-type, schema, encoding), forged (`event.account` ≠
 *   `detail.accountId`) or that assembles into an invalid report is NOT retryable: retrying cannot make
 *   it valid. It is recorded in accounts/<event.account>/rejected.json (reason, time, ids; a report that
 *   fails validation is kept aside whole in its own object under the account's history/), counted
 *   (RejectedParts / RejectedReports / ForgedParts), logged once as a structured warning, and the
 *   invocation returns normally — so no retry and no DLQ noise. An event without a usable
 *   `event.account` cannot be attributed: it is logged and counted only.
 *   The record is keyed by `event.account` (set by EventBridge), never by what the sender claims.
 * - Forgery is checked before the detail's schema: a part claiming another account is `forged-account`
 *   (and raises ForgedParts) even when the rest of it is malformed.
 * - Size is checked before any part body is read: a part declaring a set larger than a report may be is
 *   refused before it is stored, and a complete set is weighed by its listed object sizes before it is
 *   read (`too-large`, counted under RejectedParts).
 * - Anything transient (S3 errors, lost races beyond the retry budget) throws, so Lambda retries the
 *   async invocation and the DLQ keeps what still fails.
 * The decisions are pure and live in core/ingest-decision.ts; this module performs the reads and writes
 * they call for, and the logging and metrics of each outcome.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import {
  Rejection,
  classifyAssembly,
  classifyPart,
  isSupersededPart,
  DEFAULT_MAX_OPEN_PART_SETS,
  checkPartSetCap,
  checkStoredPartSetSize,
  classifyAgentFailure,
  isAgentFailureEvent,
  rejectConflictingPart,
  rejectUnreadableParts,
} from '../core/ingest-decision';
import { PartDetail } from '../core/event-contract';
import { RejectionReason } from '../core/rejection';
import type { HubStores } from '../store/hub-stores';
import { StoreError } from '../store/s3';
import { INGEST_METRICS } from './telemetry';

export { MAX_CLOCK_SKEW_MS } from '../core/ingest-decision';

export interface IngestDeps {
  /** Ingest writes parts to incoming/ and reports and refusals to accounts/ (docs/ARCHITECTURE.md §5). */
  readonly stores: Pick<HubStores, 'incoming' | 'accounts'>;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Cap on an account's open part sets (MAX_OPEN_PART_SETS). @default DEFAULT_MAX_OPEN_PART_SETS */
  readonly maxOpenPartSets?: number;
}

export type IngestOutcome =
  | { readonly status: 'rejected'; readonly reason: RejectionReason; readonly detail: string }
  /** The stored report is as new as this part's or newer (see isNewerReport): nothing to do. */
  | { readonly status: 'superseded'; readonly reportId: string }
  /** Part stored (or a duplicate of a stored one); this collection of the report is not complete yet. */
  | {
      readonly status: 'waiting';
      readonly reportId: string;
      readonly received: number;
      readonly parts: number;
    }
  /** All parts present and valid: the report was stored, or a newer one already was. */
  | { readonly status: 'stored' | 'not-newer'; readonly reportId: string }
  /** An agent failure was recorded in accounts/<id>/agent-failure.json. */
  | { readonly status: 'agent-failure-recorded'; readonly runId: string };

/** Processes one event. Throws only for transient failures (see the module comment). */
export async function ingestEvent(event: unknown, deps: IngestDeps): Promise<IngestOutcome> {
  const { stores, logger, metrics } = deps;
  metrics.addMetric(INGEST_METRICS.partsReceived, MetricUnit.Count, 1);

  /** Counts, logs once, and records the refusal when it can be attributed to a sender. */
  const reject = async (rejection: Rejection): Promise<IngestOutcome> => {
    const { reason, detail } = rejection;
    metrics.addMetric(INGEST_METRICS[rejection.counter], MetricUnit.Count, 1);
    if (reason === 'forged-account') metrics.addMetric(INGEST_METRICS.forgedParts, MetricUnit.Count, 1);
    logger.warn('Rejected credential report event', {
      reason,
      detail,
      senderAccountId: rejection.sender,
      eventId: rejection.eventId,
      claimedAccountId: rejection.claimedAccountId,
      reportId: rejection.reportId,
    });
    if (rejection.record) await stores.accounts.putRejected(rejection.record, rejection.keptAside);
    return { status: 'rejected', reason, detail };
  };

  if (isAgentFailureEvent(event)) {
    const failure = classifyAgentFailure(event, deps.now());
    if (failure.kind === 'reject') return reject(failure);
    const { record } = failure;
    await stores.accounts.putAgentFailure(record);
    metrics.addMetric(INGEST_METRICS.agentFailures, MetricUnit.Count, 1);
    // The error's class and stage only: the message is in the record, not in the log.
    logger.warn('Member agent reported a failed run', {
      accountId: record.accountId,
      runId: record.runId,
      stage: record.stage,
      errorName: record.errorName,
      agentVersion: record.agentVersion,
    });
    return { status: 'agent-failure-recorded', runId: record.runId };
  }

  const accepted = classifyPart(event, deps.now());
  if (accepted.kind === 'reject') return reject(accepted);
  const { sender, part: detail } = accepted;
  logger.appendKeys({ accountId: sender, reportId: detail.reportId });

  if (isSupersededPart(detail, await stores.accounts.latestTimes(sender))) {
    metrics.addMetric(INGEST_METRICS.partsSuperseded, MetricUnit.Count, 1);
    logger.info('Part of a report not newer than the stored one; ignored', {
      part: detail.part,
      parts: detail.parts,
    });
    return { status: 'superseded', reportId: detail.reportId };
  }

  const capped = checkPartSetCap(
    accepted,
    await stores.incoming.openPartSets(sender),
    deps.maxOpenPartSets ?? DEFAULT_MAX_OPEN_PART_SETS,
    deps.now(),
  );
  if (capped) return reject(capped);

  const stored = await stores.incoming.putPart(detail);
  if (stored === 'conflict') return reject(rejectConflictingPart(accepted, deps.now()));
  if (stored === 'duplicate') metrics.addMetric(INGEST_METRICS.duplicateParts, MetricUnit.Count, 1);

  // Only this collection's parts (same sha256): another collection of the same report never mixes in.
  const refs = (await stores.incoming.listParts(sender, detail.reportId, detail.sha256)).filter(
    (r) => r.parts === detail.parts,
  );
  const received = refs.length;
  if (received < detail.parts) {
    logger.info('Stored part; waiting for the rest', { part: detail.part, parts: detail.parts, received });
    return { status: 'waiting', reportId: detail.reportId, received, parts: detail.parts };
  }

  // Weighed by the listing before any body is read: a set too large to be a report is refused unread.
  const oversized = checkStoredPartSetSize(accepted, refs, deps.now());
  if (oversized) return reject(oversized);

  let parts: PartDetail[];
  try {
    parts = await stores.incoming.readParts(refs);
  } catch (error) {
    // S3 failing is transient (retry); a part that is no longer a part is final (record it).
    if (error instanceof StoreError) throw error;
    return reject(rejectUnreadableParts(accepted, error, deps.now()));
  }
  const assembled = classifyAssembly(accepted, parts, deps.now());
  if (assembled.kind === 'reject') return reject(assembled);
  const { report } = assembled;

  const outcome = await stores.accounts.storeLatest(report, deps.now());
  if (outcome === 'stored') {
    metrics.addMetric(INGEST_METRICS.reportsStored, MetricUnit.Count, 1);
    logger.info('Stored account report', { parts: detail.parts, generatedTime: report.generatedTime });
  } else {
    logger.info('Assembled report not newer than the stored one; kept the stored one', {
      generatedTime: report.generatedTime,
    });
  }
  return { status: outcome, reportId: detail.reportId };
}
