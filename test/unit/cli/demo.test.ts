import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { CommandIo, EXIT } from '../../../cli/command';
import { main } from '../../../cli/main';
import { ACCESS_KEY_COLUMNS, CREDENTIAL_REPORT_COLUMNS } from '../../../core/columns';
import { SAMPLE_ACCOUNTS, SAMPLE_DENY_SCP } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';

const NOW = '2024-06-01T06:00:00Z';
const REPO = join(__dirname, '../../..');
const FILES = [
  'credential-report.csv',
  'access-keys.csv',
  'findings.csv',
  'findings.ocsf.json',
  'state.json.gz',
  'summary.json',
  'digest.html',
];

function capture(cwd: string): { io: CommandIo; stdout: () => string; stderr: () => string } {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => (o += d.toString('utf8')));
  err.on('data', (d: Buffer) => (e += d.toString('utf8')));
  return { io: { stdout: out, stderr: err, env: {}, cwd }, stdout: () => o, stderr: () => e };
}

/** What `npm run demo` must leave in ./out. */
function checkOutputs(outDir: string): void {
  for (const name of FILES) expect(existsSync(join(outDir, name))).toBe(true);
  // findings.ocsf.json: one OCSF 1.3.0 Compliance Finding per findings.csv row.
  const ocsf = readFileSync(join(outDir, 'findings.ocsf.json'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const findingRows = parse(readFileSync(join(outDir, 'findings.csv'), 'utf8'), {
    columns: true,
  }) as unknown[];
  expect(ocsf.length).toBe(findingRows.length);
  expect(ocsf.length).toBeGreaterThan(0);
  for (const line of ocsf) {
    expect(JSON.parse(line)).toMatchObject({
      class_uid: 2003,
      type_uid: 200301,
      metadata: { version: '1.3.0' },
    });
  }
  const users = parse(readFileSync(join(outDir, 'credential-report.csv'), 'utf8'), {
    columns: true,
  }) as Record<string, string>[];
  const keys = parse(readFileSync(join(outDir, 'access-keys.csv'), 'utf8'), { columns: true }) as Record<
    string,
    string
  >[];
  const summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as Summary;
  const html = readFileSync(join(outDir, 'digest.html'), 'utf8');

  expect(Object.keys(users[0] ?? {})).toEqual(
    expect.arrayContaining([...CREDENTIAL_REPORT_COLUMNS, 'findings', 'tag:Environment']),
  );
  expect(Object.keys(keys[0] ?? {})).toEqual(expect.arrayContaining([...ACCESS_KEY_COLUMNS]));
  expect(users).toHaveLength(summary.totals.users);
  expect(keys).toHaveLength(summary.totals.accessKeys);
  // The sample's showcase findings are all there.
  for (const id of [
    'root-access-key',
    'console-without-mfa',
    'key-not-rotated',
    'credential-unused',
    'privileged-key',
    'data-read-key',
  ] as const) {
    expect(summary.findings[id].users).toBeGreaterThan(0);
  }
  // Hostile tag values are neutralised in the CSV.
  expect(users.find((u) => u.account_id === SAMPLE_ACCOUNTS.devSandbox)?.['tag:Owner']).toBe(
    `'=HYPERLINK("http://x")`,
  );
  // The accounts whose root credentials were removed show that, and no false root-MFA finding.
  for (const id of [SAMPLE_ACCOUNTS.orders, SAMPLE_ACCOUNTS.experiments]) {
    const root = users.find((u) => u.account_id === id && u.is_root === 'true');
    expect(root?.root_credentials).toBe('no root credentials');
    expect(root?.findings?.split(';')).not.toContain('root-mfa-disabled');
  }
  const experiments = users.find((u) => u.account_id === SAMPLE_ACCOUNTS.experiments && u.is_root === 'true');
  expect(experiments?.password_policy).toBe('min 8, reuse allowed');
  expect(experiments?.findings).toBe('password-policy-weak-length;password-policy-no-reuse-prevention');
  expect(summary.findings['user-direct-policies'].users).toBe(1);
  expect(summary.accountFacts.rootCredentials.none).toBe(2);
  expect(summary.coverage).toMatchObject({
    expected: 9,
    reporting: 6,
    stale: 1,
    missing: 3,
    complete: false,
  });
  expect(summary.coverage.entries.map((e) => e.reason)).toEqual(['stale', 'rejected', 'never-reported']);
  // The sample's SCP on the Dev OU clears carol's S3 read (and ci-user's RDS read), and says so.
  const carol = users.find((u) => u.account_id === SAMPLE_ACCOUNTS.devSandbox && u.user === 'carol');
  expect(carol).toMatchObject({
    s3_read: 'false',
    data_read_path: `s3: blocked by SCP ${SAMPLE_DENY_SCP.id} ${SAMPLE_DENY_SCP.name}`,
  });
  expect(summary.controlPolicies?.flagsCleared).toMatchObject({ s3Read: 1, rdsRead: 1 });
  expect(keys.find((k) => k.user === 'deploy-bot')?.admin_path).toBe('AdministratorAccess');
  expect(html).toContain('admin: AdministratorAccess');
  expect(html).toContain('IAM credential digest');
  expect(html).not.toMatch(/<script/i);
}

describe('credreport demo', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credreport-demo-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the five outputs to ./out and ends with the same summary as merge and collect', async () => {
    const c = capture(dir);
    const code = await main(['demo', '--now', NOW], c.io);
    expect(code).toBe(EXIT.ok);
    checkOutputs(join(dir, 'out'));
    const stdout = c.stdout();
    expect(stdout).toContain(
      'Sample organization, 7 of 9 expected accounts: 22 users, 13 access keys (12 active), 14 users with findings.',
    );
    expect(stdout).not.toMatch(/accounts\s+5\b/);
    expect(stdout).toMatch(/^Open findings: \d+ critical, \d+ high, \d+ medium, \d+ low\.$/m);
    expect(stdout).toMatch(/root-access-key\s+1\.3\s+1\s+1/);
    expect(stdout).toContain(
      'Coverage INCOMPLETE: 6 of 9 expected accounts reporting, 3 missing (1 of them stale).',
    );
    expect(stdout).toContain(
      'Wrote 7 files to out/: credential-report.csv, access-keys.csv, findings.csv, findings.ocsf.json, state.json.gz, summary.json, digest.html',
    );
    // Each coverage gap once, with the summary, said to be part of the sample; nothing on stderr.
    expect(c.stderr()).toBe('');
    expect(stdout).toContain(
      '555555555555 (log-archive): stale: last report generated 2024-05-29T06:00:00.000Z (3 days ago); stale after 26 hours',
    );
    expect(stdout).toMatch(
      /666666666666 \(staging-web\): missing \(rejected\): credential report: line 3, column /,
    );
    expect(stdout).toContain('777777777777 (new-account): missing (never reported): no report received');
    expect(stdout).toContain(
      'Root access: centrally managed · 1 member account still holds root credentials · 3 member accounts whose root password is not known.',
    );
    expect(stdout.match(/777777777777/g)).toHaveLength(1);
    expect(stdout).toContain('Coverage gaps of the sample (intended, exit status 0):\n');
  });

  it('writes to --out and gives identical files for the same --now', async () => {
    await main(['demo', '--now', NOW, '--out', 'a'], capture(dir).io);
    await main(['demo', '--now', NOW, '--out', 'b'], capture(dir).io);
    for (const name of FILES) {
      expect(readFileSync(join(dir, 'b', name), 'utf8')).toBe(readFileSync(join(dir, 'a', name), 'utf8'));
    }
  });

  it('shows the CIS v4.0.1 numbering with --cis-version v4.0.1', async () => {
    const c = capture(dir);
    expect(await main(['demo', '--now', NOW, '--cis-version', 'v4.0.1'], c.io)).toBe(EXIT.ok);
    expect(c.stdout()).toMatch(/root-access-key\s+1\.4\s+1\s+1/);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as Summary;
    expect(summary.cisVersion).toBe('v4.0.1');
    expect(summary.compliance[0]).toMatchObject({ cis: '1.4', cisV5: '1.3', securityHub: 'IAM.4' });
  });

  it('shows the CIS v7.0.0 numbering with --cis-version 7.0.0, the dropped controls without an id', async () => {
    const c = capture(dir);
    expect(await main(['demo', '--now', NOW, '--cis-version', '7.0.0'], c.io)).toBe(EXIT.ok);
    expect(c.stdout()).toMatch(/root-access-key\s+2\.4\s+1\s+1/);
    expect(c.stdout()).toMatch(/multiple-active-keys\s+-\s+1\s+2/);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as Summary;
    expect(summary.cisVersion).toBe('v7.0.0');
    expect(summary.compliance.map((r) => r.cis)).toEqual([
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
  });

  it('lists the organization findings under the finding table, counted in the open findings (v7.0.0 2.1.1)', async () => {
    const c = capture(dir);
    expect(await main(['demo', '--now', NOW, '--cis-version', 'v7.0.0'], c.io)).toBe(EXIT.ok);
    const stdout = c.stdout();
    expect(stdout).toMatch(/\n {2}organization finding\s+CIS\s+open\s+organization\n/);
    expect(stdout).toMatch(/\n {2}root-access-not-centralized\s+2\.1\.1\s+0\s+pass\n/);
    expect(stdout).toMatch(/\n {2}member-root-credentials-present\s+-\s+1\s+fail: 1 member account\n/);
    const summary = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as Summary;
    // The high count of the end summary includes the member's finding, which the table now shows.
    expect(summary.organization?.openFindings.high).toBe(1);
    expect(stdout).toContain(`${summary.totals.openFindings.high} high`);
    const digest = readFileSync(join(dir, 'out', 'digest.html'), 'utf8');
    expect(digest).toContain('Organization controls, one verdict for the whole organization:');
    expect(digest).toMatch(
      />2\.1\.1<\/td><td[^>]*>Centralized root access not enabled for the organization<.*>pass<\/td>/,
    );
  });

  it('rejects a bad --now and unexpected arguments with exit status 2', async () => {
    const bad = capture(dir);
    expect(await main(['demo', '--now', 'soon'], bad.io)).toBe(EXIT.usage);
    expect(bad.stderr()).toMatch(/--now must be an ISO 8601 time/);
    const extra = capture(dir);
    expect(await main(['demo', 'extra'], extra.io)).toBe(EXIT.usage);
    expect(extra.stderr()).toMatch(/unexpected argument 'extra'/);
  });

  it('prints its help, with the options and the exit status, and writes nothing', async () => {
    const c = capture(dir);
    expect(await main(['demo', '--help'], c.io)).toBe(EXIT.ok);
    expect(c.stdout()).toMatch(/^Usage: credreport demo \[options\]\n/);
    expect(c.stdout()).toContain('--out DIR, -o DIR');
    expect(c.stdout()).toMatch(/--now TIME\s+ISO 8601 time/);
    expect(c.stdout()).toMatch(/Exit status: 0 ok/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('runs as `npm run demo` does (tsx cli/main.ts demo) and writes the five files', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.demo).toBe('tsx cli/main.ts demo');
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        pathToFileURL(require.resolve('tsx')).href,
        join(REPO, 'cli/main.ts'),
        'demo',
        '--now',
        NOW,
      ],
      { cwd: dir, encoding: 'utf8', timeout: 60_000 },
    );
    // No AWS SDK warning or anything else but the coverage problems of the sample.
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('credreport demo: sample organization');
    checkOutputs(join(dir, 'out'));
  }, 60_000);
});
