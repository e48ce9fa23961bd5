/**
 * `credreport collect`: from a laptop, with management-account (or delegated-admin) credentials,
 * assume a role into every ACTIVE account of the organization, collect its credential report, key
 * inventory and privileges with the member agent's collector, and write the digest's outputs locally.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fetchOrgMetadata as realFetchOrgMetadata } from '../../aggregator/org-metadata';
import { runMerge as realRunMerge } from '../../core/merge';
import type { MergeInput, MergeResult, MergeSinks } from '../../core/merge';
import { DEFAULT_COLLECT_ROLE_NAME, S3_LAYOUT } from '../../core/names';
import type { OrgMetadata, ReportProblem } from '../../core/types';
import { collectAccountReport as realCollectAccountReport } from '../../member-agent/collector';
import {
  parseAccountIdsOption,
  parseCommandLine,
  parseDateOption,
  parseIntegerOption,
  parseListOption,
  parseThresholdOptions,
  THRESHOLD_HELP,
  THRESHOLD_OPTIONS,
} from '../args';
import {
  AwsSession,
  AwsSessionFactory,
  createAwsSession,
  errorMessage,
  errorNames,
  isAccessDenied,
} from '../aws';
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
import { Command, CommandIo, EXIT, UsageError } from '../command';
import { Progress } from '../progress';

/** What `collect` talks to; every field defaults to the real thing, tests replace some. */
export interface CollectCommandDeps {
  readonly aws: AwsSessionFactory;
  readonly collect: typeof realCollectAccountReport;
  readonly fetchOrgMetadata: typeof realFetchOrgMetadata;
  readonly runMerge: (input: MergeInput, sinks: MergeSinks) => Promise<MergeResult>;
  /** "now" when `--now` is not given. */
  readonly clock: () => Date;
  /** Milliseconds clock of the progress display. */
  readonly progressClock: () => number;
}

const OPTIONS = {
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
  ...THRESHOLD_OPTIONS,
} as const;

const HELP = `Usage: credreport collect [options]

Collects every IAM user and access key of the organization from here, nothing deployed: reads the
accounts, OUs and tags from AWS Organizations, assumes a role into every ACTIVE account (your own
account is read with your own credentials), and writes to --out:
  credential-report.csv  access-keys.csv  summary.json  digest.html

Credentials and region:
  --profile NAME        named profile (default: the default credential chain, AWS_PROFILE, …)
  --region REGION       region of STS and the clients (default: AWS_REGION or the profile's region)

Accounts:
  --role NAME           role assumed in every account (default ${DEFAULT_COLLECT_ROLE_NAME};
                        a read-only CredreportReadOnly role is recommended, see the README)
  --accounts ID,ID      only these accounts (12-digit ids)
  --ou ID,ID            only ACTIVE accounts under these OUs (ou-… or a root r-…)
                        (--accounts and --ou together: accounts matching both)
  --concurrency N       accounts collected at once, 1-${MAX_COLLECT_CONCURRENCY} (default ${DEFAULT_COLLECT_CONCURRENCY})

Organization metadata (to split the work between people with different credentials):
  --metadata-out FILE   only write the organization's accounts, OU paths and tags to FILE (- for
                        stdout) and exit
  --metadata-in FILE    use that file instead of calling AWS Organizations

Output:
  --out DIR             output directory (default ./out)
  --now TIME            ISO time the findings are evaluated at (default: now)
  --tag-keys K,K        account tag columns (default: every tag key in the organization)
  --breakdown-tag KEY   tag the summary breaks findings down by (default Environment)
${THRESHOLD_HELP}

Exit status: ${EXIT.ok} every account collected, ${EXIT.incomplete} outputs written but some account failed
(listed with its reason in summary.json and digest.html), ${EXIT.error} nothing collected (no credentials,
Organizations unreadable without --metadata-in, every account failed), ${EXIT.usage} bad arguments.
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
  readonly thresholds: MergeInput['thresholds'];
}

function parseCollectArgs(argv: readonly string[], cwd: string): CollectArgs {
  const { values } = parseCommandLine(argv, OPTIONS);
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

async function fetchMetadata(
  deps: CollectCommandDeps,
  session: AwsSession,
  now: Date,
  io: CommandIo,
): Promise<OrgMetadata> {
  try {
    const result = await deps.fetchOrgMetadata(session.organizations(), { now });
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

/** Writes the four outputs through temporary names so a failed run never leaves half a set. */
async function writeOutputs(
  deps: CollectCommandDeps,
  outDir: string,
  input: MergeInput,
): Promise<MergeResult> {
  await mkdir(outDir, { recursive: true });
  const files = S3_LAYOUT.outputFiles;
  const names = [files.credentialReport, files.accessKeys, files.summary, files.digest];
  const temp = (name: string): string => join(outDir, `.${name}.${process.pid}.tmp`);
  try {
    const result = await deps.runMerge(input, {
      credentialReport: createWriteStream(temp(files.credentialReport)),
      accessKeys: createWriteStream(temp(files.accessKeys)),
    });
    await writeFile(temp(files.summary), `${JSON.stringify(result.summary, null, 2)}\n`);
    await writeFile(temp(files.digest), result.html);
    for (const name of names) await rename(temp(name), join(outDir, name));
    return result;
  } finally {
    await Promise.all(names.map((name) => rm(temp(name), { force: true })));
  }
}

function problemLine(problem: ReportProblem, metadata: OrgMetadata): string {
  const account = metadata.accounts.find((a) => a.id === problem.accountId);
  const name = account ? ` ${account.name}` : '';
  return `  ${problem.accountId}${name}: ${problem.detail}`;
}

async function runCollect(deps: CollectCommandDeps, argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseCollectArgs(argv, io.cwd);
  const now = args.now ?? deps.clock();
  const session = deps.aws({
    ...(args.profile !== undefined ? { profile: args.profile } : {}),
    ...(args.region !== undefined ? { region: args.region } : {}),
  });
  try {
    const caller = await session.callerIdentity();
    io.stderr.write(`collect: running as ${caller.arn}\n`);

    if (args.metadataOut !== undefined) {
      const metadata = await fetchMetadata(deps, session, now, io);
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

    const metadata = args.metadataIn
      ? await readMetadataIn(args.metadataIn)
      : await fetchMetadata(deps, session, now, io);
    const accountIds = selectAccounts(metadata, {
      ...(args.accountIds ? { accountIds: args.accountIds } : {}),
      ...(args.ouIds ? { ouIds: args.ouIds } : {}),
    });
    const concurrency = Math.min(args.concurrency, accountIds.length);
    io.stderr.write(
      `collect: ${accountIds.length} account(s), role ${args.roleName}, concurrency ${concurrency}\n`,
    );

    const progress = new Progress({
      stream: io.stderr,
      label: 'collect',
      total: accountIds.length,
      clock: deps.progressClock,
    });
    let collected;
    try {
      collected = await collectAccounts(
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
            if (!outcome.ok) progress.log(`collect: ${outcome.accountId} failed: ${outcome.problem.detail}`);
            progress.tick(outcome.ok ? 'ok' : 'failed');
          },
        },
      );
    } finally {
      progress.finish();
    }

    const { reports, problems } = collected;
    const iamCalls = Object.values(collected.apiCalls).reduce((sum, n) => sum + n, 0);
    io.stderr.write(`collect: ${collected.assumeRoleCalls} AssumeRole and ${iamCalls} IAM calls\n`);
    if (reports.length === 0) {
      io.stderr.write(`collect: every account failed; nothing written to ${args.outDir}\n`);
      for (const problem of problems.slice(0, MAX_LISTED_PROBLEMS))
        io.stderr.write(`${problemLine(problem, metadata)}\n`);
      return EXIT.error;
    }

    const result = await writeOutputs(deps, args.outDir, {
      now,
      thresholds: args.thresholds,
      metadata,
      expectedAccountIds: accountIds,
      reports,
      problems,
      ...(args.tagKeys ? { tagKeys: args.tagKeys } : {}),
      ...(args.breakdownTag ? { breakdownTag: args.breakdownTag } : {}),
      ...(metadata.organizationId ? { organizationLabel: metadata.organizationId } : {}),
    });
    const { summary } = result;
    const { coverage, totals } = summary;
    const files = S3_LAYOUT.outputFiles;
    io.stdout.write(
      [
        `Wrote ${files.credentialReport}, ${files.accessKeys}, ${files.summary}, ${files.digest} to ${args.outDir}`,
        `  accounts: ${coverage.reporting} of ${coverage.expected} reporting` +
          (coverage.missing > 0 ? `, ${coverage.missing} missing` : '') +
          (coverage.stale > 0 ? `, ${coverage.stale} stale` : ''),
        `  users: ${totals.users} (${totals.usersWithFindings} with findings); access keys: ${totals.accessKeys} (${totals.activeAccessKeys} active)`,
        '',
      ].join('\n'),
    );
    if (problems.length === 0 && coverage.complete) return EXIT.ok;

    const listed = problems.slice(0, MAX_LISTED_PROBLEMS);
    io.stderr.write(
      `collect: coverage incomplete: ${problems.length} account(s) failed` +
        (coverage.complete
          ? ''
          : `, ${coverage.missing} missing and ${coverage.stale} stale in the summary`) +
        '\n',
    );
    for (const problem of listed) io.stderr.write(`${problemLine(problem, metadata)}\n`);
    if (problems.length > listed.length) {
      io.stderr.write(`  … and ${problems.length - listed.length} more (see ${files.summary})\n`);
    }
    return EXIT.incomplete;
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
    runMerge: realRunMerge,
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
