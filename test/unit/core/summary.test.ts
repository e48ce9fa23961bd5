import { Writable } from 'node:stream';
import fc from 'fast-check';
import { MergeInput, runMerge } from '../../../core/merge';
import { buildAccountReport, SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import {
  Heap,
  riskier,
  riskScore,
  RiskyKey,
  Summary,
  SummaryBuilder,
  UNKNOWN_OU,
  UNTAGGED,
} from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccountMetadata, AccountReport, FINDING_IDS, OrgMetadata, ReportProblem } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const HOUR = 3_600_000;

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

async function summarise(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<Summary> {
  const { summary } = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: discard(), accessKeys: discard() },
  );
  return summary;
}

function account(id: string, extra: Partial<AccountMetadata> = {}): AccountMetadata {
  return {
    id,
    name: `acct-${id.slice(-2)}`,
    email: `${id}@example.com`,
    state: 'ACTIVE',
    ouPath: 'Root/A',
    ouIdPath: ['r-1', 'ou-1'],
    tags: {},
    ...extra,
  };
}

function reportFor(accountId: string, hoursAgo: number): AccountReport {
  return buildAccountReport({
    accountId,
    generatedMs: NOW.getTime() - hoursAgo * HOUR,
    root: { createdDaysAgo: 100, mfa: true },
    users: [
      { name: 'u', createdDaysAgo: 10, mfa: false, password: { changedDaysAgo: 5, lastUsedDaysAgo: 1 } },
    ],
  });
}

const ids = {
  fresh: '100000000001',
  stale: '100000000002',
  never: '100000000003',
  assembly: '100000000004',
  collect: '100000000005',
  unreadable: '100000000006',
  freshWithProblem: '100000000007',
  staleWithProblem: '100000000008',
  suspended: '100000000009',
};

describe('summary coverage', () => {
  const metadata: OrgMetadata = {
    fetchedAt: NOW.toISOString(),
    accounts: [
      ...Object.entries(ids)
        .filter(([k]) => k !== 'suspended')
        .map(([, id]) => account(id)),
      account(ids.suspended, { state: 'SUSPENDED' }),
    ],
  };
  const problems: ReportProblem[] = [
    { accountId: ids.assembly, reason: 'assembly-incomplete', detail: 'part 2 of 3 missing' },
    { accountId: ids.collect, reason: 'collection-failed', detail: 'AccessDenied assuming the role' },
    { accountId: ids.unreadable, reason: 'unreadable', detail: 'S3 GetObject failed' },
    { accountId: ids.freshWithProblem, reason: 'rejected', detail: 'part failed the schema' },
    { accountId: ids.staleWithProblem, reason: 'assembly-incomplete', detail: 'part 1 of 2 missing' },
  ];
  let summary: Summary;

  beforeAll(async () => {
    summary = await summarise({
      metadata,
      problems,
      reports: [
        reportFor(ids.fresh, 2),
        reportFor(ids.stale, 30),
        reportFor(ids.freshWithProblem, 1),
        reportFor(ids.staleWithProblem, 48),
        reportFor(ids.suspended, 1),
      ],
    });
  });

  const entry = (id: string) => summary.coverage.entries.find((e) => e.accountId === id);

  it('counts expected ACTIVE accounts as reporting, stale or missing and marks the run incomplete', () => {
    expect(summary.coverage).toMatchObject({
      expected: 8,
      reporting: 2,
      stale: 2,
      missing: 7,
      unexpected: 1,
      complete: false,
    });
  });

  it('says never-reported for an expected account with no report and no problem', () => {
    expect(entry(ids.never)).toMatchObject({
      status: 'missing',
      reason: 'never-reported',
      accountName: 'acct-03',
      ouPath: 'Root/A',
    });
  });

  it('says stale with the last report time for a report older than staleHours', () => {
    expect(entry(ids.stale)).toMatchObject({
      status: 'stale',
      reason: 'stale',
      detail: `last report generated ${new Date(NOW.getTime() - 30 * HOUR).toISOString()} (30 hours ago); stale after 26 hours`,
      lastReportTime: new Date(NOW.getTime() - 30 * HOUR).toISOString(),
    });
  });

  it.each([
    [ids.assembly, 'assembly-incomplete', 'part 2 of 3 missing'],
    [ids.collect, 'collection-failed', 'AccessDenied assuming the role'],
    [ids.unreadable, 'unreadable', 'S3 GetObject failed'],
  ])('gives account %s missing with the problem reason %s when it has no report', (id, reason, detail) => {
    expect(entry(id)).toMatchObject({ status: 'missing', reason, detail });
  });

  it('keeps an account with a fresh report reporting but shows its problem in the entries', () => {
    expect(entry(ids.freshWithProblem)).toMatchObject({
      status: 'reporting',
      reason: 'rejected',
      detail: `part failed the schema; the report generated ${new Date(NOW.getTime() - HOUR).toISOString()} (1 hour ago) is still fresh and is used`,
    });
    expect(summary.byAccount.find((a) => a.accountId === ids.freshWithProblem)?.status).toBe('reporting');
  });

  it('gives a stale account with a problem the problem reason and the last report time', () => {
    expect(entry(ids.staleWithProblem)).toMatchObject({ status: 'stale', reason: 'assembly-incomplete' });
    expect(entry(ids.staleWithProblem)?.detail).toBe(
      `part 1 of 2 missing; last usable report generated ${new Date(NOW.getTime() - 48 * HOUR).toISOString()} (2 days ago)`,
    );
  });

  it('lists no entry for a healthy account and counts a reporting SUSPENDED account as unexpected', () => {
    expect(entry(ids.fresh)).toBeUndefined();
    expect(entry(ids.suspended)).toBeUndefined();
    expect(summary.byAccount.find((a) => a.accountId === ids.suspended)).toMatchObject({
      expected: false,
      status: 'reporting',
    });
  });

  it('sorts entries by account id', () => {
    const entryIds = summary.coverage.entries.map((e) => e.accountId);
    expect(entryIds).toEqual([...entryIds].sort());
  });

  it('expects every account seen (reports and problems) when there is no metadata', async () => {
    const s = await summarise({
      reports: [reportFor(ids.fresh, 1)],
      problems: [{ accountId: ids.collect, reason: 'collection-failed', detail: 'timeout' }],
    });
    expect(s.coverage).toMatchObject({ expected: 2, reporting: 1, missing: 1, complete: false });
  });

  it('uses expectedAccountIds when given and is complete when all of them report', async () => {
    const s = await summarise({
      metadata,
      expectedAccountIds: [ids.fresh],
      reports: [reportFor(ids.fresh, 1), reportFor(ids.stale, 40)],
    });
    expect(s.coverage).toMatchObject({
      expected: 1,
      reporting: 1,
      stale: 0,
      missing: 0,
      complete: true,
      entries: [],
    });
  });

  it('treats a report exactly staleHours old as fresh and one just older as stale', async () => {
    const edge = await summarise({ reports: [reportFor(ids.fresh, DEFAULT_THRESHOLDS.staleHours)] });
    expect(edge.coverage.reporting).toBe(1);
    const past = await summarise({ reports: [reportFor(ids.fresh, DEFAULT_THRESHOLDS.staleHours + 0.01)] });
    expect(past.coverage.stale).toBe(1);
  });
});

describe('summary counts', () => {
  const now = NOW;
  const sample = sampleOrganization(now);
  let summary: Summary;
  beforeAll(async () => {
    summary = await summarise({ metadata: sample.metadata, reports: sample.reports });
  });

  it('counts every finding with its severity, CIS v4.0.1/v5.0.0 and Security Hub controls, users and keys', () => {
    expect(Object.keys(summary.findings)).toEqual([...FINDING_IDS]);
    expect(summary.cisVersion).toBe('v5.0.0');
    expect(summary.findings['root-access-key']).toEqual({
      severity: 'critical',
      cis: '1.3',
      cisV4: '1.4',
      cisV5: '1.3',
      cisV6: '2.3',
      cisV7: '2.4',
      securityHub: 'IAM.4',
      users: 1,
      keys: 1,
    });
    expect(summary.findings['console-without-mfa']).toEqual({
      severity: 'high',
      cis: '1.9',
      cisV4: '1.10',
      cisV5: '1.9',
      cisV6: '2.9',
      cisV7: '2.10',
      securityHub: 'IAM.5',
      users: 3,
      keys: 0,
    });
    expect(summary.findings['privileged-key']).toEqual({ severity: 'high', users: 3, keys: 3 });
    expect(summary.findings['multiple-active-keys']).toMatchObject({ users: 1, keys: 2 });
  });

  it('shows the CIS v4.0.1 numbering when cisVersion is v4.0.1, the other ids unchanged', async () => {
    const v4 = await summarise({ metadata: sample.metadata, reports: sample.reports, cisVersion: 'v4.0.1' });
    expect(v4.cisVersion).toBe('v4.0.1');
    expect(v4.findings['key-not-rotated']).toMatchObject({ cis: '1.14', cisV4: '1.14', cisV5: '1.13' });
    expect(v4.compliance.map((c) => c.cis)).toEqual([
      '1.4',
      '1.5',
      '1.6',
      '1.7',
      '1.8',
      '1.9',
      '1.10',
      '1.11',
      '1.12',
      '1.13',
      '1.14',
      '1.15',
    ]);
  });

  it('shows the CIS v6.0.0 numbering when cisVersion is v6.0.0, every control in section 2', async () => {
    const v6 = await summarise({ metadata: sample.metadata, reports: sample.reports, cisVersion: 'v6.0.0' });
    expect(v6.cisVersion).toBe('v6.0.0');
    expect(v6.findings['key-not-rotated']).toMatchObject({ cis: '2.13', cisV5: '1.13', cisV6: '2.13' });
    expect(v6.compliance.map((c) => c.cis)).toEqual([
      '2.3',
      '2.4',
      '2.5',
      '2.6',
      '2.7',
      '2.8',
      '2.9',
      '2.10',
      '2.11',
      '2.12',
      '2.13',
      '2.14',
    ]);
  });

  it('shows the CIS v7.0.0 numbering when cisVersion is v7.0.0, and no id for the controls v7.0.0 dropped', async () => {
    const v7 = await summarise({ metadata: sample.metadata, reports: sample.reports, cisVersion: 'v7.0.0' });
    expect(v7.cisVersion).toBe('v7.0.0');
    expect(v7.findings['key-not-rotated']).toMatchObject({ cis: '2.12', cisV7: '2.12' });
    expect(v7.findings['multiple-active-keys']).not.toHaveProperty('cis');
    expect(v7.findings['multiple-active-keys']).toMatchObject({ cisV6: '2.12', users: 1, keys: 2 });
    expect(v7.findings['key-created-at-setup']).not.toHaveProperty('cis');
    expect(v7.compliance.map((c) => c.cis)).toEqual([
      '2.1.1',
      '2.4',
      '2.5',
      '2.6',
      '2.7',
      '2.8',
      '2.9',
      '2.10',
      '2.11',
      '2.12',
      '2.13',
    ]);
    expect(v7.compliance.flatMap((c) => c.findings)).not.toContain('multiple-active-keys');
  });

  it('tables v7.0.0 2.1.1 as one organization verdict: pass when centralized root access is enabled', async () => {
    const v7 = await summarise({ metadata: sample.metadata, reports: sample.reports, cisVersion: 'v7.0.0' });
    expect(v7.compliance[0]).toEqual({
      cis: '2.1.1',
      cisV7: '2.1.1',
      findings: ['root-access-not-centralized'],
      severity: 'high',
      scope: 'organization',
      organization: 'pass',
      accountsPassing: 0,
      accountsFailing: 0,
      accountsNotEvaluated: 0,
    });
    expect(v7.compliance.slice(1).every((c) => c.scope === undefined)).toBe(true);
  });

  it('tables 2.1.1 as fail when root access is not centralized, not-evaluated when unreadable or never read', async () => {
    const verdict = async (metadata: OrgMetadata) =>
      (await summarise({ metadata, reports: sample.reports, cisVersion: 'v7.0.0' })).compliance.find(
        (c) => c.cis === '2.1.1',
      )?.organization;
    const fetchedAt = sample.metadata.fetchedAt;
    const off: OrgMetadata = {
      ...sample.metadata,
      rootAccess: { status: 'read', enabledFeatures: [], iamTrustedAccess: true, fetchedAt },
    };
    expect(await verdict(off)).toBe('fail');
    const unreadable: OrgMetadata = {
      ...sample.metadata,
      rootAccess: { status: 'unreadable', detail: 'AccessDenied', fetchedAt },
    };
    expect(await verdict(unreadable)).toBe('not-evaluated');
    const neverRead: OrgMetadata = { ...sample.metadata };
    delete (neverRead as { rootAccess?: unknown }).rootAccess;
    expect(await verdict(neverRead)).toBe('not-evaluated');
  });

  it('has no organization row in the numberings without centralized root access (v4.0.1, v5.0.0, v6.0.0)', async () => {
    for (const cisVersion of ['v4.0.1', 'v5.0.0', 'v6.0.0'] as const) {
      const s = await summarise({ metadata: sample.metadata, reports: sample.reports, cisVersion });
      expect(s.compliance.filter((c) => c.scope === 'organization')).toEqual([]);
    }
  });

  it("gives each account written its root user's facts in byAccount, from the facts else the root row", () => {
    const root = (id: string) => summary.byAccount.find((a) => a.accountId === id)?.root;
    // The management account's report has no facts: its root row's active key says present.
    expect(root(SAMPLE_ACCOUNTS.management)).toEqual({
      credentials: 'present',
      accessKeys: true,
      signingCertificates: false,
      mfa: false,
    });
    // Root credentials removed centrally: GetAccountSummary says no password, no keys, no certificates.
    expect(root(SAMPLE_ACCOUNTS.orders)).toEqual({
      credentials: 'none',
      password: false,
      accessKeys: false,
      signingCertificates: false,
      mfa: false,
      mfaVirtual: false,
    });
    // dev-sandbox: no facts, a root row with an active signing certificate.
    expect(root(SAMPLE_ACCOUNTS.devSandbox)).toMatchObject({
      credentials: 'present',
      signingCertificates: true,
    });
    // An expected account without a report has no root section.
    expect(root(SAMPLE_ACCOUNTS.newAccount)).toBeUndefined();
  });

  it('counts root credentials in accountFacts by the rule of the organization line (facts, else the root row)', () => {
    const byAccount = summary.byAccount.filter((a) => a.root);
    const count = (word: string) => byAccount.filter((a) => a.root?.credentials === word).length;
    expect(summary.accountFacts.rootCredentials).toEqual({
      present: count('present'),
      none: count('none'),
      unknown: count('unknown'),
    });
    // The management root's key and the member's certificate are both present; the organization line
    // counts the member only (the management account is never a member).
    expect(summary.accountFacts.rootCredentials.present).toBe(2);
    expect(summary.organization?.members.withRootCredentials).toBe(1);
    expect(summary.organization?.members.withoutRootCredentials).toBe(count('none'));
  });

  it('tables per CIS control the accounts passing, failing and not evaluated', () => {
    expect(summary.compliance.map((c) => c.cis)).toEqual([
      '1.3',
      '1.4',
      '1.5',
      '1.6',
      '1.7',
      '1.8',
      '1.9',
      '1.10',
      '1.11',
      '1.12',
      '1.13',
      '1.14',
    ]);
    const failing = (id: string): number =>
      summary.byAccount.filter(
        (a) => a.reportGeneratedTime !== undefined && (a.findings as Record<string, number>)[id],
      ).length;
    for (const row of summary.compliance) {
      const id = row.findings[0] as string;
      expect(row.accountsFailing).toBe(failing(id));
      const withoutReport = summary.byAccount.filter(
        (a) => a.expected && a.reportGeneratedTime === undefined,
      ).length;
      // Accounts whose report lacks the fact a control needs are not evaluated, never passing.
      const withoutFact = row.accountsNotEvaluated - withoutReport;
      expect(withoutFact).toBeGreaterThanOrEqual(0);
      expect(row.accountsPassing + row.accountsFailing + withoutFact).toBe(summary.totals.accounts);
    }
    expect(summary.compliance[0]).toMatchObject({
      cis: '1.3',
      securityHub: 'IAM.4',
      findings: ['root-access-key'],
      severity: 'critical',
      accountsFailing: 1,
    });
  });

  it('totals rows of both CSVs', () => {
    expect(summary.totals).toMatchObject({
      accounts: 7,
      users: 22,
      accessKeys: 13,
      activeAccessKeys: 12,
      activeKeysWithFindings: 10,
      usersWithFindings: 14,
    });
  });

  it("counts the active keys with a finding, the whole of the digest's top risks", () => {
    // Every active key with a finding fits in riskiestKeys, which holds only keys with findings.
    expect(summary.riskiestKeys.every((k) => k.findings.length > 0)).toBe(true);
    expect(summary.totals.activeKeysWithFindings).toBe(summary.riskiestKeys.length);
    expect(summary.riskiestKeys.length).toBeLessThan(summary.totals.activeAccessKeys);
  });

  it('breaks down per account, per OU path and per Environment value with untagged accounts apart', () => {
    const payments = summary.byAccount.find((a) => a.accountId === SAMPLE_ACCOUNTS.payments);
    expect(payments).toMatchObject({
      accountName: 'prod-payments',
      users: 5,
      status: 'reporting',
      expected: true,
    });
    expect(summary.byOu.map((g) => g.value)).toEqual([
      'Root',
      'Root/Security',
      'Root/Workloads/Dev',
      'Root/Workloads/Prod',
      'Root/Workloads/Staging',
    ]);
    const dev = summary.byOu.find((g) => g.value === 'Root/Workloads/Dev');
    expect(dev).toMatchObject({ accounts: 3, reporting: 2, users: 7 });
    expect(summary.byTag.key).toBe('Environment');
    expect(summary.byTag.values.map((v) => v.value)).toEqual([
      '(untagged)',
      'Development',
      'Production',
      'Staging',
    ]);
    expect(summary.byTag.values.find((v) => v.value === UNTAGGED)).toMatchObject({
      accounts: 1,
      reporting: 0,
      users: 0,
    });
  });

  it('breaks down by another tag when breakdownTag is given, and puts accounts without metadata under (unknown)', async () => {
    const s = await summarise({
      metadata: sample.metadata,
      reports: [...sample.reports, reportFor('999999999999', 1)],
      breakdownTag: 'CostCenter',
    });
    expect(s.byTag.key).toBe('CostCenter');
    expect(s.byTag.values.map((v) => v.value)).toContain('CC-400');
    expect(s.byOu.find((g) => g.value === UNKNOWN_OU)).toMatchObject({ accounts: 1, users: 2 });
  });

  it('ranks only active keys with findings, by risk score: root first, then admin, then by severity and age', () => {
    const keys = summary.riskiestKeys;
    expect(keys[0]).toMatchObject({
      isRoot: true,
      accountId: SAMPLE_ACCOUNTS.management,
      severity: 'critical',
    });
    expect(keys.slice(1, 3).map((k) => k.userName)).toEqual(['admin-alice', 'deploy-bot']);
    expect(keys.every((k) => k.findings.length > 0 && k.severity !== undefined)).toBe(true);
    const scores = keys.map((k) => k.riskScore as number);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(keys.length).toBe(summary.totals.activeKeysWithFindings);
  });
});

describe('SummaryBuilder riskiest keys', () => {
  const keyArb = fc.record({
    accountId: fc.constantFrom('100000000001', '100000000002', '100000000003'),
    userName: fc.constantFrom('a', 'b', 'c', 'd'),
    accessKeyId: fc.option(fc.stringMatching(/^AKIA[A-Z2-7]{4}$/), { nil: undefined }),
    isRoot: fc.boolean(),
    ageDays: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    privileges: fc.subarray(['admin', 's3Read', 'rdsRead', 'dynamodbRead'] as const),
    findings: fc.subarray([...FINDING_IDS], { minLength: 1 }),
  });

  it('keeps exactly the top N of a full sort whatever the insertion order', () => {
    fc.assert(
      fc.property(fc.array(keyArb, { maxLength: 120 }), fc.integer({ min: 1, max: 20 }), (raw, limit) => {
        const keys: RiskyKey[] = raw.map((k) => ({
          accountId: k.accountId,
          userName: k.userName,
          isRoot: k.isRoot,
          privileges: k.privileges,
          findings: k.findings,
          ...(k.accessKeyId !== undefined ? { accessKeyId: k.accessKeyId } : {}),
          ...(k.ageDays !== undefined ? { ageDays: k.ageDays } : {}),
        }));
        const builder = new SummaryBuilder({
          now: NOW,
          thresholds: DEFAULT_THRESHOLDS,
          riskiestKeysLimit: limit,
        });
        const tally = builder.account('100000000001', NOW.toISOString());
        for (const key of keys) builder.addKey(tally, true, key.findings, () => key);
        const expected = [...keys]
          .sort((a, b) => (riskier(a, b) ? -1 : riskier(b, a) ? 1 : 0))
          .slice(0, limit);
        const got = builder.build().riskiestKeys;
        expect(got.map((k) => [k.riskScore, tierOf(k), k.ageDays ?? -1])).toEqual(
          expected.map((k) => [riskScore(k), tierOf(k), k.ageDays ?? -1]),
        );
      }),
    );
  });

  it('leaves out active keys without findings', () => {
    const builder = new SummaryBuilder({ now: NOW, thresholds: DEFAULT_THRESHOLDS });
    const tally = builder.account('100000000001', NOW.toISOString());
    builder.addKey(tally, true, [], () => ({
      accountId: '1',
      userName: 'x',
      isRoot: false,
      privileges: [],
      findings: [],
    }));
    const s = builder.build();
    expect(s.riskiestKeys).toEqual([]);
    expect(s.totals).toMatchObject({ activeAccessKeys: 1, activeKeysWithFindings: 0 });
  });

  it('ignores inactive keys', () => {
    const builder = new SummaryBuilder({ now: NOW, thresholds: DEFAULT_THRESHOLDS });
    const tally = builder.account('100000000001', NOW.toISOString());
    builder.addKey(tally, false, ['key-not-rotated'], () => ({
      accountId: '1',
      userName: 'x',
      isRoot: true,
      privileges: [],
      findings: [],
    }));
    const s = builder.build();
    expect(s.riskiestKeys).toEqual([]);
    expect(s.totals).toMatchObject({ accessKeys: 1, activeAccessKeys: 0 });
    expect(s.findings['key-not-rotated'].keys).toBe(1);
  });
});

describe('riskScore', () => {
  const key = (extra: Partial<RiskyKey>): RiskyKey => ({
    accountId: '1',
    userName: 'u',
    isRoot: false,
    privileges: [],
    findings: [],
    ...extra,
  });

  it('adds severity points, privilege points and age points up to 20 at 365 days', () => {
    expect(riskScore(key({ isRoot: true, findings: ['root-access-key'], ageDays: 365 }))).toBe(100);
    expect(riskScore(key({ privileges: ['admin'], findings: ['key-not-rotated'], ageDays: 0 }))).toBe(50);
    expect(riskScore(key({ privileges: ['s3Read'], findings: ['data-read-key'], ageDays: 730 }))).toBe(55);
    expect(riskScore(key({ findings: ['console-without-mfa'], ageDays: 73 }))).toBe(34);
    expect(riskScore(key({ findings: [] }))).toBe(0);
  });

  it('ranks an admin key with a medium finding above an unprivileged key with a high one of the same age', () => {
    const admin = key({ privileges: ['admin'], findings: ['key-not-rotated'], ageDays: 100 });
    const plain = key({ findings: ['console-without-mfa'], ageDays: 100 });
    expect(riskier(admin, plain)).toBe(true);
    expect(riskier(plain, admin)).toBe(false);
  });
});

function tierOf(k: RiskyKey): number {
  return k.isRoot ? 0 : k.privileges.includes('admin') ? 1 : k.privileges.length > 0 ? 2 : 3;
}

describe('Heap', () => {
  it('pops in comparator order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), (values) => {
        const heap = new Heap<number>((a, b) => a < b);
        for (const v of values) heap.push(v);
        expect(heap.drain()).toEqual([...values].sort((a, b) => a - b));
      }),
    );
  });
});
