/**
 * What the outputs must say about the seeded organization, derived from the scenario spec and the rules of
 * docs/ARCHITECTURE.md §6–§7 — independently of the core's code, so a regression there shows up here.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { FINDING_IDS, FindingId } from '../../core/types';
import { Csv, parseCsv } from './harness';
import {
  ExpectedPrivileges,
  SEEDED_SCP_DENIED_ACTIONS,
  SEEDED_SCP_NAME,
  SeededAccount,
  SeededKey,
  SeededOrg,
  SeededUser,
} from './scenario';

/** The cell as the CSVs must write it: a leading = + - @ tab or CR gets a `'` (formula injection). */
export function neutralised(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/**
 * Findings of a seeded IAM user evaluated `ageDays` after seeding (every credential was created, and the
 * `used` keys last used, at seeding time; passwords were never used).
 */
export function expectedUserFindings(
  user: SeededUser,
  ageDays: number,
  privileges: ExpectedPrivileges = user.spec.expect,
): FindingId[] {
  const t = DEFAULT_THRESHOLDS;
  const active = user.keys.filter((k) => k.status === 'Active');
  const found = new Set<FindingId>();
  const password = user.spec.password ?? false;
  const { admin, s3Read, rdsRead, dynamodbRead } = privileges;
  if (password && !(user.spec.mfa ?? false)) found.add('console-without-mfa');
  // Keys younger than graceDays are spared (they may simply not have been used yet).
  if (ageDays >= t.graceDays && password && active.some((k) => !k.used)) found.add('key-created-at-setup');
  if (ageDays > t.unusedDays && ageDays >= t.graceDays && (password || active.length > 0))
    found.add('credential-unused');
  if (active.length >= 2) found.add('multiple-active-keys');
  if (ageDays > t.rotationDays && active.length > 0) found.add('key-not-rotated');
  if (admin && active.length > 0) found.add('privileged-key');
  if ((s3Read || rdsRead || dynamodbRead) && active.length > 0) found.add('data-read-key');
  if (hasDirectPolicies(user)) found.add('user-direct-policies');
  return FINDING_IDS.filter((id) => found.has(id));
}

/** CIS "permissions only through groups": the scenario attached a managed or inline policy to the user itself. */
export function hasDirectPolicies(user: SeededUser): boolean {
  return (
    (user.spec.managedPolicies?.length ?? 0) > 0 || Object.keys(user.spec.inlinePolicies ?? {}).length > 0
  );
}

/** Findings of one key (the access-keys.csv row) under the same assumptions. */
export function expectedKeyFindings(
  user: SeededUser,
  key: SeededKey,
  ageDays: number,
  privileges: ExpectedPrivileges = user.spec.expect,
): FindingId[] {
  if (key.status !== 'Active') return [];
  const t = DEFAULT_THRESHOLDS;
  const found = new Set<FindingId>();
  const password = user.spec.password ?? false;
  const { admin, s3Read, rdsRead, dynamodbRead } = privileges;
  if (ageDays >= t.graceDays && password && !key.used) found.add('key-created-at-setup');
  if (ageDays > t.unusedDays && ageDays >= t.graceDays) found.add('credential-unused');
  if (user.keys.filter((k) => k.status === 'Active').length >= 2) found.add('multiple-active-keys');
  if (ageDays > t.rotationDays) found.add('key-not-rotated');
  if (admin) found.add('privileged-key');
  if (s3Read || rdsRead || dynamodbRead) found.add('data-read-key');
  return FINDING_IDS.filter((id) => found.has(id));
}

/**
 * The services whose actions can prove each flag (docs/ARCHITECTURE.md §7.1: admin needs an IAM permission
 * write, the data reads are S3, RDS (IAM auth, Data API, Modify*) and DynamoDB (and DAX) actions), written
 * out here rather than read from the core.
 */
const FLAG_SERVICES: Readonly<Record<keyof ExpectedPrivileges, readonly string[]>> = {
  admin: ['iam'],
  s3Read: ['s3'],
  rdsRead: ['rds-db', 'rds-data', 'rds'],
  dynamodbRead: ['dynamodb', 'dax'],
};

/** Whether an SCP Deny pattern (`s3:*`, `*`) covers every action of `service`. */
const deniesService = (pattern: string, service: string): boolean =>
  pattern === '*' || pattern.toLowerCase() === `${service}:*`;

/**
 * The flags of a seeded user once the seeded SCP is applied (docs/ARCHITECTURE.md §7 "SCPs and RCPs"): in a
 * member account at or below the OU the SCP is attached to, a flag all of whose services the SCP denies
 * outright is cleared (every grant proving it ends in one of those actions); the management account is
 * not subject to SCPs. Returns the flags and which were cleared.
 */
export function expectedPrivilegesAfterScps(
  org: SeededOrg,
  account: SeededAccount,
  user: SeededUser,
): { privileges: ExpectedPrivileges; cleared: (keyof ExpectedPrivileges)[] } {
  const granted = user.spec.expect;
  const ou = org.scpOuPath;
  const below =
    ou !== undefined &&
    !account.isManagement &&
    (account.ouPath === `Root/${ou}` || account.ouPath.startsWith(`Root/${ou}/`));
  if (!below) return { privileges: granted, cleared: [] };
  const cleared = (Object.keys(FLAG_SERVICES) as (keyof ExpectedPrivileges)[]).filter(
    (flag) =>
      granted[flag] &&
      FLAG_SERVICES[flag].every((service) =>
        SEEDED_SCP_DENIED_ACTIONS.some((p) => deniesService(p, service)),
      ),
  );
  const privileges: Record<keyof ExpectedPrivileges, boolean> = { ...granted };
  for (const flag of cleared) privileges[flag] = false;
  return { privileges, cleared };
}

/** `data_read_path`'s prefix per data flag (docs/ARCHITECTURE.md §6). */
export const DATA_PATH_PREFIX = { s3Read: 's3', rdsRead: 'rds', dynamodbRead: 'dynamodb' } as const;

/** The text a flag cleared by the seeded SCP shows in its path column. */
export const blockedBySeededScp = (org: SeededOrg): string =>
  `blocked by SCP ${org.scpId} ${SEEDED_SCP_NAME}`;

export const splitFindings = (cell: string | undefined): string[] =>
  cell ? cell.split(';').filter(Boolean) : [];

/** Rows of a CSV indexed by `account_id|user` (credential report) — throws on a duplicate. */
export function indexRows(
  csv: Csv,
  key: (row: Record<string, string>) => string,
): Map<string, Record<string, string>> {
  const index = new Map<string, Record<string, string>>();
  for (const row of csv.rows) {
    const k = key(row);
    if (index.has(k)) throw new Error(`duplicate row ${k}`);
    index.set(k, row);
  }
  return index;
}

export const userKey = (accountId: string, userName: string): string =>
  `${accountId}|${neutralised(userName)}`;
export const rowUserKey = (row: Record<string, string>): string => `${row.account_id}|${row.user}`;

/** Every (account, user) the org's ACTIVE accounts hold. */
export function expectedUsers(org: SeededOrg): { account: SeededAccount; user: SeededUser }[] {
  return org.activeAccounts().flatMap((account) => account.users.map((user) => ({ account, user })));
}

export const FORMULA_START = /^[=+\-@\t\r]/;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** The child was killed after `timeoutMs` (code is then null). */
  readonly timedOut: boolean;
}

/**
 * Bundles the CLI the way `npm run build` does (scripts/build.mjs: esbuild, cli/main.ts, node, cjs) into
 * a fresh temporary directory, so the suite runs the installable artefact from the current sources, not
 * a possibly stale dist/. Returns the bundle's path; the caller removes `dir`.
 */
export async function buildCli(): Promise<{ dir: string; entry: string }> {
  const root = join(__dirname, '..', '..');
  const dir = await mkdtemp(join(tmpdir(), 'credreport-cli-'));
  const entry = join(dir, 'credreport.js');
  await build({
    entryPoints: [join(root, 'cli', 'main.ts')],
    outfile: entry,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
  });
  return { dir, entry };
}

/**
 * Runs the built CLI bundle (`buildCli`) with `args` as a child process, with only PATH, HOME and `env`
 * in its environment. Killed after `timeoutMs` (keep it below the calling test's timeout so no CLI
 * process outlives the test).
 */
export function runCli(
  entry: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: join(__dirname, '..', '..'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, durationMs: Date.now() - started, timedOut });
    });
  });
}

/** Reads and strictly parses a CSV file the CLI wrote. */
export async function parseCsvFile(path: string): Promise<Csv> {
  return parseCsv(await readFile(path, 'utf8'));
}
