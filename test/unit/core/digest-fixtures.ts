/**
 * Summaries for the digest's bounds (core/cap-rows.ts, docs/ARCHITECTURE.md §6 "Email"), built through the
 * real merge: an organization with 50,000 findings and 2,000 silent accounts, and a previous run whose
 * CSV carries three 10 MB user names (the `credreport merge --previous` path, which no ingest bound guards).
 */
import { Readable, Writable } from 'node:stream';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import type { PreviousRun } from '../../../core/delta';
import { readPreviousRun } from '../../../core/previous-run';
import { buildAccountReport, SampleUser } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { Summary } from '../../../core/summary';
import type { AccountMetadata } from '../../../core/types';

export const NOW = new Date('2024-06-01T06:00:00Z');

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

export function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<MergeResult> {
  return runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: discard(), accessKeys: discard() },
  );
}

const accountId = (i: number): string => String(400000000000 + i);

function account(i: number): AccountMetadata {
  return {
    id: accountId(i),
    name: `acct-${i}`,
    email: `${i}@example.com`,
    state: 'ACTIVE',
    ouPath: `Root/OU-${i % 40}`,
    ouIdPath: ['r-1'],
    tags: { Environment: `env-${i % 35}` },
  };
}

export const REPORTING_ACCOUNTS = 50;
export const USERS_PER_ACCOUNT = 1_000;
export const SILENT_ACCOUNTS = 2_000;

/**
 * 50 accounts × 1,000 users, each with one finding (`console-without-mfa`) and one active key; 2,000 more
 * expected accounts that never reported; a previous run that knew none of the users, so all 50,000
 * findings are new.
 */
export async function fiftyThousandFindings(): Promise<MergeResult> {
  const reports = Array.from({ length: REPORTING_ACCOUNTS }, (_, a) => {
    const users: SampleUser[] = Array.from({ length: USERS_PER_ACCOUNT }, (_, u) => ({
      name: `user-${u}`,
      createdDaysAgo: 30,
      password: { changedDaysAgo: 20, lastUsedDaysAgo: 1 },
      mfa: false,
      // A key past rotation: every key is a riskiest-keys candidate (a finding) as well.
      keys: [{ active: true, createdDaysAgo: 120, lastUsedDaysAgo: 1 }],
    }));
    return buildAccountReport({
      accountId: accountId(a),
      generatedMs: NOW.getTime() - 3_600_000,
      root: { createdDaysAgo: 500, mfa: true },
      users,
    });
  });
  const ids = new Set(reports.map((r) => r.accountId));
  const previous: PreviousRun = {
    generatedAt: '2024-05-31T06:00:00.000Z',
    users: new Map(),
    keys: new Map(),
    accounts: ids,
    reportingAccounts: ids,
  };
  return merge({
    metadata: {
      organizationId: 'o-bounds12345',
      fetchedAt: NOW.toISOString(),
      accounts: Array.from({ length: REPORTING_ACCOUNTS + SILENT_ACCOUNTS }, (_, i) => account(i)),
    },
    reports,
    previous,
  });
}

export const HUGE_NAME_CHARS = 10 * 1024 * 1024;
/** Three distinct 10 MB user names, each full of a character HTML escaping lengthens. */
export const HUGE_NAMES = ['<', '&', '"'].map((ch, i) => `${i}${ch.repeat(HUGE_NAME_CHARS - 1)}`);

/**
 * One account whose previous run (a credential-report.csv handed to `merge --previous`, read by the one
 * previous-run reader) listed three users with `nameChars`-long names and a finding each; this run's
 * report has none of them, so they come back as removed users with resolved findings. No ingest bound
 * applies on this path: the names reach the renderer whole.
 */
export async function longRemovedUsers(names: readonly string[]): Promise<MergeResult> {
  const id = accountId(0);
  const csv = [
    'account_id,user,findings',
    ...names.map((name) => `${id},"${name.replace(/"/g, '""')}",console-without-mfa`),
    `${id},<root_account>,`,
    '',
  ].join('\n');
  const previous = await readPreviousRun({ credentialReport: Readable.from([csv]) });
  const report = buildAccountReport({
    accountId: id,
    generatedMs: NOW.getTime() - 3_600_000,
    root: { createdDaysAgo: 500, mfa: true },
    users: [{ name: 'alice', createdDaysAgo: 30, mfa: true, keys: [{ active: true, createdDaysAgo: 200 }] }],
  });
  return merge({ reports: [report], previous, organizationLabel: 'o-huge' });
}

/**
 * `summary` with the three 10 MB names wherever a list of the digest shows a value: the removed users and
 * resolved findings the previous-run path above produces (built directly: csv-parse needs ~13 s for 30 MB
 * of quoted cells), and, as a hostile `merge` input could, the riskiest key, a coverage detail and a warning.
 */
export function withHugeNames(summary: Summary): Summary {
  const delta = summary.delta!;
  const accountId = summary.byAccount[0]!.accountId;
  const [key] = summary.riskiestKeys;
  return {
    ...summary,
    riskiestKeys: HUGE_NAMES.map((userName) => ({ ...key!, userName })),
    coverage: {
      ...summary.coverage,
      entries: HUGE_NAMES.map((detail, i) => ({
        accountId: String(500000000000 + i),
        accountName: detail,
        status: 'missing' as const,
        reason: 'collection-failed' as const,
        detail,
      })),
    },
    delta: {
      ...delta,
      removedUsers: { count: 3, items: HUGE_NAMES.map((userName) => ({ accountId, userName })) },
      resolvedFindings: {
        count: 3,
        items: HUGE_NAMES.map((userName) => ({
          accountId,
          userName,
          finding: 'console-without-mfa' as const,
          severity: 'high' as const,
        })),
        byFinding: { 'console-without-mfa': { users: 3, keys: 0 } },
      },
    },
    warnings: HUGE_NAMES,
  };
}
