/**
 * Staged deactivation of unused access keys (docs/ARCHITECTURE.md §7 "Staged deactivation", §11): the
 * policy, the per-account plan the hub writes to `remediation/<accountId>/plan.json`, and the audit record
 * the member agent writes to `remediation/<accountId>/log/<time>.json`. Decided in the hub (here, pure),
 * done in the member (member-agent/remediation.ts re-checks every key right before it acts).
 *
 * The stages of one active key, by days unused (since its last use, or since its creation when never used):
 * `warn` from `unusedDays`, `final-notice` from `deactivateAfterDays - noticeDays`, `deactivate` from
 * `deactivateAfterDays`. Never staged: the root user's keys, inactive keys, a user carrying the opt-out tag
 * (any value), a key the injected {@link ExemptionPredicate} exempts.
 */
import * as z from 'zod';
import { ROOT_USER, type CredentialReportRow } from './columns';
import { parseBool, parseCredentialReport, ReportParseError } from './credential-report';
import { CredreportError } from './errors';
import { runDate } from './run-date';
import { parseReportTimeMs } from './time';
import type { AccountReport } from './types';

/** `off`: nothing planned or done; `dry-run`: planned and shown, never done; `enforce`: done by the agent. */
export const DEACTIVATION_MODES = ['off', 'dry-run', 'enforce'] as const;
export type DeactivationMode = (typeof DEACTIVATION_MODES)[number];

export const DEACTIVATION_STAGES = ['warn', 'final-notice', 'deactivate'] as const;
export type DeactivationStage = (typeof DEACTIVATION_STAGES)[number];

/** Days of one stage ladder. */
export interface StageThresholds {
  readonly unusedDays: number;
  readonly noticeDays: number;
  readonly deactivateAfterDays: number;
}

/** The validated policy (`deactivation` in cdk.json, stacks/config.ts; the digest's environment). */
export interface DeactivationPolicy {
  readonly mode: DeactivationMode;
  /** Users with a console password. */
  readonly human: StageThresholds;
  /** Users without one. */
  readonly machine: StageThresholds;
  /** A user carrying this tag key (any value) is never staged. */
  readonly optOutTag?: string;
  /** The agent acts only on a plan at most this many hours old. */
  readonly planMaxAgeHours: number;
}

/** Defaults: warn after 90 days unused, final notice 14 days before deactivating at 180. */
export const DEFAULT_STAGE_THRESHOLDS: StageThresholds = {
  unusedDays: 90,
  noticeDays: 14,
  deactivateAfterDays: 180,
};
export const DEFAULT_PLAN_MAX_AGE_HOURS = 26;
export const MAX_STAGE_DAYS = 3_650;

/** Why a ladder is not ordered (warn < final notice < deactivate), or undefined when it is. */
export function stageThresholdsProblem(t: StageThresholds): string | undefined {
  if (t.noticeDays >= t.deactivateAfterDays) {
    return `noticeDays (${t.noticeDays}) must be below deactivateAfterDays (${t.deactivateAfterDays})`;
  }
  if (t.unusedDays >= t.deactivateAfterDays - t.noticeDays) {
    return `unusedDays (${t.unusedDays}) must be below deactivateAfterDays - noticeDays (${t.deactivateAfterDays - t.noticeDays}): the warning comes before the final notice`;
  }
  return undefined;
}

/**
 * Who may be exempt (an exemption file, another branch): `true` keeps the key out of every stage. The hub
 * passes its predicate to {@link planAccount}; the default exempts nothing.
 */
export type ExemptionPredicate = (accountId: string, userName: string, accessKeyId: string) => boolean;
export const NOTHING_EXEMPT: ExemptionPredicate = () => false;

const DAY_MS = 86_400_000;
const isoTime = z.iso.datetime({ offset: true });
const day = z.iso.date();
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const userName = z.string().min(1).max(64);
const accessKeyId = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[A-Z0-9]+$/, 'must be an access key id');

/**
 * How much later than the plan's `lastUsedAtPlan` the agent's GetAccessKeyLastUsed answer must be to count
 * as a use since the plan. The plan's last use may come from the credential report, which records the first
 * use in a 15-minute span and is up to hours old; the two sources may word one use differently. A key is
 * due only after `deactivateAfterDays` (at least 2) without use, so a real new use is days after it.
 */
export const SAME_USE_TOLERANCE_MS = 86_400_000;

/** Bounds of a plan and of an audit record (both cross the account boundary). */
export const REMEDIATION_BOUNDS = {
  actions: 5_000,
  records: 5_000,
  detail: 300,
  planBytes: 4_194_304,
} as const;

const PlannedActionSchema = z.strictObject({
  accessKeyId,
  userName,
  stage: z.enum(DEACTIVATION_STAGES),
  /** `human` (console password) or `machine`: which ladder applied. */
  kind: z.enum(['human', 'machine']),
  /** The key's last use as known at plan time; absent: never used. */
  lastUsedAtPlan: isoTime.optional(),
  createDate: isoTime,
  /** The day the key is (or was, for `deactivate`) due to be deactivated. */
  deactivateOn: day,
});
export type PlannedAction = z.infer<typeof PlannedActionSchema>;

/** `remediation/<accountId>/plan.json`: the hub's decision for one account (strict: parsed by the agent too). */
export const RemediationPlanSchema = z.strictObject({
  schemaVersion: z.literal(1),
  accountId,
  mode: z.enum(['dry-run', 'enforce']),
  generatedAt: isoTime,
  actions: z.array(PlannedActionSchema).max(REMEDIATION_BOUNDS.actions),
});
export type RemediationPlan = z.infer<typeof RemediationPlanSchema>;

export const AUDIT_OUTCOMES = ['deactivated', 'would-deactivate', 'skipped', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export const SKIP_REASONS = [
  'used-since-plan',
  'key-gone',
  'user-gone',
  'user-changed',
  'already-inactive',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

const AuditRecordSchema = z.strictObject({
  accessKeyId,
  userName,
  outcome: z.enum(AUDIT_OUTCOMES),
  reason: z.enum(SKIP_REASONS).optional(),
  /** Error class name of a `failed` action, or a short note; never report contents. */
  detail: z
    .string()
    .max(REMEDIATION_BOUNDS.detail)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
    .optional(),
  /** The key's last use as the agent saw it right before acting. */
  lastUsedDate: isoTime.optional(),
  at: isoTime,
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/**
 * `remediation/<accountId>/log/<time>.json`, written by the member agent: `acted` (the plan was current),
 * `stale` (older than planMaxAgeHours, or from the future: nothing done), `invalid` (unreadable or another
 * account's: nothing done).
 */
export const AuditLogSchema = z.strictObject({
  schemaVersion: z.literal(1),
  accountId,
  runAt: isoTime,
  mode: z.enum(['dry-run', 'enforce']),
  plan: z.enum(['acted', 'stale', 'invalid']),
  planGeneratedAt: isoTime.optional(),
  records: z.array(AuditRecordSchema).max(REMEDIATION_BOUNDS.records),
});
export type AuditLog = z.infer<typeof AuditLogSchema>;

/** A plan or audit record that does not match its schema (names the first problem's path). */
export class RemediationContractError extends CredreportError {}

function parseWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RemediationContractError(
      `${what}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Parses bounded JSON text against `schema`; `what` names it in the error. */
function parseBoundedJson<T>(schema: z.ZodType<T>, what: string, text: string): T {
  if (text.length > REMEDIATION_BOUNDS.planBytes) {
    throw new RemediationContractError(`${what}: larger than ${REMEDIATION_BOUNDS.planBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RemediationContractError(`${what}: not JSON`, { cause: error });
  }
  return parseWith(schema, what, json);
}

/** Parses a plan's JSON text (bounded), refusing anything the schema does not admit. */
export const parseRemediationPlan = (text: string): RemediationPlan =>
  parseBoundedJson(RemediationPlanSchema, 'plan', text);

/** Parses an audit log's JSON text (bounded): a member account wrote it. */
export const parseAuditLog = (text: string): AuditLog => parseBoundedJson(AuditLogSchema, 'audit log', text);

/** Whole days from `fromMs` to `nowMs` (floor). */
const daysSince = (fromMs: number, nowMs: number): number => Math.floor((nowMs - fromMs) / DAY_MS);

/**
 * The stage of one active key unused since `sinceMs` (its last use, or its creation when never used) on
 * the given ladder, with the day it is due to be deactivated; undefined when not yet unused long enough.
 */
export function stageOf(
  sinceMs: number,
  t: StageThresholds,
  now: Date,
): { stage: DeactivationStage; deactivateOn: string } | undefined {
  const unused = daysSince(sinceMs, now.getTime());
  if (unused < t.unusedDays) return undefined;
  const stage: DeactivationStage =
    unused >= t.deactivateAfterDays
      ? 'deactivate'
      : unused >= t.deactivateAfterDays - t.noticeDays
        ? 'final-notice'
        : 'warn';
  const due = stage === 'deactivate' ? now : new Date(sinceMs + t.deactivateAfterDays * DAY_MS);
  return { stage, deactivateOn: runDate(due) };
}

/**
 * A key's last use as the hub knows it: the inventory's own (GetAccessKeyLastUsed), else the credential
 * report's slot whose `access_key_N_last_rotated` is the key's creation second. That is the collector's rule
 * (collector/key-inventory.ts `keysNeedingLastUsed`): a key matching a slot, and sharing its creation second
 * with no other key of its user (`sameSecondKeys` counts them, itself included), is not looked up; its last
 * use is in the report. Otherwise the lookup's answer is the inventory's. Undefined: never used.
 */
export function lastUseOf(
  key: { readonly createDate: string; readonly lastUsedDate?: string },
  row: CredentialReportRow | undefined,
  sameSecondKeys = 1,
): string | undefined {
  if (key.lastUsedDate !== undefined || row === undefined || sameSecondKeys > 1) return key.lastUsedDate;
  const second = Math.floor(Date.parse(key.createDate) / 1000);
  const slots = [
    [row.access_key_1_last_rotated, row.access_key_1_last_used_date],
    [row.access_key_2_last_rotated, row.access_key_2_last_used_date],
  ] as const;
  for (const [rotated, used] of slots) {
    const rotatedMs = parseReportTimeMs(rotated);
    if (rotatedMs === undefined || Math.floor(rotatedMs / 1000) !== second) continue;
    const usedMs = parseReportTimeMs(used);
    return usedMs === undefined ? undefined : new Date(usedMs).toISOString();
  }
  return undefined;
}

/** Keys left out of the plan that would otherwise have been staged, per reason. */
export interface SparedCounts {
  readonly optOut: number;
  readonly exempt: number;
}

/** One account's plan, or why the account was not planned. */
export interface AccountPlanResult {
  readonly accountId: string;
  readonly actions: readonly PlannedAction[];
  readonly spared: SparedCounts;
  /** Set when nothing could be planned safely for the account (its actions are then empty). */
  readonly notPlanned?: string;
}

/**
 * Stages every active key of one account report. Pure; `now` is the plan time. The credential report is
 * parsed only when a key was created long enough ago to be staged: it tells human users from machine users,
 * and holds the last use of most keys ({@link lastUseOf}).
 */
export function planAccount(
  report: AccountReport,
  policy: DeactivationPolicy,
  now: Date,
  isExempt: ExemptionPredicate = NOTHING_EXEMPT,
): AccountPlanResult {
  const nowMs = now.getTime();
  const minUnused = Math.min(policy.human.unusedDays, policy.machine.unusedDays);
  // A superset: a key's last use, where only the report holds it, is never before its creation.
  const candidates = report.accessKeys.filter((k) => {
    if (k.status !== 'Active' || k.userName === ROOT_USER) return false;
    const since = Date.parse(k.lastUsedDate ?? k.createDate);
    return !Number.isNaN(since) && daysSince(since, nowMs) >= minUnused;
  });
  const none = { accountId: report.accountId, actions: [], spared: { optOut: 0, exempt: 0 } };
  if (candidates.length === 0) return none;

  const userTags = report.accountFacts?.userTags;
  if (policy.optOutTag !== undefined && userTags === undefined) {
    return {
      ...none,
      notPlanned: `user tags unknown (the report carries none: agent older than the opt-out check, or the snapshot was not read), so the opt-out tag ${policy.optOutTag} cannot be checked`,
    };
  }
  let rowByUser: Map<string, CredentialReportRow>;
  try {
    rowByUser = new Map(
      parseCredentialReport(report.credentialReportCsv, report.accountId).rows.map((r) => [r.user, r]),
    );
  } catch (error) {
    if (!(error instanceof ReportParseError)) throw error;
    return { ...none, notPlanned: `credential report unreadable (${error.detail})` };
  }
  const tagsByUser = new Map((userTags ?? []).map((u) => [u.userName, u.tags]));
  const creationSecond = (k: { readonly createDate: string }) => Math.floor(Date.parse(k.createDate) / 1000);
  const keysBySecond = new Map<string, number>();
  for (const k of report.accessKeys) {
    const id = `${k.userName}\u0000${creationSecond(k)}`;
    keysBySecond.set(id, (keysBySecond.get(id) ?? 0) + 1);
  }
  let optOut = 0;
  let exempt = 0;
  const actions: PlannedAction[] = [];
  for (const key of candidates) {
    const row = rowByUser.get(key.userName);
    const password =
      row === undefined
        ? undefined
        : row.password_enabled !== 'not_supported' && parseBool(row.password_enabled);
    // A user the report does not list (created after it): the later of the two ladders.
    const ladder =
      password === undefined
        ? policy.human.deactivateAfterDays >= policy.machine.deactivateAfterDays
          ? policy.human
          : policy.machine
        : password
          ? policy.human
          : policy.machine;
    const lastUsed = lastUseOf(key, row, keysBySecond.get(`${key.userName}\u0000${creationSecond(key)}`));
    const since = Date.parse(lastUsed ?? key.createDate);
    const staged = stageOf(since, ladder, now);
    if (!staged) continue;
    const tags = tagsByUser.get(key.userName);
    if (policy.optOutTag !== undefined && tags !== undefined && policy.optOutTag in tags) {
      optOut++;
      continue;
    }
    if (isExempt(report.accountId, key.userName, key.accessKeyId)) {
      exempt++;
      continue;
    }
    actions.push({
      accessKeyId: key.accessKeyId,
      userName: key.userName,
      stage: staged.stage,
      kind: ladder === policy.human && password !== false ? 'human' : 'machine',
      ...(lastUsed !== undefined ? { lastUsedAtPlan: lastUsed } : {}),
      createDate: key.createDate,
      deactivateOn: staged.deactivateOn,
    });
  }
  actions.sort((a, b) => (a.accessKeyId < b.accessKeyId ? -1 : a.accessKeyId > b.accessKeyId ? 1 : 0));
  return {
    accountId: report.accountId,
    actions: actions.slice(0, REMEDIATION_BOUNDS.actions),
    spared: { optOut, exempt },
  };
}

/**
 * The plan without the keys an agent already settled after the account's report was collected: deactivated,
 * or skipped because the key was used, is gone, changed user or was inactive. The agent collects its report
 * before it acts on its plan, so the digest that follows still sees such a key active and unused; planning
 * it again would show "deactivates on …" beside "deactivated on …" and have the agent skip it tomorrow. The
 * next report shows the key as it is. `would-deactivate` (a dry run) and `failed` settle nothing.
 */
export function withoutSettledKeys(
  plan: AccountPlanResult,
  logs: readonly AuditLog[],
  reportCollectedMs: number,
): AccountPlanResult {
  if (plan.actions.length === 0) return plan;
  const settled = new Set<string>();
  for (const log of logs) {
    if (log.accountId !== plan.accountId) continue;
    for (const r of log.records) {
      if ((r.outcome === 'deactivated' || r.outcome === 'skipped') && Date.parse(r.at) > reportCollectedMs) {
        settled.add(r.accessKeyId);
      }
    }
  }
  if (settled.size === 0) return plan;
  return { ...plan, actions: plan.actions.filter((a) => !settled.has(a.accessKeyId)) };
}

/** The plan object of one account (validated before it is written). */
export function planDocument(
  result: AccountPlanResult,
  mode: 'dry-run' | 'enforce',
  now: Date,
): RemediationPlan {
  return parseWith(RemediationPlanSchema, 'plan', {
    schemaVersion: 1,
    accountId: result.accountId,
    mode,
    generatedAt: now.toISOString(),
    actions: result.actions,
  });
}

/** Whether a plan is current enough to act on at `now` (not older than `maxAgeHours`, not from the future). */
export function planIsCurrent(plan: RemediationPlan, now: Date, maxAgeHours: number): boolean {
  const age = now.getTime() - Date.parse(plan.generatedAt);
  return age >= -5 * 60_000 && age <= maxAgeHours * 3_600_000;
}

/** The mode the agent acts in: enforcement needs both the plan and the agent's own configuration. */
export function effectiveMode(
  plan: RemediationPlan,
  agentMode: 'dry-run' | 'enforce',
): 'dry-run' | 'enforce' {
  return plan.mode === 'enforce' && agentMode === 'enforce' ? 'enforce' : 'dry-run';
}

/** A planned key as summary.json and the digest show it. */
export interface PlannedKeyView extends PlannedAction {
  readonly accountId: string;
}

/** An agent's action or skip as summary.json and the digest show it. */
export interface AuditRecordView extends AuditRecord {
  readonly accountId: string;
}

/** summary.json `remediation` (docs/ARCHITECTURE.md §6): this run's plan and what the agents did since the last. */
export interface RemediationSummary {
  readonly mode: 'dry-run' | 'enforce';
  /** Staged keys per stage. */
  readonly planned: Readonly<Record<DeactivationStage, number>>;
  /** Most urgent first (deactivate, final notice, warn), capped at REMEDIATION_SUMMARY_ROWS. */
  readonly keys: readonly PlannedKeyView[];
  readonly spared: SparedCounts;
  /** Accounts with a plan written this run (empty plans that cancel an earlier one included). */
  readonly plansWritten: number;
  /** Accounts not planned, with why (user tags unknown, plan not written). */
  readonly notPlanned: readonly { readonly accountId: string; readonly detail: string }[];
  /** The agents' audit records since the previous run. */
  readonly log: {
    readonly deactivated: number;
    readonly wouldDeactivate: number;
    readonly skipped: number;
    readonly failed: number;
    /** Plans an agent refused to act on (stale or invalid), per account. */
    readonly plansRefused: readonly { readonly accountId: string; readonly plan: 'stale' | 'invalid' }[];
    readonly records: readonly AuditRecordView[];
    /** Audit logs that could not be read or were malformed (the account's records are then missing). */
    readonly unreadable: readonly { readonly accountId: string; readonly detail: string }[];
  };
}

export const REMEDIATION_SUMMARY_ROWS = 500;

const STAGE_ORDER: Readonly<Record<DeactivationStage, number>> = {
  deactivate: 0,
  'final-notice': 1,
  warn: 2,
};

/** Builds summary.json's `remediation` from the account plans and the audit logs read. Pure. */
export function remediationSummary(input: {
  readonly mode: 'dry-run' | 'enforce';
  readonly plans: readonly AccountPlanResult[];
  readonly plansWritten: number;
  readonly writeFailures: readonly { readonly accountId: string; readonly detail: string }[];
  readonly logs: readonly AuditLog[];
  readonly unreadableLogs: readonly { readonly accountId: string; readonly detail: string }[];
}): RemediationSummary {
  const planned: Record<DeactivationStage, number> = { warn: 0, 'final-notice': 0, deactivate: 0 };
  const keys: PlannedKeyView[] = [];
  let optOut = 0;
  let exempt = 0;
  const notPlanned: { accountId: string; detail: string }[] = [];
  for (const p of input.plans) {
    optOut += p.spared.optOut;
    exempt += p.spared.exempt;
    if (p.notPlanned) notPlanned.push({ accountId: p.accountId, detail: p.notPlanned });
    for (const a of p.actions) {
      planned[a.stage]++;
      keys.push({ accountId: p.accountId, ...a });
    }
  }
  for (const f of input.writeFailures)
    notPlanned.push({ accountId: f.accountId, detail: `plan not written: ${f.detail}` });
  keys.sort(
    (a, b) =>
      STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage] ||
      (a.deactivateOn < b.deactivateOn ? -1 : a.deactivateOn > b.deactivateOn ? 1 : 0) ||
      (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0) ||
      (a.accessKeyId < b.accessKeyId ? -1 : 1),
  );
  const counts = { deactivated: 0, wouldDeactivate: 0, skipped: 0, failed: 0 };
  const records: AuditRecordView[] = [];
  const plansRefused: { accountId: string; plan: 'stale' | 'invalid' }[] = [];
  for (const log of [...input.logs].sort((a, b) => (a.accountId < b.accountId ? -1 : 1))) {
    if (log.plan !== 'acted') plansRefused.push({ accountId: log.accountId, plan: log.plan });
    for (const r of log.records) {
      if (r.outcome === 'deactivated') counts.deactivated++;
      else if (r.outcome === 'would-deactivate') counts.wouldDeactivate++;
      else if (r.outcome === 'skipped') counts.skipped++;
      else counts.failed++;
      records.push({ accountId: log.accountId, ...r });
    }
  }
  return {
    mode: input.mode,
    planned,
    keys: keys.slice(0, REMEDIATION_SUMMARY_ROWS),
    spared: { optOut, exempt },
    plansWritten: input.plansWritten,
    notPlanned: notPlanned
      .sort((a, b) => (a.accountId < b.accountId ? -1 : 1))
      .slice(0, REMEDIATION_SUMMARY_ROWS),
    log: {
      ...counts,
      plansRefused,
      records: records.slice(0, REMEDIATION_SUMMARY_ROWS),
      unreadable: [...input.unreadableLogs].slice(0, REMEDIATION_SUMMARY_ROWS),
    },
  };
}

/** What the digest says of one planned key: `would deactivate on 2026-12-04` / `deactivates on …`. */
export function plannedKeyLine(k: PlannedKeyView, mode: 'dry-run' | 'enforce'): string {
  const when = k.stage === 'deactivate' ? 'due' : k.stage === 'final-notice' ? 'final notice' : 'warning';
  return `${when}: ${mode === 'dry-run' ? 'would deactivate' : 'deactivates'} on ${k.deactivateOn}`;
}

/** What the digest says of one audit record: `deactivated on 2026-12-04`, `skipped: used-since-plan`. */
export function auditRecordLine(r: AuditRecordView): string {
  const on = r.at.slice(0, 10);
  switch (r.outcome) {
    case 'deactivated':
      return `deactivated on ${on}`;
    case 'would-deactivate':
      return `would have been deactivated on ${on} (dry run)`;
    case 'skipped':
      return `skipped on ${on}: ${r.reason ?? 'no reason'}${r.detail ? ` (${r.detail})` : ''}`;
    case 'failed':
      return `failed on ${on}${r.detail ? `: ${r.detail}` : ''}`;
  }
}

const ladderSchema = z.strictObject({
  unusedDays: z.number().int().min(1).max(MAX_STAGE_DAYS),
  noticeDays: z.number().int().min(1).max(MAX_STAGE_DAYS),
  deactivateAfterDays: z.number().int().min(2).max(MAX_STAGE_DAYS),
});

/**
 * The policy as the digest's environment carries it (`DEACTIVATION_POLICY`, JSON written by the stack from
 * the validated `deactivation` config): strict, ladders ordered.
 */
export const DeactivationPolicySchema: z.ZodType<DeactivationPolicy> = z
  .strictObject({
    mode: z.enum(DEACTIVATION_MODES),
    human: ladderSchema,
    machine: ladderSchema,
    optOutTag: z.string().min(1).max(128).optional(),
    planMaxAgeHours: z.number().int().min(1).max(168),
  })
  .superRefine((p, ctx) => {
    for (const kind of ['human', 'machine'] as const) {
      const problem = stageThresholdsProblem(p[kind]);
      if (problem) ctx.addIssue({ code: 'custom', path: [kind], message: problem });
    }
  });
