/**
 * Member agent Lambda: collect this account's report, split it into event parts, put them on the bus.
 * Triggers: the daily schedule, a manual invocation (any payload), and the StackSet's one-time custom
 * resource on first deployment (answered SUCCESS first, then the report is collected). Only scheduled
 * runs wait for the account's slot in the start window first (docs/ARCHITECTURE.md §10).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { sleep as realSleep } from '../core/concurrency';
import { CredreportError } from '../core/errors';
import { boundAgentError, reportIdFor, splitReport, type AgentFailureStage } from '../core/event-contract';
import { MEMBER_AGENT_FUNCTION_NAME, partitionOfRegion } from '../core/names';
import { startDelayMs } from '../core/start-window';
import { importWarning, openFindingsOfReport } from '../core/asff';
import { DEFAULT_THRESHOLDS } from '../core/thresholds';
import type { AccountReport } from '../core/types';
import { collectAccountReport } from '../collector/account-collector';
import { importFindingsToSecurityHub } from '../collector/security-hub-import';
import {
  fetchResponseSender,
  isCustomResourceEvent,
  respondSuccess,
  type ResponseSender,
} from './custom-resource';
import { MemberAgentEnvSchema, type MemberAgentEnv } from './env';
import { maxRequestBytesFor, publishAgentFailure, publishParts } from './publish';
import { runRemediation, type RemediationResult } from './remediation';

/** The function's environment is invalid (names the variables, never their values). */
export class AgentConfigError extends CredreportError {}

/** The run was about to reach the function's timeout (reported to the hub before Lambda ends it). */
export class AgentTimeoutError extends CredreportError {}

/**
 * How long before the function's timeout a still-running invocation reports a `timeout` failure to the
 * hub: enough for one PutEvents call with the client's retries.
 */
export const TIMEOUT_REPORT_MARGIN_MS = 20_000;

export type AgentTrigger = 'schedule' | 'manual' | 'custom-resource';

export interface AgentResult {
  readonly accountId: string;
  readonly trigger: AgentTrigger;
  /** Absent when nothing was collected (custom resource Delete). */
  readonly reportId?: string;
  readonly parts: number;
  readonly users: number;
  /** The staged deactivation's run (absent when off or not reached). */
  readonly remediation?: RemediationResult | { readonly plan: 'failed'; readonly error: string };
}

export interface AgentDeps {
  readonly env: MemberAgentEnv;
  readonly iam: IAMClient;
  readonly eventBridge: EventBridgeClient;
  /** The hub bucket's client (staged deactivation: this account's plan and audit log). */
  readonly s3?: S3Client;
  /** Present when SECURITY_HUB is `true`. */
  readonly securityHub?: SecurityHubClient;
  /** The function's Region (AWS_REGION), for the Security Hub product ARN. */
  readonly region?: string;
  readonly logger: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => Date;
  readonly respond?: ResponseSender;
  /** @default TIMEOUT_REPORT_MARGIN_MS */
  readonly timeoutReportMarginMs?: number;
}

/** Account id from `arn:aws:lambda:<region>:<account>:function:<name>`. */
export function accountIdFromFunctionArn(arn: string): string {
  const account = arn.split(':')[4];
  if (account === undefined || !/^\d{12}$/.test(account)) {
    throw new AgentConfigError(`cannot read the account id from the function ARN '${arn}'`);
  }
  return account;
}

function triggerOf(event: unknown): AgentTrigger {
  if (isCustomResourceEvent(event)) return 'custom-resource';
  const e = event as { source?: unknown; 'detail-type'?: unknown } | null;
  if (e?.source === 'aws.events' && e['detail-type'] === 'Scheduled Event') return 'schedule';
  return 'manual';
}

/**
 * Every account's agent fires on the same schedule; each waits its own fixed offset into the start
 * window so the hub's ingest sees the organization's parts spread over the window, not in one second.
 */
async function waitForStartSlot(event: unknown, accountId: string, deps: AgentDeps): Promise<void> {
  const windowMs = deps.env.START_WINDOW_SECONDS * 1000;
  if (windowMs === 0) return;
  const time = (event as { time?: unknown }).time;
  const now = (deps.clock ?? (() => new Date()))();
  const delayMs = startDelayMs(accountId, windowMs, typeof time === 'string' ? time : undefined, now);
  deps.logger.info('Waiting for this account start slot', {
    delayMs,
    windowSeconds: deps.env.START_WINDOW_SECONDS,
  });
  await (deps.sleep ?? realSleep)(delayMs);
}

/**
 * Reports a failed run to the hub (docs/ARCHITECTURE.md §4, §12), at most once per invocation: what
 * the agent can catch (an error, or the timeout approaching) reaches the hub at once; a crash or a lost
 * invocation is left to the function's on-failure queue and its alarm in this account.
 */
function failureReporter(deps: AgentDeps, accountId: string, runId: string) {
  let sent = false;
  return async (stage: AgentFailureStage, error: unknown): Promise<void> => {
    if (sent) return;
    sent = true;
    const clock = deps.clock ?? (() => new Date());
    const delivered = await publishAgentFailure(
      { eventBridge: deps.eventBridge, logger: deps.logger },
      {
        schemaVersion: 1,
        accountId,
        runId: /^[\w.:-]{1,128}$/.test(runId) ? runId : 'unknown',
        failedTime: clock().toISOString(),
        stage,
        ...boundAgentError(error),
        agentVersion: deps.env.AGENT_VERSION,
      },
      { eventBusName: deps.env.EVENT_BUS_NAME },
    );
    if (delivered) deps.logger.info('Reported the failure to the hub', { stage });
  };
}

/**
 * The staged deactivation, after the report is published (docs/ARCHITECTURE.md §7): never fails the run — the
 * report is already with the hub, and a plan that cannot be run shows in the next digest as a missing audit log.
 */
async function remediate(deps: AgentDeps, accountId: string): Promise<AgentResult['remediation']> {
  const mode = deps.env.DEACTIVATION_MODE;
  if (mode === 'off' || deps.s3 === undefined || deps.env.REPORT_BUCKET === '') return undefined;
  try {
    return await runRemediation(
      { iam: deps.iam, s3: deps.s3, logger: deps.logger, clock: deps.clock ?? (() => new Date()) },
      { accountId, bucket: deps.env.REPORT_BUCKET, mode, planMaxAgeHours: deps.env.PLAN_MAX_AGE_HOURS },
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    deps.logger.error('Staged deactivation failed', { error: name });
    return { plan: 'failed', error: name };
  }
}

/** Longest the Security Hub import may take, so collection + import + publish stay within the timeout. */
export const SECURITY_HUB_IMPORT_BUDGET_MS = 60_000;

/**
 * Imports this account's findings into its own Security Hub (docs/ARCHITECTURE.md §6 "Security Hub") and
 * returns the report with the import's warning added when it did not fully succeed: the hub shows it in
 * summary.json's warnings and the digest. Never throws: a failed import never costs the report.
 */
async function importToSecurityHub(
  deps: AgentDeps,
  report: AccountReport,
  remainingMs: number | undefined,
): Promise<AccountReport> {
  if (deps.env.SECURITY_HUB !== 'true' || !deps.securityHub || !deps.region) return report;
  const clock = deps.clock ?? (() => new Date());
  const now = clock();
  let warning: string | undefined;
  try {
    const open = await openFindingsOfReport(report, now, {
      ...DEFAULT_THRESHOLDS,
      rotationDays: deps.env.ROTATION_DAYS,
      unusedDays: deps.env.UNUSED_DAYS,
      graceDays: deps.env.GRACE_DAYS,
      rootUseDays: deps.env.ROOT_USE_DAYS,
    });
    const budgetMs = Math.min(SECURITY_HUB_IMPORT_BUDGET_MS, Math.max(0, (remainingMs ?? Infinity) - 60_000));
    const result = await importFindingsToSecurityHub(
      { securityHub: deps.securityHub, logger: deps.logger, ...(deps.sleep ? { sleep: deps.sleep } : {}) },
      {
        target: {
          accountId: report.accountId,
          region: deps.region,
          partition: partitionOfRegion(deps.region),
        },
        open,
        now,
        deadlineMs: Date.now() + budgetMs,
      },
    );
    warning = importWarning(result);
  } catch (error) {
    deps.logger.error('Security Hub import failed', {
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    warning = `Security Hub import: failed (${error instanceof Error ? error.name : 'Error'}); no findings imported`;
  }
  if (warning === undefined) return report;
  // The report's own bound (≤ 200 warnings of ≤ 500 chars, core/event-contract.ts).
  const warnings = [...(report.warnings ?? [])].slice(0, 199);
  return { ...report, warnings: [...warnings, warning.slice(0, 500)] };
}

/** Builds the handler over its dependencies (resolved on first use, then reused for the warm container). */
export function createHandler(
  getDeps: () => AgentDeps,
): (event: unknown, context: Context) => Promise<AgentResult> {
  return async (event, context) => {
    const deps = getDeps();
    const { logger } = deps;
    const trigger = triggerOf(event);
    logger.addContext(context);
    logger.appendKeys({ trigger });
    let stage: AgentFailureStage = 'start';
    let report: ((stage: AgentFailureStage, error: unknown) => Promise<void>) | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      const accountId = accountIdFromFunctionArn(context.invokedFunctionArn);
      logger.appendKeys({ accountId });
      report = failureReporter(deps, accountId, context.awsRequestId);
      // A run still going shortly before the timeout tells the hub now: Lambda will end it without a catch.
      const remainingMs =
        typeof context.getRemainingTimeInMillis === 'function'
          ? context.getRemainingTimeInMillis()
          : undefined;
      if (remainingMs !== undefined) {
        const margin = deps.timeoutReportMarginMs ?? TIMEOUT_REPORT_MARGIN_MS;
        const reportTimeout = report;
        watchdog = setTimeout(
          () => {
            logger.error('Member agent about to time out', { stage });
            void reportTimeout(
              'timeout',
              new AgentTimeoutError(`the run reached its timeout while in stage ${stage}`),
            );
          },
          Math.max(0, remainingMs - margin),
        );
        watchdog.unref();
      }
      if (isCustomResourceEvent(event)) {
        // CloudFormation waits for this answer, so it goes first: the collection can neither delay nor
        // fail the StackSet instance. If the answer cannot be delivered, the invocation fails here without
        // collecting: CloudFormation invokes the function asynchronously, so Lambda retries the event
        // (retryAttempts 2) and the retry answers and then collects.
        const respond = deps.respond ?? fetchResponseSender;
        await respondSuccess(
          event,
          respond,
          event.RequestType === 'Delete' ? 'Nothing to clean up' : 'Report collection started',
        );
        logger.info('Custom resource answered', { requestType: event.RequestType });
        if (event.RequestType === 'Delete') return { accountId, trigger, parts: 0, users: 0 };
      }
      if (trigger === 'schedule') await waitForStartSlot(event, accountId, deps);

      stage = 'collect';
      const { report: collected, stats } = await collectAccountReport(
        {
          iam: deps.iam,
          logger,
          ...(deps.sleep ? { sleep: deps.sleep } : {}),
          ...(deps.clock ? { clock: deps.clock } : {}),
        },
        { accountId, budgetMs: deps.env.COLLECT_BUDGET_SECONDS * 1000 },
      );
      const withImport = await importToSecurityHub(
        deps,
        collected,
        typeof context.getRemainingTimeInMillis === 'function'
          ? context.getRemainingTimeInMillis()
          : undefined,
      );
      const parts = splitReport(withImport, { maxEntryBytes: deps.env.MAX_ENTRY_BYTES });
      stage = 'publish';
      const published = await publishParts(
        { eventBridge: deps.eventBridge, logger, ...(deps.sleep ? { sleep: deps.sleep } : {}) },
        parts,
        {
          eventBusName: deps.env.EVENT_BUS_NAME,
          maxRequestBytes: maxRequestBytesFor(deps.env.MAX_ENTRY_BYTES),
        },
      );
      const reportId = reportIdFor(accountId, collected.generatedTime);
      logger.info('Report published', {
        reportId,
        parts: parts.length,
        users: stats.users,
        putEventsRequests: published.requests,
        retriedEntries: published.retriedEntries,
      });
      const remediation = await remediate(deps, accountId);
      return {
        accountId,
        trigger,
        reportId,
        parts: parts.length,
        users: stats.users,
        ...(remediation ? { remediation } : {}),
      };
    } catch (error) {
      // Logged once here, without report contents; reported to the hub; rethrown so the invocation fails
      // visibly (Lambda retries it, then the on-failure queue keeps it).
      logger.error('Member agent failed', {
        stage,
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      if (report) await report(stage, error);
      throw error;
    } finally {
      if (watchdog) clearTimeout(watchdog);
      logger.resetKeys();
    }
  };
}

let runtime: AgentDeps | undefined;

/** Environment and clients, created once per cold start. */
function defaultDeps(): AgentDeps {
  if (runtime === undefined) {
    const parsed = MemberAgentEnvSchema.safeParse(process.env);
    if (!parsed.success) {
      const names = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ');
      throw new AgentConfigError(`invalid environment: ${names}`, { cause: parsed.error });
    }
    runtime = {
      env: parsed.data,
      iam: new IAMClient({ retryMode: 'adaptive', maxAttempts: 10 }),
      eventBridge: new EventBridgeClient({ retryMode: 'adaptive', maxAttempts: 6 }),
      ...(parsed.data.DEACTIVATION_MODE !== 'off'
        ? { s3: new S3Client({ retryMode: 'adaptive', maxAttempts: 6 }) }
        : {}),
      ...(parsed.data.SECURITY_HUB === 'true'
        ? { securityHub: new SecurityHubClient({ retryMode: 'adaptive', maxAttempts: 3 }) }
        : {}),
      ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
      logger: new Logger({ serviceName: MEMBER_AGENT_FUNCTION_NAME }),
    };
  }
  return runtime;
}

export const handler = createHandler(defaultDeps);
