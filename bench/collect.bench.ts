/**
 * `credreport collect` over simulated accounts with injected API latency: the default concurrency
 * versus one account at a time, as a ratio in one run. Each case runs the whole command — the real
 * orchestration (cli/collect-org.ts), the real collector (collector/account-collector.ts) and the real
 * streaming merge writing the four outputs to a temporary directory; only the AWS side is simulated:
 * AssumeRole and every IAM call wait `--collect-latency-ms` and answer like a small account
 * (`--collect-users` users with one active key each).
 *
 * `npm run bench -- --only collect [--collect-accounts 1000] [--collect-latency-ms 30]
 *   [--collect-users 3] [--collect-concurrency 8] [--collect-serial-accounts 40]`
 *
 * The serial case over 1,000 accounts would take minutes of pure waiting, so it is measured over
 * `--collect-serial-accounts` accounts and extrapolated linearly (every simulated account costs the same;
 * the row says how many were measured).
 */
import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AwsSession } from '../cli/aws';
import { DEFAULT_COLLECT_CONCURRENCY } from '../cli/collect-org';
import { createCollectCommand } from '../cli/commands/collect';
import { CREDENTIAL_REPORT_COLUMNS } from '../core/columns';
import { sleep } from '../core/concurrency';
import type { Summary } from '../core/summary';
import type { OrgMetadata } from '../core/types';
import { collectAccountReport } from '../collector/account-collector';
import { BenchModule, BenchRow, timed, withPeakRss } from './harness';

/** A report timestamp as IAM writes it (`2024-06-01T06:00:00+00:00`). */
const reportTime = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** One simulated account: `users` IAM users `user-<i>`, each with one active key created 100 days before `now`. */
export interface SimulatedAccount {
  readonly accountId: string;
  readonly users: number;
  readonly now: Date;
}

const userName = (i: number): string => `user-${i}`;
const keyId = (account: SimulatedAccount, i: number): string =>
  `AKIA${account.accountId.slice(-8)}${String(i).padStart(8, '0')}`;
const keyCreated = (account: SimulatedAccount): Date => new Date(account.now.getTime() - 100 * 86_400_000);

/** The credential report CSV of a simulated account (root row first, as IAM writes it). */
export function simulatedCredentialReport(account: SimulatedAccount): string {
  const created = reportTime(new Date(account.now.getTime() - 400 * 86_400_000));
  const rotated = reportTime(keyCreated(account));
  const used = reportTime(new Date(account.now.getTime() - 86_400_000));
  const row = (cells: Record<string, string>): string =>
    CREDENTIAL_REPORT_COLUMNS.map((column) => cells[column] ?? 'N/A').join(',');
  const root = row({
    user: '<root_account>',
    arn: `arn:aws:iam::${account.accountId}:root`,
    user_creation_time: created,
    password_enabled: 'not_supported',
    password_last_used: 'no_information',
    password_last_changed: 'not_supported',
    password_next_rotation: 'not_supported',
    mfa_active: 'true',
    access_key_1_active: 'false',
    access_key_2_active: 'false',
    cert_1_active: 'false',
    cert_2_active: 'false',
  });
  const users = Array.from({ length: account.users }, (_, i) =>
    row({
      user: userName(i),
      arn: `arn:aws:iam::${account.accountId}:user/${userName(i)}`,
      user_creation_time: created,
      password_enabled: 'false',
      mfa_active: 'false',
      access_key_1_active: 'true',
      access_key_1_last_rotated: rotated,
      access_key_1_last_used_date: used,
      access_key_1_last_used_region: 'us-east-1',
      access_key_1_last_used_service: 's3',
      access_key_2_active: 'false',
      cert_1_active: 'false',
      cert_2_active: 'false',
    }),
  );
  return `${[CREDENTIAL_REPORT_COLUMNS.join(','), root, ...users].join('\n')}\n`;
}

/** The IAM API's answer to `command` for a simulated account (undefined for a command it does not model). */
export function simulatedIamResponse(account: SimulatedAccount, command: unknown): unknown {
  const names = Array.from({ length: account.users }, (_, i) => userName(i));
  if (command instanceof GenerateCredentialReportCommand) return { State: 'COMPLETE' };
  if (command instanceof GetCredentialReportCommand) {
    return {
      Content: new TextEncoder().encode(simulatedCredentialReport(account)),
      ReportFormat: 'text/csv',
      GeneratedTime: account.now,
    };
  }
  if (command instanceof GetAccountAuthorizationDetailsCommand) {
    return {
      UserDetailList: names.map((name, i) => ({
        UserName: name,
        UserId: `AIDA${account.accountId}${String(i).padStart(5, '0')}`,
        Arn: `arn:aws:iam::${account.accountId}:user/${name}`,
        Path: '/',
        CreateDate: new Date(account.now.getTime() - 400 * 86_400_000),
        UserPolicyList: [],
        GroupList: [],
        AttachedManagedPolicies: [],
      })),
      GroupDetailList: [],
      Policies: [],
      IsTruncated: false,
    };
  }
  if (command instanceof ListUsersCommand) {
    return { Users: names.map((name) => ({ UserName: name })), IsTruncated: false };
  }
  if (command instanceof ListAccessKeysCommand) {
    const name = command.input.UserName ?? '';
    const i = names.indexOf(name);
    return {
      AccessKeyMetadata:
        i < 0
          ? []
          : [
              {
                UserName: name,
                AccessKeyId: keyId(account, i),
                Status: 'Active',
                CreateDate: keyCreated(account),
              },
            ],
      IsTruncated: false,
    };
  }
  if (command instanceof GetAccessKeyLastUsedCommand) {
    return { AccessKeyLastUsed: { LastUsedDate: account.now, ServiceName: 's3', Region: 'us-east-1' } };
  }
  return undefined;
}

/** A real IAMClient whose `send` waits `latencyMs` and answers from {@link simulatedIamResponse}. */
export function simulatedIamClient(
  account: SimulatedAccount,
  latencyMs: number,
  counter: { calls: number },
): IAMClient {
  const client = new IAMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIASIMULATED0000000', secretAccessKey: 'simulated' },
  });
  const send = async (command: unknown): Promise<unknown> => {
    counter.calls++;
    if (latencyMs > 0) await sleep(latencyMs);
    const response = simulatedIamResponse(account, command);
    if (response === undefined) {
      throw Object.assign(new Error(`not simulated: ${(command as object).constructor.name}`), {
        name: 'NotSimulated',
      });
    }
    return response;
  };
  // The collector's paginators check `instanceof IAMClient`, so the client is real and only `send` is replaced.
  Object.defineProperty(client, 'send', { value: send });
  return client;
}

interface RunFigures {
  readonly ms: number;
  readonly exitCode: number;
  readonly reporting: number;
  readonly failed: number;
  readonly maxInFlight: number;
  readonly apiCalls: number;
  readonly peakRssMb: number;
}

const notSimulated = (): never => {
  throw new Error('not simulated by the collect bench');
};

/** Runs `credreport collect` over `accounts` simulated accounts (none of them the caller's). */
async function simulate(opts: {
  accounts: number;
  concurrency: number;
  latencyMs: number;
  users: number;
  now: Date;
}): Promise<RunFigures> {
  const callerAccountId = '000000000001';
  const metadata: OrgMetadata = {
    organizationId: 'o-bench00001',
    managementAccountId: callerAccountId,
    fetchedAt: opts.now.toISOString(),
    accounts: Array.from({ length: opts.accounts }, (_, i) => ({
      id: String(100_000_000_000 + i),
      name: `bench-${i}`,
      email: `aws+bench-${i}@example.com`,
      state: 'ACTIVE',
      ouPath: 'Root/Workloads',
      ouIdPath: ['r-bench', 'ou-bench-workloads'],
      tags: { Environment: i % 2 === 0 ? 'prod' : 'dev' },
    })),
  };
  const counter = { calls: 0 };
  const session: AwsSession = {
    options: {},
    region: async () => 'us-east-1',
    callerIdentity: async () => ({
      accountId: callerAccountId,
      arn: `arn:aws:iam::${callerAccountId}:user/bench`,
      partition: 'aws',
    }),
    async assumedIam(roleArn) {
      counter.calls++; // AssumeRole
      if (opts.latencyMs > 0) await sleep(opts.latencyMs);
      const accountId = roleArn.split(':')[4] ?? '';
      return simulatedIamClient({ accountId, users: opts.users, now: opts.now }, opts.latencyMs, counter);
    },
    iam: notSimulated,
    // Handed to the injected fetchOrgMetadata below, which does not use it.
    organizations: () => ({}) as never,
    s3: notSimulated,
    cloudformation: notSimulated,
    lambda: notSimulated,
    destroy: () => undefined,
  };
  let inFlight = 0;
  let maxInFlight = 0;
  const command = createCollectCommand({
    aws: () => session,
    fetchOrgMetadata: async () => ({ metadata, calls: {}, warnings: [] }),
    collect: async (deps, collectOpts) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await collectAccountReport(deps, collectOpts);
      } finally {
        inFlight--;
      }
    },
    clock: () => opts.now,
  });
  const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const dir = await mkdtemp(join(tmpdir(), 'credreport-bench-collect-'));
  try {
    const { value, peakRssMb } = await withPeakRss(() =>
      timed(() =>
        command.run(
          ['--out', dir, '--concurrency', String(opts.concurrency), '--role', 'CredreportReadOnly'],
          {
            stdout: discard,
            stderr: discard,
            env: {},
            cwd: dir,
          },
        ),
      ),
    );
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary;
    return {
      ms: value.ms,
      exitCode: value.value,
      reporting: summary.coverage.reporting,
      failed: summary.coverage.missing,
      maxInFlight,
      apiCalls: counter.calls,
      peakRssMb,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const collectBench: BenchModule = {
  name: 'collect',
  async run(options): Promise<BenchRow[]> {
    const accounts = options.int('collect-accounts', 1000);
    const latencyMs = options.int('collect-latency-ms', 30);
    const users = options.int('collect-users', 3);
    const concurrency = Math.max(1, options.int('collect-concurrency', DEFAULT_COLLECT_CONCURRENCY));
    const serialAccounts = Math.max(1, Math.min(accounts, options.int('collect-serial-accounts', 40)));
    const now = new Date('2024-06-01T06:00:00Z');

    const parallel = await simulate({ accounts, concurrency, latencyMs, users, now });
    const serial = await simulate({ accounts: serialAccounts, concurrency: 1, latencyMs, users, now });
    const serialPerAccountMs = serial.ms / serialAccounts;
    const serialExtrapolatedMs = serialPerAccountMs * accounts;
    const extrapolated = serialAccounts < accounts;
    return [
      {
        name: `collect: ${accounts.toLocaleString('en-US')} simulated accounts, ${latencyMs} ms per AWS call, concurrency ${concurrency} vs 1`,
        metrics: {
          accounts,
          latencyMsPerCall: latencyMs,
          usersPerAccount: users,
          awsCallsPerAccount: Math.round((parallel.apiCalls / accounts) * 10) / 10,
          concurrency,
          concurrentWallMs: Math.round(parallel.ms),
          concurrentAccountsPerSecond: Math.round((accounts / parallel.ms) * 1000 * 10) / 10,
          maxAccountsInFlight: parallel.maxInFlight,
          concurrentReporting: parallel.reporting,
          concurrentPeakRssMb: parallel.peakRssMb,
          serialAccountsMeasured: serialAccounts,
          serialMsPerAccount: Math.round(serialPerAccountMs),
          [extrapolated ? 'serialWallMsExtrapolated' : 'serialWallMs']: Math.round(serialExtrapolatedMs),
          speedup: Math.round((serialExtrapolatedMs / parallel.ms) * 10) / 10,
          failedAccounts: parallel.failed + serial.failed,
          exitCodes: `${parallel.exitCode}/${serial.exitCode}`,
          note: extrapolated
            ? `serial case measured over ${serialAccounts} accounts and extrapolated linearly to ${accounts}`
            : 'both cases measured in full',
        },
      },
    ];
  },
};
