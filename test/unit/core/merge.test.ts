import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import {
  ACCESS_KEY_COLUMNS,
  ACCOUNT_COLUMNS,
  CREDENTIAL_REPORT_COLUMNS,
  CREDENTIAL_REPORT_DERIVED_COLUMNS,
} from '../../../core/columns';
import {
  grantingPoliciesCell,
  matchKeySlots,
  MergeInput,
  MergeResult,
  REORDER_WINDOW_REPORTS,
  runMerge,
} from '../../../core/merge';
import {
  buildAccountReport,
  reportTime,
  sampleKeyId,
  SAMPLE_ACCOUNTS,
  sampleOrganization,
  type SampleUser,
} from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { AccessKeyRecord, AccountReport, OrgMetadata } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const DAY = 86_400_000;

interface Output {
  readonly result: MergeResult;
  readonly credentialReport: string;
  readonly accessKeys: string;
  readonly users: Record<string, string>[];
  readonly keys: Record<string, string>[];
}

function sink(): { stream: PassThrough; text: () => string; finished: () => boolean } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  let finished = false;
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('finish', () => (finished = true));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8'), finished: () => finished };
}

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<Output> {
  const cr = sink();
  const ak = sink();
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: cr.stream, accessKeys: ak.stream },
  );
  expect(cr.finished()).toBe(true);
  expect(ak.finished()).toBe(true);
  const credentialReport = cr.text();
  const accessKeys = ak.text();
  return {
    result,
    credentialReport,
    accessKeys,
    users: parse(credentialReport, { columns: true }) as Record<string, string>[],
    keys: parse(accessKeys, { columns: true }) as Record<string, string>[],
  };
}

function headerOf(csv: string): string[] {
  return (parse(csv, { to_line: 1 }) as string[][])[0] ?? [];
}

const ACCOUNT = '123456789012';
const GENERATED = NOW.getTime() - 2 * 3_600_000;

function report(overrides: Partial<Parameters<typeof buildAccountReport>[0]> = {}): AccountReport {
  return buildAccountReport({
    accountId: ACCOUNT,
    generatedMs: GENERATED,
    root: { createdDaysAgo: 1000, mfa: true },
    users: [],
    ...overrides,
  });
}

const shuffle = <T>(items: readonly T[], seed: number): T[] => {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

async function* asAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

describe('runMerge', () => {
  const sample = sampleOrganization(NOW);

  it('writes the docs/ARCHITECTURE.md §6 columns in order with one sorted tag column per tag key when given metadata', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const tags = ['tag:CostCenter', 'tag:Environment', 'tag:Owner'];
    expect(headerOf(out.credentialReport)).toEqual([
      ...ACCOUNT_COLUMNS,
      ...tags,
      ...CREDENTIAL_REPORT_COLUMNS,
      ...CREDENTIAL_REPORT_DERIVED_COLUMNS,
    ]);
    expect(headerOf(out.accessKeys)).toEqual([...ACCOUNT_COLUMNS, ...tags, ...ACCESS_KEY_COLUMNS]);
  });

  it('keeps the 22 AWS columns contiguous and in AWS order, with admin_path and data_read_path right after the flags', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    for (const header of [headerOf(out.credentialReport), headerOf(out.accessKeys)]) {
      const flags = header.indexOf('dynamodb_read');
      expect(header.slice(flags - 3, flags + 3)).toEqual([
        'admin',
        's3_read',
        'rds_read',
        'dynamodb_read',
        'admin_path',
        'data_read_path',
      ]);
    }
    const cr = headerOf(out.credentialReport);
    const first = cr.indexOf('user');
    expect(cr.slice(first, first + CREDENTIAL_REPORT_COLUMNS.length)).toEqual([...CREDENTIAL_REPORT_COLUMNS]);
  });

  it('writes only the chosen tag columns when tagKeys is given', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports, tagKeys: ['Owner'] });
    expect(headerOf(out.credentialReport).filter((c) => c.startsWith('tag:'))).toEqual(['tag:Owner']);
    const payments = out.users.find((u) => u.account_id === SAMPLE_ACCOUNTS.payments);
    expect(payments?.['tag:Owner']).toBe('payments-team');
  });

  it('writes one row per user in report order, accounts ascending, with raw report tokens kept', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const accounts = out.users.map((u) => u.account_id);
    expect(accounts).toEqual([...accounts].sort());
    const payments = out.users.filter((u) => u.account_id === SAMPLE_ACCOUNTS.payments).map((u) => u.user);
    expect(payments).toEqual(['<root_account>', 'deploy-bot', 'analytics-reader', 'reporting-etl', 'bob']);
    const root = out.users.find(
      (u) => u.account_id === SAMPLE_ACCOUNTS.payments && u.user === '<root_account>',
    );
    expect(root).toMatchObject({
      password_enabled: 'not_supported',
      password_last_used: 'no_information',
      access_key_1_last_rotated: 'N/A',
      is_root: 'true',
      admin: 'true',
      account_name: 'prod-payments',
      ou_path: 'Root/Workloads/Prod',
      'tag:Environment': 'Production',
    });
  });

  it('derives the per-user columns and findings when a user has keys and privileges', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const ci = out.users.find((u) => u.user === 'ci-user');
    expect(ci).toMatchObject({
      is_root: 'false',
      active_keys: '2',
      oldest_active_key_age_days: '95',
      days_since_last_activity: '1',
      admin: 'false',
      s3_read: 'false',
      rds_read: 'true',
      dynamodb_read: 'true',
      findings: 'multiple-active-keys;key-not-rotated;data-read-key',
    });
    expect(ci?.report_generated_time).toBe(reportTime(GENERATED));
  });

  it('shows the root key with an empty key id, its slot and the root findings', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const rootKey = out.keys.find((k) => k.user === '<root_account>');
    expect(rootKey).toMatchObject({
      account_id: SAMPLE_ACCOUNTS.management,
      access_key_id: '',
      key_slot: '1',
      status: 'Active',
      admin: 'true',
    });
    expect(rootKey?.findings?.split(';')).toEqual(
      expect.arrayContaining(['root-access-key', 'root-recently-used']),
    );
  });

  it('matches report slots to inventory keys by creation time to the second whatever the inventory order', async () => {
    const base = report({
      users: [
        {
          name: 'svc',
          createdDaysAgo: 500,
          mfa: false,
          keys: [
            { active: true, createdDaysAgo: 10, lastUsedDaysAgo: 1 },
            { active: false, createdDaysAgo: 300, lastUsedDaysAgo: 200 },
          ],
        },
      ],
    });
    // Reverse the inventory and add sub-second noise: slot 1 is the younger key.
    const inventory = [...base.accessKeys]
      .reverse()
      .map((k) => ({ ...k, createDate: k.createDate.replace('.000Z', '.789Z') }));
    const out = await merge({ reports: [{ ...base, accessKeys: inventory }] });
    expect(out.keys.map((k) => [k.key_slot, k.access_key_id, k.status])).toEqual([
      ['1', sampleKeyId(ACCOUNT, 'svc', 1), 'Active'],
      ['2', sampleKeyId(ACCOUNT, 'svc', 2), 'Inactive'],
    ]);
  });

  it('falls back to creation order when no inventory key has the slot creation time', async () => {
    const base = report({
      users: [
        {
          name: 'svc',
          createdDaysAgo: 500,
          mfa: false,
          keys: [
            { active: true, createdDaysAgo: 300 },
            { active: true, createdDaysAgo: 10 },
          ],
        },
      ],
    });
    const shifted = base.accessKeys.map((k) => ({
      ...k,
      createDate: new Date(Date.parse(k.createDate) + 60_000).toISOString(),
    }));
    const out = await merge({ reports: [{ ...base, accessKeys: [...shifted].reverse() }] });
    expect(out.keys.map((k) => [k.key_slot, k.access_key_id])).toEqual([
      ['1', sampleKeyId(ACCOUNT, 'svc', 1)],
      ['2', sampleKeyId(ACCOUNT, 'svc', 2)],
    ]);
  });

  it('writes inventory keys created after the report with an empty slot and their own findings', async () => {
    const later: AccessKeyRecord = {
      userName: 'svc',
      accessKeyId: 'AKIALATERKEY00000001',
      status: 'Active',
      createDate: new Date(GENERATED + 3_600_000).toISOString(),
    };
    const base = report({
      users: [
        {
          name: 'svc',
          createdDaysAgo: 500,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 30, lastUsedDaysAgo: 1 }],
        },
      ],
      laterKeys: [later],
    });
    const out = await merge({ reports: [base] });
    expect(out.keys).toHaveLength(2);
    const row = out.keys.find((k) => k.access_key_id === later.accessKeyId);
    expect(row).toMatchObject({
      key_slot: '',
      status: 'Active',
      created: reportTime(GENERATED + 3_600_000),
      user_arn: `arn:aws:iam::${ACCOUNT}:user/svc`,
      findings: 'multiple-active-keys',
    });
    expect(out.result.summary.totals.accessKeys).toBe(2);
  });

  it('writes keys of users the report does not list and warns about them', async () => {
    const base = report({
      laterKeys: [
        {
          userName: 'brand-new',
          accessKeyId: 'AKIANEWUSERKEY000001',
          status: 'Active',
          createDate: new Date(GENERATED + 60_000).toISOString(),
        },
      ],
    });
    const out = await merge({ reports: [base] });
    expect(out.keys).toEqual([
      expect.objectContaining({
        user: 'brand-new',
        user_arn: '',
        key_slot: '',
        access_key_id: 'AKIANEWUSERKEY000001',
      }),
    ]);
    expect(out.result.summary.warnings.join('\n')).toMatch(/brand-new/);
  });

  it('leaves privilege cells empty when privileges were not collected, and lists granting policies when they were', async () => {
    const user = {
      name: 'svc',
      createdDaysAgo: 100,
      mfa: false,
      keys: [{ active: true, createdDaysAgo: 10, lastUsedDaysAgo: 1 }] as const,
      privileges: {
        admin: true,
        s3Read: true,
        rdsRead: false,
        dynamodbRead: false,
        grantingPolicies: {
          admin: ['arn:aws:iam::aws:policy/AdministratorAccess'],
          s3Read: ['group:Data/Read', 'user:svc/inline'],
        },
      },
    };
    const unknown = await merge({ reports: [report({ users: [user], withPrivileges: false })] });
    expect(unknown.users[1]).toMatchObject({
      admin: '',
      s3_read: '',
      rds_read: '',
      dynamodb_read: '',
      findings: '',
    });
    expect(unknown.keys[0]).toMatchObject({ admin: '', granting_policies: '' });
    const known = await merge({ reports: [report({ users: [user] })] });
    expect(known.users[1]).toMatchObject({
      admin: 'true',
      s3_read: 'true',
      rds_read: 'false',
      findings: 'privileged-key;data-read-key',
    });
    expect(known.keys[0]?.granting_policies).toBe(
      'admin:arn:aws:iam::aws:policy/AdministratorAccess;s3Read:group:Data/Read;s3Read:user:svc/inline',
    );
  });

  it('writes the good accounts and a rejected coverage entry when one report is malformed', async () => {
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    expect(out.users.some((u) => u.account_id === SAMPLE_ACCOUNTS.staging)).toBe(false);
    expect(new Set(out.users.map((u) => u.account_id))).toEqual(
      new Set([
        SAMPLE_ACCOUNTS.management,
        SAMPLE_ACCOUNTS.payments,
        SAMPLE_ACCOUNTS.devSandbox,
        SAMPLE_ACCOUNTS.security,
        SAMPLE_ACCOUNTS.logArchive,
        SAMPLE_ACCOUNTS.orders,
        SAMPLE_ACCOUNTS.experiments,
      ]),
    );
    const entry = out.result.summary.coverage.entries.find((e) => e.accountId === SAMPLE_ACCOUNTS.staging);
    expect(entry).toMatchObject({ status: 'missing', reason: 'rejected', accountName: 'staging-web' });
    expect(entry?.detail).toMatch(/line 3.*truncated line/);
  });

  it('rejects a report whose generatedTime is not a time and keeps the others', async () => {
    const good = report();
    const bad = { ...report({ accountId: '210987654321' }), generatedTime: 'yesterday' };
    const out = await merge({ reports: [bad, good] });
    expect(out.users.map((u) => u.account_id)).toEqual([ACCOUNT]);
    expect(out.result.summary.coverage.entries).toEqual([
      expect.objectContaining({
        accountId: '210987654321',
        reason: 'rejected',
        detail: expect.stringMatching(/generatedTime/),
      }),
    ]);
  });

  it('sorts a sync generator disordered within the reorder window', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => String(100000000000 + i));
    function* disordered(): Generator<AccountReport> {
      for (const id of shuffle(ids, 7)) yield report({ accountId: id });
    }
    const out = await merge({ reports: disordered() });
    expect(out.users.map((u) => u.account_id)).toEqual(ids);
    expect(out.result.summary.warnings).toEqual([]);
  });

  it('produces byte-identical outputs whatever order the reports arrive in, as arrays or async streams', async () => {
    const reference = await merge({ metadata: sample.metadata, reports: sample.reports });
    for (const seed of [1, 2, 3]) {
      const shuffled = shuffle(sample.reports, seed);
      for (const reports of [shuffled, asAsync(shuffled)]) {
        const out = await merge({ metadata: sample.metadata, reports });
        expect(out.credentialReport).toBe(reference.credentialReport);
        expect(out.accessKeys).toBe(reference.accessKeys);
        expect(JSON.stringify(out.result.summary)).toBe(JSON.stringify(reference.result.summary));
        expect(out.result.html).toBe(reference.result.html);
      }
    }
  });

  it('writes a report that arrives beyond the reorder window as early as it can and warns about it', async () => {
    const ids = Array.from({ length: REORDER_WINDOW_REPORTS + 2 }, (_, i) => String(100000000000 + i));
    const tiny = (id: string): AccountReport => report({ accountId: id });
    function* late(): Generator<AccountReport> {
      for (const id of ids.slice(1)) yield tiny(id);
      yield tiny(ids[0] as string); // arrives after more than the window of larger ids
    }
    const out = await merge({ reports: late() });
    // ids[1] left the full window before ids[0] arrived; everything after it is still in order.
    const written = out.users.map((u) => u.account_id);
    expect(written).toEqual([ids[1], ids[0], ...ids.slice(2)]);
    expect(out.result.summary.warnings.join('\n')).toMatch(
      new RegExp(`account ${ids[0]}: report arrived after`),
    );
  });

  it('uses the newest report when an account has several, and says so', async () => {
    const older = report({
      generatedMs: GENERATED - 5 * DAY,
      users: [{ name: 'old-user', createdDaysAgo: 10, mfa: true }],
    });
    const newer = report({ users: [{ name: 'new-user', createdDaysAgo: 10, mfa: true }] });
    for (const reports of [
      [older, newer],
      [newer, older],
    ]) {
      const out = await merge({ reports });
      expect(out.users.map((u) => u.user)).toEqual(['<root_account>', 'new-user']);
      expect(out.result.summary.warnings).toEqual([expect.stringMatching(/more than one report/)]);
    }
  });

  it('picks the same report whatever the arrival order when an account has two generated at the same time', async () => {
    const one = report({ users: [{ name: 'one', createdDaysAgo: 10, mfa: true }] });
    const two = report({ users: [{ name: 'two', createdDaysAgo: 10, mfa: true }] });
    const outputs = new Set<string>();
    for (const reports of [[one, two], [two, one], asAsync([one, two]), asAsync([two, one])]) {
      const out = await merge({ reports });
      outputs.add(out.credentialReport);
      expect(out.result.summary.warnings).toEqual([expect.stringMatching(/more than one report/)]);
    }
    expect(outputs.size).toBe(1);
  });

  it('falls back to an older report of the account when the newest is malformed', async () => {
    const older = report({
      generatedMs: GENERATED - 5 * DAY,
      users: [{ name: 'old-user', createdDaysAgo: 10, mfa: true }],
    });
    const newer = { ...report(), credentialReportCsv: 'not,a,report\n' };
    const out = await merge({ reports: [newer, older] });
    expect(out.users.map((u) => u.user)).toEqual(['<root_account>', 'old-user']);
    expect(out.result.summary.coverage.entries).toEqual([
      expect.objectContaining({ accountId: ACCOUNT, status: 'stale', reason: 'rejected' }),
    ]);
  });

  it('writes accounts missing from the metadata with empty account columns', async () => {
    const metadata: OrgMetadata = { fetchedAt: NOW.toISOString(), accounts: [] };
    const out = await merge({ metadata, reports: [report()] });
    expect(out.users[0]).toMatchObject({
      account_id: ACCOUNT,
      account_name: '',
      account_email: '',
      account_state: '',
      ou_path: '',
    });
  });

  it('neutralises cells that a spreadsheet would run as formulas', async () => {
    const hostile = report({
      users: [
        { name: '=cmd', createdDaysAgo: 10, mfa: true },
        { name: '+1+1', createdDaysAgo: 10, mfa: true },
        { name: '@sum', createdDaysAgo: 10, mfa: true, keys: [{ active: true, createdDaysAgo: 1 }] },
      ],
    });
    const metadata: OrgMetadata = {
      fetchedAt: NOW.toISOString(),
      accounts: [
        {
          id: ACCOUNT,
          name: '-2+3',
          email: 'x@example.com',
          state: 'ACTIVE',
          ouPath: 'Root',
          ouIdPath: ['r-1'],
          tags: { Owner: '=HYPERLINK("http://x")', Team: '\tTab' },
        },
      ],
    };
    const out = await merge({ metadata, reports: [hostile] });
    for (const csv of [out.credentialReport, out.accessKeys]) {
      for (const record of parse(csv) as string[][]) {
        for (const cell of record) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      }
    }
    expect(out.users.map((u) => u.user)).toEqual(['<root_account>', "'=cmd", "'+1+1", "'@sum"]);
    expect(out.users[0]?.['tag:Owner']).toBe(`'=HYPERLINK("http://x")`);
    expect(out.keys[0]?.user).toBe("'@sum");
  });

  it('neutralises cells built from hostile tag keys, in the header and the rows, and escapes them in the digest', async () => {
    const key = `=cmd|' /C calc'!A0`;
    const metadata: OrgMetadata = {
      fetchedAt: NOW.toISOString(),
      accounts: [
        {
          id: ACCOUNT,
          name: 'acct',
          email: 'x@example.com',
          state: 'ACTIVE',
          ouPath: 'Root',
          ouIdPath: ['r-1'],
          tags: { [key]: '@SUM(1+1)', '<script>k</script>': '-1', '\r=x': '+1' },
        },
      ],
    };
    const out = await merge({
      metadata,
      reports: [
        report({
          users: [{ name: 'u', createdDaysAgo: 10, mfa: true, keys: [{ active: true, createdDaysAgo: 1 }] }],
        }),
      ],
      breakdownTag: key,
    });
    for (const csv of [out.credentialReport, out.accessKeys]) {
      const records = parse(csv) as string[][];
      expect(records[0]).toEqual(
        expect.arrayContaining([`tag:${key}`, 'tag:<script>k</script>', 'tag:\r=x']),
      );
      for (const record of records) {
        for (const cell of record) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      }
    }
    expect(out.users[0]).toMatchObject({
      [`tag:${key}`]: "'@SUM(1+1)",
      'tag:<script>k</script>': "'-1",
      'tag:\r=x': "'+1",
    });
    expect(out.result.summary.byTag).toEqual(
      expect.objectContaining({ key, values: [expect.objectContaining({ value: '@SUM(1+1)' })] }),
    );
    expect(out.result.html).toContain(`By tag =cmd|&#39; /C calc&#39;!A0`);
    expect(out.result.html).not.toContain('<script>');
  });

  it('raises root-mfa-disabled only where the account facts say the root user has a password or keys', async () => {
    const noMfa = { createdDaysAgo: 1000, mfa: false };
    const credentials = (passwordPresent: boolean | undefined, accessKeysPresent: boolean) => ({
      rootCredentials: {
        mfaEnabled: false,
        accessKeysPresent,
        ...(passwordPresent === undefined ? {} : { passwordPresent }),
      },
    });
    const reports = [
      {
        ...report({ accountId: '111111111111', root: noMfa }),
        schemaVersion: 3 as const,
        accountFacts: credentials(false, false),
      },
      {
        ...report({ accountId: '222222222222', root: noMfa }),
        schemaVersion: 3 as const,
        accountFacts: credentials(true, false),
      },
      {
        ...report({ accountId: '333333333333', root: noMfa }),
        schemaVersion: 3 as const,
        accountFacts: credentials(undefined, false),
      },
      report({ accountId: '444444444444', root: noMfa }),
    ];
    const out = await merge({ reports });
    const rootFindings = out.users.filter((u) => u.is_root === 'true').map((u) => [u.account_id, u.findings]);
    expect(rootFindings).toEqual([
      ['111111111111', ''],
      ['222222222222', 'root-mfa-disabled'],
      ['333333333333', 'root-mfa-disabled'],
      ['444444444444', 'root-mfa-disabled'],
    ]);
    expect(out.result.summary.findings['root-mfa-disabled']?.users).toBe(3);
    const factCells = out.users
      .filter((u) => u.is_root === 'true')
      .map((u) => [u.root_credentials, u.root_password_present, u.root_access_keys_present]);
    expect(factCells).toEqual([
      ['no root credentials', 'false', 'false'],
      ['password', 'true', 'false'],
      ['', '', 'false'],
      ['', '', ''],
    ]);
    expect(out.users.filter((u) => u.is_root !== 'true').every((u) => u.root_credentials === '')).toBe(true);
  });

  it('appends the account-facts columns after the derived ones, the 22 AWS columns still contiguous', async () => {
    const facts = {
      rootCredentials: {
        mfaEnabled: true,
        passwordPresent: true,
        accessKeysPresent: true,
        signingCertificatesPresent: true,
      },
      passwordPolicy: { present: true as const, minimumPasswordLength: 12, passwordReusePrevention: 5 },
      rootMfaVirtual: true,
    };
    const out = await merge({ reports: [{ ...report(), schemaVersion: 3 as const, accountFacts: facts }] });
    const header = headerOf(out.credentialReport);
    expect(header.slice(-10, -3)).toEqual([
      'report_generated_time',
      'root_credentials',
      'root_password_present',
      'root_access_keys_present',
      'root_signing_certificates_present',
      'root_mfa_virtual',
      'password_policy',
    ]);
    const root = out.users.find((u) => u.is_root === 'true');
    expect(root).toMatchObject({
      root_credentials: 'password; access keys; signing certificates',
      root_signing_certificates_present: 'true',
      root_mfa_virtual: 'true',
      password_policy: 'min 12, reuse 5',
    });
    expect(root?.findings?.split(';')).toEqual([
      'root-hardware-mfa-missing',
      'password-policy-weak-length',
      'password-policy-no-reuse-prevention',
    ]);
  });

  it('counts account facts and leaves accounts without a fact out of its control, neither passing nor failing', async () => {
    const good = {
      rootCredentials: { mfaEnabled: true, passwordPresent: true, accessKeysPresent: false },
      passwordPolicy: { present: true as const, minimumPasswordLength: 16, passwordReusePrevention: 24 },
      rootMfaVirtual: true,
      usersWithDirectPolicies: [],
    };
    const reports = [
      { ...report({ accountId: '111111111111' }), schemaVersion: 3 as const, accountFacts: good },
      {
        ...report({ accountId: '222222222222' }),
        schemaVersion: 3 as const,
        accountFacts: { passwordPolicy: { present: false as const } },
      },
      report({ accountId: '333333333333' }),
    ];
    const { summary } = (await merge({ reports })).result;
    expect(summary.accountFacts).toEqual({
      accountsWithFacts: 2,
      rootCredentials: { none: 0, present: 1, unknown: 2 },
      rootMfaVirtual: 1,
      passwordPolicy: { missing: 1, belowCis: 0, meetsCis: 1, unknown: 1 },
      usersWithDirectPolicies: 0,
    });
    const row = (cis: string) => summary.compliance.find((c) => c.cis === cis);
    expect(row('1.7')).toMatchObject({
      findings: ['password-policy-weak-length'],
      accountsPassing: 1,
      accountsFailing: 1,
      accountsNotEvaluated: 1,
    });
    expect(row('1.5')).toMatchObject({
      findings: ['root-hardware-mfa-missing'],
      accountsPassing: 0,
      accountsFailing: 1,
      accountsNotEvaluated: 2,
    });
    expect(row('1.14')).toMatchObject({ accountsPassing: 1, accountsFailing: 0, accountsNotEvaluated: 2 });
    expect(row('1.3')).toMatchObject({ accountsPassing: 3, accountsNotEvaluated: 0 });
  });

  it('writes a root row with not_supported wherever AWS writes it verbatim and raises only root findings on it', async () => {
    const header = CREDENTIAL_REPORT_COLUMNS.join(',');
    // As IAM writes it: password_enabled, password_last_changed and password_next_rotation are
    // not_supported on the root row; MFA off; an active key created two years ago and never used.
    const root = [
      '<root_account>',
      `arn:aws:iam::${ACCOUNT}:root`,
      '2015-01-01T00:00:00+00:00',
      'not_supported',
      '2024-05-30T10:00:00+00:00',
      'not_supported',
      'not_supported',
      'false',
      'true',
      '2022-06-01T00:00:00+00:00',
      'N/A',
      'N/A',
      'N/A',
      'false',
      'N/A',
      'N/A',
      'N/A',
      'N/A',
      'false',
      'N/A',
      'false',
      'N/A',
    ].join(',');
    const csv = `${header}\n${root}\n`;
    const out = await merge({ reports: [{ ...report(), credentialReportCsv: csv }] });
    expect(out.result.summary.coverage.entries).toEqual([]);
    expect(out.users).toHaveLength(1);
    expect(out.users[0]).toMatchObject({
      user: '<root_account>',
      password_enabled: 'not_supported',
      password_last_changed: 'not_supported',
      password_next_rotation: 'not_supported',
      is_root: 'true',
      active_keys: '1',
      oldest_active_key_age_days: '731',
      days_since_last_activity: '1',
      findings:
        'root-access-key;root-mfa-disabled;root-recently-used;credential-unused;key-not-rotated;privileged-key;data-read-key',
    });
    expect(out.keys).toEqual([
      expect.objectContaining({
        user: '<root_account>',
        user_arn: `arn:aws:iam::${ACCOUNT}:root`,
        access_key_id: '',
        key_slot: '1',
        status: 'Active',
        created: '2022-06-01T00:00:00+00:00',
        findings: 'root-access-key;credential-unused;key-not-rotated;privileged-key;data-read-key',
      }),
    ]);
    expect(out.result.summary.riskiestKeys[0]).toMatchObject({ isRoot: true, userName: '<root_account>' });
  });

  it('rejects with the input error and closes both sinks when the report stream fails', async () => {
    async function* failing(): AsyncGenerator<AccountReport> {
      yield report();
      throw new Error('S3 listing failed');
    }
    const cr = new PassThrough();
    const ak = new PassThrough();
    const closed = (s: PassThrough) => new Promise<void>((resolve) => s.on('close', () => resolve()));
    cr.on('error', () => undefined);
    ak.on('error', () => undefined);
    const bothClosed = Promise.all([closed(cr), closed(ak)]);
    await expect(
      runMerge(
        { now: NOW, thresholds: DEFAULT_THRESHOLDS, reports: failing() },
        { credentialReport: cr, accessKeys: ak },
      ),
    ).rejects.toThrow('S3 listing failed');
    await bothClosed;
    expect(cr.destroyed && ak.destroyed).toBe(true);
  });

  it('keeps rejected-report details free of report contents', async () => {
    const secret = 'AKIASECRETVALUE00000';
    const bad = { ...report(), credentialReportCsv: report().credentialReportCsv.replace('2021', secret) };
    const out = await merge({ reports: [bad] });
    expect(JSON.stringify(out.result.summary)).not.toContain(secret);
    expect(out.result.summary.coverage.entries[0]?.reason).toBe('rejected');
  });
});

describe('runMerge CSV consistency', () => {
  const STALE_ACCOUNT = '210987654321';
  const WRITTEN_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;

  async function mergeAll(reports: AccountReport[]): Promise<{
    result: MergeResult;
    files: Record<'users' | 'keys' | 'findings', Record<string, string>[]>;
    headers: Record<'users' | 'keys' | 'findings', string[]>;
  }> {
    const cr = sink();
    const ak = sink();
    const fc = sink();
    const result = await runMerge(
      { now: NOW, thresholds: DEFAULT_THRESHOLDS, reports },
      { credentialReport: cr.stream, accessKeys: ak.stream, findings: fc.stream },
    );
    const texts = { users: cr.text(), keys: ak.text(), findings: fc.text() };
    const rows = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];
    return {
      result,
      files: { users: rows(texts.users), keys: rows(texts.keys), findings: rows(texts.findings) },
      headers: {
        users: headerOf(texts.users),
        keys: headerOf(texts.keys),
        findings: headerOf(texts.findings),
      },
    };
  }

  const svc: SampleUser = {
    name: 'svc',
    createdDaysAgo: 500,
    mfa: false,
    // Slot 1 never used (AWS writes N/A), slot 2 used a day ago.
    keys: [
      { active: true, createdDaysAgo: 200 },
      { active: true, createdDaysAgo: 100, lastUsedDaysAgo: 1 },
    ],
  };
  const later: AccessKeyRecord = {
    userName: 'svc',
    accessKeyId: 'AKIALATERKEY00000001',
    status: 'Active',
    // The SDK's form, milliseconds included: what the agent's key inventory sends.
    createDate: new Date(GENERATED + 3_600_000 + 123).toISOString(),
  };
  const fresh = (): AccountReport => ({
    ...report({ users: [svc], laterKeys: [later] }),
    generatedTime: new Date(GENERATED + 456).toISOString(),
  });
  const stale = (): AccountReport =>
    buildAccountReport({
      accountId: STALE_ACCOUNT,
      generatedMs: NOW.getTime() - 3 * DAY - 3_600_000,
      root: { createdDaysAgo: 1000, mfa: false },
      users: [svc],
    });

  it('writes report_status on every row of the three CSVs: current for a fresh report, stale with its age for a stale one', async () => {
    const out = await mergeAll([fresh(), stale()]);
    for (const file of ['users', 'keys', 'findings'] as const) {
      const rows = out.files[file];
      expect(rows.filter((r) => r.account_id === ACCOUNT).length).toBeGreaterThan(0);
      expect(rows.filter((r) => r.account_id === STALE_ACCOUNT).length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.report_status).toBe(row.account_id === ACCOUNT ? 'current' : 'stale (3 days)');
      }
    }
    // The cells say what summary.json's per-account status says: one verdict, not two.
    const status = new Map(out.result.summary.byAccount.map((a) => [a.accountId, a.status]));
    expect(status.get(ACCOUNT)).toBe('reporting');
    expect(status.get(STALE_ACCOUNT)).toBe('stale');
  });

  it('writes report_status right after the account columns, before the tags, in every CSV', async () => {
    const out = await mergeAll([fresh()]);
    for (const header of Object.values(out.headers)) {
      expect(header.slice(0, ACCOUNT_COLUMNS.length)).toEqual([...ACCOUNT_COLUMNS]);
      expect(header[ACCOUNT_COLUMNS.length - 1]).toBe('report_status');
    }
  });

  it("writes every timestamp cell of credreport's own columns in the credential report's +00:00 form, even when the input used …Z with milliseconds", async () => {
    const out = await mergeAll([fresh()]);
    const cells = [
      ...out.files.users.map((r) => r.report_generated_time),
      ...out.files.keys.map((r) => r.created),
      ...out.files.keys.map((r) => r.last_used_date).filter((c) => c !== 'never used'),
      ...out.files.findings.map((r) => r.first_seen),
    ];
    expect(cells.length).toBeGreaterThan(6);
    for (const cell of cells) expect(cell).toMatch(WRITTEN_TIME);
    const laterRow = out.files.keys.find((k) => k.access_key_id === later.accessKeyId);
    expect(laterRow?.created).toBe(reportTime(GENERATED + 3_600_000));
    expect(out.files.users[0]?.report_generated_time).toBe(reportTime(GENERATED));
    expect(new Set(out.files.findings.map((r) => r.first_seen))).toEqual(
      new Set([reportTime(NOW.getTime())]),
    );
  });

  it("writes never used in last_used_date for a never-used key from a report slot or the inventory alike, and keeps AWS's N/A in AWS's own columns", async () => {
    const out = await mergeAll([fresh()]);
    const keys = out.files.keys.filter((k) => k.user === 'svc');
    const never = keys.filter((k) => k.key_slot === '1' || k.access_key_id === later.accessKeyId);
    expect(never).toHaveLength(2);
    for (const key of never) {
      expect(key).toMatchObject({
        last_used_date: 'never used',
        last_used_service: '',
        last_used_region: '',
        days_since_last_use: '',
      });
    }
    const used = keys.find((k) => k.key_slot === '2');
    expect(used?.last_used_date).toMatch(WRITTEN_TIME);
    expect(used?.last_used_service).toBe('s3');
    const user = out.files.users.find((u) => u.user === 'svc');
    expect(user?.access_key_1_last_used_date).toBe('N/A');
    expect(user?.access_key_1_last_used_service).toBe('N/A');
    // The digest and findings.csv say it in the same words.
    expect(out.files.findings.map((r) => r.detail)).toContain('never used, created 200 days ago');
  });

  it("names the user ARN arn only in AWS's 22 columns of credential-report.csv, and user_arn in access-keys.csv and findings.csv", async () => {
    const out = await mergeAll([fresh()]);
    expect(out.headers.users.filter((c) => c.endsWith('arn'))).toEqual(['arn']);
    expect(CREDENTIAL_REPORT_COLUMNS).toContain('arn');
    expect(out.headers.keys.filter((c) => c.endsWith('arn'))).toEqual(['user_arn']);
    expect(out.headers.findings.filter((c) => c.endsWith('arn'))).toEqual(['user_arn']);
    const arn = out.files.users.find((u) => u.user === 'svc')?.arn;
    expect(out.files.keys.find((k) => k.user === 'svc')?.user_arn).toBe(arn);
    expect(out.files.findings.find((k) => k.user === 'svc')?.user_arn).toBe(arn);
  });
});

describe('matchKeySlots', () => {
  const rec = (id: string, createDate: string): AccessKeyRecord => ({
    userName: 'u',
    accessKeyId: id,
    status: 'Active',
    createDate,
  });
  const slot = (n: 1 | 2, iso: string) => ({
    slot: n,
    facts: { slot: n, active: true, lastRotated: new Date(iso) },
    findings: [],
  });

  it('leaves keys created after the report unmatched even when a slot is open', () => {
    const generated = Date.parse('2024-05-01T00:00:00Z');
    const { bySlot, unmatched } = matchKeySlots(
      [slot(1, '2024-01-01T00:00:00Z')],
      [rec('AKIAAFTER', '2024-05-02T00:00:00Z')],
      generated,
    );
    expect(bySlot).toEqual([undefined, undefined]);
    expect(unmatched.map((r) => r.accessKeyId)).toEqual(['AKIAAFTER']);
  });

  it('prefers the exact creation second over creation order', () => {
    const { bySlot } = matchKeySlots(
      [slot(1, '2024-01-01T00:00:00Z'), slot(2, '2023-01-01T00:00:00Z')],
      [rec('AKIAOLD', '2023-01-01T00:00:00.400Z'), rec('AKIANEW', '2024-01-01T00:00:00Z')],
      Date.parse('2024-05-01T00:00:00Z'),
    );
    expect(bySlot.map((r) => r?.accessKeyId)).toEqual(['AKIANEW', 'AKIAOLD']);
  });
});

describe('grantingPoliciesCell', () => {
  it('lists only granted kinds, each policy as kind:policy', () => {
    expect(
      grantingPoliciesCell({
        userName: 'u',
        admin: false,
        s3Read: true,
        rdsRead: false,
        dynamodbRead: true,
        grantingPolicies: { admin: ['ignored'], s3Read: ['p1'], dynamodbRead: ['p2', 'p3'] },
      }),
    ).toBe('s3Read:p1;dynamodbRead:p2;dynamodbRead:p3');
    expect(grantingPoliciesCell(undefined)).toBe('');
  });
});
