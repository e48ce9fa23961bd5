/**
 * accounts/<id>/ of the hub bucket (docs/ARCHITECTURE.md §5): each account's newest report
 * (latest.json), the reports it replaced (history/), and the latest refusal (rejected.json) with any
 * report kept aside for inspection.
 *
 * Concurrency control (§12). Two invocations may finish the same report at the same time, and reports
 * arrive in any order. latest.json is replaced with `If-Match: <ETag>` (or created with
 * `If-None-Match: *`) only when the new report is newer (core/report-order isNewerReport); on 412/409
 * the write is retried after re-reading, so the newest report wins whatever the interleaving and an
 * equal one is never written twice. The previous report is first copied to history/ (`If-None-Match: *`,
 * idempotent). S3 has supported these headers on PutObject since 2024; moto (the emulator tests) too.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { retry } from '../core/concurrency';
import { parseAccountReport } from '../core/event-contract';
import { S3_LAYOUT } from '../core/names';
import {
  AgentFailureRecord,
  AgentFailureRecordSchema,
  RejectionRecord,
  RejectionRecordSchema,
} from '../core/rejection';
import { ReportTimes, isNewerReport, reportTimesOfJson } from '../core/report-order';
import { AccountReport, ReportProblem } from '../core/types';
import {
  CONTENT_TYPES,
  ConditionalWriteOptions,
  ObjectRef,
  S3Bucket,
  StoreError,
  StoreOptions,
  conditionalFailure,
  conditionalRetry,
} from './s3';

/** What the bucket holds per account under accounts/<id>/ (history excluded). */
export interface AccountObjects {
  readonly accountId: string;
  readonly latest?: ObjectRef;
  readonly rejected?: ObjectRef;
  readonly agentFailure?: ObjectRef;
}

export type StoreLatestOutcome = 'stored' | 'not-newer';

/** How the account store is built. */
export interface AccountStoreOptions extends StoreOptions, ConditionalWriteOptions {
  /** Reads in flight when reading many reports. @default 32 */
  readonly readConcurrency?: number;
}

const META_GENERATED = 'generated-time';
const META_COLLECTED = 'collected-time';

/** Times of a stored report from its object metadata (set by storeLatest), if present. */
function timesFromMetadata(metadata: Record<string, string>): ReportTimes | undefined {
  const generatedTime = metadata[META_GENERATED];
  if (!generatedTime) return undefined;
  const collectedTime = metadata[META_COLLECTED];
  return { generatedTime, ...(collectedTime ? { collectedTime } : {}) };
}

/** latest.json changed or vanished between the read and the write: decide again (not an S3 error). */
class LostRace extends StoreError {}

const isLostRace = (error: unknown): boolean =>
  error instanceof LostRace || conditionalFailure(error) !== undefined;

/** The reports and refusals under accounts/. */
export class AccountStore {
  private readonly bucket: S3Bucket;
  private readonly readConcurrency: number;

  constructor(
    s3: S3Client,
    private readonly opts: AccountStoreOptions,
  ) {
    this.bucket = new S3Bucket(s3, opts);
    this.readConcurrency = opts.readConcurrency ?? 32;
  }

  // ---------------------------------------------------------------- ingest

  /** generatedTime and collectedTime of the account's stored newest report, if any (one HeadObject). */
  async latestTimes(accountId: string): Promise<ReportTimes | undefined> {
    const key = S3_LAYOUT.accountLatest(accountId);
    const head = await this.bucket.head(key);
    if (!head) return undefined;
    const fromMeta = timesFromMetadata(head.metadata);
    if (fromMeta) return fromMeta;
    // Written without metadata (by hand?): the body decides.
    const got = await this.bucket.getBytes(key);
    return got ? reportTimesOfJson(got.body.toString('utf8')) : undefined;
  }

  /**
   * Makes `report` the account's latest.json if it is newer than the stored one (see isNewerReport),
   * moving the stored one to history/ first. Safe under concurrent calls (see the module comment).
   * Deciding "not newer" costs one HeadObject; the stored body is read only to move it.
   */
  async storeLatest(report: AccountReport, storedAt: Date): Promise<StoreLatestOutcome> {
    const key = S3_LAYOUT.accountLatest(report.accountId);
    const put = {
      Key: key,
      Body: JSON.stringify(report),
      ContentType: CONTENT_TYPES.json,
      Metadata: {
        [META_GENERATED]: report.generatedTime,
        [META_COLLECTED]: report.collectedTime,
        'stored-at': storedAt.toISOString(),
      },
    };
    const attempt = async (): Promise<StoreLatestOutcome> => {
      const current = await this.bucket.head(key);
      if (!current) {
        await this.bucket.put({ ...put, IfNoneMatch: '*' });
        return 'stored';
      }
      let stored = timesFromMetadata(current.metadata);
      if (stored && !isNewerReport(report, stored)) return 'not-newer';
      const got = await this.bucket.getBytes(key, current.etag);
      if (!got) throw new LostRace(`${key} was deleted meanwhile`); // create it on the next attempt
      stored ??= reportTimesOfJson(got.body.toString('utf8'));
      if (stored && !isNewerReport(report, stored)) return 'not-newer';
      // A body that is not a report is replaced without a history copy (bucket versioning keeps it).
      if (stored) {
        try {
          await this.bucket.put({
            Key: S3_LAYOUT.accountHistory(report.accountId, stored.generatedTime),
            Body: gzipSync(got.body),
            ContentType: CONTENT_TYPES.gzip,
            IfNoneMatch: '*',
          });
        } catch (error) {
          // Already there: moved by an earlier attempt, or another collection of the same IAM report.
          if (conditionalFailure(error) !== 'precondition-failed') throw error;
        }
      }
      await this.bucket.put({ ...put, IfMatch: current.etag });
      return 'stored';
    };
    const settings = conditionalRetry(this.opts);
    try {
      return await retry(attempt, {
        ...settings,
        retryIf: isLostRace,
        beforeWait: ({ attempt: n }) =>
          this.opts.logger?.debug('Lost a race on latest.json; re-reading', {
            accountId: report.accountId,
            attempt: n,
          }),
      });
    } catch (error) {
      if (isLostRace(error)) {
        throw new StoreError(
          `Gave up storing the report of account ${report.accountId} after ${settings.attempts} conflicting writes`,
          { cause: error },
        );
      }
      if (error instanceof StoreError) throw error;
      throw new StoreError(`Could not store the report of account ${report.accountId}`, { cause: error });
    }
  }

  /** Where a report that failed validation is kept aside (rolled up with history/ by the digest's listing). */
  rejectedReportKey(accountId: string, reportId: string, sha256: string): string {
    return S3_LAYOUT.accountRejectedReport(accountId, reportId, sha256);
  }

  /**
   * Records a refusal for the sending account in accounts/<id>/rejected.json (the latest refusal wins;
   * the bucket's versioning keeps earlier ones, and every refusal is also logged and counted). A report
   * that failed validation is first kept aside whole under {@link rejectedReportKey}.
   */
  async putRejected(
    record: RejectionRecord,
    rejected?: { readonly report: AccountReport; readonly sha256: string },
  ): Promise<RejectionRecord> {
    let full = RejectionRecordSchema.parse(record);
    try {
      if (rejected && record.reportId) {
        const reportKey = this.rejectedReportKey(record.accountId, record.reportId, rejected.sha256);
        await this.bucket.put({
          Key: reportKey,
          Body: gzipSync(JSON.stringify(rejected.report)),
          ContentType: CONTENT_TYPES.gzip,
        });
        full = { ...full, reportKey };
      }
      await this.bucket.put({
        Key: S3_LAYOUT.accountRejected(record.accountId),
        Body: JSON.stringify(full),
        ContentType: CONTENT_TYPES.json,
      });
      return full;
    } catch (error) {
      throw new StoreError(`Could not record the rejection for account ${record.accountId}`, {
        cause: error,
      });
    }
  }

  /**
   * Records the agent's reported failure in accounts/<id>/agent-failure.json (the latest wins; bucket
   * versioning keeps earlier ones). Its own key: it never touches latest.json or rejected.json.
   */
  async putAgentFailure(record: AgentFailureRecord): Promise<void> {
    const full = AgentFailureRecordSchema.parse(record);
    try {
      await this.bucket.put({
        Key: S3_LAYOUT.accountAgentFailure(full.accountId),
        Body: JSON.stringify(full),
        ContentType: CONTENT_TYPES.json,
      });
    } catch (error) {
      throw new StoreError(`Could not record the agent failure for account ${full.accountId}`, {
        cause: error,
      });
    }
  }

  // ---------------------------------------------------------------- digest

  /**
   * Every account with a latest.json or rejected.json, from one listing. The delimiter `/history/` rolls
   * each account's history up into one common prefix, so the listing stays ~2 keys per account however
   * long the history is.
   */
  async listAccounts(): Promise<Map<string, AccountObjects>> {
    const { contents } = await this.bucket.listAll({
      Prefix: S3_LAYOUT.accountsPrefix,
      Delimiter: '/history/',
    });
    const byAccount = new Map<
      string,
      { accountId: string; latest?: ObjectRef; rejected?: ObjectRef; agentFailure?: ObjectRef }
    >();
    for (const o of contents) {
      const m = /^accounts\/([^/]+)\/(latest|rejected|agent-failure)\.json$/.exec(o.key);
      if (!m) continue;
      const accountId = m[1] as string;
      const entry = byAccount.get(accountId) ?? { accountId };
      if (m[2] === 'latest') entry.latest = o;
      else if (m[2] === 'rejected') entry.rejected = o;
      else entry.agentFailure = o;
      byAccount.set(accountId, entry);
    }
    return byAccount;
  }

  /** Reads and validates one account's latest.json. Throws (StoreError / ContractError) when unusable. */
  async readAccountReport(accountId: string): Promise<AccountReport> {
    const got = await this.bucket.getBytes(S3_LAYOUT.accountLatest(accountId));
    if (!got) throw new StoreError(`accounts/${accountId}/latest.json does not exist`);
    const report = parseAccountReport(JSON.parse(got.body.toString('utf8')));
    if (report.accountId !== accountId) {
      throw new StoreError(`accounts/${accountId}/latest.json holds a report of account ${report.accountId}`);
    }
    return report;
  }

  /**
   * Reads many accounts' reports with at most `concurrency` reads in flight and yields them as they
   * arrive, so memory holds a window of reports rather than all of them. An account that cannot be read
   * or validated is reported to `onProblem` ('unreadable') and skipped; the others still come.
   */
  async *readAccountReports(
    accountIds: readonly string[],
    onProblem: (problem: ReportProblem) => void,
    opts: { concurrency?: number; now?: Date } = {},
  ): AsyncGenerator<AccountReport> {
    const limit = Math.max(1, opts.concurrency ?? this.readConcurrency);
    type Done = { id: number; report?: AccountReport };
    const inFlight = new Map<number, Promise<Done>>();
    let next = 0;
    const start = (): void => {
      const id = next++;
      const accountId = accountIds[id] as string;
      inFlight.set(
        id,
        this.readAccountReport(accountId).then(
          (report) => ({ id, report }),
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            this.opts.logger?.warn('Could not read an account report', {
              accountId,
              error: (error instanceof Error && error.name) || message,
            });
            onProblem({
              accountId,
              reason: 'unreadable',
              detail: `stored report could not be read: ${message}`.slice(0, 500),
              ...(opts.now ? { at: opts.now.toISOString() } : {}),
            });
            return { id };
          },
        ),
      );
    };
    while (next < accountIds.length && inFlight.size < limit) start();
    while (inFlight.size > 0) {
      const done = await Promise.race(inFlight.values());
      inFlight.delete(done.id);
      if (next < accountIds.length) start();
      if (done.report) yield done.report;
    }
  }

  /** The account's last reported agent failure, if any; throws (ZodError) when the record is not one. */
  async readAgentFailure(accountId: string): Promise<AgentFailureRecord | undefined> {
    const got = await this.bucket.getBytes(S3_LAYOUT.accountAgentFailure(accountId));
    if (!got) return undefined;
    return AgentFailureRecordSchema.parse(JSON.parse(got.body.toString('utf8')));
  }

  /** The account's latest refusal, if any; throws (ZodError) when the record is not one. */
  async readRejected(accountId: string): Promise<RejectionRecord | undefined> {
    const got = await this.bucket.getBytes(S3_LAYOUT.accountRejected(accountId));
    if (!got) return undefined;
    return RejectionRecordSchema.parse(JSON.parse(got.body.toString('utf8')));
  }
}

/** Decodes a history object (gzip JSON) — used by tests and by operators reading history. */
export function decodeHistory(body: Buffer): AccountReport {
  return parseAccountReport(JSON.parse(gunzipSync(body).toString('utf8')));
}
