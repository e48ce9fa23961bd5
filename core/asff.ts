/**
 * Security Hub findings (docs/ARCHITECTURE.md §6 "Security Hub"): credreport's open findings of one account as
 * AWS Security Finding Format (ASFF) records, and the plan of one import — what to import as ACTIVE, what to
 * archive because it was imported before and is no longer open. Pure: the importer
 * (collector/security-hub-import.ts) reads the previous findings and calls BatchImportFindings.
 *
 * What the API requires (AWS Security Hub API Reference, BatchImportFindings and AwsSecurityFinding; Security
 * Hub partner guide, "Guidelines for using the BatchImportFindings API"):
 * - with the default product ARN (`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`),
 *   the account that calls BatchImportFindings must be the finding's `AwsAccountId`: each account imports its own;
 * - at most 100 findings per call, 240 KB per finding, 6 MB per call; 10 TPS per account and Region, burst 30;
 * - after creation BatchImportFindings cannot update `Workflow` (nor Note, UserDefinedFields, VerificationState),
 *   and a provider should give `Severity` and `Types` through `FindingProviderFields`: both are set.
 * - required top-level attributes: AwsAccountId, CreatedAt, Description, GeneratorId, Id, ProductArn, Resources,
 *   SchemaVersion, Severity, Title, Types, UpdatedAt (Security Hub user guide, "Required top-level ASFF attributes").
 */
import { Writable } from 'node:stream';
import * as z from 'zod';
import { ROOT_USER } from './columns';
import type { OpenFinding } from './findings-csv';
import type { FindingControls, Severity } from './finding-ids';
import { runMerge } from './merge';
import { findingUid } from './ocsf';
import type { Thresholds } from './thresholds';
import type { AccountReport } from './types';

/** The ASFF schema version Security Hub accepts. */
export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** Every GeneratorId starts so: GetFindings filters the previous import on it (with the product ARN). */
export const ASFF_GENERATOR_PREFIX = 'credreport/';
/** BatchImportFindings takes at most this many findings per call. */
export const ASFF_BATCH_SIZE = 100;
/** ASFF string bounds of the fields written (API reference: Title 256, Description 1,024 characters). */
export const ASFF_BOUNDS = {
  title: 256,
  description: 1024,
  productFieldValue: 2048,
  requirements: 32,
} as const;
/** At most this many previous findings are read back per run (50 pages of GetFindings' 100). */
export const ASFF_MAX_PREVIOUS = 5000;

const LABEL: Readonly<Record<Severity, 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'>> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
};

/** ASFF finding types (the ASFF types taxonomy: namespace/category/classifier). */
const CIS_TYPE =
  'Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark';
const BEST_PRACTICE_TYPE = 'Software and Configuration Checks/AWS Security Best Practices';

/** The default product ARN of `accountId` in `region`: what a custom integration imports under. */
export function defaultProductArn(partition: string, region: string, accountId: string): string {
  return `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;
}

const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Schema of one ASFF resource as credreport writes it. */
const ResourceSchema = z.object({
  Type: z.enum(['AwsIamUser', 'AwsIamAccessKey', 'AwsAccount']),
  Id: z.string().min(1).max(512),
  Partition: z.enum(['aws', 'aws-cn', 'aws-us-gov']),
  Region: z.string().min(1).max(64),
  Details: z
    .object({
      AwsIamUser: z.object({ UserName: z.string().min(1).max(64) }).optional(),
      AwsIamAccessKey: z
        .object({
          AccessKeyId: z.string().min(1).max(128).optional(),
          PrincipalName: z.string().min(1).max(64).optional(),
          PrincipalType: z.literal('IAMUser').optional(),
          AccountId: z
            .string()
            .regex(/^\d{12}$/)
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

const SeveritySchema = z.object({
  Label: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']),
  Original: z.string().max(64),
});

/**
 * One credreport ASFF finding: the fields credreport writes, bounded as the API reference bounds them. It
 * is also how a previous finding read back from GetFindings is parsed: unknown fields Security Hub adds (such
 * as ProcessedAt, WorkflowState, Severity.Normalized) are stripped at every level, so an archive re-sends only
 * these fields.
 */
export const CredreportAsffSchema = z.object({
  SchemaVersion: z.literal(ASFF_SCHEMA_VERSION),
  Id: z.string().min(1).max(512),
  ProductArn: z.string().regex(/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/),
  ProductName: z.literal('credreport').optional(),
  CompanyName: z.literal('credreport').optional(),
  GeneratorId: z.string().startsWith(ASFF_GENERATOR_PREFIX).max(512),
  AwsAccountId: z.string().regex(/^\d{12}$/),
  Region: z.string().min(1).max(64).optional(),
  Types: z.array(z.string().min(1).max(256)).min(1).max(50),
  CreatedAt: z.iso.datetime({ offset: true }),
  UpdatedAt: z.iso.datetime({ offset: true }),
  FirstObservedAt: z.iso.datetime({ offset: true }).optional(),
  LastObservedAt: z.iso.datetime({ offset: true }).optional(),
  Severity: SeveritySchema,
  Title: z.string().min(1).max(ASFF_BOUNDS.title),
  Description: z.string().min(1).max(ASFF_BOUNDS.description),
  Resources: z.array(ResourceSchema).min(1).max(32),
  Compliance: z
    .object({
      Status: z.enum(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']),
      RelatedRequirements: z.array(z.string().min(1).max(128)).max(ASFF_BOUNDS.requirements).optional(),
      SecurityControlId: z.string().min(1).max(64).optional(),
    })
    .optional(),
  FindingProviderFields: z
    .object({
      Severity: SeveritySchema.optional(),
      Types: z.array(z.string().min(1).max(256)).max(50).optional(),
    })
    .optional(),
  ProductFields: z.record(z.string().max(128), z.string().max(ASFF_BOUNDS.productFieldValue)).optional(),
  Workflow: z.object({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']) }).optional(),
  RecordState: z.enum(['ACTIVE', 'ARCHIVED']),
});
export type CredreportAsff = z.infer<typeof CredreportAsffSchema>;

/** Where an account's findings are imported: its own default product in the agent's Region. */
export interface AsffTarget {
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
}

/** The CIS ids and the Security Hub control of a finding, as ASFF RelatedRequirements. */
function requirementsOf(controls: FindingControls): string[] {
  const out: string[] = [];
  const versions: [keyof FindingControls, string][] = [
    ['cisV4', 'CIS AWS Foundations Benchmark v4.0.1'],
    ['cisV5', 'CIS AWS Foundations Benchmark v5.0.0'],
    ['cisV6', 'CIS AWS Foundations Benchmark v6.0.0'],
    ['cisV7', 'CIS AWS Foundations Benchmark v7.0.0'],
  ];
  for (const [field, name] of versions) {
    const id = controls[field];
    if (id !== undefined) out.push(`${name}/${id}`);
  }
  if (controls.securityHub !== undefined)
    out.push(`AWS Foundational Security Best Practices/${controls.securityHub}`);
  return out;
}

/** The resources of a finding: the account for root's and account-level findings, else the user and its key. */
function resourcesOf(finding: OpenFinding, target: AsffTarget): CredreportAsff['Resources'] {
  const base = { Partition: target.partition as 'aws', Region: target.region };
  const resources: CredreportAsff['Resources'] = [];
  if (!finding.userName || finding.userName === ROOT_USER || !finding.userArn) {
    resources.push({ ...base, Type: 'AwsAccount', Id: `AWS::::Account:${finding.accountId}` });
  } else {
    resources.push({
      ...base,
      Type: 'AwsIamUser',
      Id: finding.userArn,
      Details: { AwsIamUser: { UserName: finding.userName } },
    });
  }
  if (finding.accessKeyId) {
    resources.push({
      ...base,
      Type: 'AwsIamAccessKey',
      Id: `AWS::IAM::AccessKey:${finding.accessKeyId}`,
      Details: {
        AwsIamAccessKey: {
          AccessKeyId: finding.accessKeyId,
          AccountId: finding.accountId,
          ...(finding.userName && finding.userName !== ROOT_USER
            ? { PrincipalName: finding.userName, PrincipalType: 'IAMUser' as const }
            : {}),
        },
      },
    });
  }
  return resources;
}

/**
 * One open finding as an ACTIVE ASFF finding of `target`'s default product. `createdAt` is the previous
 * import's CreatedAt when the finding was imported before (re-imports keep it), else the finding's first seen.
 */
export function asffFinding(
  finding: OpenFinding,
  target: AsffTarget,
  now: Date,
  createdAt?: string,
): CredreportAsff {
  const nowIso = now.toISOString();
  const firstSeen = Number.isNaN(Date.parse(finding.firstSeen))
    ? nowIso
    : new Date(finding.firstSeen).toISOString();
  const severity = { Label: LABEL[finding.severity], Original: finding.severity };
  const requirements = requirementsOf(finding.controls);
  const types = [finding.controls.cisV5 || finding.controls.cisV4 ? CIS_TYPE : BEST_PRACTICE_TYPE];
  const who =
    finding.userName === ROOT_USER || !finding.userName ? 'the account root' : `IAM user ${finding.userName}`;
  const key = finding.accessKeyId ? ` (access key ${finding.accessKeyId})` : '';
  const productFields: Record<string, string> = {
    'credreport/FindingId': finding.findingId,
    ...(finding.path ? { 'credreport/Path': cut(finding.path, ASFF_BOUNDS.productFieldValue) } : {}),
  };
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingUid(finding),
    ProductArn: defaultProductArn(target.partition, target.region, target.accountId),
    ProductName: 'credreport',
    CompanyName: 'credreport',
    GeneratorId: `${ASFF_GENERATOR_PREFIX}${finding.findingId}`,
    AwsAccountId: finding.accountId,
    Region: target.region,
    Types: types,
    CreatedAt: createdAt ?? firstSeen,
    UpdatedAt: nowIso,
    FirstObservedAt: firstSeen,
    LastObservedAt: nowIso,
    Severity: severity,
    Title: cut(`${finding.findingId}: ${who}${key}`, ASFF_BOUNDS.title),
    Description: cut(finding.detail || finding.findingId, ASFF_BOUNDS.description),
    Resources: resourcesOf(finding, target),
    Compliance: {
      Status: 'FAILED',
      ...(requirements.length > 0 ? { RelatedRequirements: requirements } : {}),
      ...(finding.controls.securityHub !== undefined
        ? { SecurityControlId: finding.controls.securityHub }
        : {}),
    },
    FindingProviderFields: { Severity: severity, Types: types },
    ProductFields: productFields,
    Workflow: { Status: 'NEW' },
    RecordState: 'ACTIVE',
  };
}

/** What one import sends. */
export interface AsffImportPlan {
  /** The open findings, ACTIVE. */
  readonly active: readonly CredreportAsff[];
  /** Findings imported before and open no more: the previous record, ARCHIVED and compliance PASSED. */
  readonly archived: readonly CredreportAsff[];
}

/**
 * Plans one import of `target`'s open findings against what the previous imports left ACTIVE (read back
 * with GetFindings, parsed with {@link CredreportAsffSchema}). A finding open again keeps its CreatedAt;
 * Workflow is sent only for a new finding (Security Hub ignores it on an update anyway).
 */
export function planImport(
  open: readonly OpenFinding[],
  previous: readonly CredreportAsff[],
  target: AsffTarget,
  now: Date,
): AsffImportPlan {
  const before = new Map(previous.map((p) => [p.Id, p]));
  const active: CredreportAsff[] = [];
  const seen = new Set<string>();
  for (const finding of open) {
    if (finding.organization || finding.accountId !== target.accountId) continue;
    const id = findingUid(finding);
    if (seen.has(id)) continue;
    seen.add(id);
    const prior = before.get(id);
    const record = asffFinding(finding, target, now, prior?.CreatedAt);
    if (prior) {
      const update: CredreportAsff = { ...record };
      delete update.Workflow;
      active.push({ ...update, FirstObservedAt: prior.FirstObservedAt ?? record.FirstObservedAt });
    } else active.push(record);
  }
  const nowIso = now.toISOString();
  const archived: CredreportAsff[] = [];
  for (const prior of previous) {
    if (seen.has(prior.Id) || prior.RecordState === 'ARCHIVED' || prior.AwsAccountId !== target.accountId)
      continue;
    const { ProductFields: fields, ...rest } = prior;
    delete rest.Workflow;
    // Security Hub adds its own aws/securityhub/* product fields; only credreport's are sent back.
    const own = Object.entries(fields ?? {}).filter(([k]) => k.startsWith(ASFF_GENERATOR_PREFIX));
    archived.push({
      ...rest,
      ...(own.length > 0 ? { ProductFields: Object.fromEntries(own) } : {}),
      UpdatedAt: nowIso,
      RecordState: 'ARCHIVED',
      ...(prior.Compliance ? { Compliance: { ...prior.Compliance, Status: 'PASSED' } } : {}),
    });
  }
  return { active, archived };
}

/** Splits `items` into batches of at most `size` (BatchImportFindings: 100). */
export function batches<T>(items: readonly T[], size = ASFF_BATCH_SIZE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A sink that discards what it is given (the CSVs runMerge writes while computing an account's findings). */
function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

/**
 * The open findings of one account's report, computed by the one merge (core/merge.ts) exactly as the
 * digest computes them from the report alone: the same rules, thresholds and details. Without the
 * organization's SCPs (a member account cannot read them) a privilege flag is as the agent computed it, and
 * without the hub's run state a finding is first seen now (the previous import's CreatedAt is kept instead,
 * see {@link planImport}). Organization findings need the organization and are not computed here.
 */
export async function openFindingsOfReport(
  report: AccountReport,
  now: Date,
  thresholds: Thresholds,
): Promise<OpenFinding[]> {
  const open: OpenFinding[] = [];
  await runMerge(
    { now, thresholds, reports: [report], expectedAccountIds: [report.accountId] },
    {
      credentialReport: discard(),
      accessKeys: discard(),
      onFinding: (finding) => {
        if (!finding.organization) open.push(finding);
        return undefined;
      },
    },
  );
  return open;
}

/** The outcome of one account's import (collector/security-hub-import.ts). */
export interface AsffImportResult {
  /** Open findings imported as ACTIVE. */
  readonly imported: number;
  /** Previously imported findings archived. */
  readonly archived: number;
  /** Findings Security Hub refused (FailedFindings) or whose call failed, per error code. */
  readonly failed: Readonly<Record<string, number>>;
  /** Why the previous import could not be read (then nothing was archived), when it could not. */
  readonly previousError?: string;
  /** Previous findings that did not parse as credreport's and were left alone. */
  readonly previousSkipped: number;
}

/** Total of {@link AsffImportResult.failed}. */
export function failedCount(result: AsffImportResult): number {
  return Object.values(result.failed).reduce((a, b) => a + b, 0);
}

/**
 * The report warning an import leaves when it did not fully succeed (shown in summary.json's warnings and
 * the digest's warnings section as `account <id>: Security Hub …`); undefined when everything was imported.
 */
export function importWarning(result: AsffImportResult): string | undefined {
  const failed = failedCount(result);
  const parts: string[] = [];
  if (failed > 0) {
    const codes = Object.entries(result.failed)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([code, n]) => `${cut(code, 64)} ${n}`)
      .join(', ');
    parts.push(`${failed} of ${failed + result.imported + result.archived} findings not imported (${codes})`);
  }
  if (result.previousError !== undefined) {
    parts.push(`previous findings unreadable, none archived (${cut(result.previousError, 200)})`);
  }
  if (result.previousSkipped > 0)
    parts.push(`${result.previousSkipped} previous findings not credreport's, left alone`);
  return parts.length > 0 ? `Security Hub import: ${parts.join('; ')}` : undefined;
}
