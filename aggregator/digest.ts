/**
 * The digest run (docs/ARCHITECTURE.md §2, §5, §6): own account collected in-process, organization metadata
 * (cached), every stored account report streamed from S3, merged by the core into the CSVs (uploaded as
 * they are written), summary and digest HTML, written to latest/ and runs/date=…/, then emailed.
 *
 * Failure semantics:
 * - One account's problem never stops the run: an unreadable stored report, a rejected or incomplete
 *   report and a failed own-account collection each become a coverage entry with its reason.
 * - Organizations failing falls back to the cached metadata (a warning); no cache → no metadata.
 * - S3 failing while writing the outputs throws: nothing trustworthy was produced, and the Lambda
 *   Errors alarm must fire.
 * - SES failing after the outputs were written does NOT throw: the result says `ok: false`,
 *   `email: 'failed'` with the error, an `EmailFailed` metric is emitted (the stack alarms on it) and
 *   the error is logged. Throwing would make the async invocation retry the whole digest (and possibly
 *   mail twice once SES recovers) while the outputs are already in S3; `credreport run` prints the result.
 */
import { Readable, Writable } from 'node:stream';
import { createGzip, Gzip } from 'node:zlib';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { AccountClient } from '@aws-sdk/client-account';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { mapLimit } from '../core/concurrency';
import { isStale } from '../core/coverage';
import { CredreportError } from '../core/errors';
import type { PreviousRun } from '../core/delta';
import { parsePreviousSummary, readPreviousRun } from '../core/previous-run';
import { readPreviousState } from '../core/run-state';
import { grantsOfReport } from '../core/merge';
import { formatSummaryJson, RunItem, runPipeline, withProblems } from '../core/run-pipeline';
import { renderDigestHtml } from '../core/digest-html';
import {
  buildChatNotification,
  buildFindingEvents,
  NotificationOutcome,
  notificationFailures,
  NewFindings,
} from '../core/notifications';
import type { Summary } from '../core/summary';
import { chooseExemptions, exemptionPredicate, ExemptionsInput } from '../core/exemptions';
import { S3_LAYOUT } from '../core/names';
import { athenaTableCopies } from '../core/athena-tables';
import { Thresholds } from '../core/thresholds';
import type { CisVersion, Severity } from '../core/finding-ids';
import { AccountReport, FINDING_IDS, OrgMetadata, ReportProblem } from '../core/types';
import {
  NOTHING_EXEMPT,
  planAccount,
  withoutSettledKeys,
  planDocument,
  remediationSummary,
  type AccountPlanResult,
  type AuditLog,
  type DeactivationPolicy,
  type ExemptionPredicate,
  type RemediationSummary,
} from '../core/deactivation';
import type { RemediationListing, RemediationStore } from '../store/remediation-store';
import { collectAccountReport } from '../collector/account-collector';
import { DigestEnv } from './env';
import { composeDigestEmail, consoleUrl, sendDigestEmail } from './mailer';
import { notify, NotifyRequest } from './notifier';
import { OrgMetadataError, fetchOrgMetadata } from '../collector/org-metadata';
import { selectExpectedAccounts } from '../core/org-metadata';
import { runDate } from '../core/run-date';
import type { AccountObjects, AccountStore } from '../store/account-store';
import type { HubStores } from '../store/hub-stores';
import type { AccountIncompleteSets } from '../store/incoming-store';
import type { RunOutputStore } from '../store/run-output-store';
import { CONTENT_TYPES } from '../store/s3';
import { DIGEST_METRICS } from './telemetry';
import { fetchAlternateContacts } from '../collector/alternate-contacts';
import {
  checkOwnerAddress,
  isValidDomain,
  ownersSummaryOf,
  resolveOwners,
  withDelivery,
  type OwnerDigestMode,
  type OwnerPolicy,
  type OwnerResolution,
} from '../core/owners';
import { deliverOwnerDigests } from './owner-digests';

/** A configuration error that makes the digest meaningless (e.g. Organizations answers for another org). */
export class DigestError extends CredreportError {}

/** The digest handler's result, also what `credreport run` prints. */
export interface DigestResult {
  readonly ok: boolean;
  readonly summaryKey: string;
  /** The run's coverage verdict (core/coverage.ts, docs/ARCHITECTURE.md §12): `credreport run` exits by `complete`. */
  readonly coverage: {
    readonly expected: number;
    readonly reporting: number;
    readonly missing: number;
    readonly complete: boolean;
  };
  /** Users per finding id. */
  readonly findings: Record<string, number>;
  /** Open findings per severity: summary.json's `totals.openFindings` (`credreport run --fail-on` reads it). */
  readonly openFindings: Readonly<Record<Severity, number>>;
  readonly email: 'sent' | 'skipped' | 'failed';
  readonly error?: string;
  /** What the chat summary and the finding events did; absent when neither is configured. */
  readonly notifications?: NotificationOutcome;
  /** Owner digests of the run (absent when off). */
  readonly owners?: { readonly due: number; readonly delivered: number; readonly failed: number };
}

export interface DigestConfig {
  readonly bucket: string;
  readonly organizationId: string;
  readonly targetOuIds: readonly string[];
  readonly recipients: readonly string[];
  readonly sender: string;
  /** Empty: every tag key in the org. */
  readonly tagKeys: readonly string[];
  readonly breakdownTag: string;
  /** @default DEFAULT_CIS_VERSION */
  readonly cisVersion?: CisVersion;
  readonly thresholds: Thresholds;
  readonly maxEmailBytes: number;
  readonly tagCacheHours: number;
  /**
   * The management account when the hub is a delegated administrator: always expected, like the hub's
   * own account (its agent is deployed by the CredreportHubManagementAgent stack, not the StackSet).
   */
  readonly managementAccountId?: string;
  /** For the console link in the email. */
  readonly region?: string;
  /** Tag refresh budget. @default 120000 */
  readonly orgBudgetMs?: number;
  /** Own-account collection budget. @default 300000 */
  readonly collectBudgetMs?: number;
  /** S3 reads in flight. @default 32 */
  readonly readConcurrency?: number;
  /** SNS topic of the chat summary (an Amazon Q Developer custom notification); absent: none. */
  readonly chatTopicArn?: string;
  /** Bus of the finding events (`credreport.findings`); absent: none. */
  readonly findingEventsBusArn?: string;
  /** Finding events per run before the "… and N more" event. @default DEFAULT_MAX_FINDING_EVENTS */
  readonly maxFindingEvents?: number;
  /**
   * Also copy the three CSVs to the Athena tables' folders (tables/<table>/date=…/, core/athena-tables.ts).
   * @default false
   */
  readonly athenaTables?: boolean;
  /** How far ahead an exemption may expire (cdk.json `exemptionMaxDays`). @default DEFAULT_EXEMPTION_MAX_DAYS */
  readonly exemptionMaxDays?: number;
  /** Per-owner digests (core/owners.ts); absent or mode `off`: none. */
  readonly owners?: OwnerDigestsConfig;
  /** Staged deactivation (core/deactivation.ts); absent: off (no plan written, no section). */
  readonly deactivation?: DeactivationPolicy;
}

/** The owner digest settings (config `ownerDigests`, `ownerTagKeys`, `defaultOwner`, `ownerAllowedDomains`, `ownerMinSeverity`). */
export interface OwnerDigestsConfig extends OwnerPolicy {
  readonly mode: OwnerDigestMode;
  readonly minSeverity: Severity;
}

/** DigestEnv (parsed once by the handler) → DigestConfig. */
export function digestConfigFromEnv(env: DigestEnv, region?: string): DigestConfig {
  return {
    bucket: env.REPORT_BUCKET,
    organizationId: env.ORGANIZATION_ID,
    targetOuIds: env.TARGET_OU_IDS,
    recipients: env.DIGEST_RECIPIENTS,
    sender: env.DIGEST_SENDER,
    tagKeys: env.TAG_KEYS,
    breakdownTag: env.BREAKDOWN_TAG,
    cisVersion: env.CIS_VERSION,
    thresholds: {
      rotationDays: env.ROTATION_DAYS,
      unusedDays: env.UNUSED_DAYS,
      graceDays: env.GRACE_DAYS,
      rootUseDays: env.ROOT_USE_DAYS,
      staleHours: env.STALE_HOURS,
    },
    maxEmailBytes: env.MAX_EMAIL_BYTES,
    tagCacheHours: env.TAG_CACHE_HOURS,
    exemptionMaxDays: env.EXEMPTION_MAX_DAYS,
    ...(env.MANAGEMENT_ACCOUNT_ID ? { managementAccountId: env.MANAGEMENT_ACCOUNT_ID } : {}),
    ...(region ? { region } : {}),
    ...(env.CHAT_TOPIC_ARN ? { chatTopicArn: env.CHAT_TOPIC_ARN } : {}),
    ...(env.FINDING_EVENTS_BUS_ARN ? { findingEventsBusArn: env.FINDING_EVENTS_BUS_ARN } : {}),
    maxFindingEvents: env.MAX_FINDING_EVENTS,
    ...(env.ATHENA_TABLES ? { athenaTables: true } : {}),
    ...(env.OWNER_DIGESTS !== 'off' ? { owners: ownerDigestsConfigFromEnv(env) } : {}),
    ...(env.DEACTIVATION_POLICY ? { deactivation: env.DEACTIVATION_POLICY } : {}),
  };
}

/** The owner settings of the environment; throws DigestError when owner digests are on without allowed domains. */
function ownerDigestsConfigFromEnv(env: DigestEnv): OwnerDigestsConfig {
  const domains = env.OWNER_ALLOWED_DOMAINS.map((d) => d.toLowerCase());
  const bad = domains.filter((d) => !isValidDomain(d));
  if (domains.length === 0 || bad.length > 0) {
    throw new DigestError(
      `OWNER_ALLOWED_DOMAINS: ${domains.length === 0 ? 'required when OWNER_DIGESTS is not off' : `not a domain: ${bad.join(', ')}`}`,
    );
  }
  return {
    mode: env.OWNER_DIGESTS,
    tagKeys: env.OWNER_TAG_KEYS,
    ...(env.DEFAULT_OWNER !== '' ? { defaultOwner: env.DEFAULT_OWNER } : {}),
    allowedDomains: domains,
    minSeverity: env.OWNER_MIN_SEVERITY,
  };
}

export interface DigestDeps {
  readonly stores: HubStores;
  readonly organizations: OrganizationsClient;
  readonly iam: IAMClient;
  readonly ses: SESv2Client;
  /** For the chat summary (needed when `chatTopicArn` is set). */
  readonly sns?: SNSClient;
  /** For the finding events (needed when `findingEventsBusArn` is set). */
  readonly eventBridge?: EventBridgeClient;
  /** Injected for tests: the notifier's retry waits. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** AWS Account Management (alternate contacts for owner digests); absent: only cached contacts are used. */
  readonly account?: AccountClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The hub's own account (StackSets never deploy the agent there; it is collected in-process). */
  readonly ownAccountId: string;
  /** Injected for tests; default: the member agent's collector. */
  readonly collect?: typeof collectAccountReport;
  /** Monotonic ms clock for the duration. */
  readonly clock?: () => number;
  /**
   * Exemptions for the staged deactivation (the hook for the exemptions file): a key it exempts is never
   * staged. @default NOTHING_EXEMPT
   */
  readonly isExempt?: ExemptionPredicate;
}

/** Audit logs read per digest at most (the newest first); more are named in the summary. */
export const MAX_AUDIT_LOGS_PER_RUN = 2_000;

/**
 * The staged deactivation of one digest run (docs/ARCHITECTURE.md §7): plans each account as its report
 * streams past ({@link observe}), and once every report is seen writes the plans — an account with a
 * staged key, and an empty plan for an account whose earlier plan must be superseded — reads the agents'
 * audit logs since the previous run and answers summary.json's `remediation`. A plan or log failure is an
 * entry of that section, never a failed run.
 */
class DeactivationRun {
  private readonly plans: AccountPlanResult[] = [];
  /** When each account's report was collected (ms): audit records after it settle planned keys. */
  private readonly collectedMs = new Map<string, number>();
  private readonly listing: Promise<RemediationListing | Error>;
  /** What {@link finish} decided and read, kept for the per-owner views ({@link summaryFor}). */
  private outcome:
    | {
        readonly mode: 'dry-run' | 'enforce';
        readonly plans: readonly AccountPlanResult[];
        readonly written: ReadonlySet<string>;
        readonly writeFailures: readonly { accountId: string; detail: string }[];
        readonly logs: readonly AuditLog[];
        readonly unreadableLogs: readonly { accountId: string; detail: string }[];
      }
    | undefined;

  constructor(
    private readonly policy: DeactivationPolicy,
    private readonly store: RemediationStore,
    private readonly now: Date,
    private readonly isExempt: ExemptionPredicate,
    private readonly logger: Logger,
  ) {
    this.listing = store
      .list()
      .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  }

  observe(report: AccountReport): void {
    this.plans.push(planAccount(report, this.policy, this.now, this.isExempt));
    this.collectedMs.set(report.accountId, Date.parse(report.collectedTime));
  }

  async finish(logsSince: Date): Promise<RemediationSummary> {
    const mode = this.policy.mode === 'enforce' ? 'enforce' : 'dry-run';
    const listing = await this.listing;
    const unreadableLogs: { accountId: string; detail: string }[] = [];
    const writeFailures: { accountId: string; detail: string }[] = [];
    let previousPlans: ReadonlySet<string> = new Set();
    let logs: AuditLog[] = [];
    if (listing instanceof Error) {
      this.logger.warn('Could not list remediation/', { error: errorText(listing) });
      unreadableLogs.push({
        accountId: '(all)',
        detail: `remediation/ could not be listed: ${errorText(listing)}`.slice(0, 300),
      });
    } else {
      previousPlans = listing.planAccounts;
      const recent = listing.logs.filter((l) => (l.lastModified?.getTime() ?? 0) > logsSince.getTime());
      if (recent.length > MAX_AUDIT_LOGS_PER_RUN) {
        unreadableLogs.push({
          accountId: '(all)',
          detail: `${recent.length - MAX_AUDIT_LOGS_PER_RUN} older audit logs not read this run (at most ${MAX_AUDIT_LOGS_PER_RUN})`,
        });
      }
      const read = await mapLimit(recent.slice(0, MAX_AUDIT_LOGS_PER_RUN), 16, async (ref) => {
        try {
          return await this.store.readLog(ref);
        } catch (error) {
          unreadableLogs.push({ accountId: ref.accountId, detail: errorText(error).slice(0, 300) });
          return undefined;
        }
      });
      logs = read.filter((l): l is AuditLog => l !== undefined);
    }
    const plans = this.plans.map((p) =>
      withoutSettledKeys(p, logs, this.collectedMs.get(p.accountId) ?? Number.POSITIVE_INFINITY),
    );
    // An account with staged keys gets its plan; one that had a plan and has none now gets an empty one,
    // so its agent never acts on a decision the hub no longer holds.
    const toWrite = plans.filter((p) => p.actions.length > 0 || previousPlans.has(p.accountId));
    const written = new Set<string>();
    await mapLimit(toWrite, 16, async (p) => {
      try {
        await this.store.writePlan(planDocument(p, mode, this.now));
        written.add(p.accountId);
      } catch (error) {
        this.logger.error('Could not write a remediation plan', {
          accountId: p.accountId,
          error: errorText(error),
        });
        writeFailures.push({ accountId: p.accountId, detail: errorText(error).slice(0, 300) });
      }
    });
    this.logger.info('Staged deactivation planned', {
      mode,
      accounts: this.plans.length,
      plansWritten: written.size,
      planFailures: writeFailures.length,
      auditLogs: logs.length,
    });
    this.outcome = { mode, plans, written, writeFailures, logs, unreadableLogs };
    return this.summaryOf(() => true);
  }

  /**
   * The section as the owner of `accountIds` sees it (their per-owner digest): only their accounts' planned
   * keys, actions, skips and problems, counted from the whole run (not from summary.json's capped lists).
   */
  summaryFor(accountIds: ReadonlySet<string>): RemediationSummary | undefined {
    return this.outcome ? this.summaryOf((accountId) => accountIds.has(accountId)) : undefined;
  }

  private summaryOf(mine: (accountId: string) => boolean): RemediationSummary {
    const o = this.outcome;
    if (!o) throw new DigestError('staged deactivation summary asked for before the plans were written');
    return remediationSummary({
      mode: o.mode,
      plans: o.plans.filter((p) => mine(p.accountId)),
      plansWritten: [...o.written].filter(mine).length,
      writeFailures: o.writeFailures.filter((f) => mine(f.accountId)),
      logs: o.logs.filter((l) => mine(l.accountId)),
      // `(all)`: remediation/ could not be listed or not every log was read; every owner is told.
      unreadableLogs: o.unreadableLogs.filter((u) => u.accountId === '(all)' || mine(u.accountId)),
    });
  }
}

/**
 * The run's exemptions (docs/ARCHITECTURE.md §12): config/exemptions.json when it validates (kept as the
 * last valid copy when it changed), else the last valid copy, with the problem shown in the digest. Never
 * throws: a read or write failure is a problem or a warning of the run.
 */
async function readExemptions(
  stores: HubStores,
  config: DigestConfig,
  now: Date,
  logger: Logger,
): Promise<{ input: ExemptionsInput; warnings: string[] }> {
  const [current, lastValid] = await Promise.all([
    stores.exemptions.readCurrent(),
    stores.exemptions.readLastValid(),
  ]);
  const { input, save } = chooseExemptions(current, lastValid, now, config.exemptionMaxDays);
  const warnings: string[] = [];
  if (input.problem !== undefined) {
    logger.warn('Exemptions file not used', { source: input.source, lastValidAt: input.lastValidAt });
  }
  if (save) {
    try {
      await stores.exemptions.writeLastValid(save);
    } catch (error) {
      logger.error('Could not keep the last valid exemptions file', { error: errorText(error) });
      warnings.push(
        `The valid exemptions file could not be kept as ${S3_LAYOUT.exemptionsLastValid} (${errorText(error)}); it was used for this run`,
      );
    }
  }
  logger.info('Read the exemptions', { source: input.source, entries: input.file?.exemptions.length ?? 0 });
  return { input, warnings };
}

/** Resolves on the first of `events`, rejects on 'error', and removes every listener it added either way. */
function firstOf(emitter: NodeJS.EventEmitter, events: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      for (const event of events) emitter.off(event, done);
      emitter.off('error', fail);
    };
    const done = (): void => {
      cleanup();
      resolve();
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    for (const event of events) emitter.on(event, done);
    emitter.on('error', fail);
  });
}

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * A sink that forwards the CSV to its S3 upload and, on the side, gzips it into memory for the email
 * attachment until the compressed size passes `capBytes` (then only the upload continues).
 */
class CsvTee extends Writable {
  private readonly gzip: Gzip = createGzip();
  private readonly chunks: Buffer[] = [];
  private gzBytes = 0;
  private overflow = false;

  constructor(
    private readonly upload: Writable,
    private readonly capBytes: number,
  ) {
    super();
    this.gzip.on('data', (chunk: Buffer) => {
      if (this.overflow) return;
      this.gzBytes += chunk.length;
      if (this.gzBytes > this.capBytes) this.stopCapture();
      else this.chunks.push(chunk);
    });
    this.gzip.on('error', () => this.stopCapture());
    upload.on('error', (error: Error) => this.destroy(error));
  }

  private stopCapture(): void {
    this.overflow = true;
    this.chunks.length = 0;
    this.gzip.removeAllListeners('data');
    this.gzip.destroy();
  }

  /** The gzipped CSV, or undefined when it passed the cap. */
  get gzipped(): Buffer | undefined {
    return this.overflow ? undefined : Buffer.concat(this.chunks);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const waits: Promise<void>[] = [];
    if (!this.upload.write(chunk)) waits.push(firstOf(this.upload, ['drain', 'close']));
    // A capture that overflows meanwhile destroys the gzip stream ('close'): stop waiting for it then.
    if (!this.overflow && !this.gzip.write(chunk))
      waits.push(firstOf(this.gzip, ['drain', 'close']).catch(() => undefined));
    if (waits.length === 0) callback();
    else
      Promise.all(waits).then(
        () => callback(),
        (error: unknown) => callback(error as Error),
      );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.upload.end();
    if (this.overflow) {
      callback();
      return;
    }
    this.gzip.end();
    firstOf(this.gzip, ['end', 'close']).then(
      () => callback(),
      () => {
        this.stopCapture();
        callback();
      },
    );
  }
}

/** Problems known from the bucket before reading the reports: rejections, agent failures, incomplete part sets. */
async function bucketProblems(
  store: AccountStore,
  index: Map<string, AccountObjects>,
  incomplete: readonly AccountIncompleteSets[],
  now: Date,
  staleHours: number,
  logger: Logger,
): Promise<ReportProblem[]> {
  const problems: ReportProblem[] = [];
  const rejected = [...index.values()].filter((a) => {
    const at = a.rejected?.lastModified?.getTime();
    if (at === undefined) return a.rejected !== undefined;
    const latestAt = a.latest?.lastModified?.getTime();
    // Newer than the last good report, or not yet stale (core isStale, the coverage rule), so a forged
    // attempt stays visible for as long as a report of that time would count.
    const recent = !isStale({ generatedTime: new Date(at).toISOString() }, now, staleHours);
    return latestAt === undefined || at > latestAt || recent;
  });
  const records = await mapLimit(rejected, 16, async (a) => {
    try {
      return { a, record: await store.readRejected(a.accountId) };
    } catch (error) {
      logger.warn('Could not read a rejection record', { accountId: a.accountId, error: errorText(error) });
      return { a, record: undefined };
    }
  });
  for (const { a, record } of records) {
    problems.push({
      accountId: a.accountId,
      reason: 'rejected',
      detail: record
        ? `${record.reason}: ${record.detail}`.slice(0, 500)
        : 'a report was rejected (record unreadable)',
      ...(record?.at
        ? { at: record.at }
        : a.rejected?.lastModified
          ? { at: a.rejected.lastModified.toISOString() }
          : {}),
    });
  }

  // An agent's reported failure, while no report was stored after it: the account is `collection-failed`
  // until a newer report arrives (the fresh report it may still have stays in use beside the entry).
  const failed = [...index.values()].filter((a) => {
    const at = a.agentFailure?.lastModified?.getTime();
    if (a.agentFailure === undefined) return false;
    const latestAt = a.latest?.lastModified?.getTime();
    return at === undefined || latestAt === undefined || at > latestAt;
  });
  const failures = await mapLimit(failed, 16, async (a) => {
    try {
      return { a, record: await store.readAgentFailure(a.accountId) };
    } catch (error) {
      logger.warn('Could not read an agent failure record', {
        accountId: a.accountId,
        error: errorText(error),
      });
      return { a, record: undefined };
    }
  });
  for (const { a, record } of failures) {
    problems.push({
      accountId: a.accountId,
      reason: 'collection-failed',
      detail: record
        ? `agent run ${record.runId} failed (${record.stage}) at ${record.failedTime}: ${record.errorName}: ${record.message}`.slice(
            0,
            500,
          )
        : 'the agent reported a failed run (record unreadable)',
      ...(record
        ? { at: record.failedTime }
        : a.agentFailure?.lastModified
          ? { at: a.agentFailure.lastModified.toISOString() }
          : {}),
    });
  }

  // The newest incomplete set of each account, unless the account's latest.json was written after it
  // (that report superseded it, and every older set too).
  for (const { accountId, count, newest } of incomplete) {
    const set = newest[0];
    if (!set) continue;
    const latestAt = index.get(accountId)?.latest?.lastModified;
    if (latestAt && set.lastModified && set.lastModified <= latestAt) continue;
    const others = count > 1 ? `; ${count} incomplete part sets listed for the account` : '';
    problems.push({
      accountId,
      reason: 'assembly-incomplete',
      detail: `report ${set.reportId}: ${set.received} of ${set.parts} parts received${set.lastModified ? ` (last at ${set.lastModified.toISOString()})` : ''}${others}`,
      ...(set.lastModified ? { at: set.lastModified.toISOString() } : {}),
    });
  }
  return problems;
}

/**
 * The previous run, streamed from latest/ (the caller awaits it before anything there is overwritten);
 * undefined on a first run or when it cannot be read (a warning: this run then has no delta). Each
 * object is read once: summary.json whole (small; the delta needs its coverage), the two CSVs as
 * streams, access-keys.csv opened only when credential-report.csv has been consumed. The digest writes
 * both CSVs before summary.json, so a run whose credential-report.csv exists wrote access-keys.csv too.
 */
async function previousRun(
  store: RunOutputStore,
  logger: Logger,
  warnings: string[],
): Promise<PreviousRun | undefined> {
  const files = S3_LAYOUT.outputFiles;
  const key = (name: string): string => `${S3_LAYOUT.latestPrefix}${name}`;
  const started = performance.now();
  let credentialReport: Readable | undefined;
  try {
    const summaryBytes = await store.getBytes(key(files.summary));
    // Validated by the core reader (schema + version), as for `credreport merge --previous`.
    const summary = summaryBytes ? parsePreviousSummary(summaryBytes.body) : undefined;
    // The run state when the previous run wrote one (core/run-state.ts); else its CSVs (older runs).
    const state = await store.getStream(key(files.state));
    if (state) {
      const previous = await readPreviousState({ state, ...(summary ? { summary } : {}) });
      logger.info('Read the previous run', {
        from: files.state,
        generatedAt: previous.generatedAt,
        users: previous.users.size,
        keys: previous.keys?.size ?? 0,
        durationMs: Math.round(performance.now() - started),
      });
      return previous;
    }
    credentialReport = await store.getStream(key(files.credentialReport));
    if (!credentialReport) return undefined;
    const previous = await readPreviousRun({
      credentialReport,
      accessKeys: store.lazyStream(key(files.accessKeys)),
      ...(summary ? { summary } : {}),
    });
    logger.info('Read the previous run', {
      from: files.credentialReport,
      generatedAt: previous.generatedAt,
      users: previous.users.size,
      keys: previous.keys?.size ?? 0,
      durationMs: Math.round(performance.now() - started),
    });
    return previous;
  } catch (error) {
    credentialReport?.destroy(); // release the S3 response if the parse stopped half-way
    logger.warn('Previous run unreadable; no delta this run', { error: errorText(error) });
    // In the summary too: a digest without a delta section must say why, not look like "no changes".
    warnings.push(
      `The previous run in latest/ could not be read (${errorText(error)}); this digest shows no changes since it`,
    );
    return undefined;
  }
}

/**
 * The metadata with the alternate SECURITY contacts of the ACTIVE accounts whose tags name no acceptable
 * owner (collector/alternate-contacts.ts: cached, refreshed when old, never fatal); without an Account
 * Management client, the cached contacts only.
 */
async function alternateContactsOf(
  metadata: OrgMetadata,
  owners: OwnerDigestsConfig,
  deps: DigestDeps,
  now: Date,
  budgetMs: number,
): Promise<{ metadata: OrgMetadata; warnings: string[] }> {
  if (!deps.account) return { metadata, warnings: [] };
  const needed = metadata.accounts
    .filter((a) => a.state === 'ACTIVE')
    .filter(
      (a) =>
        !owners.tagKeys.some((key) => {
          const value = a.tags[key];
          return value !== undefined && checkOwnerAddress(value, owners.allowedDomains).ok;
        }),
    )
    .map((a) => a.id);
  const fetched = await fetchAlternateContacts({
    account: deps.account,
    organizations: deps.organizations,
    accountIds: needed,
    ownAccountId: deps.ownAccountId,
    now,
    ...(metadata.alternateContacts ? { cached: metadata.alternateContacts } : {}),
    budgetMs,
    logger: deps.logger,
  });
  deps.metrics.addMetric(DIGEST_METRICS.alternateContactCalls, MetricUnit.Count, fetched.calls);
  return { metadata: { ...metadata, alternateContacts: fetched.contacts }, warnings: [...fetched.warnings] };
}

/** Runs one digest. Throws only when the outputs could not be produced (see the module comment). */
export async function runDigest(config: DigestConfig, deps: DigestDeps, now: Date): Promise<DigestResult> {
  const { stores, logger, metrics } = deps;
  const clock = deps.clock ?? (() => performance.now());
  const started = clock();
  const collect = deps.collect ?? collectAccountReport;
  const date = runDate(now);
  const files = S3_LAYOUT.outputFiles;
  const latestKey = (name: string): string => `${S3_LAYOUT.latestPrefix}${name}`;
  const runKey = (name: string): string => `${S3_LAYOUT.runPrefix(date)}${name}`;
  const problems: ReportProblem[] = [];
  const owners = config.owners && config.owners.mode !== 'off' ? config.owners : undefined;

  // Everything read before the merge is independent: own account, organization metadata, the bucket's
  // listings and the previous run all start now, so the previous run's CPU-bound parse overlaps the
  // Organizations and IAM round trips instead of following them.
  const previousWarnings: string[] = [];
  const previousPromise = previousRun(stores.outputs, logger, previousWarnings);
  const ownPromise = collect(
    { iam: deps.iam, logger },
    { accountId: deps.ownAccountId, budgetMs: config.collectBudgetMs ?? 300_000 },
  ).then(
    ({ report, stats }) => {
      logger.info('Collected the hub account in-process', {
        users: stats.users,
        durationMs: Math.round(stats.durationMs),
      });
      return report;
    },
    (error: unknown) => {
      logger.error('Could not collect the hub account', {
        accountId: deps.ownAccountId,
        error: errorText(error),
      });
      metrics.addMetric(DIGEST_METRICS.ownCollectionFailed, MetricUnit.Count, 1);
      problems.push({
        accountId: deps.ownAccountId,
        reason: 'collection-failed',
        detail: `in-process collection failed: ${errorText(error)}`.slice(0, 500),
        at: now.toISOString(),
      });
      return undefined;
    },
  );

  const metadataPromise = (async (): Promise<{ metadata?: OrgMetadata; warnings: string[] }> => {
    let cached: OrgMetadata | undefined;
    try {
      cached = await stores.metadata.readOrgMetadata();
      if (cached?.organizationId && cached.organizationId !== config.organizationId) {
        logger.warn('Ignoring cached metadata of another organization', {
          cachedOrganizationId: cached.organizationId,
        });
        cached = undefined;
      }
    } catch (error) {
      logger.warn('Cached organization metadata unreadable', { error: errorText(error) });
    }
    try {
      const fetched = await fetchOrgMetadata(deps.organizations, {
        now,
        ...(cached ? { cached } : {}),
        tagMaxAgeHours: config.tagCacheHours,
        budgetMs: config.orgBudgetMs ?? 120_000,
        iam: deps.iam,
        logger,
      });
      const total = Object.values(fetched.calls).reduce((a, b) => a + b, 0);
      metrics.addMetric(DIGEST_METRICS.organizationsCalls, MetricUnit.Count, total);
      if (fetched.metadata.organizationId && fetched.metadata.organizationId !== config.organizationId) {
        throw new DigestError(
          `Organizations answered for ${fetched.metadata.organizationId}, but ORGANIZATION_ID is ${config.organizationId}`,
        );
      }
      let fresh = fetched.metadata;
      const contactWarnings: string[] = [];
      if (owners) {
        const withContacts = await alternateContactsOf(
          fresh,
          owners,
          deps,
          now,
          config.orgBudgetMs ?? 120_000,
        );
        fresh = withContacts.metadata;
        contactWarnings.push(...withContacts.warnings);
      }
      await stores.metadata.writeOrgMetadata(fresh);
      return { metadata: fresh, warnings: [...fetched.warnings, ...contactWarnings] };
    } catch (error) {
      if (!(error instanceof OrgMetadataError)) throw error;
      logger.error('Organizations unavailable; using cached metadata', {
        error: errorText(error),
        cachedAt: cached?.fetchedAt,
      });
      const warning = cached
        ? `Organizations could not be read (${error.message}); account names, OU paths, tags and the expected accounts are from the cache of ${cached.fetchedAt}`
        : `Organizations could not be read (${error.message}) and no cached metadata exists; account columns are empty and only accounts that reported are expected`;
      return { ...(cached ? { metadata: cached } : {}), warnings: [warning] };
    }
  })();

  const [index, incomplete, { metadata, warnings }, previous, exemptions] = await Promise.all([
    stores.accounts.listAccounts(),
    stores.incoming.listIncompletePartSets(),
    metadataPromise,
    // Read in full before anything under latest/ is overwritten.
    previousPromise,
    readExemptions(stores, config, now, logger),
  ]);
  problems.push(
    ...(await bucketProblems(stores.accounts, index, incomplete, now, config.thresholds.staleHours, logger)),
  );
  const ownReport = await ownPromise;

  const expected = metadata
    ? selectExpectedAccounts(metadata, config.targetOuIds, [
        deps.ownAccountId,
        ...(config.managementAccountId !== undefined ? [config.managementAccountId] : []),
      ])
    : undefined;
  const resolution: OwnerResolution | undefined = owners
    ? resolveOwners(metadata, metadata?.alternateContacts, owners)
    : undefined;
  const stored = [...index.values()]
    .filter((a) => a.latest !== undefined && !(ownReport && a.accountId === deps.ownAccountId))
    .map((a) => a.accountId)
    .sort();

  let unreadable = 0;
  async function* allItems(): AsyncGenerator<RunItem> {
    // Problems known before the reports are read (own collection, the bucket's rejections and part sets).
    for (const problem of problems) yield { kind: 'problem', problem };
    if (ownReport) yield { kind: 'report', report: ownReport };
    // Sorted ids read with bounded concurrency arrive nearly in order, which runMerge's reorder window needs.
    yield* withProblems((onProblem) =>
      stores.accounts.readAccountReports(
        stored,
        (problem) => {
          unreadable++;
          onProblem(problem);
        },
        { concurrency: config.readConcurrency ?? 32, now },
      ),
    );
  }
  const deactivation = config.deactivation
    ? new DeactivationRun(
        config.deactivation,
        stores.remediation,
        now,
        // A key whose credential-unused finding an active exemption covers is never staged.
        deps.isExempt ??
          exemptionPredicate(
            exemptions.input,
            now,
            new Map((metadata?.accounts ?? []).map((a) => [a.id, a])),
            'credential-unused',
          ) ??
          NOTHING_EXEMPT,
        logger,
      )
    : undefined;
  async function* items(): AsyncGenerator<RunItem> {
    for await (const item of allItems()) {
      if (deactivation && item.kind === 'report') deactivation.observe(item.report);
      yield item;
    }
  }
  // The agents' audit logs since the previous digest (or the last staleHours on a first run).
  const logsSince = previous?.generatedAt
    ? new Date(previous.generatedAt)
    : new Date(now.getTime() - config.thresholds.staleHours * 3_600_000);

  const credentialUpload = stores.outputs.uploadStream(latestKey(files.credentialReport), CONTENT_TYPES.csv);
  const accessKeysUpload = stores.outputs.uploadStream(latestKey(files.accessKeys), CONTENT_TYPES.csv);
  const findingsUpload = stores.outputs.uploadStream(latestKey(files.findings), CONTENT_TYPES.csv);
  const ocsfUpload = stores.outputs.uploadStream(latestKey(files.ocsf), CONTENT_TYPES.ndjson);
  const stateUpload = stores.outputs.uploadStream(latestKey(files.state), CONTENT_TYPES.gzip);
  const uploaded = Promise.all([
    credentialUpload.done,
    accessKeysUpload.done,
    findingsUpload.done,
    ocsfUpload.done,
    stateUpload.done,
  ]);
  const tee = new CsvTee(credentialUpload.stream, Math.floor((config.maxEmailBytes * 3) / 4));
  const organizationLabel = metadata?.organizationId ?? config.organizationId;
  // The S3 sinks of the one pipeline (core/run-pipeline.ts): both CSVs stream into their uploads; summary.json
  // and digest.html are put once both uploads are complete, so a latest/ summary.json always has its CSVs.
  const running = runPipeline(
    {
      now,
      thresholds: config.thresholds,
      ...(metadata ? { metadata } : {}),
      ...(expected ? { expectedAccountIds: expected } : {}),
      items: items(),
      grantsOf: grantsOfReport,
      warnings: [...warnings, ...previousWarnings, ...exemptions.warnings],
      exemptions: exemptions.input,
      ...(config.tagKeys.length > 0 ? { tagKeys: config.tagKeys } : {}),
      breakdownTag: config.breakdownTag,
      ...(config.cisVersion ? { cisVersion: config.cisVersion } : {}),
      ...(previous ? { previous } : {}),
      organizationLabel,
      ...(config.maxFindingEvents ? { newFindingsLimit: config.maxFindingEvents } : {}),
      ...(resolution
        ? { partitionOf: (accountId: string) => resolution.byAccount.get(accountId)?.owner }
        : {}),
      ...(deactivation ? { remediation: () => deactivation.finish(logsSince) } : {}),
    },
    {
      credentialReport: tee,
      accessKeys: accessKeysUpload.stream,
      findings: findingsUpload.stream,
      ocsf: ocsfUpload.stream,
      state: stateUpload.stream,
      // summary.json and digest.html are written below, once the owner digests' outcome is in them.
      summary: async () => {},
      digest: async () => {},
    },
  );
  let merged: Awaited<typeof running>;
  try {
    // The uploads are awaited beside the run so a failed upload fails the run at once.
    [merged] = await Promise.all([running, uploaded]);
  } catch (error) {
    // Fail the uploads too, so lib-storage aborts the multipart uploads instead of leaving them open.
    const reason = error instanceof Error ? error : new Error(String(error));
    credentialUpload.stream.destroy(reason);
    accessKeysUpload.stream.destroy(reason);
    findingsUpload.stream.destroy(reason);
    ocsfUpload.stream.destroy(reason);
    stateUpload.stream.destroy(reason);
    await Promise.allSettled([
      credentialUpload.done,
      accessKeysUpload.done,
      findingsUpload.done,
      ocsfUpload.done,
      stateUpload.done,
    ]);
    // The run fails on the destroyed sinks; not awaited, so a sink that never settles cannot hold the throw.
    running.catch(() => undefined);
    throw error;
  }
  let summary = merged.summary;
  let ownerOutcome: DigestResult['owners'];
  if (owners && resolution) {
    const delivery = await deliverOwnerDigests(
      {
        mode: owners.mode === 'send' ? 'send' : 'dry-run',
        minSeverity: owners.minSeverity,
        partitions: withOwnRemediation(merged.partitions ?? new Map(), deactivation),
        organizationLabel,
        ...(config.sender ? { sender: config.sender } : {}),
      },
      {
        ses: deps.ses,
        putHtml: (key, body) => stores.outputs.putText(key, body, CONTENT_TYPES.html),
        logger,
      },
    );
    summary = {
      ...summary,
      owners: withDelivery(
        ownersSummaryOf(owners.mode, owners.minSeverity, resolution, metadata?.alternateContacts),
        delivery,
      ),
    };
    ownerOutcome = { due: delivery.due, delivered: delivery.delivered, failed: delivery.failures.length };
    metrics.addMetric(DIGEST_METRICS.ownerDigestsDelivered, MetricUnit.Count, delivery.delivered);
    metrics.addMetric(DIGEST_METRICS.ownerDigestsFailed, MetricUnit.Count, delivery.failures.length);
  }
  // Chat and routing (docs/ARCHITECTURE.md §6): after the CSVs are in latest/, before summary.json and
  // digest.html are written (so both carry the outcome, written once) and before runs/ is copied. The chat
  // summary links latest/digest.html, written right after. Never fatal: failures are counted.
  if (config.chatTopicArn || config.findingEventsBusArn) {
    const notifications = await sendNotifications(
      config,
      deps,
      summary,
      merged.newFindings,
      organizationLabel,
    );
    summary = { ...summary, notifications };
    metrics.addMetric(
      DIGEST_METRICS.notificationsFailed,
      MetricUnit.Count,
      notificationFailures(notifications),
    );
  }
  // After both CSVs (a previous-run reader relies on that order), with the owner digests' and notifications'
  // outcome; the merge's rendering is kept when neither changed the summary.
  const html = summary === merged.summary ? merged.html : renderDigestHtml(summary, { organizationLabel });
  await stores.outputs.putText(latestKey(files.summary), formatSummaryJson(summary), CONTENT_TYPES.json);
  await stores.outputs.putText(latestKey(files.digest), html, CONTENT_TYPES.html);

  // The Athena tables' copies go with the dated ones: the same copy from latest/, and the same failure (the run
  // throws, the Errors alarm fires) as a missing runs/ copy.
  const tableCopies = config.athenaTables ? athenaTableCopies(date) : [];
  await Promise.all([
    ...Object.values(files).map((name) => stores.outputs.copy(latestKey(name), runKey(name))),
    ...tableCopies.map(({ file, key }) => stores.outputs.copy(latestKey(file), key)),
  ]);
  logger.info('Wrote digest outputs', {
    date,
    accounts: summary.totals.accounts,
    users: summary.totals.users,
    unreadable,
  });

  // The one verdict (core/coverage.ts, docs/ARCHITECTURE.md §12), as the pipeline derived it from summary.json's coverage.
  const c = merged.verdict;
  metrics.addMetric(DIGEST_METRICS.accountsExpected, MetricUnit.Count, c.expected);
  metrics.addMetric(DIGEST_METRICS.accountsReporting, MetricUnit.Count, c.reporting);
  metrics.addMetric(DIGEST_METRICS.accountsMissing, MetricUnit.Count, c.missing);
  metrics.addMetric(DIGEST_METRICS.unreadableReports, MetricUnit.Count, unreadable);
  const findings: Record<string, number> = {};
  for (const id of FINDING_IDS) {
    const users = summary.findings[id]?.users ?? 0;
    findings[id] = users;
    const single = metrics.singleMetric();
    single.addDimension('FindingId', id);
    single.addMetric(DIGEST_METRICS.findings, MetricUnit.Count, users);
  }

  let email: DigestResult['email'] = 'skipped';
  let error: string | undefined;
  if (config.recipients.length > 0 && config.sender) {
    try {
      // Rendered for the email (row limits, "and N more — see …" naming the attachment or S3), within maxEmailBytes.
      const composed = composeDigestEmail({
        from: config.sender,
        to: config.recipients,
        summary,
        organizationLabel,
        ...(tee.gzipped ? { gzippedCsv: tee.gzipped } : {}),
        link: {
          bucket: config.bucket,
          key: runKey(files.credentialReport),
          ...(config.region ? { region: config.region } : {}),
        },
        summaryKey: runKey(files.summary),
        digestKey: runKey(files.digest),
        maxEmailBytes: config.maxEmailBytes,
      });
      await sendDigestEmail(deps.ses, composed.email);
      email = 'sent';
      logger.info('Sent the digest email', {
        recipients: config.recipients.length,
        attached: composed.attached,
        body: composed.body,
        halvings: composed.halvings,
        bytes: composed.estimatedBytes,
      });
    } catch (sendError) {
      email = 'failed';
      error = errorText(sendError);
      logger.error('Digest email failed; outputs are in S3', { error, summaryKey: runKey(files.summary) });
    }
  } else {
    logger.info('No recipients or sender configured; email skipped');
  }
  // Always emitted (0 or 1) so the alarm has data every run and "missing data" means "digest did not run".
  metrics.addMetric(DIGEST_METRICS.emailFailed, MetricUnit.Count, email === 'failed' ? 1 : 0);
  metrics.addMetric(DIGEST_METRICS.durationMs, MetricUnit.Milliseconds, Math.round(clock() - started));
  // The heartbeat: only a run that got this far (outputs written) emits it.
  metrics.addMetric(DIGEST_METRICS.digestSucceeded, MetricUnit.Count, 1);

  return {
    ok: email !== 'failed',
    summaryKey: runKey(files.summary),
    coverage: {
      expected: c.expected,
      reporting: c.reporting,
      missing: c.missing,
      complete: c.complete,
    },
    findings,
    openFindings: summary.totals.openFindings,
    email,
    ...(error ? { error } : {}),
    ...(summary.notifications ? { notifications: summary.notifications } : {}),
    ...(ownerOutcome ? { owners: ownerOutcome } : {}),
  };
}

/** Builds and sends the chat summary and the finding events; never throws (core/notifications.ts, aggregator/notifier.ts). */
async function sendNotifications(
  config: DigestConfig,
  deps: DigestDeps,
  summary: Summary,
  newFindings: NewFindings | undefined,
  organizationLabel: string,
): Promise<NotificationOutcome> {
  const files = S3_LAYOUT.outputFiles;
  const digestKey = `${S3_LAYOUT.latestPrefix}${files.digest}`;
  const findingsUri = `s3://${config.bucket}/${S3_LAYOUT.runPrefix(runDate(new Date(summary.generatedAt)))}${files.findings}`;
  const request: { -readonly [K in keyof NotifyRequest]: NotifyRequest[K] } = {};
  let buildError: string | undefined;
  if (config.chatTopicArn) {
    try {
      request.chat = {
        topicArn: config.chatTopicArn,
        notification: buildChatNotification({
          summary,
          ...(newFindings ? { newFindings } : {}),
          digest: {
            s3Uri: `s3://${config.bucket}/${digestKey}`,
            ...(config.region
              ? { consoleUrl: consoleUrl({ bucket: config.bucket, key: digestKey, region: config.region }) }
              : {}),
          },
          organizationLabel,
        }),
      };
    } catch (error) {
      buildError = errorText(error).slice(0, 300);
      deps.logger.error('Chat summary could not be built', { error: buildError });
    }
  }
  if (config.findingEventsBusArn) {
    const max = config.maxFindingEvents ?? 500;
    request.events = {
      eventBusName: config.findingEventsBusArn,
      ...(newFindings
        ? {
            entries: buildFindingEvents({
              newFindings,
              generatedAt: summary.generatedAt,
              runDate: summary.generatedAt.slice(0, 10),
              maxEvents: max,
              organizationId: config.organizationId,
              findingsUri,
            }),
          }
        : {}),
      newFindings: newFindings?.count ?? 0,
      truncated: Math.max(0, (newFindings?.count ?? 0) - max),
    };
  }
  const outcome = await notify(
    {
      ...(deps.sns ? { sns: deps.sns } : {}),
      ...(deps.eventBridge ? { eventBridge: deps.eventBridge } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      logger: deps.logger,
    },
    request,
  );
  return buildError ? { ...outcome, chat: 'failed', chatError: buildError } : outcome;
}

/**
 * Each owner's summary with the staged deactivation of their own accounts, so their mail shows "would
 * deactivate on DATE" for their keys before anything happens (docs/ARCHITECTURE.md §7).
 */
function withOwnRemediation(
  partitions: ReadonlyMap<string, Summary>,
  deactivation: DeactivationRun | undefined,
): ReadonlyMap<string, Summary> {
  if (!deactivation) return partitions;
  const out = new Map<string, Summary>();
  for (const [owner, part] of partitions) {
    const remediation = deactivation.summaryFor(new Set(part.byAccount.map((a) => a.accountId)));
    out.set(owner, remediation ? { ...part, remediation } : part);
  }
  return out;
}
