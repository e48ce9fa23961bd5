/**
 * `credreport collect`: from a laptop, with management-account (or delegated-admin) credentials,
 * assume a role into every ACTIVE account of the organization, collect its credential report, key
 * inventory and privileges with the member agent's collector, and write the digest's outputs locally.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fetchOrgMetadata as realFetchOrgMetadata } from '../../collector/org-metadata';
import { errorMessage, errorNames, isAccessDenied } from '../../core/aws-errors';
import { grantsOfReport } from '../../core/merge';
import { RunInput, RunItem, withProblems } from '../../core/run-pipeline';
import { DEFAULT_COLLECT_ROLE_NAME, RECOMMENDED_READONLY_ROLE_NAME } from '../../core/names';
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
  FAIL_ON_HELP,
  FAIL_ON_OPTION,
  OUTPUT_HELP,
  OUTPUT_OPTIONS,
  OutputMode,
  parseFailOnOption,
  parseOutputOptions,
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
import { Command, CommandIo, EXIT, EXIT_HELP, UsageError } from '../command';
import { finishRun } from '../end-summary';
import { onInterrupt, trackTarget } from '../interrupt';
import { Progress } from '../progress';
import { checkWritableDir, writeRunOutputs } from '../outputs';
import { EXEMPTIONS_HELP, EXEMPTIONS_OPTIONS, readExemptionsOption } from '../exemptions-option';
import {
  OWNER_HELP,
  OWNER_OPTIONS,
  ownerPartitionOf,
  parseOwnerOptions,
  writeOwnerDigests,
  type OwnerOutput,
} from '../owners';
import type { PreviousRun } from '../../core/delta';
import type { Severity } from '../../core/finding-ids';
import { readPreviousDir } from './merge';

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
  previous: { type: 'string' },
  ...EXEMPTIONS_OPTIONS,
  ...CIS_VERSION_OPTION,
  ...THRESHOLD_OPTIONS,
  ...FAIL_ON_OPTION,
  ...OUTPUT_OPTIONS,
  ...OWNER_OPTIONS,
} as const;

const HELP = `Usage: credreport collect [options]

Collects every IAM user and access key of the organization from here, nothing
deployed: reads the accounts, OUs and tags from AWS Organizations, assumes a
role into every ACTIVE account (your own account is read with your own
credentials), runs the member agent's collector there (credential report,
access keys with last use, privileges) and writes to --out:
  credential-report.csv  access-keys.csv  findings.csv  state.json.gz
  summary.json  digest.html
Reports are merged as they arrive, so memory stays bounded however many
accounts there are.

Credentials and region:
  --profile NAME       named profile (default: the default credential chain,
                       AWS_PROFILE, …)
  --region REGION      region of STS and the clients (default: AWS_REGION or
                       the profile's region). Role ARNs use the partition of
                       your own identity (aws, aws-cn, aws-us-gov).

Accounts:
  --role NAME          role assumed in every account (default
                       ${DEFAULT_COLLECT_ROLE_NAME}; a path is allowed;
                       a read-only ${RECOMMENDED_READONLY_ROLE_NAME} role is recommended,
                       see the README)
  --accounts ID,ID     only these accounts (12-digit ids)
  --ou ID,ID           only ACTIVE accounts under these OUs (ou-… or a root
                       r-…); with --accounts: accounts matching both
  --concurrency N      accounts collected at once, 1-${MAX_COLLECT_CONCURRENCY} (default ${DEFAULT_COLLECT_CONCURRENCY})

Organization metadata (to split the work between people with different
credentials):
  --metadata-out FILE  only write the organization's accounts, OU paths and
                       tags to FILE (- for stdout) and exit
  --metadata-in FILE   use that file instead of calling AWS Organizations

Output:
  --out DIR, -o DIR    output directory (default ./out); files are written
                       under temporary names and renamed at the end, so a
                       failed or interrupted run leaves a previous set intact
  --previous DIR       a previous run's output folder: the summary gets what
                       changed since (as for merge)
  --now TIME           ISO 8601 time the findings are evaluated at (default:
                       now)
  --tag-keys K,K       account tag columns (default: every tag key in the
                       organization)
  --breakdown-tag KEY  tag the summary breaks findings down by (default
                       Environment)
${EXEMPTIONS_HELP}
${CIS_VERSION_HELP}
${THRESHOLD_HELP}
${FAIL_ON_HELP}
${OWNER_HELP}
${OUTPUT_HELP}

Progress goes to stderr: a bar on a terminal, a plain line every 10 s
otherwise; a failed account is printed with its reason once, as it fails.
The run ends with the summary: findings by severity, coverage, the files.

Exit status ${EXIT.incomplete}: an account failed, or its report was rejected or stale (listed
with its reason in summary.json and digest.html; the same rule as merge and
run). Exit status ${EXIT.error}: nothing written (no credentials, Organizations unreadable
without --metadata-in, every account failed).
${EXIT_HELP}
`;

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
  readonly previous?: string;
  /** `--exemptions` and `--exemption-max-days` as given (read before any AWS call). */
  readonly exemptionValues: { readonly exemptions?: string; readonly 'exemption-max-days'?: string };
  readonly failOn?: Severity;
  readonly mode: OutputMode;
  /** `--owners-out` and its options (cli/owners.ts). */
  readonly owners?: OwnerOutput;
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
    previous: values.previous === undefined ? undefined : resolve(cwd, values.previous),
    exemptionValues: {
      ...(values.exemptions !== undefined ? { exemptions: values.exemptions } : {}),
      ...(values['exemption-max-days'] !== undefined
        ? { 'exemption-max-days': values['exemption-max-days'] }
        : {}),
    },
    failOn: parseFailOnOption(values['fail-on']),
    mode: parseOutputOptions(values),
    owners: parseOwnerOptions(values, (dir) => resolve(cwd, dir)),
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

function problemLine(problem: ReportProblem, names: ReadonlyMap<string, string>): string {
  const name = names.get(problem.accountId);
  return `  ${problem.accountId}${name ? ` ${name}` : ''}: ${problem.detail}`;
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
  const { mode } = args;
  // Before any AWS call: a bad exemptions file stops the command here.
  const exemptions = await readExemptionsOption(args.exemptionValues, io.cwd);
  const say = (line: string): void => {
    if (!mode.quiet) io.stderr.write(`${line}\n`);
  };
  const session = deps.aws({
    ...(args.profile !== undefined ? { profile: args.profile } : {}),
    ...(args.region !== undefined ? { region: args.region } : {}),
  });
  try {
    const caller = await session.callerIdentity();
    say(`collect: running as ${caller.arn}`);

    if (args.metadataOut !== undefined) {
      const metadata = await fetchMetadata(deps, session, io);
      const text = formatMetadataFile(metadata);
      if (args.metadataOut === '-') io.stdout.write(text);
      else await writeFile(args.metadataOut, text);
      const active = metadata.accounts.filter((a) => a.state === 'ACTIVE').length;
      say(
        `collect: wrote metadata of ${metadata.accounts.length} accounts (${active} ACTIVE)` +
          `${args.metadataOut === '-' ? '' : ` to ${args.metadataOut}`}`,
      );
      if (mode.json && args.metadataOut !== '-') {
        io.stdout.write(
          `${JSON.stringify({ command: 'collect', exitStatus: EXIT.ok, metadataOut: args.metadataOut, accounts: metadata.accounts.length, active })}\n`,
        );
      }
      return EXIT.ok;
    }

    trackTarget(args.outDir);
    await checkWritableDir(args.outDir);
    const previous: PreviousRun | undefined = args.previous
      ? await readPreviousDir(args.previous)
      : undefined;
    const metadata = args.metadataIn
      ? await readMetadataIn(args.metadataIn)
      : await fetchMetadata(deps, session, io);
    const accountIds = selectAccounts(metadata, {
      ...(args.accountIds ? { accountIds: args.accountIds } : {}),
      ...(args.ouIds ? { ouIds: args.ouIds } : {}),
    });
    const concurrency = Math.min(args.concurrency, accountIds.length);
    say(
      `collect: ${accountIds.length === 1 ? '1 account' : `${accountIds.length} accounts`}, role ${args.roleName}, concurrency ${concurrency}`,
    );

    // Console only: each failure is printed once, as it happens; the run gets the same problems as items.
    const failed: ReportProblem[] = [];
    const names = new Map(metadata.accounts.map((a) => [a.id, a.name]));
    let assumeRoleCalls = 0;
    let iamCalls = 0;
    const progress = new Progress({
      stream: io.stderr,
      label: 'collect',
      total: accountIds.length,
      clock: deps.progressClock,
      quiet: mode.quiet,
    });
    const releaseProgress = onInterrupt(() => progress.abort());
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
              progress.log(
                `collect: ${problemLine(outcome.problem, names).trim().replace(': ', ' failed: ')}`,
              );
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
          grantsOf: grantsOfReport,
          ...(args.tagKeys ? { tagKeys: args.tagKeys } : {}),
          ...(args.breakdownTag ? { breakdownTag: args.breakdownTag } : {}),
          ...(args.cisVersion ? { cisVersion: args.cisVersion } : {}),
          ...(metadata.organizationId ? { organizationLabel: metadata.organizationId } : {}),
          ...(previous ? { previous } : {}),
          ...(exemptions ? { exemptions } : {}),
          ...(args.owners ? { partitionOf: ownerPartitionOf(metadata, args.owners) } : {}),
        });
      }
    } finally {
      // If the run gave up (an output could not be written), start no further account.
      await items.return(undefined);
      progress.finish();
      releaseProgress();
    }
    const apiCalls = `${assumeRoleCalls} AssumeRole and ${iamCalls} IAM calls`;
    if (!merged) {
      if (mode.verbose) io.stderr.write(`collect: ${apiCalls}\n`);
      io.stderr.write(
        `collect: every account failed (each is printed above); nothing written to ${args.outDir}\n`,
      );
      if (mode.json) {
        io.stdout.write(
          `${JSON.stringify({ command: 'collect', exitStatus: EXIT.error, error: 'every account failed', problems: failed.map((p) => problemLine(p, names).trim()) })}\n`,
        );
      }
      return EXIT.error;
    }

    const { summary, verdict } = merged.result;
    const ownerFiles = args.owners
      ? await writeOwnerDigests(
          args.owners,
          merged.result.partitions,
          metadata.organizationId ?? 'AWS Organization',
        )
      : [];
    return finishRun(io, {
      command: 'collect',
      headline: 'Collected',
      summary,
      verdict,
      files: [...Object.values(merged.paths), ...ownerFiles],
      mode,
      ...(args.failOn ? { failOn: args.failOn } : {}),
      // Printed in full as they failed: not again.
      printed: new Set(failed.map((p) => p.accountId)),
      verboseLines: [apiCalls],
      jsonExtra: { apiCalls: { assumeRole: assumeRoleCalls, iam: iamCalls } },
    });
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
    summary: 'collect every account through a role, write the report locally',
    help: HELP,
    run: (argv, io) => runCollect(deps, argv, io),
  };
}

export const collectCommand: Command = createCollectCommand();
