/**
 * Imports one account's credreport findings into that account's Security Hub (docs/ARCHITECTURE.md §6
 * "Security Hub"): reads what the previous imports left ACTIVE (GetFindings on the default product ARN and the
 * `credreport/` generator prefix), plans the import with the core (core/asff.ts `planImport`: open findings
 * ACTIVE, the ones no longer open ARCHIVED) and sends it in batches of 100 (BatchImportFindings' limit),
 * retrying throttled calls with full-jitter backoff (10 TPS per account and Region, burst 30). Per-finding
 * refusals (`FailedFindings`) and failed calls are counted per error code; nothing here throws for an AWS
 * failure, so an import can never fail the report it accompanies. Used by the member agent (its own account)
 * and the digest (the hub's own account): each account imports only its own findings, as BatchImportFindings
 * requires with the default product ARN.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  type AwsSecurityFinding,
  type SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import {
  ASFF_GENERATOR_PREFIX,
  ASFF_MAX_PREVIOUS,
  AsffImportResult,
  AsffTarget,
  batches,
  CredreportAsff,
  CredreportAsffSchema,
  defaultProductArn,
  planImport,
} from '../core/asff';
import { errorName, isAccessDenied, isThrottling } from '../core/aws-errors';
import { retry, sleep as realSleep } from '../core/concurrency';
import type { OpenFinding } from '../core/findings-csv';

const THROTTLE_ATTEMPTS = 6;
const THROTTLE_BASE_MS = 200;
const THROTTLE_CAP_MS = 5_000;
/** GetFindings' page size (its maximum). */
const PAGE_SIZE = 100;

export interface SecurityHubImportDeps {
  readonly securityHub: SecurityHubClient;
  readonly logger?: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Jitter source; @default Math.random */
  readonly random?: () => number;
  /** Milliseconds now (for the deadline); @default Date.now */
  readonly clockMs?: () => number;
}

export interface SecurityHubImportInput {
  readonly target: AsffTarget;
  readonly open: readonly OpenFinding[];
  readonly now: Date;
  /** Epoch ms after which no call starts: the findings not sent count as failed (`DeadlineExceeded`). */
  readonly deadlineMs?: number;
}

/** The import ran out of its time budget (its findings are counted, never thrown). */
const DEADLINE = 'DeadlineExceeded';

function send<T>(deps: SecurityHubImportDeps, request: () => Promise<T>): Promise<T> {
  return retry(request, {
    attempts: THROTTLE_ATTEMPTS,
    baseMs: THROTTLE_BASE_MS,
    capMs: THROTTLE_CAP_MS,
    random: deps.random ?? Math.random,
    retryIf: isThrottling,
    sleep: deps.sleep ?? realSleep,
  });
}

/** What the previous imports left ACTIVE for this account, parsed as credreport's findings. */
async function readPrevious(
  deps: SecurityHubImportDeps,
  target: AsffTarget,
): Promise<{ previous: CredreportAsff[]; skipped: number }> {
  const productArn = defaultProductArn(target.partition, target.region, target.accountId);
  const previous: CredreportAsff[] = [];
  let skipped = 0;
  let token: string | undefined;
  do {
    const page = await send(deps, () =>
      deps.securityHub.send(
        new GetFindingsCommand({
          Filters: {
            ProductArn: [{ Value: productArn, Comparison: 'EQUALS' }],
            GeneratorId: [{ Value: ASFF_GENERATOR_PREFIX, Comparison: 'PREFIX' }],
            AwsAccountId: [{ Value: target.accountId, Comparison: 'EQUALS' }],
            RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }],
          },
          MaxResults: PAGE_SIZE,
          ...(token ? { NextToken: token } : {}),
        }),
      ),
    );
    for (const finding of page.Findings ?? []) {
      const parsed = CredreportAsffSchema.safeParse(finding);
      if (
        parsed.success &&
        parsed.data.AwsAccountId === target.accountId &&
        parsed.data.ProductArn === productArn
      )
        previous.push(parsed.data);
      else skipped++;
    }
    token = page.NextToken || undefined;
  } while (token && previous.length + skipped < ASFF_MAX_PREVIOUS);
  return { previous, skipped };
}

/** Imports the account's findings; the result counts what was imported, archived and refused. */
export async function importFindingsToSecurityHub(
  deps: SecurityHubImportDeps,
  input: SecurityHubImportInput,
): Promise<AsffImportResult> {
  const clockMs = deps.clockMs ?? Date.now;
  const failed: Record<string, number> = {};
  const fail = (code: string, n: number): void => {
    failed[code] = (failed[code] ?? 0) + n;
  };
  let previous: CredreportAsff[] = [];
  let previousSkipped = 0;
  let previousError: string | undefined;
  try {
    ({ previous, skipped: previousSkipped } = await readPrevious(deps, input.target));
  } catch (error) {
    // Without the previous import nothing can be archived, but the open findings can still be imported.
    previousError = errorName(error);
    deps.logger?.warn('Security Hub previous findings unreadable', { error: previousError });
  }
  const plan = planImport(input.open, previous, input.target, input.now);
  let imported = 0;
  let archived = 0;
  const calls = [
    ...batches(plan.active).map((findings) => ({ findings, archive: false })),
    ...batches(plan.archived).map((findings) => ({ findings, archive: true })),
  ];
  let stopped: string | undefined;
  for (const call of calls) {
    if (stopped === undefined && input.deadlineMs !== undefined && clockMs() >= input.deadlineMs)
      stopped = DEADLINE;
    if (stopped !== undefined) {
      fail(stopped, call.findings.length);
      continue;
    }
    try {
      const out = await send(deps, () =>
        deps.securityHub.send(
          new BatchImportFindingsCommand({ Findings: call.findings as unknown as AwsSecurityFinding[] }),
        ),
      );
      const refused = out.FailedFindings ?? [];
      for (const f of refused) fail(f.ErrorCode || 'Unknown', 1);
      // FailedCount is the API's own count; a response listing fewer failures than it counts still counts them.
      const extra = Math.max(0, (out.FailedCount ?? refused.length) - refused.length);
      if (extra > 0) fail('Unknown', extra);
      const ok = Math.max(0, call.findings.length - Math.max(out.FailedCount ?? 0, refused.length));
      if (call.archive) archived += ok;
      else imported += ok;
    } catch (error) {
      const code = errorName(error);
      fail(code, call.findings.length);
      // Security Hub off, or no permission: every later call fails the same way.
      if (isAccessDenied(error) || code === 'InvalidAccessException') stopped = code;
    }
  }
  const result: AsffImportResult = {
    imported,
    archived,
    failed,
    previousSkipped,
    ...(previousError !== undefined ? { previousError } : {}),
  };
  deps.logger?.info('Security Hub import', {
    imported,
    archived,
    failed: Object.values(failed).reduce((a, b) => a + b, 0),
    calls: calls.length,
    previous: previous.length,
    previousSkipped,
  });
  return result;
}
