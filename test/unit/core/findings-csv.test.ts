import { PassThrough, Readable, Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { FINDINGS_COLUMNS } from '../../../core/columns';
import { FINDING_CONTROLS, FINDING_SEVERITY, FindingId } from '../../../core/finding-ids';
import { findingDetail, findingPath } from '../../../core/findings-csv';
import { findingsHeader, MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { readPreviousRun } from '../../../core/previous-run';
import {
  buildAccountReport,
  reportTime,
  sampleOrganization,
  SAMPLE_ACCOUNTS,
} from '../../../core/sample-org';
import type { OrgMetadata } from '../../../core/types';
import { ORG_FINDING_IDS } from '../../../core/org-findings';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';

const NOW = new Date('2024-06-01T06:00:00Z');
const DAY = 86_400_000;

interface Out {
  readonly result: MergeResult;
  readonly cr: string;
  readonly ak: string;
  readonly findings: Record<string, string>[];
}

function sink(): { stream: Writable; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<Out> {
  const cr = sink();
  const ak = sink();
  const fi = sink();
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: cr.stream, accessKeys: ak.stream, findings: fi.stream },
  );
  return {
    result,
    cr: cr.text(),
    ak: ak.text(),
    findings: parse(fi.text(), { columns: true }) as Record<string, string>[],
  };
}

describe('findings.csv organization rows', () => {
  const sample = sampleOrganization(NOW);
  const withRootAccess = (rootAccess: OrgMetadata['rootAccess']): OrgMetadata => ({
    ...sample.metadata,
    ...(rootAccess ? { rootAccess } : {}),
  });
  const fetchedAt = NOW.toISOString();

  it('writes one row per member whose root still holds credentials, on the member account, user and key empty', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const rows = out.findings.filter((r) => r.finding_id === 'member-root-credentials-present');
    expect(rows).toEqual([
      expect.objectContaining({
        account_id: SAMPLE_ACCOUNTS.devSandbox,
        account_name: 'dev-sandbox',
        // The member's own report (its rows' report_status): the organization row has none.
        report_status: 'current',
        user: '',
        user_arn: '',
        access_key_id: '',
        key_slot: '',
        severity: 'high',
        cis_v4: '',
        cis_v5: '',
        cis_v6: '',
        cis_v7: '',
        first_seen: reportTime(NOW.getTime()),
        age_days: '0',
        detail: expect.stringMatching(
          /^root signing certificate present; .*sts:AssumeRoot.*IAMDeleteRootUserCredentials/,
        ),
      }),
    ]);
    expect(out.result.summary.organization?.findings).toHaveLength(1);
    const total = Object.values(out.result.summary.totals.openFindings).reduce((a, b) => a + b, 0);
    expect(out.findings).toHaveLength(total);
  });

  it('writes the organization row with the organization id as account_id and CIS v7.0.0 2.1.1 when root access is not centralized', async () => {
    const off = await merge({
      metadata: withRootAccess({
        status: 'read',
        enabledFeatures: ['RootSessions'],
        iamTrustedAccess: true,
        fetchedAt,
      }),
      reports: sample.reports,
    });
    const rows = off.findings.filter((r) =>
      (ORG_FINDING_IDS as readonly string[]).includes(r.finding_id ?? ''),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        account_id: 'o-example123',
        account_name: '',
        report_status: '',
        user: '',
        access_key_id: '',
        finding_id: 'root-access-not-centralized',
        severity: 'high',
        cis_v4: '',
        cis_v5: '',
        cis_v6: '',
        cis_v7: '2.1.1',
        detail: 'RootCredentialsManagement not enabled; IAM trusted access in Organizations enabled',
      }),
    ]);
    const on = await merge({ metadata: sample.metadata, reports: sample.reports });
    expect(off.result.summary.totals.openFindings.high).toBe(on.result.summary.totals.openFindings.high);
  });

  it('writes no organization row when root access is unreadable or was never read', async () => {
    const neverRead: OrgMetadata = { ...sample.metadata };
    delete (neverRead as { rootAccess?: unknown }).rootAccess;
    const unreadable = withRootAccess({
      status: 'unreadable',
      detail: 'AccessDeniedException: the role lacks iam:ListOrganizationsFeatures',
      fetchedAt,
    });
    for (const metadata of [unreadable, neverRead]) {
      const out = await merge({ metadata, reports: sample.reports });
      expect(
        out.findings.filter((r) => (ORG_FINDING_IDS as readonly string[]).includes(r.finding_id ?? '')),
      ).toEqual([]);
      expect(out.result.summary.organization?.findings).toEqual([]);
    }
  });
});

describe('findings.csv', () => {
  const sample = sampleOrganization(NOW);
  let out: Out;
  beforeAll(async () => {
    out = await merge({ metadata: sample.metadata, reports: sample.reports });
  });

  it('has the account and tag columns, then the finding columns', () => {
    const header = findingsHeader(['Environment', 'Owner']);
    expect(header.slice(0, 8)).toEqual([
      'account_id',
      'account_name',
      'account_email',
      'account_state',
      'ou_path',
      'report_status',
      'tag:Environment',
      'tag:Owner',
    ]);
    expect(header.slice(8)).toEqual([...FINDINGS_COLUMNS]);
  });

  it('writes one row per open finding of a user or key: as many as access-keys.csv and the users own', () => {
    const keyRows = parse(out.ak, { columns: true }) as Record<string, string>[];
    const keyFindings = keyRows.reduce(
      (n, r) => n + (r.findings === '' ? 0 : r.findings!.split(';').length),
      0,
    );
    const onKeys = out.findings.filter((r) => r.access_key_id !== '' || r.key_slot !== '');
    expect(onKeys).toHaveLength(keyFindings);
    const total = Object.values(out.result.summary.totals.openFindings).reduce((a, b) => a + b, 0);
    expect(out.findings).toHaveLength(total);
    expect(out.result.summary.totals.openFindings.critical).toBe(
      out.findings.filter((r) => r.severity === 'critical').length,
    );
  });

  it('carries the severity and the CIS v4.0.1, v5.0.0, v6.0.0, v7.0.0 and Security Hub ids of each finding', () => {
    for (const row of out.findings.filter((r) => r.finding_id !== 'member-root-credentials-present')) {
      const id = row.finding_id as FindingId;
      expect(row.severity).toBe(FINDING_SEVERITY[id]);
      expect(row.cis_v4).toBe(FINDING_CONTROLS[id].cisV4 ?? '');
      expect(row.cis_v5).toBe(FINDING_CONTROLS[id].cisV5 ?? '');
      expect(row.cis_v6).toBe(FINDING_CONTROLS[id].cisV6 ?? '');
      expect(row.cis_v7).toBe(FINDING_CONTROLS[id].cisV7 ?? '');
      expect(row.security_hub_control).toBe(FINDING_CONTROLS[id].securityHub ?? '');
    }
    const rootKey = out.findings.find((r) => r.finding_id === 'root-access-key');
    expect(rootKey).toMatchObject({
      account_id: SAMPLE_ACCOUNTS.management,
      user: '<root_account>',
      severity: 'critical',
      cis_v4: '1.4',
      cis_v5: '1.3',
      cis_v6: '2.3',
      cis_v7: '2.4',
      security_hub_control: 'IAM.4',
    });
    const twoKeys = out.findings.find((r) => r.finding_id === 'multiple-active-keys');
    expect(twoKeys).toMatchObject({ cis_v4: '1.13', cis_v5: '1.12', cis_v6: '2.12', cis_v7: '' });
  });

  it('puts a user finding on a row without a key, and gives every row a short detail', () => {
    const mfa = out.findings.find((r) => r.finding_id === 'console-without-mfa');
    expect(mfa).toMatchObject({ access_key_id: '', key_slot: '', detail: 'console password without MFA' });
    expect(out.findings.every((r) => r.detail !== '')).toBe(true);
    const rotated = out.findings.find((r) => r.finding_id === 'key-not-rotated' && r.user === 'log-shipper');
    expect(rotated?.detail).toMatch(/^\d+ days old, rotate within 90 days$/);
    expect(rotated?.access_key_id).toMatch(/^AKIA/);
  });

  it('puts the proving path in path for privileged-key (admin_path) and data-read-key (data_read_path) only', () => {
    const admin = out.findings.filter(
      (r) => r.finding_id === 'privileged-key' && r.user !== '<root_account>',
    );
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.every((r) => r.path === 'AdministratorAccess')).toBe(true);
    const keys = parse(out.ak, { columns: true }) as Record<string, string>[];
    const data = out.findings.filter((r) => r.finding_id === 'data-read-key');
    expect(data.length).toBeGreaterThan(0);
    for (const row of data) {
      const key = keys.find((k) => k.access_key_id === row.access_key_id && k.user === row.user);
      expect({ user: row.user, path: row.path }).toEqual({ user: row.user, path: key?.data_read_path });
      expect(row.path).toMatch(row.user === '<root_account>' ? /^root user$/ : /^(s3|rds|dynamodb): /);
    }
    expect(
      out.findings
        .filter((r) => !/^(privileged|data-read)-key$/.test(r.finding_id ?? ''))
        .every((r) => r.path === ''),
    ).toBe(true);
  });

  it('dates every finding of a first run to now, 0 days old', () => {
    expect(out.findings.every((r) => r.first_seen === reportTime(NOW.getTime()) && r.age_days === '0')).toBe(
      true,
    );
  });

  it('keeps the first-seen time of a finding open in the previous run and dates a new one to now', async () => {
    const earlier = new Date(NOW.getTime() - 10 * DAY);
    // alice's console password has no MFA on both days; her key, used 30 days before the first run,
    // is unused past 45 days only in the second (40 days later).
    const before = await merge({ now: earlier, reports: [report(earlier, 30)] });
    const previous = await readPreviousRun({
      credentialReport: Readable.from([before.cr]),
      accessKeys: Readable.from([before.ak]),
      summary: before.result.summary,
    });
    const later = new Date(earlier.getTime() + 40 * DAY);
    const after = await merge({ now: later, reports: [report(later, 70)], previous });
    // Open in the previous run already: it counts from then (the previous run's time: no state file here).
    const mfa = after.findings.find((r) => r.finding_id === 'console-without-mfa');
    expect(mfa).toMatchObject({ first_seen: reportTime(earlier.getTime()), age_days: '40' });
    const unused = after.findings.find((r) => r.finding_id === 'credential-unused' && r.access_key_id !== '');
    expect(unused).toMatchObject({
      first_seen: reportTime(later.getTime()),
      age_days: '0',
      detail: 'unused 70 days',
    });
    expect(before.findings.some((r) => r.finding_id === 'credential-unused')).toBe(false);
    expect(before.findings.every((r) => r.first_seen === reportTime(earlier.getTime()))).toBe(true);
  });

  it('neutralises a user name that a spreadsheet would evaluate', async () => {
    const hostile = await merge({ reports: [report(NOW, 100, '=HYPERLINK("http://x")')] });
    expect(hostile.findings.length).toBeGreaterThan(0);
    expect(hostile.findings.every((r) => r.user === `'=HYPERLINK("http://x")`)).toBe(true);
  });
});

function report(at: Date, keyUnusedDays: number, name = 'alice') {
  return buildAccountReport({
    accountId: '123456789012',
    generatedMs: at.getTime() - 3_600_000,
    root: { createdDaysAgo: 900, mfa: true },
    users: [
      {
        name,
        createdDaysAgo: 400,
        password: { changedDaysAgo: 300, lastUsedDaysAgo: 1 },
        mfa: false,
        keys: [{ active: true, createdDaysAgo: 60, lastUsedDaysAgo: keyUnusedDays }],
      },
    ],
  });
}

describe('findingDetail', () => {
  const nowMs = NOW.getTime();
  const t = DEFAULT_THRESHOLDS;

  it('says how long a credential has been unused, or since when a never-used one exists', () => {
    const key = { isKey: true };
    expect(
      findingDetail('credential-unused', key, { keyLastUsedMs: nowMs - 132 * DAY, activeKeys: 1 }, nowMs, t),
    ).toBe('unused 132 days');
    expect(
      findingDetail('credential-unused', key, { keyCreatedMs: nowMs - 50 * DAY, activeKeys: 1 }, nowMs, t),
    ).toBe('never used, created 50 days ago');
    const user = { isKey: false };
    expect(
      findingDetail('credential-unused', user, { passwordSetMs: nowMs - DAY, activeKeys: 0 }, nowMs, t),
    ).toBe('password never used, set 1 day ago');
  });

  it("states the password policy's length and reuse against CIS's, or that there is no policy", () => {
    const root = { isKey: false };
    const detail = (id: FindingId, passwordPolicy?: Parameters<typeof findingDetail>[2]['passwordPolicy']) =>
      findingDetail(id, root, { activeKeys: 0, ...(passwordPolicy ? { passwordPolicy } : {}) }, nowMs, t);
    expect(detail('password-policy-weak-length', { present: true, minimumPasswordLength: 8 })).toBe(
      'password policy minimum length 8, CIS asks 14 or more',
    );
    expect(detail('password-policy-weak-length', { present: false })).toBe(
      'no password policy: minimum length is not set to 14 or more',
    );
    expect(
      detail('password-policy-no-reuse-prevention', {
        present: true,
        minimumPasswordLength: 14,
        passwordReusePrevention: 5,
      }),
    ).toBe('password policy remembers 5, CIS asks the last 24');
    expect(detail('password-policy-no-reuse-prevention', { present: true, minimumPasswordLength: 14 })).toBe(
      'password reuse is not prevented, CIS asks the last 24',
    );
    expect(detail('root-hardware-mfa-missing')).toBe('root MFA is a virtual device, not a hardware one');
  });

  it('names the data services a data-read key can read, and root use by password or key', () => {
    const privileges = {
      userName: 'u',
      admin: false,
      s3Read: true,
      rdsRead: false,
      dynamodbRead: true,
      grantingPolicies: { s3Read: ['p1'], dynamodbRead: ['p2'] },
    };
    expect(findingDetail('data-read-key', { isKey: true }, { activeKeys: 1, privileges }, nowMs, t)).toBe(
      'active access key that can read S3, DynamoDB',
    );
    const paths = { admin: 'AdministratorAccess', dataRead: 's3: p1' };
    expect(findingPath('privileged-key', paths)).toBe('AdministratorAccess');
    expect(findingPath('data-read-key', paths)).toBe('s3: p1');
    expect(findingPath('key-not-rotated', paths)).toBe('');
    expect(
      findingDetail(
        'root-recently-used',
        { isKey: false },
        { passwordLastUsedMs: nowMs - 2 * DAY, activeKeys: 0 },
        nowMs,
        t,
      ),
    ).toBe('root password used 2 days ago');
  });
});
