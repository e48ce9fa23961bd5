import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AssumeRoleCommand, STSClient as NestedSTSClient } from '@aws-sdk/nested-clients/sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { simulatedCredentialReport, simulatedIamResponse } from '../../../bench/collect.bench';
import {
  AssumeRoleError,
  AwsOptions,
  AwsSession,
  AwsSessionFactory,
  AwsSetupError,
  createAwsSession,
} from '../../../cli/aws';
import { CollectOrgError, DEFAULT_COLLECT_CONCURRENCY, MetadataFileError } from '../../../cli/collect-org';
import { OutputDirError } from '../../../cli/outputs';
import { CommandIo, EXIT, UsageError } from '../../../cli/command';
import { COLLECT_OPTIONS, createCollectCommand, CollectCommandDeps } from '../../../cli/commands/collect';
import { REORDER_WINDOW_REPORTS } from '../../../core/merge';
import type { Summary } from '../../../core/summary';
import type { AccountMetadata, AccountReport, OrgMetadata } from '../../../core/types';
import { CollectError } from '../../../collector/account-collector';

const sts = mockClient(STSClient);
const nestedSts = mockClient(NestedSTSClient);
const iamMock = mockClient(IAMClient);

const IAM_COMMANDS = [
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  GetAccountAuthorizationDetailsCommand,
  ListUsersCommand,
  ListAccessKeysCommand,
  GetAccessKeyLastUsedCommand,
] as const;

const NOW = new Date('2026-01-02T06:00:00Z');
const CALLER = '111111111111';
const awsError = (name: string, message = name): Error => Object.assign(new Error(message), { name });

function account(
  id: string,
  name: string,
  ouIdPath: string[],
  ouPath: string,
  state = 'ACTIVE',
): AccountMetadata {
  return {
    id,
    name,
    email: `${name.toLowerCase().replace(/ /g, '-')}@example.com`,
    state,
    ouPath,
    ouIdPath,
    tags: { Environment: name },
  };
}

const PROD = ['r-ab12', 'ou-ab12-11111111', 'ou-ab12-22222222'];
const DEV = ['r-ab12', 'ou-ab12-11111111', 'ou-ab12-33333333'];
const METADATA: OrgMetadata = {
  organizationId: 'o-abcdef1234',
  managementAccountId: CALLER,
  fetchedAt: NOW.toISOString(),
  accounts: [
    account(CALLER, 'Management', ['r-ab12'], 'Root'),
    account('222222222222', 'Prod A', PROD, 'Root/Workloads/Prod'),
    account('333333333333', 'Prod B', PROD, 'Root/Workloads/Prod'),
    account('444444444444', 'Dev', DEV, 'Root/Workloads/Dev'),
    account('555555555555', 'Closed', ['r-ab12', 'ou-ab12-44444444'], 'Root/Suspended', 'SUSPENDED'),
  ],
};
const ACTIVE_IDS = [CALLER, '222222222222', '333333333333', '444444444444'];

function reportFor(accountId: string): AccountReport {
  const sim = { accountId, users: 1, now: NOW };
  return {
    schemaVersion: 1,
    accountId,
    generatedTime: NOW.toISOString(),
    collectedTime: NOW.toISOString(),
    credentialReportCsv: simulatedCredentialReport(sim),
    accessKeys: [],
  };
}

interface Captured {
  readonly stream: PassThrough & { isTTY?: boolean };
  text(): string;
}
function capture(tty = false): Captured {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) stream.isTTY = true;
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let cwd: string;
let stdout: Captured;
let stderr: Captured;
let sessions: AwsOptions[];
/** Which credentials each account was collected with (access key id). */
let collectedWith: Map<string, string>;
/** Each fetchOrgMetadata call; `withIam`: an IAM client of the caller's own account was handed on (root access). */
let fetchCalls: { now: Date; budgetMs?: number; withIam: boolean }[];
let savedEnv: NodeJS.ProcessEnv;

function io(tty = false): CommandIo {
  if (tty) stderr = capture(true);
  return { stdout: stdout.stream, stderr: stderr.stream, env: {}, cwd };
}

function command(overrides: Partial<CollectCommandDeps> = {}): ReturnType<typeof createCollectCommand> {
  return createCollectCommand({
    aws: (options) => {
      sessions.push(options);
      return createAwsSession({ region: 'eu-west-1', ...options });
    },
    fetchOrgMetadata: async (_client, opts) => {
      fetchCalls.push({ now: opts.now, budgetMs: opts.budgetMs, withIam: opts.iam !== undefined });
      return { metadata: METADATA, calls: {}, warnings: [] };
    },
    collect: async (deps, opts) => {
      const credentials = await deps.iam.config.credentials();
      collectedWith.set(opts.accountId, credentials.accessKeyId);
      return {
        report: reportFor(opts.accountId),
        stats: { apiCalls: { GetCredentialReport: 1 }, users: 1, durationMs: 1 },
      };
    },
    clock: () => NOW,
    ...overrides,
  });
}

function callerIs(arn: string): void {
  sts.on(GetCallerIdentityCommand).resolves({ Account: arn.split(':')[4], Arn: arn, UserId: 'AIDAEXAMPLE' });
}

/** AssumeRole answers with an access key id naming the account; accounts in `denied` get AccessDenied. */
function rolesAssumable(denied: readonly string[] = []): void {
  nestedSts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    const id = input.RoleArn.split(':')[4] as string;
    if (denied.includes(id)) {
      throw awsError(
        'AccessDenied',
        `User: arn:aws:sts::${CALLER}:assumed-role/Auditor/me is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
      );
    }
    return {
      Credentials: {
        AccessKeyId: `ASIA${id}`,
        SecretAccessKey: 's',
        SessionToken: 't',
        Expiration: new Date(Date.now() + 3_600_000),
      },
    };
  });
}

function assumedRoleArns(): string[] {
  return nestedSts
    .commandCalls(AssumeRoleCommand)
    .map((call) => call.args[0].input.RoleArn as string)
    .sort();
}

/** Many ACTIVE accounts under the root, ids from 200000000000. */
function manyAccounts(n: number): OrgMetadata {
  return {
    ...METADATA,
    accounts: Array.from({ length: n }, (_, i) =>
      account(String(200_000_000_000 + i), `A${i}`, ['r-ab12'], 'Root'),
    ),
  };
}

/**
 * A session without the SDK (for runs over many accounts): the caller is CALLER in `aws`, and
 * AssumeRole is refused for the accounts `denied` returns true for.
 */
function fakeSession(denied: (accountId: string) => boolean = () => false): AwsSessionFactory {
  const client = new IAMClient({ region: 'eu-west-1' });
  const unused = (): never => {
    throw new Error('not used by collect');
  };
  return (options) => {
    const session: AwsSession = {
      options,
      region: async () => 'eu-west-1',
      callerIdentity: async () => ({
        accountId: CALLER,
        arn: `arn:aws:iam::${CALLER}:user/auditor`,
        partition: 'aws',
      }),
      iam: () => client,
      async assumedIam(roleArn) {
        if (denied(roleArn.split(':')[4] as string)) {
          throw new AssumeRoleError(roleArn, awsError('AccessDenied', 'not authorized'));
        }
        return client;
      },
      // Handed to the injected fetchOrgMetadata, which does not use it.
      organizations: () => ({}) as never,
      s3: unused,
      cloudformation: unused,
      lambda: unused,
      destroy: () => undefined,
    };
    return session;
  };
}

function readSummary(dir = join(cwd, 'out')): Summary {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
}

beforeEach(() => {
  sts.reset();
  nestedSts.reset();
  iamMock.reset();
  savedEnv = { ...process.env };
  for (const key of ['AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_SESSION_TOKEN'])
    delete process.env[key];
  process.env.AWS_ACCESS_KEY_ID = 'AKIACALLER0000000001';
  process.env.AWS_SECRET_ACCESS_KEY = 'caller-secret';
  cwd = mkdtempSync(join(tmpdir(), 'credreport-collect-'));
  stdout = capture();
  stderr = capture();
  sessions = [];
  collectedWith = new Map();
  fetchCalls = [];
});

afterEach(() => {
  process.env = savedEnv;
  rmSync(cwd, { recursive: true, force: true });
});

describe('collect', () => {
  it('collects every ACTIVE account, its own with its own credentials, and writes the five outputs', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--now', NOW.toISOString()], io())).resolves.toBe(EXIT.ok);

    expect(assumedRoleArns()).toEqual([
      'arn:aws:iam::222222222222:role/OrganizationAccountAccessRole',
      'arn:aws:iam::333333333333:role/OrganizationAccountAccessRole',
      'arn:aws:iam::444444444444:role/OrganizationAccountAccessRole',
    ]);
    expect(Object.fromEntries(collectedWith)).toEqual({
      [CALLER]: 'AKIACALLER0000000001',
      '222222222222': 'ASIA222222222222',
      '333333333333': 'ASIA333333333333',
      '444444444444': 'ASIA444444444444',
    });
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([
      'access-keys.csv',
      'credential-report.csv',
      'digest.html',
      'findings.csv',
      'findings.ocsf.json',
      'state.json.gz',
      'summary.json',
    ]);
    const csv = readFileSync(join(cwd, 'out', 'credential-report.csv'), 'utf8');
    for (const id of ACTIVE_IDS) expect(csv).toContain(`${id},`);
    expect(csv).not.toContain('555555555555');
    const summary = readSummary();
    expect(summary.coverage).toMatchObject({ expected: 4, reporting: 4, missing: 0, complete: true });
    expect(summary.generatedAt).toBe(NOW.toISOString());
    await flush();
    expect(stdout.text()).toContain(
      'Wrote 7 files to out/: credential-report.csv, access-keys.csv, findings.csv, findings.ocsf.json, state.json.gz, summary.json, digest.html',
    );
    expect(stdout.text()).toContain('Collected 4 of 4 expected accounts: 8 users, 4 access keys (4 active)');
    expect(stdout.text()).toContain('Coverage complete: 4 of 4 expected accounts reporting, 0 missing.');
    expect(stdout.text()).toMatch(/^Open findings: \d+ critical, \d+ high, \d+ medium, \d+ low\.$/m);
    expect(fetchCalls).toEqual([{ now: NOW, budgetMs: Infinity, withIam: true }]);
    // API call counts are for --verbose.
    expect(stderr.text()).not.toContain('AssumeRole and');
  });

  it('adds what changed since --previous to summary.json, as merge does', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--out', 'first'], io())).resolves.toBe(EXIT.ok);
    await expect(command().run(['--out', 'second', '--previous', 'first'], io())).resolves.toBe(EXIT.ok);
    const summary = (dir: string): Summary =>
      JSON.parse(readFileSync(join(cwd, dir, 'summary.json'), 'utf8')) as Summary;
    expect(summary('first').delta).toBeUndefined();
    expect(summary('second').delta).toBeDefined();
  });

  it('prints the API call counts with --verbose', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--verbose'], io())).resolves.toBe(EXIT.ok);
    await flush();
    expect(stderr.text()).toContain('credreport collect: 3 AssumeRole and 4 IAM calls');
  });

  it('prints nothing but the JSON result on stdout with --json, and nothing on stderr with --quiet too', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--json', '--quiet'], io())).resolves.toBe(EXIT.ok);
    await flush();
    const result = JSON.parse(stdout.text()) as Record<string, unknown>;
    expect(result).toMatchObject({
      command: 'collect',
      exitStatus: EXIT.ok,
      coverage: { complete: true, expected: 4, reporting: 4, missing: 0, problems: [] },
      apiCalls: { assumeRole: 3, iam: 4 },
    });
    expect(stderr.text()).toBe('');
  });

  it.each([
    ['aws-cn', 'arn:aws-cn:sts::111111111111:assumed-role/Auditor/me'],
    ['aws-us-gov', 'arn:aws-us-gov:iam::111111111111:user/auditor'],
  ])('builds role ARNs in the %s partition from GetCallerIdentity', async (partition, callerArn) => {
    callerIs(callerArn);
    rolesAssumable();
    await expect(command().run(['--role', 'CredreportReadOnly'], io())).resolves.toBe(EXIT.ok);
    expect(assumedRoleArns()).toEqual(
      ['222222222222', '333333333333', '444444444444'].map(
        (id) => `arn:${partition}:iam::${id}:role/CredreportReadOnly`,
      ),
    );
  });

  it('keeps the path of a --role given with one', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await command().run(['--role', 'security/Reader', '--accounts', '222222222222'], io());
    expect(assumedRoleArns()).toEqual(['arn:aws:iam::222222222222:role/security/Reader']);
  });

  it('passes --profile and --region to the AWS session', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await command().run(['--profile', 'org-admin', '--region', 'eu-central-1', '--accounts', CALLER], io());
    expect(sessions).toEqual([{ profile: 'org-admin', region: 'eu-central-1' }]);
  });

  it('collects only the listed accounts when --accounts is given', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--accounts', '444444444444,222222222222'], io())).resolves.toBe(EXIT.ok);
    expect([...collectedWith.keys()].sort()).toEqual(['222222222222', '444444444444']);
    expect(readSummary().coverage.expected).toBe(2);
  });

  it('collects only accounts under the OU when --ou is given', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--ou', 'ou-ab12-22222222'], io())).resolves.toBe(EXIT.ok);
    expect([...collectedWith.keys()].sort()).toEqual(['222222222222', '333333333333']);
  });

  it('intersects --ou and --accounts when both are given', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await command().run(['--ou', 'ou-ab12-11111111', '--accounts', '333333333333,111111111111'], io());
    expect([...collectedWith.keys()]).toEqual(['333333333333']);
  });

  it.each([
    [['--accounts', '999999999999'], /--accounts: not in the organization: 999999999999/],
    [['--accounts', '555555555555'], /--accounts: not ACTIVE: 555555555555 \(SUSPENDED\)/],
    [['--ou', 'ou-ab12-99999999'], /--ou: not an OU or root of the organization: ou-ab12-99999999/],
    [['--ou', 'ou-ab12-44444444'], /no ACTIVE account to collect/],
  ])('refuses a selection that names nothing collectable: %j', async (args, message) => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    const error = await command()
      .run(args, io())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectOrgError);
    expect((error as Error).message).toMatch(message);
    expect(collectedWith.size).toBe(0);
  });

  it('writes the metadata and exits without collecting when --metadata-out is given, and reuses it with --metadata-in', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['--metadata-out', 'org.json'], io())).resolves.toBe(EXIT.ok);
    expect(collectedWith.size).toBe(0);
    expect(nestedSts).not.toHaveReceivedCommand(AssumeRoleCommand);
    const written = JSON.parse(readFileSync(join(cwd, 'org.json'), 'utf8')) as OrgMetadata;
    expect(written).toEqual(METADATA);
    await flush();
    expect(stderr.text()).toContain('wrote metadata of 5 accounts (4 ACTIVE)');

    fetchCalls = [];
    await expect(command().run(['--metadata-in', 'org.json'], io())).resolves.toBe(EXIT.ok);
    expect(fetchCalls).toEqual([]);
    expect([...collectedWith.keys()].sort()).toEqual(ACTIVE_IDS);
    const csv = readFileSync(join(cwd, 'out', 'credential-report.csv'), 'utf8');
    expect(csv).toContain('Prod A');
    expect(csv).toContain('Root/Workloads/Prod');
  });

  it('prints the metadata on stdout when --metadata-out is -', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    await command().run(['--metadata-out', '-'], io());
    await flush();
    expect(JSON.parse(stdout.text())).toEqual(METADATA);
  });

  it('rejects a --metadata-in file that is not organization metadata', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ accounts: [{ id: 'x' }] }));
    const error = await command()
      .run(['--metadata-in', 'bad.json'], io())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetadataFileError);
    expect((error as Error).message).toMatch(
      /bad\.json is not organization metadata written by 'credreport collect --metadata-out'/,
    );
  });

  /** Runs collect over 20 accounts whose collection takes 5 ms; returns its exit status and the peak in flight. */
  async function peakInFlight(argv: string[]): Promise<{ code: number; peak: number }> {
    const many: OrgMetadata = {
      ...METADATA,
      accounts: Array.from({ length: 20 }, (_, i) =>
        account(String(200_000_000_000 + i), `A${i}`, ['r-ab12'], 'Root'),
      ),
    };
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    let inFlight = 0;
    let peak = 0;
    const cmd = command({
      fetchOrgMetadata: async () => ({ metadata: many, calls: {}, warnings: [] }),
      collect: async (_deps, opts) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return { report: reportFor(opts.accountId), stats: { apiCalls: {}, users: 1, durationMs: 5 } };
      },
    });
    const code = await cmd.run(argv, io());
    return { code, peak };
  }

  it.each([1, 3, 8])('never has more than --concurrency %i accounts in flight', async (limit) => {
    await expect(peakInFlight(['--concurrency', String(limit)])).resolves.toEqual({
      code: EXIT.ok,
      peak: limit,
    });
  });

  it('uses 8 accounts in flight by default', async () => {
    await expect(peakInFlight([])).resolves.toEqual({ code: EXIT.ok, peak: 8 });
  });

  it('lists an account whose role cannot be assumed with its reason, writes the others and exits 3', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable(['333333333333']);
    await expect(command().run([], io())).resolves.toBe(EXIT.incomplete);

    expect([...collectedWith.keys()].sort()).toEqual([CALLER, '222222222222', '444444444444']);
    const csv = readFileSync(join(cwd, 'out', 'credential-report.csv'), 'utf8');
    expect(csv).toContain('222222222222,');
    expect(csv).not.toContain('333333333333,');
    const summary = readSummary();
    expect(summary.coverage).toMatchObject({ expected: 4, reporting: 3, missing: 1, complete: false });
    const entry = summary.coverage.entries.find((e) => e.accountId === '333333333333');
    expect(entry).toMatchObject({ status: 'missing', reason: 'collection-failed' });
    expect(entry?.detail).toMatch(
      /^AssumeRole arn:aws:iam::333333333333:role\/OrganizationAccountAccessRole failed: AccessDenied: .*not authorized/,
    );
    expect(readFileSync(join(cwd, 'out', 'digest.html'), 'utf8')).toContain('333333333333');
    await flush();
    const err = stderr.text();
    // Printed once, as it failed; the end says so instead of printing it again.
    expect(err.split('\n').filter((line) => line.includes('333333333333'))).toHaveLength(1);
    expect(err).toContain('collect: 333333333333 Prod B failed: AssumeRole arn:aws:iam::333333333333');
    expect(err).toContain('credreport collect: coverage problems: the 1 failed account printed above\n');
    expect(err).toContain('outputs written, but coverage is incomplete (exit status 3)');
    expect(stdout.text()).toContain('Coverage INCOMPLETE: 3 of 4 expected accounts reporting, 1 missing.');
    expect(stdout.text()).not.toMatch(/failed, \d+ missing/);
  });

  it('lists an account whose collection fails with the collector error and its cause', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    const cmd = command({
      collect: async (_deps, opts) => {
        if (opts.accountId === '444444444444') {
          throw new CollectError('collection of account 444444444444 failed: AccessDenied', {
            cause: awsError('AccessDenied', 'not authorized to perform: iam:GenerateCredentialReport'),
          });
        }
        return { report: reportFor(opts.accountId), stats: { apiCalls: {}, users: 1, durationMs: 1 } };
      },
    });
    await expect(cmd.run([], io())).resolves.toBe(EXIT.incomplete);
    const entry = readSummary().coverage.entries.find((e) => e.accountId === '444444444444');
    expect(entry?.detail).toBe(
      'collection failed: CollectError: collection of account 444444444444 failed: AccessDenied' +
        ' (AccessDenied: not authorized to perform: iam:GenerateCredentialReport)',
    );
  });

  it('exits 1 and writes nothing when every account fails', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable(['222222222222', '333333333333']);
    const result = await command().run(['--accounts', '222222222222,333333333333'], io());
    expect(result).toBe(EXIT.error);
    expect(existsSync(join(cwd, 'out'))).toBe(false);
    await flush();
    expect(stderr.text()).toContain('every account failed (each is printed above); nothing written');
    expect(stderr.text().match(/222222222222 Prod A failed: AssumeRole/g)).toHaveLength(1);
  });

  it('fails before touching any account when the local credentials do not work', async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(awsError('InvalidClientTokenId', 'The security token included in the request is invalid.'));
    const error = await command()
      .run([], io())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsSetupError);
    expect((error as Error).message).toMatch(
      /^AWS rejected the credentials of the default credential chain \(InvalidClientTokenId\)/,
    );
    expect(fetchCalls).toEqual([]);
  });

  it('points to --metadata-in when Organizations denies access', async () => {
    callerIs(`arn:aws:iam::222222222222:user/member`);
    const cmd = command({
      fetchOrgMetadata: async () => {
        throw new Error('Could not read the organization structure: AccessDeniedException', {
          cause: awsError('AccessDeniedException', 'You don’t have permissions to access this resource.'),
        });
      },
    });
    const error = await cmd.run([], io()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectOrgError);
    expect((error as Error).message).toMatch(
      /access denied: run with credentials of the management account .* or pass --metadata-in FILE/,
    );
  });

  it('prints plain progress lines when stderr is not a terminal', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable(['444444444444']);
    await command().run([], io());
    await flush();
    expect(stderr.text()).not.toContain('\r');
    expect(stderr.text()).toMatch(/^collect: 4\/4 accounts, 1 failed, 0:0\d elapsed$/m);
  });

  it('draws a progress bar when stderr is a terminal', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable(['444444444444']);
    const ioTty = io(true);
    await command().run([], ioTty);
    await flush();
    const text = stderr.text();
    expect(text).toContain('\rcollect [');
    expect(text).toMatch(/\rcollect \[#{24}\] 4\/4 accounts {2}1 failed {2}0:0\d elapsed {2}ETA 0:00\s*\n/);
    // The failure is printed on its own line, above the bar.
    expect(text).toMatch(/\rcollect: 444444444444 [\w ]+ failed: AssumeRole/);
  });

  it('runs the real collector over the assumed-role IAM client of each account', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    const seen = new Set<string>();
    for (const Command of IAM_COMMANDS) {
      const build = Command as unknown as new (input: unknown) => object;
      // One handler per command class: the handler only sees the input, the class says what was asked.
      iamMock
        .on(Command as typeof GetCredentialReportCommand)
        .callsFake(async (input: unknown, getClient: () => unknown) => {
          const { accessKeyId } = await (getClient() as IAMClient).config.credentials();
          const accountId =
            accessKeyId === 'AKIACALLER0000000001' ? CALLER : accessKeyId.replace(/^ASIA/, '');
          seen.add(accountId);
          return simulatedIamResponse({ accountId, users: 2, now: NOW }, new build(input));
        });
    }
    const cmd = createCollectCommand({
      aws: (options) => createAwsSession({ region: 'eu-west-1', ...options }),
      fetchOrgMetadata: async () => ({ metadata: METADATA, calls: {}, warnings: [] }),
      clock: () => NOW,
    });
    await expect(cmd.run(['--now', NOW.toISOString()], io())).resolves.toBe(EXIT.ok);
    expect([...seen].sort()).toEqual(ACTIVE_IDS);
    const summary = readSummary();
    expect(summary.totals.users).toBe(4 * 3); // 2 users + the root row per account
    expect(summary.coverage.complete).toBe(true);
  });

  it.each([
    [['--metadata-in', 'a', '--metadata-out', 'b'], /cannot be used together/],
    [['--metadata-out', 'b', '--ou', 'ou-ab12-11111111'], /--accounts and --ou do not apply/],
    [['--role', 'arn:aws:iam::1:role/x'], /--role takes the role name/],
    [['--role', 'bad name'], /not a valid IAM role name/],
    [['--concurrency', '0'], /--concurrency must be a positive whole number/],
    [['--concurrency', '65'], /--concurrency must be at most 64/],
    [['--accounts', '12345'], /not a 12-digit account id/],
    [['--ou', 'prod'], /not an OU id/],
    [['--now', 'soon'], /--now must be an ISO 8601 time/],
  ])('rejects %j as a usage error before calling AWS', async (args, message) => {
    const error = await command()
      .run(args, io())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect(sts).not.toHaveReceivedCommand(GetCallerIdentityCommand);
  });

  it('streams reports into the merge: rows are written before the last account is collected and few reports are held', async () => {
    const total = 1600;
    const concurrency = DEFAULT_COLLECT_CONCURRENCY;
    const out = join(cwd, 'out');
    let collected = 0;
    let peakHeld = 0;
    let finalNameSeenDuringRun = false;
    /** Accounts whose rows are in the temporary credential-report.csv so far. */
    const writtenSoFar = (): number => {
      const temp = existsSync(out)
        ? readdirSync(out).find((n) => n.startsWith('credential-report.csv') && n.endsWith('.tmp'))
        : undefined;
      if (!temp) return 0;
      const text = readFileSync(join(out, temp), 'utf8');
      return new Set(text.match(/^\d{12}(?=,)/gm) ?? []).size;
    };
    let collectedWhenFirstWritten: number | undefined;
    const cmd = command({
      aws: fakeSession(),
      fetchOrgMetadata: async () => ({ metadata: manyAccounts(total), calls: {}, warnings: [] }),
      collect: async (_deps, opts) => {
        // Accounts finish out of order: some take a few more turns of the event loop than others.
        const turns = Number(opts.accountId.slice(-1)) % 4;
        for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
        if (collected % 50 === 0) {
          const written = writtenSoFar();
          if (written > 0) collectedWhenFirstWritten ??= collected;
          peakHeld = Math.max(peakHeld, collected - written);
          finalNameSeenDuringRun ||= existsSync(join(out, 'credential-report.csv'));
        }
        collected++;
        return { report: reportFor(opts.accountId), stats: { apiCalls: {}, users: 1, durationMs: 1 } };
      },
    });
    await expect(cmd.run([], io())).resolves.toBe(EXIT.ok);

    expect(collected).toBe(total);
    // The merge wrote long before the last account was collected…
    expect(collectedWhenFirstWritten).toBeDefined();
    expect(collectedWhenFirstWritten as number).toBeLessThan(total - 300);
    // …and what was collected but not yet written never exceeded the accounts in hand plus the
    // merge's reorder window (plus what the file streams buffer), far less than every report.
    expect(peakHeld).toBeLessThanOrEqual(concurrency + REORDER_WINDOW_REPORTS + 100);
    // Outputs appear under their names only at the end.
    expect(finalNameSeenDuringRun).toBe(false);
    expect(readdirSync(out).sort()).toEqual([
      'access-keys.csv',
      'credential-report.csv',
      'digest.html',
      'findings.csv',
      'findings.ocsf.json',
      'state.json.gz',
      'summary.json',
    ]);
    // Out-of-order completion still gives a file in account order, with no out-of-order warning.
    const ids = [...readFileSync(join(out, 'credential-report.csv'), 'utf8').matchAll(/^(\d{12}),/gm)].map(
      (m) => m[1],
    );
    expect(new Set(ids).size).toBe(total);
    expect(ids).toEqual([...ids].sort());
    expect(JSON.stringify(readSummary().warnings ?? [])).not.toMatch(/out of order/);
  });

  it('documents every option it accepts in --help', () => {
    const { help } = command();
    for (const [name, spec] of Object.entries(COLLECT_OPTIONS)) {
      expect(help).toContain(`--${name}`);
      if ('short' in spec) expect(help).toContain(`-${spec.short} `);
    }
  });

  it('reads the organization at the wall-clock time with no tag budget when --now is in the past', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await command().run(['--now', '2025-06-01T00:00:00Z', '--stale-hours', '100000'], io());
    expect(fetchCalls).toEqual([{ now: NOW, budgetMs: Infinity, withIam: true }]);
    expect(readSummary().generatedAt).toBe('2025-06-01T00:00:00.000Z');
  });

  it('fails before touching any account when --out is not a writable directory', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    writeFileSync(join(cwd, 'taken'), 'a file');
    const error = await command()
      .run(['--out', 'taken/reports'], io())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputDirError);
    expect((error as Error).message).toMatch(
      /cannot write to --out .*taken\/reports: .*taken is not a directory/,
    );
    expect(collectedWith.size).toBe(0);
    expect(fetchCalls).toEqual([]);
  });

  it('prints each of many failures once, as it happens, and not again at the end', async () => {
    const cmd = command({
      aws: fakeSession((id) => id !== '200000000000'),
      fetchOrgMetadata: async () => ({ metadata: manyAccounts(25), calls: {}, warnings: [] }),
    });
    await expect(cmd.run([], io())).resolves.toBe(EXIT.incomplete);
    await flush();
    const text = stderr.text();
    expect(text.match(/^collect: 2000000000\d\d A\d+ failed: AssumeRole .*AccessDenied/gm)).toHaveLength(24);
    expect(text.split('\n').filter((line) => line.includes('AssumeRole'))).toHaveLength(24);
    expect(text).toContain('coverage problems: the 24 failed accounts printed above');
    expect(readSummary().coverage.entries.filter((e) => e.reason === 'collection-failed')).toHaveLength(24);
  });

  it('writes to the directory given with -o', async () => {
    callerIs(`arn:aws:iam::${CALLER}:user/auditor`);
    rolesAssumable();
    await expect(command().run(['-o', 'elsewhere', '--accounts', CALLER], io())).resolves.toBe(EXIT.ok);
    expect(existsSync(join(cwd, 'elsewhere', 'credential-report.csv'))).toBe(true);
  });
});
