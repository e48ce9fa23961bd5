/**
 * The hub bucket (ARCHITECTURE §5) behind one adapter: parts in incoming/, each account's newest report
 * and its history, rejected reports, the cached organization metadata, and the digest outputs.
 *
 * Concurrency control. EventBridge delivers at least once, in any order, and two invocations may finish
 * the same report at the same time. Every write that must not be lost or doubled is an S3 conditional
 * write, so correctness never depends on a lock:
 * - parts are keyed by collection: `incoming/<account>/<reportId>/<sha256>/part-<n>-of-<parts>`. IAM
 *   reuses a generated report for 4 hours, so two collections can share a reportId while their payloads
 *   (collected time, key inventory, privileges) differ; the sha256 of the payload keeps their parts
 *   apart, so they can never mix and each assembles on its own. A part is created with
 *   `If-None-Match: *`: a duplicate delivery gets 412 and is a no-op;
 * - accounts/<id>/latest.json is replaced with `If-Match: <ETag>` (or created with `If-None-Match: *`)
 *   only when the new report is newer (generatedTime, then collectedTime); on 412/409 the loop re-reads
 *   and decides again, so the newest report wins whatever the interleaving and an equal one is never
 *   written twice. The previous report is first copied to history/ (`If-None-Match: *`, idempotent).
 * S3 has supported these headers on PutObject since 2024; moto (the emulator tests) supports both.
 */
import { Readable, PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2CommandInput,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
  ServerSideEncryption,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { backoffDelay, mapLimit, sleep as defaultSleep } from '../core/concurrency';
import { CredreportError } from '../core/errors';
import { PartDetail, parseAccountReport, parsePartDetail } from '../core/event-contract';
import { OrgMetadataSchema } from '../core/org-metadata';
import { S3_LAYOUT } from '../core/names';
import { AccountReport, OrgMetadata, ReportProblem } from '../core/types';

/** An S3 operation failed in a way worth retrying later (throttling, 5xx, network, lost races). */
export class ReportStoreError extends CredreportError {}

/** Server-side encryption set explicitly on every write (the bucket default is not relied upon). */
export type SseConfig =
  { readonly mode: 'AES256' } | { readonly mode: 'aws:kms'; readonly kmsKeyId?: string };

export interface ReportStoreOptions {
  readonly bucket: string;
  /** @default { mode: 'AES256' } */
  readonly sse?: SseConfig;
  readonly logger?: Logger;
  /** Reads in flight when reading many objects. @default 32 */
  readonly readConcurrency?: number;
  /** Attempts of a conditional write that keeps losing races before giving up. @default 8 */
  readonly maxConditionalAttempts?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const CONTENT_TYPES = {
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
  gzip: 'application/gzip',
} as const;

/** One stored part, as listed. */
export interface StoredPartRef {
  readonly key: string;
  readonly part: number;
  readonly parts: number;
}

export interface ObjectRef {
  readonly key: string;
  readonly lastModified?: Date;
  readonly etag?: string;
  readonly size?: number;
}

/** What the bucket holds per account under accounts/<id>/ (history excluded). */
export interface AccountObjects {
  readonly accountId: string;
  readonly latest?: ObjectRef;
  readonly rejected?: ObjectRef;
}

export type PutPartOutcome =
  /** First copy of this part. */
  | 'stored'
  /** The same part of the same collection was already there (duplicate delivery). */
  | 'duplicate';

export type StoreLatestOutcome = 'stored' | 'not-newer';

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

/** Why ingest refused an event or a report (ARCHITECTURE §2, §4). */
export const REJECTION_REASONS = [
  'invalid-envelope',
  'invalid-part',
  'forged-account',
  'assembly-failed',
  'invalid-report',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** accounts/<id>/rejected.json: the latest refusal for an account, for coverage and investigation. */
export const RejectionRecordSchema = z.object({
  schemaVersion: z.literal(1),
  /** The sending account (EventBridge's `event.account`, which the sender cannot choose). */
  accountId: z.string(),
  reason: z.enum(REJECTION_REASONS),
  /** Safe to show: names the field or the check that failed, never report contents. */
  detail: z.string(),
  /** ISO time of the refusal. */
  at: z.string(),
  eventId: z.string().optional(),
  reportId: z.string().optional(),
  generatedTime: z.string().optional(),
  /** The account id the detail claimed, when it differs from the sender (forged). */
  claimedAccountId: z.string().optional(),
  /** Where the report's parts stay until the incoming/ lifecycle expires them. */
  partsPrefix: z.string().optional(),
  /**
   * Where the assembled report that failed validation is kept aside whole (gzip JSON under the account's
   * history/, never latest.json). Its own object, so a later refusal cannot overwrite it and the digest
   * reads only this small record.
   */
  reportKey: z.string().optional(),
});
export type RejectionRecord = z.infer<typeof RejectionRecordSchema>;

/** A part set under incoming/ that never completed. */
export interface IncompletePartSet {
  readonly accountId: string;
  readonly reportId: string;
  readonly parts: number;
  readonly received: number;
  readonly lastModified?: Date;
}

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
const nameOf = (error: unknown): string => (error instanceof Error ? error.name : '');

export const isPreconditionFailed = (error: unknown): boolean =>
  nameOf(error) === 'PreconditionFailed' || statusOf(error) === 412;
export const isConditionalConflict = (error: unknown): boolean =>
  nameOf(error) === 'ConditionalRequestConflict' || statusOf(error) === 409;
export const isNotFound = (error: unknown): boolean =>
  ['NoSuchKey', 'NotFound'].includes(nameOf(error)) || statusOf(error) === 404;

const PART_KEY = /\/part-(\d+)-of-(\d+)$/;
const INCOMING_PART_KEY = /^incoming\/([^/]+)\/([^/]+)\/([0-9a-f]{64})\/part-(\d+)-of-(\d+)$/;
const META_GENERATED = 'generated-time';
const META_COLLECTED = 'collected-time';

/** Times of a stored report from its object metadata (set by storeLatest), if present. */
function timesFromMetadata(metadata: Record<string, string>): ReportTimes | undefined {
  const generatedTime = metadata[META_GENERATED];
  if (!generatedTime) return undefined;
  const collectedTime = metadata[META_COLLECTED];
  return { generatedTime, ...(collectedTime ? { collectedTime } : {}) };
}

/** Times of a stored report from its body; undefined when the body is not a report (replaceable). */
function timesFromBody(body: Buffer): ReportTimes | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as { generatedTime?: unknown; collectedTime?: unknown };
    if (typeof value.generatedTime !== 'string') return undefined;
    return {
      generatedTime: value.generatedTime,
      ...(typeof value.collectedTime === 'string' ? { collectedTime: value.collectedTime } : {}),
    };
  } catch {
    return undefined;
  }
}

async function bodyToBuffer(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const withHelper = body as { transformToByteArray?: () => Promise<Uint8Array> };
  if (typeof withHelper.transformToByteArray === 'function') {
    return Buffer.from(await withHelper.transformToByteArray());
  }
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** `now` → `YYYY-MM-DD` (UTC), the partition of runs/. */
export const runDate = (now: Date): string => now.toISOString().slice(0, 10);

/** The S3 adapter of the hub bucket. */
export class ReportStore {
  readonly bucket: string;
  private readonly sse: SseConfig;
  private readonly logger?: Logger;
  private readonly readConcurrency: number;
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly s3: S3Client,
    opts: ReportStoreOptions,
  ) {
    this.bucket = opts.bucket;
    this.sse = opts.sse ?? { mode: 'AES256' };
    this.logger = opts.logger;
    this.readConcurrency = opts.readConcurrency ?? 32;
    this.maxAttempts = opts.maxConditionalAttempts ?? 8;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  private sseParams(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
    return this.sse.mode === 'aws:kms'
      ? {
          ServerSideEncryption: ServerSideEncryption.aws_kms,
          ...(this.sse.kmsKeyId ? { SSEKMSKeyId: this.sse.kmsKeyId } : {}),
        }
      : { ServerSideEncryption: ServerSideEncryption.AES256 };
  }

  private async put(input: Omit<PutObjectCommandInput, 'Bucket'>): Promise<string | undefined> {
    const out = await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, ...this.sseParams(), ...input }),
    );
    return out.ETag;
  }

  private async backoff(attempt: number): Promise<void> {
    await this.sleep(backoffDelay(attempt, { baseMs: 50, capMs: 2_000, random: Math.random }));
  }

  private async head(key: string): Promise<{ etag?: string; metadata: Record<string, string> } | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { etag: out.ETag, metadata: out.Metadata ?? {} };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ReportStoreError(`Could not read s3://${this.bucket}/${key}`, { cause: error });
    }
  }

  /** GetObject → bytes; undefined when the key does not exist. */
  async getBytes(key: string, ifMatch?: string): Promise<{ body: Buffer; etag?: string } | undefined> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: ifMatch }),
      );
      return { body: await bodyToBuffer(out.Body), etag: out.ETag };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (ifMatch && isPreconditionFailed(error)) throw error;
      throw new ReportStoreError(`Could not read s3://${this.bucket}/${key}`, { cause: error });
    }
  }

  /**
   * GetObject → the body as a stream, never buffered whole (in Node the SDK's body is already a
   * Readable); undefined when the key does not exist.
   */
  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body: unknown = out.Body;
      if (body === undefined || body === null) return Readable.from([]);
      if (body instanceof Readable) return body;
      if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
      return Readable.from(body as AsyncIterable<Uint8Array>, { objectMode: false });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new ReportStoreError(`Could not read s3://${this.bucket}/${key}`, { cause: error });
    }
  }

  /**
   * A stream of `key` that sends its GetObject only when first read, so a file consumed after another
   * one does not hold an idle S3 response open meanwhile. A missing object fails the stream.
   */
  lazyStream(key: string): Readable {
    const open = (): Promise<Readable | undefined> => this.getStream(key);
    const where = `s3://${this.bucket}/${key}`;
    return Readable.from(
      (async function* () {
        const body = await open();
        if (!body) throw new ReportStoreError(`${where} does not exist`);
        for await (const chunk of body) yield chunk as Buffer;
      })(),
      { objectMode: false },
    );
  }

  private async listAll(
    input: Omit<ListObjectsV2CommandInput, 'Bucket'>,
  ): Promise<{ contents: ObjectRef[]; prefixes: string[] }> {
    const contents: ObjectRef[] = [];
    const prefixes: string[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.s3 },
        { Bucket: this.bucket, ...input },
      )) {
        for (const o of page.Contents ?? []) {
          if (o.Key) contents.push({ key: o.Key, lastModified: o.LastModified, etag: o.ETag, size: o.Size });
        }
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      }
    } catch (error) {
      throw new ReportStoreError(`Could not list s3://${this.bucket}/${input.Prefix ?? ''}`, {
        cause: error,
      });
    }
    return { contents, prefixes };
  }

  // ---------------------------------------------------------------- ingest

  /** The prefix of S3_LAYOUT.incomingPart holding the parts of one collection of a report. */
  partsPrefix(accountId: string, reportId: string, sha256: string): string {
    return `${S3_LAYOUT.incomingPrefix}${accountId}/${reportId}/${sha256}/`;
  }

  /**
   * Stores one part (idempotent): created with `If-None-Match: *`, so a duplicate delivery gets 412 and
   * changes nothing. The key names the collection (sha256), so another collection of the same report
   * never lands in this part's slot.
   */
  async putPart(detail: PartDetail): Promise<PutPartOutcome> {
    const key = S3_LAYOUT.incomingPart(
      detail.accountId,
      detail.reportId,
      detail.sha256,
      detail.part,
      detail.parts,
    );
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        await this.put({
          Key: key,
          Body: JSON.stringify(detail),
          ContentType: CONTENT_TYPES.json,
          IfNoneMatch: '*',
        });
        return 'stored';
      } catch (error) {
        if (isPreconditionFailed(error)) return 'duplicate';
        if (!isConditionalConflict(error)) {
          throw new ReportStoreError(
            `Could not store part ${detail.part}/${detail.parts} of ${detail.reportId}`,
            {
              cause: error,
            },
          );
        }
        // 409: a concurrent write of the same key is in flight; the next attempt sees its outcome.
        await this.backoff(attempt);
      }
    }
    throw new ReportStoreError(
      `Gave up storing part ${detail.part}/${detail.parts} of ${detail.reportId} after ${this.maxAttempts} conflicting writes`,
    );
  }

  /** Parts stored for one collection of a report (any `parts` total), sorted by part number. */
  async listParts(accountId: string, reportId: string, sha256: string): Promise<StoredPartRef[]> {
    const { contents } = await this.listAll({ Prefix: this.partsPrefix(accountId, reportId, sha256) });
    return contents
      .flatMap((o) => {
        const m = PART_KEY.exec(o.key);
        return m ? [{ key: o.key, part: Number(m[1]), parts: Number(m[2]) }] : [];
      })
      .sort((a, b) => a.parts - b.parts || a.part - b.part);
  }

  /** Reads and re-validates stored parts (a corrupted one throws ContractError). */
  async readParts(refs: readonly StoredPartRef[]): Promise<PartDetail[]> {
    // Parts of one report are few; read them a handful at a time.
    return mapLimit(refs, 8, async (ref) => {
      const got = await this.getBytes(ref.key);
      if (!got) throw new ReportStoreError(`Part ${ref.key} disappeared while assembling`);
      return parsePartDetail(JSON.parse(got.body.toString('utf8')));
    });
  }

  /** generatedTime and collectedTime of the account's stored newest report, if any (one HeadObject). */
  async latestTimes(accountId: string): Promise<ReportTimes | undefined> {
    const key = S3_LAYOUT.accountLatest(accountId);
    const head = await this.head(key);
    if (!head) return undefined;
    const fromMeta = timesFromMetadata(head.metadata);
    if (fromMeta) return fromMeta;
    // Written without metadata (by hand?): the body decides.
    const got = await this.getBytes(key);
    return got ? timesFromBody(got.body) : undefined;
  }

  /**
   * Makes `report` the account's latest.json if it is newer than the stored one (see
   * {@link isNewerReport}), moving the stored one to history/ first. Safe under concurrent calls (see the
   * module comment). Deciding "not newer" costs one HeadObject; the stored body is read only to move it.
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
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        const current = await this.head(key);
        if (!current) {
          await this.put({ ...put, IfNoneMatch: '*' });
          return 'stored';
        }
        let stored = timesFromMetadata(current.metadata);
        if (stored && !isNewerReport(report, stored)) return 'not-newer';
        const got = await this.getBytes(key, current.etag);
        if (!got) continue; // deleted meanwhile: create it on the next attempt
        stored ??= timesFromBody(got.body);
        if (stored && !isNewerReport(report, stored)) return 'not-newer';
        // A body that is not a report is replaced without a history copy (bucket versioning keeps it).
        if (stored) {
          try {
            await this.put({
              Key: S3_LAYOUT.accountHistory(report.accountId, stored.generatedTime),
              Body: gzipSync(got.body),
              ContentType: CONTENT_TYPES.gzip,
              IfNoneMatch: '*',
            });
          } catch (error) {
            // Already there: moved by an earlier attempt, or another collection of the same IAM report.
            if (!isPreconditionFailed(error)) throw error;
          }
        }
        await this.put({ ...put, IfMatch: current.etag });
        return 'stored';
      } catch (error) {
        if (isPreconditionFailed(error) || isConditionalConflict(error)) {
          this.logger?.debug('Lost a race on latest.json; re-reading', {
            accountId: report.accountId,
            attempt,
          });
          await this.backoff(attempt);
          continue;
        }
        if (error instanceof ReportStoreError) throw error;
        throw new ReportStoreError(`Could not store the report of account ${report.accountId}`, {
          cause: error,
        });
      }
    }
    throw new ReportStoreError(
      `Gave up storing the report of account ${report.accountId} after ${this.maxAttempts} conflicting writes`,
    );
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
        await this.put({
          Key: reportKey,
          Body: gzipSync(JSON.stringify(rejected.report)),
          ContentType: CONTENT_TYPES.gzip,
        });
        full = { ...full, reportKey };
      }
      await this.put({
        Key: S3_LAYOUT.accountRejected(record.accountId),
        Body: JSON.stringify(full),
        ContentType: CONTENT_TYPES.json,
      });
      return full;
    } catch (error) {
      throw new ReportStoreError(`Could not record the rejection for account ${record.accountId}`, {
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
    const { contents } = await this.listAll({ Prefix: S3_LAYOUT.accountsPrefix, Delimiter: '/history/' });
    const byAccount = new Map<string, { accountId: string; latest?: ObjectRef; rejected?: ObjectRef }>();
    for (const o of contents) {
      const m = /^accounts\/([^/]+)\/(latest|rejected)\.json$/.exec(o.key);
      if (!m) continue;
      const accountId = m[1] as string;
      const entry = byAccount.get(accountId) ?? { accountId };
      if (m[2] === 'latest') entry.latest = o;
      else entry.rejected = o;
      byAccount.set(accountId, entry);
    }
    return byAccount;
  }

  /** Reads and validates one account's latest.json. Throws (ReportStoreError / ContractError) when unusable. */
  async readAccountReport(accountId: string): Promise<AccountReport> {
    const got = await this.getBytes(S3_LAYOUT.accountLatest(accountId));
    if (!got) throw new ReportStoreError(`accounts/${accountId}/latest.json does not exist`);
    const report = parseAccountReport(JSON.parse(got.body.toString('utf8')));
    if (report.accountId !== accountId) {
      throw new ReportStoreError(
        `accounts/${accountId}/latest.json holds a report of account ${report.accountId}`,
      );
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
            this.logger?.warn('Could not read an account report', {
              accountId,
              error: nameOf(error) || message,
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

  async readRejected(accountId: string): Promise<RejectionRecord | undefined> {
    const got = await this.getBytes(S3_LAYOUT.accountRejected(accountId));
    if (!got) return undefined;
    return RejectionRecordSchema.parse(JSON.parse(got.body.toString('utf8')));
  }

  /**
   * Part sets under incoming/ whose parts are not all present: one entry per collection (reportId +
   * sha256 + part count), leaving out every report for which some collection is complete.
   */
  async listIncompletePartSets(): Promise<IncompletePartSet[]> {
    const { contents } = await this.listAll({ Prefix: S3_LAYOUT.incomingPrefix });
    const sets = new Map<
      string,
      { accountId: string; reportId: string; parts: number; seen: Set<number>; last?: Date }
    >();
    for (const o of contents) {
      const m = INCOMING_PART_KEY.exec(o.key);
      if (!m) continue;
      const [, accountId = '', reportId = '', sha256 = '', part = '', parts = ''] = m;
      const id = `${accountId}/${reportId}/${sha256}/${parts}`;
      let set = sets.get(id);
      if (!set) sets.set(id, (set = { accountId, reportId, parts: Number(parts), seen: new Set() }));
      set.seen.add(Number(part));
      if (o.lastModified && (!set.last || o.lastModified > set.last)) set.last = o.lastModified;
    }
    // A report collected twice, or resent with another part count, may leave an incomplete set beside a
    // complete one: the complete one was assembled, so the report is not incomplete.
    const complete = new Set(
      [...sets.values()].filter((s) => s.seen.size >= s.parts).map((s) => `${s.accountId}/${s.reportId}`),
    );
    return [...sets.values()]
      .filter((s) => s.seen.size < s.parts && !complete.has(`${s.accountId}/${s.reportId}`))
      .map((s) => ({
        accountId: s.accountId,
        reportId: s.reportId,
        parts: s.parts,
        received: s.seen.size,
        ...(s.last ? { lastModified: s.last } : {}),
      }));
  }

  /** The cached metadata, or undefined when absent or unreadable as metadata (a warning is logged). */
  async readOrgMetadata(): Promise<OrgMetadata | undefined> {
    const got = await this.getBytes(S3_LAYOUT.orgMetadata);
    if (!got) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(got.body.toString('utf8'));
    } catch {
      this.logger?.warn('Ignoring an org/metadata.json that is not JSON');
      return undefined;
    }
    const parsed = OrgMetadataSchema.safeParse(json);
    if (!parsed.success) {
      this.logger?.warn('Ignoring an unreadable org/metadata.json', { issues: parsed.error.issues.length });
      return undefined;
    }
    return parsed.data;
  }

  async writeOrgMetadata(metadata: OrgMetadata): Promise<void> {
    await this.putText(S3_LAYOUT.orgMetadata, JSON.stringify(metadata), CONTENT_TYPES.json);
  }

  /** Writes a whole (small) object. */
  async putText(key: string, body: string | Buffer, contentType: string): Promise<void> {
    try {
      await this.put({ Key: key, Body: body, ContentType: contentType });
    } catch (error) {
      throw new ReportStoreError(`Could not write s3://${this.bucket}/${key}`, { cause: error });
    }
  }

  /**
   * A writable stream uploaded to `key` with a multipart upload as it is written (lib-storage Upload:
   * parts of `partSize`, a few in flight, so memory stays bounded whatever the size). `done` settles when
   * the object exists; if the upload fails the stream is destroyed so its writer stops too.
   */
  uploadStream(
    key: string,
    contentType: string,
    opts: { partSize?: number; queueSize?: number } = {},
  ): {
    stream: PassThrough;
    done: Promise<void>;
  } {
    const stream = new PassThrough();
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: stream, ContentType: contentType, ...this.sseParams() },
      partSize: opts.partSize ?? 8 * 1024 * 1024,
      queueSize: opts.queueSize ?? 4,
      leavePartsOnError: false,
    });
    const done = upload.done().then(
      () => undefined,
      (error: unknown) => {
        stream.destroy(error instanceof Error ? error : new Error(String(error)));
        throw new ReportStoreError(`Could not upload s3://${this.bucket}/${key}`, { cause: error });
      },
    );
    return { stream, done };
  }

  /** Server-side copy (replaces the destination: a second run on the same day overwrites that day). */
  async copy(sourceKey: string, destinationKey: string): Promise<void> {
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: destinationKey,
          CopySource: `${this.bucket}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'COPY',
          ...this.sseParams(),
        }),
      );
    } catch (error) {
      throw new ReportStoreError(`Could not copy s3://${this.bucket}/${sourceKey} to ${destinationKey}`, {
        cause: error,
      });
    }
  }
}

/** Decodes a history object (gzip JSON) — used by tests and by operators reading history. */
export function decodeHistory(body: Buffer): AccountReport {
  return parseAccountReport(JSON.parse(gunzipSync(body).toString('utf8')));
}
