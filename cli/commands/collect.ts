/**
 * `credreport collect`: from a laptop, with management-account (or delegated-admin) credentials,
 * assume a role into every ACTIVE account of the organization, collect its credential report, key
 * inventory and privileges with the member agent's collector, and write the digest's outputs locally.
 */
import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fetchOrgMetadata as realFetchOrgMetadata } from '../../collector/org-metadata';
import { errorMessage, errorNames, isAccessDenied } from '../../core/aws-errors';
import { RunInput, RunItem, withProblems } from '../../core/run-pipeline';
import { DEFAULT_COLLECT_ROLE_NAME, RECOMMENDED_READONLY_ROLE_NAME, S3_LAYOUT } from '../../core/names';
import type { OrgMetadata, ReportProblem } from '../../core/types';
import type { CisVersion } from '../../core/finding-ids';
import { collectAccountReport as realCollectAccountReport } from '../../collector/account-collector';
import {
  parseAccountIdsOption,
  parseCommandLine,
  parseDateOption,
  parseIntegerOption,
  parseListOption,
  parseThresholdOptions,
  THRESHOLD_HELP,
  THRESHOLD_OPTIONS,
  CIS_VERSION_HELP,
  CIS_VERSION_OPTION,
  parseCisVersionOption,
} from '../args';
import { AwsSession, AwsSessionFactory, createAwsSession } from '../aws';
import {
  collectAccounts,
  CollectOrgError,
  DEFAULT_COLLECT_CONCURRENCY,
  formatMetadataFile,
  MAX_COLLECT_CONCURRENCY,
  MetadataFileError,
  parseMetadataFile,
  selectAccounts,
} from '../collect-org';
import { Command, CommandIo, EXIT, exitStatusFor, UsageError } from '../command';
import { Progress } from '../progress';
import { writeRunOutputs } from '../outputs';

/** What `collect` talks to; every field defaults to the real thing, tests replace some. */
export interface CollectCommandDeps {
  readonly aws: AwsSessionFactory;
  readonly collect: typeof realCollectAccountReport;
  readonly fetchOrgMetadata: typeof realFetchOrgMetadata;
  /** Wall clock: "now" when `--now` is not given, the metadata's fetch time, problem times. */
  readonly clock: () => Date;
  /** Milliseconds clock of the progress display. */
  readonly progressClock: () => number;
}

/** Every option `collect` accepts (its `--help` documents each one). */
export const COLLECT_OPTIONS = {
  profile: { type: 'string' },
  region: { type: 'string' },
  role: { type: 'string' },
  concurrency: { type: 'string' },
  accounts: { type: 'string' },
  ou: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'metadata-out': { type: 'string' },
  'metadata-in': { type: 'string' },
  now: { type: 'string' },
  'tag-keys': { type: 'string' },
  'breakdown-tag': { type: 'string' },
  ...CIS_VERSION_OPTION,
  ...THRESHOLD_OPTIONS,
} as const;

/** The shared threshold lines, with their descriptions moved to this help's column. */
const THRESHOLD_LINES = THRESHOLD_HELP.replace(/^( +--\S+ \S+) +/gm, (_line, option: string) =>
  option.padEnd(24),
);

const HELP = `Usage: credreport collect [options]

Collects every IAM user and access key of the organization from here, nothing deployed: reads the
accounts, OUs and tags from AWS Organizations, assumes a role into every ACTIVE account (your own
account is read with your own credentials), runs the member agent's collector there (credential
report, access keys with last use, privileges) and writes to --out:
  credential-report.csv  access-keys.csv  findings.csv  state.json.gz  summary.json  digest.html
Reports are merged as they arrive, so memory stays bounded however many accounts there are.

Credentials and region:
  --profile NAME        named profile (default: the default credential chain, AWS_PROFILE, …)
  --region REGION       region of STS and the clients (default: AWS_REGION or the profile's region)
                        Role ARNs use the partition of your own identity (aws, aws-cn, aws-us-gov).

Accounts:
  --role NAME           role assumed in every account (default ${DEFAULT_COLLECT_ROLE_NAME}; a path is
                        allowed; a read-only ${RECOMMENDED_READONLY_ROLE_NAME} role is recommended, see the README)
  --accounts ID,ID      only these accounts (12-digit ids)
  --ou ID,ID            only ACTIVE accounts under these OUs (ou-… or a root r-…)
                        (--accounts and --ou together: accounts matching both)
  --concurrency N       accounts collected at once, 1-${MAX_COLLECT_CONCURRENCY} (default ${DEFAULT_COLLECT_CONCURRENCY})

Organization metadata (to split the work between people with different credentials):
  --metadata-out FILE   only write the organization's accounts, OU paths and tags to FILE (- for
                        stdout) and exit
  --metadata-in FILE    use that file instead of calling AWS Organizations

Output:
  --out DIR, -o DIR     output directory (default ./out); files are written under temporary names
                        and renamed at the end, so a failed run leaves a previous set intact
  --now TIME            ISO 8601 time the findings are evaluated at (default: now)
  --tag-keys K,K        account tag columns (default: every tag key in the organization)
  --breakdown-tag KEY   tag the summary breaks findings down by (default Environment)
${CIS_VERSION_HELP.replace('  --cis-version V    ', '  --cis-version V     ')}
${THRESHOLD_LINES}

Progress goes to stderr: a bar on a terminal, a plain line every 10 s otherwise; a failed account is
printed with its reason as it fails, and listed again at the end.

Exit status: ${EXIT.ok} every account collected, ${EXIT.incomplete} outputs written but coverage incomplete (an
account failed, or its report was rejected or stale: listed with its reason in summary.json and
digest.html; the same rule as merge and run, summary.json's coverage.complete), ${EXIT.error} nothing written (no
credentials, Organizations unreadable without --metadata-in, every account failed), ${EXIT.usage} bad arguments.
`;

/** Most failed accounts listed on the terminal at the end (all are in summary.json). */
const MAX_LISTED_PROBLEMS = 20;

const ROLE_NAME = /^[\w+=,.@-]+(?:\/[\w+=,.@-]+)*$/;

interface CollectArgs {
  readonly profile?: string;
  readonly region?: string;
  readonly roleName: string;
  readonly concurrency: number;
  readonly accountIds?: string[];
  readonly ouIds?: string[];
  readonly outDir: string;
  readonly metadataOut?: string;
  readonly metadataIn?: string;
  readonly now?: Date;
  readonly tagKeys?: string[];
  readonly breakdownTag?: string;
  readonly cisVersion?: CisVersion;
  readonly thresholds: RunInput['thresholds'];
}

function parseCollectArgs(argv: readonly string[], cwd: string): CollectArgs {
  const { values } = parseCommandLine(argv, COLLECT_OPTIONS);
  if (values['metadata-in'] !== undefined && values['metadata-out'] !== undefined) {
    throw new UsageError('--metadata-in and --metadata-out cannot be used together');
  }
  if (values['metadata-out'] !== undefined && (values.accounts !== undefined || values.ou !== undefined)) {
    throw new UsageError('--metadata-out writes the whole organization; --accounts and --ou do not apply');
  }
  const role = values.role ?? DEFAULT_COLLECT_ROLE_NAME;
  if (role.startsWith('arn:')) {
    throw new UsageError(
      `--role takes the role name (the account id and partition are filled in), got '${role}'`,
    );
  }
  if (!ROLE_NAME.test(role.replace(/^\/+/, '')))
    throw new UsageError(`--role: not a valid IAM role name: '${role}'`);
  const ouIds = values.ou === undefined ? undefined : parseListOption('ou', values.ou);
  const badOu =
    ouIds?.filter((id) => !/^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/.test(id)) ?? [];
  if (badOu.length > 0)
    throw new UsageError(`--ou: not an OU id (ou-…) or root id (r-…): ${badOu.join(', ')}`);
  return {
    profile: values.profile,
    region: values.region,
    roleName: role,
    concurrency:
      values.concurrency === undefined
        ? DEFAULT_COLLECT_CONCURRENCY
        : parseIntegerOption('concurrency', values.concurrency, { min: 1, max: MAX_COLLECT_CONCURRENCY }),
    accountIds:
      values.accounts === undefined ? undefined : parseAccountIdsOption('accounts', values.accounts),
    ouIds,
    outDir: resolve(cwd, values.out ?? 'out'),
    metadataOut:
      values['metadata-out'] === undefined || values['metadata-out'] === '-'
        ? values['metadata-out']
        : resolve(cwd, values['metadata-out']),
    metadataIn: values['metadata-in'] === undefined ? undefined : resolve(cwd, values['metadata-in']),
    now: values.now === undefined ? undefined : parseDateOption('now', values.now),
    tagKeys: values['tag-keys'] === undefined ? undefined : parseListOption('tag-keys', values['tag-keys']),
    breakdownTag: values['breakdown-tag'],
    cisVersion: parseCisVersionOption(values['cis-version']),
    thresholds: parseThresholdOptions(values),
  };
}

async function readMetadataIn(path: string): Promise<OrgMetadata> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new MetadataFileError(`cannot read --metadata-in ${path}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return parseMetadataFile(text, path);
}

/**
 * Reads the organization. Tags are read for every account however long that takes (the aggregator's
 * time budget exists for a Lambda's 15 minutes; a terminal has no such limit, and a report without
 * the tags of half the organization is not what was asked for).
 */
async function fetchMetadata(
  deps: CollectCommandDeps,
  session: AwsSession,
  io: CommandIo,
): Promise<OrgMetadata> {
  try {
    const result = await deps.fetchOrgMetadata(session.organizations(), {
      now: deps.clock(),
      budgetMs: Number.POSITIVE_INFINITY,
      iam: session.iam(),
    });
    for (const warning of result.warnings) io.stderr.write(`collect: warning: ${warning}\n`);
    return result.metadata;
  } catch (error) {
    const names = errorNames(error).filter((n) => n !== 'Error' && n !== 'OrgMetadataError');
    const why = isAccessDenied(error)
      ? 'access denied: run with credentials of the management account or of a delegated administrator for AWS Organizations,'
      : names.includes('AWSOrganizationsNotInUseException')
        ? 'this account is not in an organization;'
        : `${names[0] ?? 'error'}: ${errorMessage(error)};`;
    throw new CollectOrgError(
      `cannot read the organization (${why} or pass --metadata-in FILE written by someone who can with --metadata-out)`,
      { cause: error },
    );
  }
}

/**
 * Fails before any account is touched when `dir` (or, if it does not exist yet, the nearest existing
 * folder above it) cannot be written: finding out after collecting a thousand accounts is too late.
 */
async function checkWritableDir(dir: string): Promise<void> {
  let current = dir;
  for (;;) {
    const info = await stat(current).catch(() => undefined);
    if (info) {
      const usable =
        info.isDirectory() &&
        (await access(current, constants.W_OK).then(
          () => true,
          () => false,
        ));
      if (usable) return;
      throw new CollectOrgError(
        `cannot write to --out ${dir}: ${current} is ${info.isDirectory() ? 'not writable' : 'not a directory'}`,
      );
    }
    const parent = dirname(current);
    if (parent === current) throw new CollectOrgError(`cannot write to --out ${dir}`);
    current = parent;
  }
}

function problemLine(problem: ReportProblem, names: ReadonlyMap<string, string>): string {
  const name = names.get(problem.accountId);
  return `  ${problem.accountId}${name ? ` ${name}` : ''}: ${problem.detail}`;
}

function listProblems(io: CommandIo, problems: readonly ReportProblem[], metadata: OrgMetadata): void {
  const names = new Map(metadata.accounts.map((a) => [a.id, a.name]));
  for (const problem of problems.slice(0, MAX_LISTED_PROBLEMS)) {
    io.stderr.write(`${problemLine(problem, names)}\n`);
  }
  if (problems.length > MAX_LISTED_PROBLEMS) {
    io.stderr.write(
      `  … and ${problems.length - MAX_LISTED_PROBLEMS} more (see ${S3_LAYOUT.outputFiles.summary})\n`,
    );
  }
}

/** `head`, then the rest of `rest`: the run gets every item, the head having been awaited. */
async function* prepend(
  head: readonly RunItem[],
  rest: AsyncGenerator<RunItem, void, undefined>,
): AsyncGenerator<RunItem, void, undefined> {
  yield* head;
  yield* rest;
}

async function runCollect(deps: CollectCommandDeps, argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCollectArgs(argv, io.cwd);
  const session = deps.aws({
    ...(args.profile !== undefined ? { profile: args.profile } : {}),
    ...(args.region !== undefined ? { region: args.region } : {}),
  });
  try {
    const caller = await session.callerIdentity();
    io.stderr.write(`collect: running as ${caller.arn}\n`);

    if (args.metadataOut !== undefined) {
      const metadata = await fetchMetadata(deps, session, io);
      const text = formatMetadataFile(metadata);
      if (args.metadataOut === '-') io.stdout.write(text);
      else await writeFile(args.metadataOut, text);
      const active = metadata.accounts.filter((a) => a.state === 'ACTIVE').length;
      io.stderr.write(
        `collect: wrote metadata of ${metadata.accounts.length} accounts (${active} ACTIVE)` +
          `${args.metadataOut === '-' ? '' : ` to ${args.metadataOut}`}\n`,
      );
      return EXIT.ok;
    }

    await checkWritableDir(args.outDir);
    const metadata = args.metadataIn
      ? await readMetadataIn(args.metadataIn)
      : await fetchMetadata(deps, session, io);
    const accountIds = selectAccounts(metadata, {
      ...(args.accountIds ? { accountIds: args.accountIds } : {}),
      ...(args.ouIds ? { ouIds: args.ouIds } : {}),
    });
    const concurrency = Math.min(args.concurrency, accountIds.length);
    io.stderr.write(
      `collect: ${accountIds.length} account(s), role ${args.roleName}, concurrency ${concurrency}\n`,
    );

    // Console only (listed at the end); the run gets the same problems as items of its stream.
    const failed: ReportProblem[] = [];
    let assumeRoleCalls = 0;
    let iamCalls = 0;
    const progress = new Progress({
      stream: io.stderr,
      label: 'collect',
      total: accountIds.length,
      clock: deps.progressClock,
    });
    const items = withProblems((onProblem) =>
      collectAccounts(
        {
          ownIam: () => session.iam(),
          assumedIam: (roleArn) => session.assumedIam(roleArn),
          collect: deps.collect,
          clock: deps.clock,
        },
        {
          caller,
          accountIds,
          roleName: args.roleName,
          concurrency,
          onSettled: (outcome) => {
            if (outcome.assumedRole) assumeRoleCalls++;
            if (outcome.ok) {
              for (const count of Object.values(outcome.apiCalls)) iamCalls += count;
            } else {
              failed.push(outcome.problem);
              onProblem(outcome.problem);
              progress.log(`collect: ${outcome.accountId} failed: ${outcome.problem.detail}`);
            }
            progress.tick(outcome.ok ? 'ok' : 'failed');
          },
        },
      ),
    );
    let merged: Awaited<ReturnType<typeof writeRunOutputs>> | undefined;
    try {
      // Nothing is created in --out until one account has succeeded: a run where every account fails
      // leaves no trace. From then on the pipeline writes while the other accounts are collected.
      const head: RunItem[] = [];
      for (let next = await items.next(); !next.done; next = await items.next()) {
        head.push(next.value);
        if (next.value.kind === 'report') break;
      }
      if (head.some((item) => item.kind === 'report')) {
        merged = await writeRunOutputs(args.outDir, {
          now: args.now ?? deps.clock(),
          thresholds: args.thresholds,
          metadata,
          expectedAccountIds: accountIds,
          items: prepend(head, items),
          ...(args.tagKeys ? { tagKeys: args.tagKeys } : {}),
          ...(args.breakdownTag ? { breakdownTag: args.breakdownTag } : {}),
          ...(args.cisVersion ? { cisVersion: args.cisVersion } : {}),
          ...(metadata.organizationId ? { organizationLabel: metadata.organizationId } : {}),
        });
      }
    } finally {
      // If the run gave up (an output could not be written), start no further account.
      await items.return(undefined);
      progress.finish();
    }
    io.stderr.write(`collect: ${assumeRoleCalls} AssumeRole and ${iamCalls} IAM calls\n`);
    if (!merged) {
      io.stderr.write(`collect: every account failed; nothing written to ${args.outDir}\n`);
      listProblems(io, failed, metadata);
      return EXIT.error;
    }

    const { summary, verdict } = merged.result;
    const { totals } = summary;
    const files = S3_LAYOUT.outputFiles;
    io.stdout.write(
      [
        `Wrote ${files.credentialReport}, ${files.accessKeys}, ${files.findings}, ${files.state}, ${files.summary}, ${files.digest} to ${args.outDir}`,
        `  accounts: ${verdict.reporting} of ${verdict.expected} reporting` +
          (verdict.missing > 0 ? `, ${verdict.missing} missing` : '') +
          (verdict.stale > 0 ? ` (${verdict.stale} of them stale)` : ''),
        `  users: ${totals.users} (${totals.usersWithFindings} with findings); access keys: ${totals.accessKeys} (${totals.activeAccessKeys} active)`,
        '',
      ].join('\n'),
    );
    // The one coverage verdict (core/coverage.ts, docs/ARCHITECTURE.md §12): every gap is a coverage entry (a failed
    // account, a report the merge rejected, a stale one), and any makes the run incomplete (exit status 3).
    if (verdict.complete) return exitStatusFor(verdict);

    io.stderr.write(
      `collect: coverage incomplete: ${failed.length} account(s) failed` +
        `, ${verdict.missing} missing (${verdict.stale} of them stale) in the summary\n`,
    );
    listProblems(io, failed, metadata);
    return exitStatusFor(verdict);
  } finally {
    session.destroy();
  }
}

/** Builds `collect` with its dependencies replaced (tests, bench). */
export function createCollectCommand(overrides: Partial<CollectCommandDeps> = {}): Command {
  const deps: CollectCommandDeps = {
    aws: createAwsSession,
    collect: realCollectAccountReport,
    fetchOrgMetadata: realFetchOrgMetadata,
    clock: () => new Date(),
    progressClock: Date.now,
    ...overrides,
  };
  return {
    name: 'collect',
    summary: 'assume a role into every account and write the merged report locally (nothing deployed)',
    help: HELP,
    run: (argv, io) => runCollect(deps, argv, io),
  };
}

export const collectCommand: Command = createCollectCommand();
