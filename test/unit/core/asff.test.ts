import * as z from 'zod';
import { partitionOfRegion as partitionOf } from '../../../core/names';
import {
  ASFF_BATCH_SIZE,
  asffFinding,
  batches,
  CredreportAsffSchema,
  defaultProductArn,
  importWarning,
  openFindingsOfReport,
  planImport,
} from '../../../core/asff';
import { FINDING_CONTROLS } from '../../../core/finding-ids';
import type { OpenFinding } from '../../../core/findings-csv';
import { sampleOrganization } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';

const NOW = new Date('2026-11-21T06:00:00Z');
const ACCOUNT = '111111111111';
const TARGET = { accountId: ACCOUNT, region: 'eu-west-1', partition: 'aws' };

/**
 * ASFF as the Security Hub user guide and API reference state it, for the fields credreport writes, written
 * independently of core/asff.ts's own schema. Required top-level attributes ("Required top-level ASFF
 * attributes"): AwsAccountId, CreatedAt, Description, GeneratorId, Id, ProductArn, Resources, SchemaVersion,
 * Severity, Title, Types, UpdatedAt. Resource: Id and Type required. Timestamps ISO 8601. Enumerations of
 * Severity.Label, Compliance.Status, Workflow.Status and RecordState as the API reference lists them;
 * Title ≤ 256, Description ≤ 1,024 characters; Types as namespace/category/classifier; at most 32 resources.
 */
const iso = z.iso.datetime({ offset: true });
const label = z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const AsffReferenceSchema = z.object({
  SchemaVersion: z.literal('2018-10-08'),
  Id: z.string().min(1).max(512),
  ProductArn: z.string().regex(/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/[^/]+\/[^/]+$/),
  GeneratorId: z.string().min(1).max(512),
  AwsAccountId: z.string().regex(/^\d{12}$/),
  Types: z
    .array(
      z
        .string()
        .regex(
          /^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(\/[^/]+){0,2}$/,
        ),
    )
    .min(1),
  CreatedAt: iso,
  UpdatedAt: iso,
  FirstObservedAt: iso.optional(),
  LastObservedAt: iso.optional(),
  Severity: z.object({ Label: label, Original: z.string().optional() }),
  Title: z.string().min(1).max(256),
  Description: z.string().min(1).max(1024),
  Resources: z
    .array(z.object({ Id: z.string().min(1), Type: z.string().min(1) }).passthrough())
    .min(1)
    .max(32),
  Compliance: z
    .object({
      Status: z.enum(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']),
      RelatedRequirements: z.array(z.string().max(128)).max(32).optional(),
    })
    .passthrough()
    .optional(),
  Workflow: z.object({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']) }).optional(),
  RecordState: z.enum(['ACTIVE', 'ARCHIVED']).optional(),
  FindingProviderFields: z
    .object({
      Severity: z.object({ Label: label }).passthrough().optional(),
      Types: z.array(z.string()).optional(),
    })
    .passthrough()
    .optional(),
});

const keyFinding: OpenFinding = {
  accountId: ACCOUNT,
  findingId: 'key-not-rotated',
  severity: 'medium',
  controls: FINDING_CONTROLS['key-not-rotated'],
  userName: 'alice',
  userArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accessKeyId: 'AKIAEXAMPLE000000001',
  slot: 1,
  firstSeen: '2026-10-01T06:00:00.000Z',
  detail: '140 days old, rotate within 90 days',
  path: '',
  organization: false,
};
const rootFinding: OpenFinding = {
  accountId: ACCOUNT,
  findingId: 'root-mfa-disabled',
  severity: 'critical',
  controls: FINDING_CONTROLS['root-mfa-disabled'],
  userName: '<root_account>',
  userArn: `arn:aws:iam::${ACCOUNT}:root`,
  accessKeyId: '',
  firstSeen: NOW.toISOString(),
  detail: 'root user without MFA',
  path: '',
  organization: false,
};

describe('asffFinding', () => {
  it('writes a finding that satisfies the ASFF reference: stable Id, severity, CIS and control ids, user and key resources', () => {
    const asff = asffFinding(keyFinding, TARGET, NOW);
    expect(AsffReferenceSchema.safeParse(asff).success).toBe(true);
    expect(CredreportAsffSchema.safeParse(asff).success).toBe(true);
    expect(asff).toMatchObject({
      Id: `credreport/${ACCOUNT}/alice/AKIAEXAMPLE000000001/key-not-rotated`,
      ProductArn: `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`,
      GeneratorId: 'credreport/key-not-rotated',
      AwsAccountId: ACCOUNT,
      Severity: { Label: 'MEDIUM', Original: 'medium' },
      FindingProviderFields: { Severity: { Label: 'MEDIUM' } },
      CreatedAt: '2026-10-01T06:00:00.000Z',
      FirstObservedAt: '2026-10-01T06:00:00.000Z',
      UpdatedAt: NOW.toISOString(),
      Workflow: { Status: 'NEW' },
      RecordState: 'ACTIVE',
      Compliance: { Status: 'FAILED', SecurityControlId: 'IAM.3' },
      Resources: [
        {
          Type: 'AwsIamUser',
          Id: `arn:aws:iam::${ACCOUNT}:user/alice`,
          Partition: 'aws',
          Region: 'eu-west-1',
        },
        {
          Type: 'AwsIamAccessKey',
          Id: 'AWS::IAM::AccessKey:AKIAEXAMPLE000000001',
          Details: { AwsIamAccessKey: { AccessKeyId: 'AKIAEXAMPLE000000001', PrincipalName: 'alice' } },
        },
      ],
    });
    expect(asff.Compliance?.RelatedRequirements).toEqual([
      'CIS AWS Foundations Benchmark v4.0.1/1.14',
      'CIS AWS Foundations Benchmark v5.0.0/1.13',
      'CIS AWS Foundations Benchmark v6.0.0/2.13',
      'CIS AWS Foundations Benchmark v7.0.0/2.12',
      'AWS Foundational Security Best Practices/IAM.3',
    ]);
  });

  it('puts root and account-level findings on the account resource, critical', () => {
    const asff = asffFinding(rootFinding, TARGET, NOW);
    expect(AsffReferenceSchema.safeParse(asff).success).toBe(true);
    expect(asff.Severity.Label).toBe('CRITICAL');
    expect(asff.Resources).toEqual([
      { Type: 'AwsAccount', Id: `AWS::::Account:${ACCOUNT}`, Partition: 'aws', Region: 'eu-west-1' },
    ]);
  });

  it('cuts a long description to the ASFF bound', () => {
    const asff = asffFinding({ ...keyFinding, detail: 'x'.repeat(5000) }, TARGET, NOW);
    expect(asff.Description).toHaveLength(1024);
    expect(AsffReferenceSchema.safeParse(asff).success).toBe(true);
  });

  it('the reference schema refuses a finding without a required attribute (it can fail)', () => {
    const withoutResources: Partial<ReturnType<typeof asffFinding>> = asffFinding(keyFinding, TARGET, NOW);
    delete withoutResources.Resources;
    expect(AsffReferenceSchema.safeParse(withoutResources).success).toBe(false);
    expect(
      AsffReferenceSchema.safeParse({ ...asffFinding(keyFinding, TARGET, NOW), Severity: {} }).success,
    ).toBe(false);
  });
});

describe('defaultProductArn and partitionOf', () => {
  it('builds the default product ARN of an account in its partition', () => {
    expect(defaultProductArn(partitionOf('cn-north-1'), 'cn-north-1', ACCOUNT)).toBe(
      `arn:aws-cn:securityhub:cn-north-1:${ACCOUNT}:product/${ACCOUNT}/default`,
    );
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
    expect(partitionOf('eu-west-1')).toBe('aws');
    // ISO Regions too: the agent builds its own product ARN from this.
    expect(partitionOf('us-iso-east-1')).toBe('aws-iso');
    expect(partitionOf('us-isob-east-1')).toBe('aws-iso-b');
  });
});

describe('planImport', () => {
  it('imports open findings ACTIVE, keeps the CreatedAt of one imported before, and archives the resolved one', () => {
    const before = asffFinding(keyFinding, TARGET, new Date('2026-10-01T06:00:00Z'));
    const resolved = asffFinding(
      { ...keyFinding, findingId: 'credential-unused', controls: FINDING_CONTROLS['credential-unused'] },
      TARGET,
      new Date('2026-10-02T06:00:00Z'),
    );
    const plan = planImport(
      [{ ...keyFinding, firstSeen: NOW.toISOString() }, rootFinding],
      [before, resolved],
      TARGET,
      NOW,
    );
    expect(plan.active.map((a) => a.Id)).toEqual([before.Id, asffFinding(rootFinding, TARGET, NOW).Id]);
    expect(plan.active[0]).toMatchObject({
      CreatedAt: before.CreatedAt,
      RecordState: 'ACTIVE',
      UpdatedAt: NOW.toISOString(),
    });
    // Workflow is for a new finding only: Security Hub does not let a provider update it.
    expect(plan.active[0]?.Workflow).toBeUndefined();
    expect(plan.active[1]?.Workflow).toEqual({ Status: 'NEW' });
    expect(plan.archived).toHaveLength(1);
    expect(plan.archived[0]).toMatchObject({
      Id: resolved.Id,
      RecordState: 'ARCHIVED',
      UpdatedAt: NOW.toISOString(),
      CreatedAt: resolved.CreatedAt,
      Compliance: { Status: 'PASSED' },
    });
    for (const f of [...plan.active, ...plan.archived])
      expect(AsffReferenceSchema.safeParse(f).success).toBe(true);
  });

  it('never imports another account’s or an organization finding, nor the same Id twice', () => {
    const plan = planImport(
      [
        keyFinding,
        keyFinding,
        { ...keyFinding, accountId: '222222222222' },
        { ...rootFinding, organization: true },
      ],
      [],
      TARGET,
      NOW,
    );
    expect(plan.active).toHaveLength(1);
  });
});

describe('batches', () => {
  it('splits into batches of at most 100', () => {
    expect(batches(Array.from({ length: 250 }, (_, i) => i)).map((b) => b.length)).toEqual([100, 100, 50]);
    expect(ASFF_BATCH_SIZE).toBe(100);
    expect(batches([])).toEqual([]);
  });
});

describe('openFindingsOfReport', () => {
  it('computes one account’s findings with the merge: the same findings findings.csv holds for it', async () => {
    const { reports } = sampleOrganization(NOW);
    const report = reports.find((r) => r.credentialReportCsv.includes('<root_account>')) ?? reports[0];
    if (!report) throw new Error('sample has no report');
    const open = await openFindingsOfReport(report, NOW, DEFAULT_THRESHOLDS);
    expect(open.length).toBeGreaterThan(0);
    expect(new Set(open.map((f) => f.accountId))).toEqual(new Set([report.accountId]));
    const plan = planImport(open, [], { ...TARGET, accountId: report.accountId }, NOW);
    expect(plan.active.length).toBe(new Set(plan.active.map((a) => a.Id)).size);
    for (const f of plan.active) {
      const parsed = AsffReferenceSchema.safeParse(f);
      if (!parsed.success) throw new Error(`${f.Id}: ${parsed.error.message}`);
    }
  });
});

describe('importWarning', () => {
  it('says nothing when everything was imported and names the counts and codes otherwise', () => {
    expect(importWarning({ imported: 3, archived: 1, failed: {}, previousSkipped: 0 })).toBeUndefined();
    expect(
      importWarning({
        imported: 3,
        archived: 0,
        failed: { InvalidInput: 2 },
        previousSkipped: 0,
        previousError: 'AccessDeniedException',
      }),
    ).toBe(
      'Security Hub import: 2 of 5 findings not imported (InvalidInput 2); previous findings unreadable, none archived (AccessDeniedException)',
    );
  });
});
