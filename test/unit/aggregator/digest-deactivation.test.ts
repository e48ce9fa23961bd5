import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConfig, DigestDeps, runDigest } from '../../../aggregator/digest';
import { parseRemediationPlan, type AuditLog, type DeactivationPolicy } from '../../../core/deactivation';
import { S3_LAYOUT } from '../../../core/names';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountReport } from '../../../core/types';
import { fakeOrganizationFrom, wireFakeOrganization, wireFakeRootAccess } from './support/fake-organizations';
import { digestDeps } from './support/digest-deps';
import { MemoryS3, wireMemoryS3 } from './support/memory-s3';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const iamMock = mockClient(IAMClient);

const NOW = new Date('2026-11-21T06:00:00Z');
const DAY = 86_400_000;
const BUCKET = 'hub-bucket';
const OWN = SAMPLE_ACCOUNTS.management;
const POLICY: DeactivationPolicy = {
  mode: 'dry-run',
  human: { unusedDays: 90, noticeDays: 14, deactivateAfterDays: 180 },
  machine: { unusedDays: 90, noticeDays: 14, deactivateAfterDays: 180 },
  optOutTag: 'credreport:keep',
  planMaxAgeHours: 26,
};
const CONFIG: DigestConfig = {
  bucket: BUCKET,
  organizationId: 'o-example123',
  targetOuIds: ['r-ex12'],
  recipients: ['security@example.com'],
  sender: 'credreport@example.com',
  tagKeys: [],
  breakdownTag: 'Environment',
  thresholds: DEFAULT_THRESHOLDS,
  maxEmailBytes: 10_000_000,
  tagCacheHours: 24,
  readConcurrency: 4,
  deactivation: POLICY,
};

let memory: MemoryS3;
let reports: AccountReport[];
let member: AccountReport;
const DUE_KEY = 'AKIADUEDUEDUEDUE0001';
const WARN_KEY = 'AKIAWARNWARNWARN0002';

function deps(overrides: Partial<DigestDeps> = {}): DigestDeps {
  const own = reports.find((r) => r.accountId === OWN) as AccountReport;
  return digestDeps({ bucket: BUCKET, own, sesRegion: 'us-east-1' }, overrides);
}

const summary = (): Summary =>
  JSON.parse(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`) as string) as Summary;

beforeEach(() => {
  s3Mock.reset();
  orgMock.reset();
  sesMock.reset();
  iamMock.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
  const sample = sampleOrganization(NOW);
  const org = fakeOrganizationFrom(sample.metadata);
  wireFakeOrganization(orgMock, org);
  wireFakeRootAccess(iamMock, org);
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'm' });
  // Only the staged keys below are old enough: every sample key is made recent.
  // Schema v3 carries the user tags (a v1 or v2 report with account facts is refused).
  reports = sample.reports.map((r) => ({
    ...r,
    schemaVersion: 3,
    accessKeys: r.accessKeys.map((k) => ({
      ...k,
      lastUsedDate: new Date(NOW.getTime() - DAY).toISOString(),
    })),
    accountFacts: { ...r.accountFacts, userTags: [] },
  }));
  const index = reports.findIndex((r) => r.accountId !== OWN);
  const base = reports[index] as AccountReport;
  member = {
    ...base,
    accessKeys: [
      ...base.accessKeys,
      {
        userName: 'svc-old',
        accessKeyId: DUE_KEY,
        status: 'Active',
        createDate: new Date(NOW.getTime() - 400 * DAY).toISOString(),
        lastUsedDate: new Date(NOW.getTime() - 200 * DAY).toISOString(),
      },
      {
        userName: 'svc-old',
        accessKeyId: WARN_KEY,
        status: 'Active',
        createDate: new Date(NOW.getTime() - 100 * DAY).toISOString(),
      },
    ],
  };
  reports[index] = member;
  for (const report of reports) {
    if (report.accountId !== OWN)
      memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
  }
});

describe('runDigest: staged deactivation', () => {
  it('writes a plan only for the account with staged keys, and shows "would deactivate on" in summary and digest', async () => {
    await runDigest(CONFIG, deps(), NOW);
    const planKeys = memory.keys('remediation/').filter((k) => k.endsWith('/plan.json'));
    expect(planKeys).toEqual([S3_LAYOUT.remediationPlan(member.accountId)]);
    const plan = parseRemediationPlan(memory.text(planKeys[0] as string) as string);
    expect(plan).toMatchObject({
      accountId: member.accountId,
      mode: 'dry-run',
      generatedAt: NOW.toISOString(),
    });
    expect(plan.actions.map((a) => [a.accessKeyId, a.stage, a.deactivateOn])).toEqual([
      [DUE_KEY, 'deactivate', '2026-11-21'],
      [WARN_KEY, 'warn', '2027-02-09'],
    ]);
    const s = summary();
    expect(s.remediation).toMatchObject({
      mode: 'dry-run',
      planned: { deactivate: 1, warn: 1, 'final-notice': 0 },
      plansWritten: 1,
    });
    const html = memory.text(`latest/${S3_LAYOUT.outputFiles.digest}`) ?? '';
    expect(html).toContain('data-section="remediation"');
    expect(html).toContain('due: would deactivate on 2026-11-21');
    expect(html).toContain('warning: would deactivate on 2027-02-09');
  });

  it('writes an empty plan for an account whose earlier plan has nothing left to do', async () => {
    const other = reports.find(
      (r) => r.accountId !== OWN && r.accountId !== member.accountId,
    ) as AccountReport;
    memory.putRaw(S3_LAYOUT.remediationPlan(other.accountId), '{"old":true}');
    await runDigest(CONFIG, deps(), NOW);
    expect(
      parseRemediationPlan(memory.text(S3_LAYOUT.remediationPlan(other.accountId)) as string).actions,
    ).toEqual([]);
  });

  it('spares keys the injected exemption predicate matches', async () => {
    await runDigest(CONFIG, deps({ isExempt: (_a, _u, id) => id === DUE_KEY }), NOW);
    expect(summary().remediation).toMatchObject({
      planned: { deactivate: 0, warn: 1 },
      spared: { exempt: 1, optOut: 0 },
    });
  });

  describe('with a real exemptions file at config/exemptions.json', () => {
    const entry = (over: Record<string, unknown>) => ({
      id: 'svc-old-unused',
      reason: 'kept for the yearly batch job',
      approvedBy: 'security@example.com',
      expires: '2027-01-31',
      accounts: [member.accountId],
      users: ['svc-old'],
      accessKeys: [DUE_KEY],
      ...over,
    });
    const runWith = async (exemption: Record<string, unknown>) => {
      memory.putRaw(S3_LAYOUT.exemptions, JSON.stringify({ version: 1, exemptions: [exemption] }));
      // No injected predicate: runDigest reads the file and builds its own.
      await runDigest(CONFIG, deps(), NOW);
      const s = summary();
      // The file was read and used, so a plan that still stages the key is the entry's doing.
      expect(s.exemptions).toMatchObject({ source: 'file', entries: 1, counts: { rejectedEntries: 0 } });
      const plan = parseRemediationPlan(memory.text(S3_LAYOUT.remediationPlan(member.accountId)) as string);
      return { remediation: s.remediation, staged: plan.actions.map((a) => [a.accessKeyId, a.stage]) };
    };

    it('spares a due key when an active entry covers its credential-unused finding', async () => {
      const { remediation, staged } = await runWith(entry({ findings: ['credential-unused'] }));
      expect(staged).toEqual([[WARN_KEY, 'warn']]);
      expect(remediation).toMatchObject({
        planned: { deactivate: 0, warn: 1, 'final-notice': 0 },
        spared: { exempt: 1, optOut: 0 },
      });
    });

    it('does not spare the key when the entry exempts another finding only', async () => {
      const { remediation, staged } = await runWith(entry({ findings: ['key-not-rotated'] }));
      expect(staged).toEqual([
        [DUE_KEY, 'deactivate'],
        [WARN_KEY, 'warn'],
      ]);
      expect(remediation).toMatchObject({
        planned: { deactivate: 1, warn: 1 },
        spared: { exempt: 0, optOut: 0 },
      });
    });

    it('does not spare the key when the entry covering credential-unused has expired', async () => {
      const { remediation, staged } = await runWith(
        entry({ findings: ['credential-unused'], expires: '2026-11-20' }),
      );
      expect(staged).toEqual([
        [DUE_KEY, 'deactivate'],
        [WARN_KEY, 'warn'],
      ]);
      expect(remediation).toMatchObject({
        planned: { deactivate: 1, warn: 1 },
        spared: { exempt: 0, optOut: 0 },
      });
      expect(summary().exemptions?.expired).toEqual([
        expect.objectContaining({ id: 'svc-old-unused', expiredOn: '2026-11-20' }),
      ]);
    });
  });

  it('re-plans without a key once an exemption is added after the plan that staged it', async () => {
    await runDigest(CONFIG, deps(), NOW);
    const staged = () =>
      parseRemediationPlan(memory.text(S3_LAYOUT.remediationPlan(member.accountId)) as string).actions.map(
        (a) => a.accessKeyId,
      );
    expect(staged()).toEqual([DUE_KEY, WARN_KEY]);
    // The agent never reads exemptions: only the next plan (the daily digest, or `credreport run` now) does.
    memory.putRaw(
      S3_LAYOUT.exemptions,
      JSON.stringify({
        version: 1,
        exemptions: [
          {
            id: 'added-later',
            reason: 'claimed by its team after the final notice',
            approvedBy: 'security@example.com',
            expires: '2027-01-31',
            accessKeys: [DUE_KEY],
            findings: ['credential-unused'],
          },
        ],
      }),
    );
    await runDigest(CONFIG, deps(), new Date(NOW.getTime() + 3_600_000));
    expect(staged()).toEqual([WARN_KEY]);
    expect(summary().remediation?.spared).toEqual({ exempt: 1, optOut: 0 });
  });

  it('shows the audit logs written since the previous run, and lists a malformed one', async () => {
    const log: AuditLog = {
      schemaVersion: 1,
      accountId: member.accountId,
      runAt: new Date(NOW.getTime() - 3_600_000).toISOString(),
      mode: 'enforce',
      plan: 'acted',
      records: [
        { accessKeyId: DUE_KEY, userName: 'svc-old', outcome: 'deactivated', at: '2026-11-21T05:00:00.000Z' },
        {
          accessKeyId: WARN_KEY,
          userName: 'svc-old',
          outcome: 'skipped',
          reason: 'used-since-plan',
          at: '2026-11-21T05:00:00.000Z',
        },
      ],
    };
    const recent = { lastModified: new Date(NOW.getTime() - 3_600_000) };
    memory.putRaw(
      S3_LAYOUT.remediationLog(member.accountId, '2026-11-21T061502Z'),
      JSON.stringify(log),
      recent,
    );
    memory.putRaw(S3_LAYOUT.remediationLog('999999999999', '2026-11-21'), '{"schemaVersion":1}', recent);
    // Older than the look-back: not read again.
    memory.putRaw(S3_LAYOUT.remediationLog(member.accountId, '2026-10-01'), 'not json', {
      lastModified: new Date(NOW.getTime() - 30 * DAY),
    });
    await runDigest(CONFIG, deps(), NOW);
    const r = summary().remediation;
    expect(r?.log).toMatchObject({ deactivated: 1, skipped: 1, wouldDeactivate: 0, failed: 0 });
    expect(r?.log.unreadable).toEqual([
      { accountId: '999999999999', detail: expect.stringMatching(/audit log/) as string },
    ]);
    const html = memory.text(`latest/${S3_LAYOUT.outputFiles.digest}`) ?? '';
    expect(html).toContain('deactivated on 2026-11-21');
    expect(html).toContain('skipped on 2026-11-21: used-since-plan');
  });

  it('writes no plan and no section when the feature is off', async () => {
    const config: DigestConfig = { ...CONFIG };
    delete (config as { deactivation?: unknown }).deactivation;
    await runDigest(config, deps(), NOW);
    expect(memory.keys('remediation/')).toEqual([]);
    expect(summary().remediation).toBeUndefined();
  });
});
