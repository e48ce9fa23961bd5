/**
 * Ingest of one `Credential Report Part` event (ARCHITECTURE §2, §4): verify the sender, store the part,
 * and when the report's parts are all present, assemble, validate and store the account's report.
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
 * - Anything transient (S3 errors, lost races beyond the retry budget) throws, so Lambda retries the
 *   async invocation and the DLQ keeps what still fails.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { ReportParseError, parseCredentialReport } from '../core/credential-report';
import {
  ContractError,
  PartDetail,
  assembleParts,
  parsePartDetail,
  reportIdFor,
} from '../core/event-contract';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../core/names';
import { AccountReport } from '../core/types';
import { RejectionReason, RejectionRecord } from '../core/rejection';
import { isNewerReport } from '../core/report-order';
import type { HubStores } from '../store/hub-stores';
import { StoreError } from '../store/s3';
import { INGEST_METRICS } from './telemetry';

/** The EventBridge envelope fields ingest relies on (EventBridge adds others; they are ignored). */
const EnvelopeSchema = z.object({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string(),
  account: z.string(),
  detail: z.unknown(),
});

export interface IngestDeps {
  /** Ingest writes parts to incoming/ and reports and refusals to accounts/ (ARCHITECTURE §5). */
  readonly stores: Pick<HubStores, 'incoming' | 'accounts'>;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly metrics: Metrics;
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
  | { readonly status: 'stored' | 'not-newer'; readonly reportId: string };

const ACCOUNT_ID = /^\d{12}$/;
/** Tolerated clock difference between a member account and the hub. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** A value the sender chose, made safe to log and record: quoted, escaped and short. */
const quoted = (value: unknown, max = 80): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
};
/** `detail.accountId` as the sender wrote it, whatever the rest of the detail looks like. */
const claimedAccount = (detail: unknown): unknown =>
  typeof detail === 'object' && detail !== null ? (detail as { accountId?: unknown }).accountId : undefined;

/** Processes one event. Throws only for transient failures (see the module comment). */
export async function ingestEvent(event: unknown, deps: IngestDeps): Promise<IngestOutcome> {
  const { stores, logger, metrics } = deps;
  metrics.addMetric(INGEST_METRICS.partsReceived, MetricUnit.Count, 1);

  const envelope = EnvelopeSchema.safeParse(event);
  const sender =
    envelope.success && ACCOUNT_ID.test(envelope.data.account) ? envelope.data.account : undefined;
  const eventId = envelope.success ? envelope.data.id : undefined;

  const reject = async (
    reason: RejectionReason,
    detail: string,
    extra: Partial<RejectionRecord> = {},
    counter: 'rejectedParts' | 'rejectedReports' = 'rejectedParts',
    keptAside?: { readonly report: AccountReport; readonly sha256: string },
  ): Promise<IngestOutcome> => {
    metrics.addMetric(INGEST_METRICS[counter], MetricUnit.Count, 1);
    if (reason === 'forged-account') metrics.addMetric(INGEST_METRICS.forgedParts, MetricUnit.Count, 1);
    logger.warn('Rejected credential report event', {
      reason,
      detail,
      senderAccountId: sender,
      eventId,
      claimedAccountId: extra.claimedAccountId,
      reportId: extra.reportId,
    });
    if (sender) {
      await stores.accounts.putRejected(
        {
          schemaVersion: 1,
          accountId: sender,
          reason,
          detail,
          at: deps.now().toISOString(),
          ...(eventId ? { eventId } : {}),
          ...extra,
        },
        keptAside,
      );
    }
    return { status: 'rejected', reason, detail };
  };

  if (!envelope.success || !sender) {
    return reject('invalid-envelope', 'event is not an EventBridge event with a 12-digit account');
  }
  const { source } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (source !== EVENT_SOURCE || detailType !== EVENT_DETAIL_TYPE) {
    return reject(
      'invalid-envelope',
      `unexpected source ${quoted(source)} / detail-type ${quoted(detailType)}`,
    );
  }

  // The one check that matters most, made before anything else in the detail is trusted or parsed:
  // EventBridge sets event.account; detail.accountId is only the sender's word.
  const claimed = claimedAccount(envelope.data.detail);
  if (claimed !== undefined && claimed !== sender) {
    const reportId = (envelope.data.detail as { reportId?: unknown }).reportId;
    return reject(
      'forged-account',
      `detail.accountId ${quoted(claimed, 40)} differs from the sending account ${sender}`,
      {
        ...(typeof claimed === 'string' && ACCOUNT_ID.test(claimed) ? { claimedAccountId: claimed } : {}),
        ...(typeof reportId === 'string' && reportId.length <= 128 ? { reportId } : {}),
      },
    );
  }

  let detail: PartDetail;
  try {
    detail = parsePartDetail(envelope.data.detail);
  } catch (error) {
    if (error instanceof ContractError) return reject('invalid-part', error.message);
    throw error;
  }
  const expectedId = reportIdFor(detail.accountId, detail.generatedTime);
  if (detail.reportId !== expectedId) {
    return reject(
      'invalid-part',
      `reportId ${detail.reportId} does not match account and generatedTime (${expectedId})`,
      {
        reportId: detail.reportId,
      },
    );
  }
  // A report "from the future" would stay latest.json forever and freeze the account's coverage.
  const generatedMs = Date.parse(detail.generatedTime);
  if (
    generatedMs > deps.now().getTime() + MAX_CLOCK_SKEW_MS ||
    generatedMs > Date.parse(detail.collectedTime)
  ) {
    return reject(
      'invalid-part',
      `generatedTime ${detail.generatedTime} is in the future or after collectedTime ${detail.collectedTime}`,
      {
        reportId: detail.reportId,
      },
    );
  }
  logger.appendKeys({ accountId: sender, reportId: detail.reportId });

  const stored = await stores.accounts.latestTimes(sender);
  if (stored && !isNewerReport(detail, stored)) {
    metrics.addMetric(INGEST_METRICS.partsSuperseded, MetricUnit.Count, 1);
    logger.info('Part of a report not newer than the stored one; ignored', {
      part: detail.part,
      parts: detail.parts,
    });
    return { status: 'superseded', reportId: detail.reportId };
  }

  if ((await stores.incoming.putPart(detail)) === 'duplicate') {
    metrics.addMetric(INGEST_METRICS.duplicateParts, MetricUnit.Count, 1);
  }

  // Only this collection's parts (same sha256): another collection of the same report never mixes in.
  const refs = (await stores.incoming.listParts(sender, detail.reportId, detail.sha256)).filter(
    (r) => r.parts === detail.parts,
  );
  const received = refs.length;
  if (received < detail.parts) {
    logger.info('Stored part; waiting for the rest', { part: detail.part, parts: detail.parts, received });
    return { status: 'waiting', reportId: detail.reportId, received, parts: detail.parts };
  }

  const partsPrefix = stores.incoming.partsPrefix(sender, detail.reportId, detail.sha256);
  let parts: PartDetail[];
  try {
    parts = await stores.incoming.readParts(refs);
  } catch (error) {
    if (error instanceof StoreError) throw error;
    return reject(
      'assembly-failed',
      `a stored part is unreadable: ${message(error)}`,
      { reportId: detail.reportId, partsPrefix },
      'rejectedReports',
    );
  }
  let report: AccountReport;
  try {
    report = assembleParts(parts);
  } catch (error) {
    if (error instanceof ContractError) {
      return reject(
        'assembly-failed',
        error.message,
        { reportId: detail.reportId, generatedTime: detail.generatedTime, partsPrefix },
        'rejectedReports',
      );
    }
    throw error;
  }
  try {
    parseCredentialReport(report.credentialReportCsv, sender);
  } catch (error) {
    if (error instanceof ReportParseError) {
      // Kept aside whole; latest.json (the previous good report) is left untouched.
      return reject(
        'invalid-report',
        error.message,
        { reportId: detail.reportId, generatedTime: detail.generatedTime, partsPrefix },
        'rejectedReports',
        { report, sha256: detail.sha256 },
      );
    }
    throw error;
  }

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
