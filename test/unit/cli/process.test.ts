/**
 * The `credreport` process as a user or a CI job sees it: exit statuses, what goes to stdout and what to
 * stderr, signals, the files left behind. Each test starts the CLI as a child process (tsx, as
 * `npm run credreport` does, or the bundle `npm run build` makes).
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { HELP_WIDTH } from '../../../cli/args';
import { CommandIo, EXIT } from '../../../cli/command';
import { COMMANDS, main } from '../../../cli/main';
import { quietSdkNodeWarning } from '../../../cli/sdk-env';

const REPO = join(__dirname, '../../..');
const TSX = pathToFileURL(require.resolve('tsx')).href;
const MAIN = join(REPO, 'cli/main.ts');
const NORMAL = readFileSync(join(REPO, 'test/fixtures/reports/normal.csv'), 'utf8');
const NOW = '2024-06-01T06:00:00Z';
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const OUTPUTS = [
  'access-keys.csv',
  'credential-report.csv',
  'digest.html',
  'findings.csv',
  'state.json.gz',
  'summary.json',
];

/** An environment without AWS settings or credentials of this machine. */
function cleanEnv(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv(dir)): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
}

describe('the credreport process', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credreport-process-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the version of package.json with --version', () => {
    const result = cli(dir, ['--version']);
    expect(result.status).toBe(EXIT.ok);
    expect(result.stdout).toBe(`credreport ${VERSION}\n`);
    expect(result.stderr).toBe('');
  }, 60_000);

  it('prints the version from the built bundle too', async () => {
    const outfile = join(dir, 'credreport.js');
    await build({
      entryPoints: [MAIN],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'silent',
      external: ['puppeteer-core'],
    });
    const result = spawnSync(process.execPath, [outfile, '--version'], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(EXIT.ok);
    expect(result.stdout).toBe(`credreport ${VERSION}\n`);
  }, 60_000);

  it('prints the usage on stderr and exits 2 without arguments', () => {
    const result = cli(dir, []);
    expect(result.status).toBe(EXIT.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^credreport: every IAM user/);
    expect(result.stderr).toContain('Usage: credreport <command> [options]');
  }, 60_000);

  it("prints merge's help for `help merge`", () => {
    const result = cli(dir, ['help', 'merge']);
    expect(result.status).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^Usage: credreport merge <dir\|file>\.\.\. \[options\]\n/);
    expect(result.stderr).toBe('');
  }, 60_000);

  it('prints one JSON result on stdout with --json, the summary on stderr, and exits 4 with --fail-on', () => {
    writeFileSync(join(dir, '111122223333.csv'), NORMAL);
    const result = cli(dir, ['merge', '111122223333.csv', '--now', NOW, '--json', '--fail-on', 'high']);
    expect(result.status).toBe(EXIT.findings);
    const lines = result.stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const json = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(json).toMatchObject({
      command: 'merge',
      exitStatus: EXIT.findings,
      failOn: { severity: 'high', openFindings: 2 },
      coverage: { complete: true, expected: 1, reporting: 1 },
    });
    expect(result.stderr).toContain('Merged 1 of 1 expected account: 6 users, 7 access keys (5 active)');
    expect(result.stderr).toContain(
      'credreport merge: 2 open findings at or above high (--fail-on high): exit status 4',
    );
  }, 60_000);

  it('exits 4 with --fail-on high for an organization finding alone, and lists it under the finding table', () => {
    // A report without a single user or key finding: root with MFA, unused for months; a user without
    // password or keys.
    const header = NORMAL.slice(0, NORMAL.indexOf('\n'));
    const na = (n: number) => Array<string>(n).fill('N/A').join(',');
    const clean = [
      header,
      `<root_account>,arn:aws:iam::111122223333:root,2019-03-01T10:00:00+00:00,not_supported,no_information,not_supported,not_supported,true,false,${na(4)},false,${na(4)},false,N/A,false,N/A`,
      `svc,arn:aws:iam::111122223333:user/svc,2021-02-10T09:00:00+00:00,false,N/A,N/A,N/A,false,false,${na(4)},false,${na(4)},false,N/A,false,N/A`,
      '',
    ].join('\n');
    writeFileSync(join(dir, '111122223333.csv'), clean);
    const alone = cli(dir, ['merge', '111122223333.csv', '--now', NOW, '--fail-on', 'high']);
    expect(alone.status).toBe(EXIT.ok);
    expect(alone.stdout).toContain('Open findings: 0 critical, 0 high, 0 medium, 0 low.');

    // The organization metadata says centralized root access is not enabled: root-access-not-centralized
    // (high) is the run's only finding, and it trips the gate.
    writeFileSync(
      join(dir, 'metadata.json'),
      JSON.stringify({
        organizationId: 'o-abc1234567',
        managementAccountId: '111122223333',
        fetchedAt: '2024-06-01T05:00:00.000Z',
        accounts: [
          {
            id: '111122223333',
            name: 'management',
            email: 'm@example.com',
            state: 'ACTIVE',
            ouPath: 'Root',
            ouIdPath: ['r-ab12'],
            tags: {},
          },
        ],
        rootAccess: {
          status: 'read',
          enabledFeatures: [],
          iamTrustedAccess: true,
          fetchedAt: '2024-06-01T05:00:00.000Z',
        },
      }),
    );
    const args = [
      'merge',
      '111122223333.csv',
      '--metadata',
      'metadata.json',
      '--now',
      NOW,
      '--fail-on',
      'high',
    ];
    const result = cli(dir, [...args, '--cis-version', 'v7.0.0']);
    expect(result.status).toBe(EXIT.findings);
    expect(result.stdout).toContain('Open findings: 0 critical, 1 high, 0 medium, 0 low.');
    expect(result.stdout).toMatch(/\n {2}root-access-not-centralized\s+2\.1\.1\s+1\s+fail\n/);
    expect(result.stdout).toContain('Root access: not centrally managed (CIS v7.0.0 2.1.1)');
    expect(result.stderr).toContain(
      'credreport merge: 1 open finding at or above high (--fail-on high): exit status 4',
    );
    const findings = readFileSync(join(dir, 'out', 'findings.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(findings).toHaveLength(2);
    expect(findings[1]).toContain('root-access-not-centralized,high');
    // The gate counts the same finding with --json.
    const json = cli(dir, [...args, '--json']);
    expect(json.status).toBe(EXIT.findings);
    expect(JSON.parse(json.stdout)).toMatchObject({ failOn: { severity: 'high', openFindings: 1 } });
  }, 60_000);

  it('prints a JSON error result on stdout with --json when the command fails', () => {
    const result = cli(dir, ['merge', 'nope.csv', '--json']);
    expect(result.status).toBe(EXIT.error);
    expect(JSON.parse(result.stdout)).toEqual({
      command: 'merge',
      exitStatus: EXIT.error,
      error: 'input nope.csv: no such file or directory',
    });
    expect(result.stderr).toBe('credreport merge: input nope.csv: no such file or directory\n');
  }, 60_000);

  it.each([
    ['a JSON file that is not a report', 'package.json', '{"name":"x"}', 'it has no schemaVersion field'],
    [
      'a report whose account id is a number',
      'report.json',
      '{"schemaVersion":3,"accountId":5}',
      '(first problem: accountId should be text)',
    ],
    ['an empty .csv', '111122223333.csv', '', '111122223333.csv: empty file'],
  ])(
    'exits 1 for %s, writes nothing and leaves the previous outputs and no temporary file in --out',
    (_, name, body, reason) => {
      mkdirSync(join(dir, 'out'));
      for (const output of OUTPUTS) writeFileSync(join(dir, 'out', output), `previous ${output}`);
      writeFileSync(join(dir, name), body);
      const result = cli(dir, ['merge', name, '--out', 'out', '--now', NOW]);
      expect(result.status).toBe(EXIT.error);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(
        "no input is a readable credential report; nothing written to out (a previous run's outputs there are untouched)",
      );
      expect(result.stderr).toContain(reason);
      expect(result.stderr).not.toMatch(/Invalid|expected string|ZodError/);
      expect(readdirSync(join(dir, 'out')).sort()).toEqual([...OUTPUTS].sort());
      for (const output of OUTPUTS)
        expect(readFileSync(join(dir, 'out', output), 'utf8')).toBe(`previous ${output}`);
    },
    60_000,
  );

  it('exits 0 with --fail-on when no open finding is that severe', () => {
    writeFileSync(join(dir, '111122223333.csv'), NORMAL);
    const result = cli(dir, ['merge', '111122223333.csv', '--now', NOW, '--fail-on', 'critical', '--quiet']);
    expect(result.status).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
  }, 60_000);

  it('says how to configure credentials when there are none, without the SDK Node version warning', () => {
    const result = cli(dir, ['collect', '--region', 'eu-west-1']);
    expect(result.status).toBe(EXIT.error);
    expect(result.stderr).toBe(
      "credreport collect: no AWS credentials found in the default credential chain: run 'aws configure'" +
        " (access keys) or 'aws sso login' (IAM Identity Center), or pass --profile NAME for a named profile\n",
    );
    expect(result.stdout).toBe('');
  }, 60_000);

  it('reports an unreachable endpoint as a network problem', () => {
    const env = cleanEnv(dir, {
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9',
    });
    const result = cli(dir, ['collect', '--region', 'eu-west-1'], env);
    expect(result.status).toBe(EXIT.error);
    expect(result.stderr).toMatch(
      /^credreport collect: cannot reach AWS STS: a network problem \(ECONNREFUSED\), not a credentials one/,
    );
    expect(result.stderr).not.toMatch(/Warning|aws configure/);
  }, 60_000);

  describe.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('on %s', (signal, status) => {
    it(`removes the temporary files, keeps the previous outputs, says so and ends with status ${status}`, async () => {
      mkdirSync(join(dir, 'out'));
      for (const name of OUTPUTS) writeFileSync(join(dir, 'out', name), `previous ${name}`);
      // A named pipe nobody writes to: merge waits on it with its temporary files open.
      const fifo = join(dir, '111122223333.csv');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const shell = spawn(
        'sh',
        [
          '-c',
          `"$0" --import "$1" "$2" merge 111122223333.csv --out out & echo $!; wait $!; echo "status $?"`,
          process.execPath,
          TSX,
          MAIN,
        ],
        { cwd: dir, env: cleanEnv(dir) },
      );
      const stdout = new PassThrough();
      let out = '';
      let err = '';
      shell.stdout.pipe(stdout).on('data', (d: Buffer) => (out += d.toString('utf8')));
      shell.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const ended = new Promise<void>((resolve) => shell.on('close', () => resolve()));

      const temps = (): string[] => readdirSync(join(dir, 'out')).filter((n) => n.endsWith('.tmp'));
      for (let i = 0; i < 300 && (temps().length < 4 || !/^\d+\n/.test(out)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(temps().length).toBeGreaterThanOrEqual(4);
      process.kill(Number(/^(\d+)\n/.exec(out)?.[1]), signal);
      await ended;

      expect(out).toMatch(new RegExp(`\\nstatus ${status}\\n$`));
      expect(temps()).toEqual([]);
      for (const name of OUTPUTS)
        expect(readFileSync(join(dir, 'out', name), 'utf8')).toBe(`previous ${name}`);
      expect(err).toMatch(
        new RegExp(
          `^credreport: ${signal === 'SIGINT' ? 'interrupted \\(SIGINT\\)' : 'stopped \\(SIGTERM\\)'}: removed [4-7] temporary files in out; kept out/access-keys\\.csv, .*out/summary\\.json as they were before this run\\n`,
        ),
      );
    }, 60_000);
  });
});

describe('help texts', () => {
  const capture = (): { io: CommandIo; text: () => string } => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
    return { io: { stdout: stream, stderr: stream, env: {}, cwd: tmpdir() }, text: () => text };
  };

  it.each(
    [['--help'], ...COMMANDS.map((c) => ['help', c.name])].map((argv) => [argv.join(' '), argv] as const),
  )(`fit in ${HELP_WIDTH} columns: credreport %s`, async (_name, argv) => {
    const c = capture();
    expect(await main(argv, c.io)).toBe(EXIT.ok);
    const long = c
      .text()
      .split('\n')
      .filter((line) => line.length > HELP_WIDTH);
    expect(long).toEqual([]);
  });

  it.each(COMMANDS.map((c) => [c.name]))(
    'of %s document every exit status and the output options',
    async (name) => {
      const c = capture();
      await main(['help', name], c.io);
      for (const text of [
        '--json',
        '--quiet',
        '--verbose',
        'Exit status: 0 ok',
        '4 open findings',
        '130',
        '143',
      ]) {
        expect(c.text()).toContain(text);
      }
    },
  );

  it('exits 2 for help on a command that does not exist', async () => {
    const c = capture();
    expect(await main(['help', 'nope'], c.io)).toBe(EXIT.usage);
    expect(c.text()).toMatch(/^credreport help: no command 'nope'/);
  });

  it("turns the SDK's Node version warning off by its own switch, unless it is set already", () => {
    const unset: NodeJS.ProcessEnv = {};
    quietSdkNodeWarning(unset);
    expect(unset.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
    const chosen: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
    quietSdkNodeWarning(chosen);
    expect(chosen.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('false');
  });
});
