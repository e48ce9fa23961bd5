/**
 * The member agent's side of the staged deactivation (docs/ARCHITECTURE.md §7, §11): read this account's plan
 * from the hub, re-check every key due right before acting, deactivate it (enforce mode only), and write the
 * audit record the next digest shows. Decided in the hub, done here: the agent never widens the plan.
 *
 * - Only its own account's plan (the bucket policy admits nothing else); a plan naming another account,
 *   malformed, older than PLAN_MAX_AGE_HOURS or from the future is not acted on (logged as `invalid`/`stale`).
 * - A key used since the plan, gone (rotated), whose user is gone or changed, or already inactive is skipped
 *   with that reason. Enforcement needs both the plan's mode and this agent's (`DEACTIVATION_MODE`).
 */
import {
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isNotFound } from '../core/aws-errors';
import {
  AuditLogSchema,
  effectiveMode,
  parseRemediationPlan,
  planIsCurrent,
  SAME_USE_TOLERANCE_MS,
  type AuditLog,
  type AuditRecord,
  type PlannedAction,
  type RemediationPlan,
} from '../core/deactivation';
import { S3_LAYOUT } from '../core/names';
import { logStamp, runDate } from '../core/run-date';

export interface RemediationDeps {
  readonly iam: IAMClient;
  readonly s3: S3Client;
  readonly logger: Logger;
  readonly clock: () => Date;
}

export interface RemediationOptions {
  readonly accountId: string;
  readonly bucket: string;
  readonly mode: 'dry-run' | 'enforce';
  readonly planMaxAgeHours: number;
}

/** What one run did: absent plan, or the audit log written. */
export type RemediationResult =
  | { readonly plan: 'none' }
  | { readonly plan: AuditLog['plan']; readonly records: number; readonly deactivated: number };

async function readPlanText(deps: RemediationDeps, opts: RemediationOptions): Promise<string | undefined> {
  try {
    const out = await deps.s3.send(
      new GetObjectCommand({ Bucket: opts.bucket, Key: S3_LAYOUT.remediationPlan(opts.accountId) }),
    );
    return (await out.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    if (errorName(error) === 'NoSuchKey' || isNotFound(error)) return undefined;
    throw error;
  }
}

/** Re-checks one due key right before acting; acts in enforce mode. Never throws: a failure is a record. */
async function actOn(
  deps: RemediationDeps,
  action: PlannedAction,
  mode: 'dry-run' | 'enforce',
): Promise<AuditRecord> {
  const base = { accessKeyId: action.accessKeyId, userName: action.userName };
  const at = () => deps.clock().toISOString();
  const skip = (reason: AuditRecord['reason'], extra: Partial<AuditRecord> = {}): AuditRecord => ({
    ...base,
    outcome: 'skipped',
    ...(reason ? { reason } : {}),
    ...extra,
    at: at(),
  });
  try {
    let lastUsedDate: string | undefined;
    try {
      const used = await deps.iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: action.accessKeyId }));
      if (used.UserName !== undefined && used.UserName !== action.userName) {
        return skip('user-changed', { detail: 'the key belongs to another user than planned' });
      }
      lastUsedDate = used.AccessKeyLastUsed?.LastUsedDate?.toISOString();
    } catch (error) {
      if (isNotFound(error)) return skip('key-gone');
      throw error;
    }
    const planned = action.lastUsedAtPlan ? Date.parse(action.lastUsedAtPlan) : undefined;
    if (
      lastUsedDate !== undefined &&
      (planned === undefined || Date.parse(lastUsedDate) > planned + SAME_USE_TOLERANCE_MS)
    ) {
      return skip('used-since-plan', { lastUsedDate });
    }
    let status: string | undefined;
    try {
      let marker: string | undefined;
      do {
        const page = await deps.iam.send(
          new ListAccessKeysCommand({ UserName: action.userName, Marker: marker }),
        );
        const key = (page.AccessKeyMetadata ?? []).find((k) => k.AccessKeyId === action.accessKeyId);
        if (key) status = key.Status ?? 'unknown';
        marker = status === undefined && page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    } catch (error) {
      if (isNotFound(error)) return skip('user-gone');
      throw error;
    }
    const seen = lastUsedDate ? { lastUsedDate } : {};
    if (status === undefined) return skip('key-gone', seen);
    if (status !== 'Active') return skip('already-inactive', seen);
    if (mode === 'dry-run') return { ...base, outcome: 'would-deactivate', ...seen, at: at() };
    await deps.iam.send(
      new UpdateAccessKeyCommand({
        UserName: action.userName,
        AccessKeyId: action.accessKeyId,
        Status: 'Inactive',
      }),
    );
    return { ...base, outcome: 'deactivated', ...seen, at: at() };
  } catch (error) {
    if (isNotFound(error)) return skip('key-gone');
    return { ...base, outcome: 'failed', detail: errorName(error).slice(0, 120), at: at() };
  }
}

/**
 * Runs the account's plan. Throws only when the plan cannot be read or the audit log cannot be written (the
 * caller logs it; the report itself is already published).
 */
export async function runRemediation(
  deps: RemediationDeps,
  opts: RemediationOptions,
): Promise<RemediationResult> {
  const text = await readPlanText(deps, opts);
  if (text === undefined) {
    deps.logger.info('No remediation plan for this account');
    return { plan: 'none' };
  }
  const now = deps.clock();
  let plan: RemediationPlan | undefined;
  let status: AuditLog['plan'] = 'acted';
  try {
    plan = parseRemediationPlan(text);
    if (plan.accountId !== opts.accountId) status = 'invalid';
    else if (!planIsCurrent(plan, now, opts.planMaxAgeHours)) status = 'stale';
  } catch (error) {
    deps.logger.warn('Remediation plan invalid; not acted on', { error: errorName(error) });
    status = 'invalid';
  }
  const mode = plan ? effectiveMode(plan, opts.mode) : 'dry-run';
  const records: AuditRecord[] = [];
  if (plan && status === 'acted') {
    const today = runDate(now);
    // One at a time: a handful of keys per day, and IAM's write rate is low.
    for (const action of plan.actions) {
      if (action.stage !== 'deactivate' || action.deactivateOn > today) continue;
      records.push(await actOn(deps, action, mode));
    }
  }
  const log: AuditLog = AuditLogSchema.parse({
    schemaVersion: 1,
    accountId: opts.accountId,
    runAt: now.toISOString(),
    mode,
    plan: status,
    ...(plan ? { planGeneratedAt: plan.generatedAt } : {}),
    records,
  });
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: opts.bucket,
      Key: S3_LAYOUT.remediationLog(opts.accountId, logStamp(now)),
      Body: `${JSON.stringify(log)}\n`,
      ContentType: 'application/json',
      ServerSideEncryption: 'AES256',
    }),
  );
  const deactivated = records.filter((r) => r.outcome === 'deactivated').length;
  deps.logger.info('Remediation plan run', {
    plan: status,
    mode,
    records: records.length,
    deactivated,
    skipped: records.filter((r) => r.outcome === 'skipped').length,
    failed: records.filter((r) => r.outcome === 'failed').length,
  });
  return { plan: status, records: records.length, deactivated };
}
