/** Builders shared by the member agent and event contract tests (not a test file itself). */
import { CREDENTIAL_REPORT_COLUMNS, ROOT_USER } from '../../../core/columns';
import type { AccessKeyRecord, AccountReport, UserPrivileges } from '../../../core/types';

export const ACCOUNT = '123456789012';
export const GENERATED = '2024-05-01T08:00:00.000Z';
export const COLLECTED = '2024-05-01T08:01:30.000Z';

export interface FixtureKey {
  /** ISO with +00:00 as IAM writes it, e.g. 2023-01-01T00:00:00+00:00 */
  readonly created: string;
  readonly active?: boolean;
  readonly lastUsed?: string;
}

export interface FixtureUser {
  readonly name: string;
  readonly password?: boolean;
  readonly mfa?: boolean;
  readonly keys?: readonly FixtureKey[];
}

function keyCells(key: FixtureKey | undefined): string[] {
  if (key === undefined) return ['false', 'N/A', 'N/A', 'N/A', 'N/A'];
  return [
    String(key.active ?? true),
    key.created,
    key.lastUsed ?? 'N/A',
    key.lastUsed ? 'us-east-1' : 'N/A',
    key.lastUsed ? 's3' : 'N/A',
  ];
}

/** A credential report CSV as IAM writes it: header, the root row, one row per user. */
export function reportCsv(users: readonly FixtureUser[], account = ACCOUNT): string {
  const rows = [CREDENTIAL_REPORT_COLUMNS.join(',')];
  rows.push(
    [
      ROOT_USER,
      `arn:aws:iam::${account}:root`,
      '2019-01-01T00:00:00+00:00',
      'not_supported',
      '2024-04-01T00:00:00+00:00',
      'not_supported',
      'not_supported',
      'true',
      ...keyCells(undefined),
      ...keyCells(undefined),
      'false',
      'N/A',
      'false',
      'N/A',
    ].join(','),
  );
  for (const user of users) {
    const password = user.password ?? false;
    rows.push(
      [
        user.name,
        `arn:aws:iam::${account}:user/${user.name}`,
        '2021-01-01T00:00:00+00:00',
        String(password),
        password ? '2024-04-20T00:00:00+00:00' : 'N/A',
        password ? '2021-01-01T00:00:00+00:00' : 'N/A',
        'N/A',
        String(user.mfa ?? false),
        ...keyCells(user.keys?.[0]),
        ...keyCells(user.keys?.[1]),
        'false',
        'N/A',
        'false',
        'N/A',
      ].join(','),
    );
  }
  return rows.join('\n') + '\n';
}

/** `n` users named with a prefix (long names allowed: IAM permits 64 characters). */
export function manyUsers(n: number, prefix = 'user'): FixtureUser[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}${String(i).padStart(5, '0')}`,
    password: i % 3 === 0,
    mfa: i % 6 === 0,
    keys:
      i % 2 === 0 ? [{ created: '2023-01-01T00:00:00+00:00', lastUsed: '2024-04-30T00:00:00+00:00' }] : [],
  }));
}

export function sampleAccountReport(
  overrides: Partial<AccountReport> = {},
  users: readonly FixtureUser[] = manyUsers(3),
): AccountReport {
  const accessKeys: AccessKeyRecord[] = users.flatMap((u, i) =>
    (u.keys ?? []).map((k, slot) => ({
      userName: u.name,
      accessKeyId: `AKIA${String(i).padStart(12, '0')}${slot}ABC`.slice(0, 20),
      status: 'Active' as const,
      createDate: new Date(k.created).toISOString(),
    })),
  );
  const privileges: UserPrivileges[] = users.map((u, i) => ({
    userName: u.name,
    admin: i === 0,
    s3Read: i % 2 === 0,
    rdsRead: false,
    dynamodbRead: false,
    grantingPolicies:
      i === 0
        ? {
            admin: ['arn:aws:iam::aws:policy/AdministratorAccess'],
            s3Read: ['arn:aws:iam::aws:policy/AdministratorAccess'],
          }
        : i % 2 === 0
          ? { s3Read: [`user:${u.name}/read-bucket`] }
          : {},
  }));
  return {
    schemaVersion: 1,
    accountId: ACCOUNT,
    generatedTime: GENERATED,
    collectedTime: COLLECTED,
    credentialReportCsv: reportCsv(users),
    accessKeys,
    privileges,
    ...overrides,
  };
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789.-_+=@';

/**
 * `n` users with varied names (random characters of IAM's alphabet, exactly `nameLength` long), key dates
 * and last-use, so that compression sees realistic entropy. Without `keyShare`, 77.5 % of users have a
 * key (55 % one, 22.5 % two); with it, that share of users has a key, 15 % of them two.
 */
export function syntheticUsers(
  n: number,
  opts: { nameLength?: number; seed?: number; keyShare?: number } = {},
): FixtureUser[] {
  const random = prng(opts.seed ?? 1);
  const nameLength = opts.nameLength ?? 20;
  const day = (from: number, span: number): string => {
    const d = new Date(
      Date.UTC(2024, 4, 1) -
        Math.floor(from + random() * span) * 86_400_000 -
        Math.floor(random() * 86_400) * 1000,
    );
    return d.toISOString().replace('.000Z', '+00:00');
  };
  return Array.from({ length: n }, (_, i) => {
    const suffix = `-${i}`;
    let name = '';
    while (name.length < nameLength - suffix.length)
      name += NAME_CHARS[Math.floor(random() * NAME_CHARS.length)];
    const keyCount =
      opts.keyShare === undefined
        ? random() < 0.55
          ? 1
          : random() < 0.5
            ? 2
            : 0
        : random() < opts.keyShare
          ? random() < 0.15
            ? 2
            : 1
          : 0;
    const keys: FixtureKey[] = Array.from({ length: keyCount }, () => ({
      created: day(30, 1500),
      active: random() < 0.85,
      ...(random() < 0.7 ? { lastUsed: day(0, 29) } : {}),
    }));
    return { name: `${name}${suffix}`, password: random() < 0.3, mfa: random() < 0.2, keys };
  });
}
