import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { CommandIo, EXIT } from '../../../cli/command';
import { mergeCommand, readInputFile } from '../../../cli/commands/merge';
import { main } from '../../../cli/main';
import { buildAccountReport } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { OrgMetadata } from '../../../core/types';

const NOW = '2024-06-01T06:00:00Z';
const FIXTURES = join(__dirname, '../../fixtures/reports');
const NORMAL = readFileSync(join(FIXTURES, 'normal.csv'), 'utf8');
const TRUNCATED = readFileSync(join(FIXTURES, 'truncated-line.csv'), 'utf8');
const FIXTURE_ACCOUNT = '111122223333';
const OTHER = '444455556666';
const asAccount = (text: string, id: string): string => text.split(FIXTURE_ACCOUNT).join(id);

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function io(cwd: string): { io: CommandIo; out: () => { stdout: string; stderr: string } } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { io: { stdout, stderr, env: {}, cwd }, out: () => ({ stdout: out, stderr: err }) };
}

async function run(cwd: string, argv: string[], viaMain = false): Promise<Run> {
  const { io: commandIo, out } = io(cwd);
  const code = viaMain ? await main(['merge', ...argv], commandIo) : await mergeCommand.run(argv, commandIo);
  return { code, ...out() };
}

function readOut(dir: string) {
  const text = (name: string): string => readFileSync(join(dir, name), 'utf8');
  return {
    users: parse(text('credential-report.csv'), { columns: true }) as Record<string, string>[],
    keys: parse(text('access-keys.csv'), { columns: true }) as Record<string, string>[],
    summary: JSON.parse(text('summary.json')) as Summary,
    html: text('digest.html'),
  };
}

describe('credreport merge', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credreport-merge-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (relative: string, content: string | Buffer): string => {
    const path = join(dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    return path;
  };

  describe('--exemptions', () => {
    const exemptionsFile = (entries: Record<string, unknown>[]): string =>
      JSON.stringify({ version: 1, exemptions: entries });
    const all = {
      id: 'whole-account',
      reason: 'sandbox being closed',
      approvedBy: 'ciso@example.com',
      expires: '2024-12-01',
      accounts: [FIXTURE_ACCOUNT],
    };

    it('keeps exempted findings out of --fail-on and lists them in summary.json and the CSVs', async () => {
      write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
      const without = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW, '--fail-on', 'low', '--quiet']);
      expect(without.code).toBe(EXIT.findings);
      write('exemptions.json', exemptionsFile([all]));
      const result = await run(dir, [
        `${FIXTURE_ACCOUNT}.csv`,
        '--now',
        NOW,
        '--fail-on',
        'low',
        '--exemptions',
        'exemptions.json',
      ]);
      expect(result.code).toBe(EXIT.ok);
      const out = readOut(join(dir, 'out'));
      const o = out.summary.totals.openFindings;
      expect(o.critical + o.high + o.medium + o.low).toBe(0);
      expect(out.summary.exemptions?.counts.exempted).toBeGreaterThan(0);
      const bob = out.users.find((u) => u.user === 'bob');
      expect(bob?.findings).toBe('');
      expect(bob?.exempted_by).toMatch(/:whole-account/);
      expect(bob?.exemption_expires).toBe('2024-12-01');
      expect(result.stdout).toMatch(/Exemptions: \d+ exempted findings, 0 expiring within 14 days\./);
    });

    it('exits 1 before writing anything when the file is malformed, naming the entry and the field', async () => {
      write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
      write('exemptions.json', exemptionsFile([all, { ...all, id: 'second', expires: 'soon' }]));
      const result = await run(
        dir,
        [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW, '--exemptions', 'exemptions.json'],
        true,
      );
      expect(result.code).toBe(EXIT.error);
      expect(result.stderr).toBe(
        'credreport merge: --exemptions exemptions.json: exemptions[1] (id "second"): expires: must be a date YYYY-MM-DD\n',
      );
      expect(existsSync(join(dir, 'out'))).toBe(false);
      const missing = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--exemptions', 'nope.json'], true);
      expect(missing.code).toBe(EXIT.error);
      expect(missing.stderr).toMatch(/--exemptions nope\.json: cannot read it \(ENOENT\)/);
    });

    it('rejects an entry that expires further ahead than --exemption-max-days, and applies the rest', async () => {
      write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
      write('exemptions.json', exemptionsFile([all]));
      const result = await run(dir, [
        `${FIXTURE_ACCOUNT}.csv`,
        '--now',
        NOW,
        '--exemptions',
        'exemptions.json',
        '--exemption-max-days',
        '90',
      ]);
      const out = readOut(join(dir, 'out'));
      expect(out.summary.exemptions?.rejected).toEqual([
        expect.objectContaining({ index: 0, id: 'whole-account' }),
      ]);
      expect(out.summary.exemptions?.counts.exempted).toBe(0);
      expect(result.stdout).toMatch(/1 entry rejected \(expires more than 90 days ahead\): whole-account/);
    });
  });

  it('writes the five outputs and exits 0 when every report is good', async () => {
    write(`reports/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write(`reports/credential-report-${OTHER}.csv`, asAccount(NORMAL, OTHER));
    const result = await run(dir, ['reports', '--now', NOW, '--out', 'result']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    for (const name of [
      'credential-report.csv',
      'access-keys.csv',
      'findings.csv',
      'summary.json',
      'digest.html',
    ]) {
      expect(existsSync(join(dir, 'result', name))).toBe(true);
    }
    const out = readOut(join(dir, 'result'));
    expect([...new Set(out.users.map((u) => u.account_id))]).toEqual([FIXTURE_ACCOUNT, OTHER]);
    expect(out.users).toHaveLength(12);
    expect(out.users.find((u) => u.user?.endsWith('=erin'))?.user).toBe("'=erin");
    expect(out.summary.coverage).toMatchObject({ expected: 2, reporting: 2, complete: true });
    expect(result.stdout).toMatch(/Merged 2 of 2 expected accounts: 12 users, 14 access keys \(10 active\)/);
    expect(result.stdout).toMatch(/Wrote 7 files to result\/: credential-report\.csv, /);
  });

  it('reads the account id from the ARNs when the file name has none', async () => {
    write('prod.csv', NORMAL);
    const result = await run(dir, ['prod.csv', '--now', NOW]);
    expect(result.code).toBe(EXIT.ok);
    expect(readOut(join(dir, 'out')).users[0]?.account_id).toBe(FIXTURE_ACCOUNT);
  });

  it('writes the good accounts, names the malformed file on stderr and in summary.json, and exits 3', async () => {
    write(`reports/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write(`reports/${OTHER}.csv`, asAccount(TRUNCATED, OTHER));
    const result = await run(dir, ['reports', '--now', NOW]);
    expect(result.code).toBe(EXIT.incomplete);
    expect(result.stderr).toMatch(
      new RegExp(
        `${OTHER}: missing \\(rejected\\): credential report: line \\d+.*\\[reports/${OTHER}\\.csv\\]`,
      ),
    );
    const out = readOut(join(dir, 'out'));
    expect([...new Set(out.users.map((u) => u.account_id))]).toEqual([FIXTURE_ACCOUNT]);
    expect(out.summary.coverage.complete).toBe(false);
    expect(out.summary.coverage.entries).toEqual([
      expect.objectContaining({ accountId: OTHER, status: 'missing', reason: 'rejected' }),
    ]);
  });

  it('exits 3 when the malformed file belongs to an account that --metadata does not expect', async () => {
    const metadata: OrgMetadata = {
      fetchedAt: NOW,
      accounts: [
        {
          id: FIXTURE_ACCOUNT,
          name: 'prod',
          email: 'p@example.com',
          state: 'ACTIVE',
          ouPath: 'Root',
          ouIdPath: ['r-1'],
          tags: {},
        },
      ],
    };
    write('org.json', JSON.stringify(metadata));
    write(`reports/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write(`reports/${OTHER}.csv`, asAccount(TRUNCATED, OTHER));
    const result = await run(dir, ['reports', '--metadata', 'org.json', '--now', NOW]);
    const { summary } = readOut(join(dir, 'out'));
    // The one verdict: summary.json says incomplete too (it said complete while merge exited 3).
    expect(summary.coverage).toMatchObject({ expected: 1, reporting: 1, missing: 1, complete: false });
    expect(result.stderr).toMatch(new RegExp(`${OTHER}: missing \\(rejected\\): credential report: line`));
    expect(result.code).toBe(EXIT.incomplete);
  });

  it('uses one of two files of the same account whatever their order, and says so on stderr', async () => {
    const renamed = NORMAL.replace('deploy-bot', 'deploy-robot').replaceAll('/deploy-bot', '/deploy-robot');
    write(`a/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write(`b/${FIXTURE_ACCOUNT}.csv`, renamed);
    const ab = await run(dir, ['a', 'b', '--now', NOW, '--out', 'ab']);
    const ba = await run(dir, ['b', 'a', '--now', NOW, '--out', 'ba']);
    expect([ab.code, ba.code]).toEqual([EXIT.ok, EXIT.ok]);
    expect(ab.stderr).toMatch(
      new RegExp(`warnings:\\n  account ${FIXTURE_ACCOUNT}: more than one report; used the one generated`),
    );
    const file = (out: string): string => readFileSync(join(dir, out, 'credential-report.csv'), 'utf8');
    expect(file('ab')).toBe(file('ba'));
    expect(readOut(join(dir, 'ab')).users).toHaveLength(6);
  });

  it('names a file that has no account id at all and exits 3', async () => {
    write(`reports/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write('reports/notes.csv', 'just,some\nnotes,here\n');
    const result = await run(dir, ['reports', '--now', NOW]);
    expect(result.code).toBe(EXIT.incomplete);
    expect(result.stderr).toMatch(/reports\/notes\.csv: rejected: no 12-digit account id/);
    expect(readOut(join(dir, 'out')).summary.warnings).toEqual([
      expect.stringMatching(/^notes\.csv: rejected/),
    ]);
  });

  it('reads stored report JSON (plain and gzipped) with its key inventory, skipping history and rejected files', async () => {
    const stored = buildAccountReport({
      accountId: FIXTURE_ACCOUNT,
      generatedMs: Date.parse(NOW) - 3_600_000,
      root: { createdDaysAgo: 100, mfa: true },
      users: [
        {
          name: 'svc',
          createdDaysAgo: 50,
          mfa: false,
          keys: [{ active: true, createdDaysAgo: 20, lastUsedDaysAgo: 1 }],
        },
      ],
    });
    const other = {
      ...stored,
      accountId: OTHER,
      credentialReportCsv: asAccount(stored.credentialReportCsv, OTHER),
    };
    write(`bucket/accounts/${FIXTURE_ACCOUNT}/latest.json`, JSON.stringify(stored));
    write(`bucket/accounts/${FIXTURE_ACCOUNT}/history/2024-01-01T00:00:00.000Z.json.gz`, 'not even gzip');
    write(`bucket/accounts/${FIXTURE_ACCOUNT}/rejected.json`, '{"reason":"bad"}');
    write(`bucket/accounts/${OTHER}/latest.json.gz`, gzipSync(JSON.stringify(other)));
    const result = await run(dir, ['bucket', '--now', NOW]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    const out = readOut(join(dir, 'out'));
    expect(out.keys.map((k) => [k.account_id, k.user, k.access_key_id?.slice(0, 4), k.key_slot])).toEqual([
      [FIXTURE_ACCOUNT, 'svc', 'AKIA', '1'],
      [OTHER, 'svc', 'AKIA', '1'],
    ]);
  });

  it('rejects a JSON file that is not a stored report, naming the file and the field', async () => {
    write(
      `accounts/${FIXTURE_ACCOUNT}/latest.json`,
      JSON.stringify({ schemaVersion: 1, accountId: FIXTURE_ACCOUNT }),
    );
    write(`accounts/${OTHER}.csv`, asAccount(NORMAL, OTHER));
    const result = await run(dir, ['accounts', '--now', NOW]);
    expect(result.code).toBe(EXIT.incomplete);
    expect(result.stderr).toMatch(
      new RegExp(`${FIXTURE_ACCOUNT}: missing \\(rejected\\): latest\\.json: .*generatedTime`),
    );
  });

  it('marks a file it cannot read as unreadable under the account named by its file name', async () => {
    mkdirSync(join(dir, `${OTHER}.csv`));
    const result = await readInputFile(
      { path: join(dir, `${OTHER}.csv`), kind: 'csv', hint: OTHER },
      new Date(NOW),
    );
    expect(result).toEqual({
      bad: expect.objectContaining({
        accountId: OTHER,
        reason: 'unreadable',
        detail: 'cannot read: is a directory',
      }),
    });
  });

  it('expects every ACTIVE account of --metadata and fills the account columns from it', async () => {
    const metadata: OrgMetadata = {
      organizationId: 'o-abc',
      fetchedAt: NOW,
      accounts: [
        {
          id: FIXTURE_ACCOUNT,
          name: 'prod',
          email: 'p@example.com',
          state: 'ACTIVE',
          ouPath: 'Root/Prod',
          ouIdPath: ['r-1', 'ou-1'],
          tags: { Environment: 'Production' },
        },
        {
          id: OTHER,
          name: 'quiet',
          email: 'q@example.com',
          state: 'ACTIVE',
          ouPath: 'Root/Dev',
          ouIdPath: ['r-1', 'ou-2'],
          tags: {},
        },
      ],
    };
    write('org.json', JSON.stringify(metadata));
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    const result = await run(dir, [
      `${FIXTURE_ACCOUNT}.csv`,
      '--metadata',
      'org.json',
      '--now',
      NOW,
      '--breakdown-tag',
      'Environment',
    ]);
    expect(result.code).toBe(EXIT.incomplete);
    expect(result.stderr).toContain(`${OTHER} (quiet): missing (never reported): no report received`);
    const out = readOut(join(dir, 'out'));
    expect(out.users[0]).toMatchObject({
      account_name: 'prod',
      ou_path: 'Root/Prod',
      'tag:Environment': 'Production',
    });
    expect(out.html).toContain('o-abc');
  });

  it('adds what changed since --previous to summary.json', async () => {
    write(`a/${FIXTURE_ACCOUNT}.csv`, NORMAL);
    expect((await run(dir, ['a', '--now', NOW, '--out', 'day1'])).code).toBe(EXIT.ok);
    const fewer = NORMAL.split('\n')
      .filter((line) => !line.startsWith('bob,'))
      .join('\n');
    write(`b/${FIXTURE_ACCOUNT}.csv`, fewer);
    const result = await run(dir, ['b', '--now', NOW, '--out', 'day2', '--previous', 'day1']);
    expect(result.code).toBe(EXIT.ok);
    const { summary, html } = readOut(join(dir, 'day2'));
    expect(summary.delta?.removedUsers).toEqual({
      count: 1,
      items: [{ accountId: FIXTURE_ACCOUNT, userName: 'bob' }],
    });
    expect(summary.delta?.removedKeys.count).toBe(2);
    expect(html).toContain('What changed since the previous run');
  });

  it('exits 1 naming the path when an input does not exist, and writes nothing', async () => {
    const result = await run(dir, ['nope', '--now', NOW], true);
    expect(result.code).toBe(EXIT.error);
    expect(result.stderr).toBe('credreport merge: input nope: no such file or directory\n');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('exits 1 when a directory holds no reports', async () => {
    mkdirSync(join(dir, 'empty'));
    const result = await run(dir, ['empty'], true);
    expect(result.code).toBe(EXIT.error);
    expect(result.stderr).toMatch(/input empty: no credential reports/);
  });

  it('exits 1 with a clear message when --metadata is unreadable or not metadata', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    const missing = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--metadata', 'missing.json'], true);
    expect(missing.code).toBe(EXIT.error);
    expect(missing.stderr).toMatch(/--metadata missing\.json: no such file or directory\n$/);
    write('bad.json', '{"accounts": 3}');
    const bad = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--metadata', 'bad.json'], true);
    expect(bad.code).toBe(EXIT.error);
    expect(bad.stderr).toMatch(/--metadata bad\.json is not organization metadata/);
  });

  it('exits 2 on a wrong command line', async () => {
    expect((await run(dir, [], true)).stderr).toMatch(/missing input file or directory/);
    expect((await run(dir, [], true)).code).toBe(EXIT.usage);
    const badNow = await run(dir, ['x.csv', '--now', 'yesterday'], true);
    expect(badNow.code).toBe(EXIT.usage);
    expect(badNow.stderr).toMatch(/--now must be an ISO 8601 time/);
    const unknown = await run(dir, ['x.csv', '--metdata', 'org.json'], true);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toMatch(/unknown option '--metdata' \(did you mean --metadata\?\)/);
    const badDays = await run(dir, ['x.csv', '--rotation-days', '0'], true);
    expect(badDays.stderr).toMatch(/--rotation-days must be a positive whole number, got '0'/);
  });

  it('exits 2 and writes nothing when --now is not a real day, rather than rolling it over', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    const result = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', '2024-02-30T06:00:00Z'], true);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toBe(
      "credreport merge: option --now is not a real date and time (a day, hour, minute, second or offset out of range), got '2024-02-30T06:00:00Z'\n" +
        "Run 'credreport merge --help' for usage.\n",
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('applies threshold options to the findings', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW, '--out', 'strict', '--rotation-days', '30']);
    await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW, '--out', 'loose', '--rotation-days', '5000']);
    const strict = readOut(join(dir, 'strict')).summary.findings['key-not-rotated'].keys;
    const loose = readOut(join(dir, 'loose')).summary.findings['key-not-rotated'].keys;
    expect(strict).toBeGreaterThan(0);
    expect(loose).toBe(0);
  });

  describe('when no input is a readable report', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(NORMAL, 'utf16le')]);
    const binary = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 97 + 13) % 256));
    const cases: [string, string, string | Buffer, RegExp][] = [
      [
        'package.json',
        'package.json',
        '{"name":"x","version":"1.0.0"}',
        /package\.json: rejected: not a credreport account report such as accounts\/<id>\/latest\.json: it has no schemaVersion field \(a report has schemaVersion 1, 2 or 3\)/,
      ],
      [
        'an empty .csv',
        `${FIXTURE_ACCOUNT}.csv`,
        '',
        /111122223333: missing \(unreadable\): 111122223333\.csv: empty file/,
      ],
      ['a binary file renamed .csv', `${FIXTURE_ACCOUNT}.csv`, binary, /binary data, not a text file/],
      [
        'a truncated row',
        `${FIXTURE_ACCOUNT}.csv`,
        TRUNCATED,
        /missing \(rejected\): credential report: line \d+.*truncated line/,
      ],
      [
        'a UTF-16 file',
        `${FIXTURE_ACCOUNT}.csv`,
        utf16,
        /encoded as UTF-16 \(little-endian, with a byte order mark\), not UTF-8: save it as UTF-8/,
      ],
    ];
    it.each(cases)(
      'exits 1 and leaves the previous outputs untouched for %s',
      async (_name, file, content, reason) => {
        write(`good/${FIXTURE_ACCOUNT}.csv`, NORMAL);
        expect((await run(dir, ['good', '--now', NOW, '--out', 'result'])).code).toBe(EXIT.ok);
        const names = [
          'credential-report.csv',
          'access-keys.csv',
          'findings.csv',
          'findings.ocsf.json',
          'state.json.gz',
          'summary.json',
          'digest.html',
        ];
        const before = names.map((n) => readFileSync(join(dir, 'result', n)));
        write(`bad/${file}`, content);
        const result = await run(dir, [`bad/${file}`, '--now', NOW, '--out', 'result'], true);
        expect(result.code).toBe(EXIT.error);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(
          /^credreport merge: no input is a readable credential report; nothing written to result/,
        );
        expect(result.stderr).toMatch(reason);
        expect(names.map((n) => readFileSync(join(dir, 'result', n)))).toEqual(before);
        expect(readdirSync(join(dir, 'result')).sort()).toEqual([...names].sort());
      },
    );

    it('creates no output directory', async () => {
      write('bad/package.json', '{}');
      const result = await run(dir, ['bad/package.json', '--out', 'fresh/out']);
      expect(result.code).toBe(EXIT.error);
      expect(existsSync(join(dir, 'fresh'))).toBe(false);
    });
  });

  it('reads a CSV saved with a UTF-8 byte order mark', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(NORMAL)]));
    const result = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW]);
    expect(result.code).toBe(EXIT.ok);
    expect(readOut(join(dir, 'out')).users.length).toBeGreaterThan(0);
  });

  it('names --out and the folder in the way when --out cannot be a directory', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write('taken', 'a file');
    const result = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--out', 'taken/out'], true);
    expect(result.code).toBe(EXIT.error);
    expect(result.stderr).toBe(
      `credreport merge: cannot write to --out ${join(dir, 'taken/out')}: ${join(dir, 'taken')} is not a directory\n`,
    );
  });

  it('takes a negative number after an option as its value and says it must be positive', async () => {
    const result = await run(dir, ['x.csv', '--rotation-days', '-5'], true);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(
      /^credreport merge: option --rotation-days must be a positive whole number, got '-5'\n/,
    );
  });

  it('ends with the summary in the singular for one account with one user and one key', async () => {
    const [header, , alice] = NORMAL.split('\n');
    write(`${FIXTURE_ACCOUNT}.csv`, `${header}\n${alice}\n`);
    const result = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(
      /^Merged 1 of 1 expected account: 1 user, 1 access key \(1 active\), 0 users with findings\.\nOpen findings: 0 critical, 0 high, 0 medium, 0 low\.\n/,
    );
    expect(result.stdout).toContain('Coverage complete: 1 of 1 expected account reporting, 0 missing.');
    expect(result.stdout).toMatch(/\nWrote 7 files to out\/: credential-report\.csv, .*digest\.html\n$/);
  });

  it('exits 4 with --fail-on over an incomplete coverage, and says both', async () => {
    write(`${FIXTURE_ACCOUNT}.csv`, NORMAL);
    write('notes.csv', 'x,y\n');
    const result = await run(dir, [
      `${FIXTURE_ACCOUNT}.csv`,
      'notes.csv',
      '--now',
      NOW,
      '--fail-on',
      'medium',
    ]);
    expect(result.code).toBe(EXIT.findings);
    expect(result.stderr).toContain(
      "credreport merge: outputs written, but coverage is incomplete (exit status 3, but --fail-on's 4 comes first)\n",
    );
    expect(result.stderr).toContain(
      'credreport merge: 10 open findings at or above medium (--fail-on medium): exit status 4\n',
    );
    const quiet = await run(dir, [`${FIXTURE_ACCOUNT}.csv`, '--now', NOW, '--fail-on', 'critical']);
    expect(quiet.code).toBe(EXIT.ok);
  });

  it('prints its help through main', async () => {
    const result = await run(dir, ['--help'], true);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/Usage: credreport merge <dir\|file>/);
    for (const option of [
      '--metadata FILE',
      '--out DIR',
      '--now TIME',
      '--previous DIR',
      '--rotation-days N',
    ]) {
      expect(result.stdout).toContain(option);
    }
    expect(result.stdout).toMatch(/a time without an\s+offset is UTC/);
    expect(result.stdout).toMatch(/Exit status: 0 ok; 1 error.*; 2 usage error; 3 outputs\s+written/s);
  });
});
