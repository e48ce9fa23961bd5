/**
 * The orchestration behind `credreport collect`: which accounts to collect, and the collection of each
 * one through an assumed role, at bounded concurrency, streamed to the merge as reports arrive, where
 * one account's failure becomes a {@link ReportProblem} and never stops the others. No client is built here: the command (and
 * the tests and the bench) inject how to obtain each one.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import { selectExpectedAccounts } from '../core/org-metadata';
import { CredreportError } from '../core/errors';
import { OrgMetadataSchema } from '../core/org-metadata';
import { REORDER_WINDOW_REPORTS } from '../core/merge';
import type { AccountReport, OrgMetadata, ReportProblem } from '../core/types';
import type { collectAccountReport } from '../collector/account-collector';
import { errorMessage, errorName } from '../core/aws-errors';
import { AssumeRoleError, CallerIdentity, roleArnFor } from './aws';

/**
 * Accounts collected at once by default. The shared quotas are not what limits this: IAM calls made
 * with an assumed role count against the member account's own IAM quota (each worker is in a different
 * account), and the caller's account makes about one AssumeRole per member account, a handful per
 * second at this setting, far below STS's request rate quota. What bounds it is the laptop: each account
 * in flight holds its credential report and authorization details (megabytes for an account with
 * thousands of users) and a socket per service. Eight keeps that small while turning a run of 1,000
 * accounts at ~5 s each from ~80 min into ~10 min; raise it for an org of many small accounts.
 */
export const DEFAULT_COLLECT_CONCURRENCY = 8;
/** Upper bound of `--concurrency` (the shared HTTPS agent allows 64 sockets). */
export const MAX_COLLECT_CONCURRENCY = 64;

/** The run cannot go ahead at all (selection empty, metadata unreadable, …). */
export class CollectOrgError extends CredreportError {}

/** The metadata file given to `--metadata-in` is not one `--metadata-out` wrote. */
export class MetadataFileError extends CredreportError {}

/** Parses the text of a `--metadata-in` file; `source` names it in errors. */
export function parseMetadataFile(text: string, source: string): OrgMetadata {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MetadataFileError(`${source} is not JSON: ${errorMessage(error)}`, { cause: error });
  }
  const parsed = OrgMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') || '(top level)' : '';
    throw new MetadataFileError(
      `${source} is not organization metadata written by 'credreport collect --metadata-out': ${where}: ${issue?.message ?? 'invalid'}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Serialises metadata for `--metadata-out` (stable: accounts sorted by id). */
export function formatMetadataFile(metadata: OrgMetadata): string {
  const accounts = [...metadata.accounts].sort((a, b) => a.id.localeCompare(b.id));
  return `${JSON.stringify({ ...metadata, accounts }, null, 2)}\n`;
}

/**
 * The accounts to collect: ACTIVE ones, narrowed to those under `ouIds` (any id of an account's
 * `ouIdPath`; a root id means all) and to `accountIds` when given (both: accounts in both).
 * Throws CollectOrgError naming ids that are not in the metadata or not ACTIVE, or an empty result.
 */
export function selectAccounts(
  metadata: OrgMetadata,
  narrowing: { readonly accountIds?: readonly string[]; readonly ouIds?: readonly string[] } = {},
): string[] {
  const ouIds = narrowing.ouIds ?? [];
  const knownOus = new Set(metadata.accounts.flatMap((a) => a.ouIdPath));
  const unknownOus = ouIds.filter((id) => !knownOus.has(id));
  if (unknownOus.length > 0) {
    throw new CollectOrgError(`--ou: not an OU or root of the organization: ${unknownOus.join(', ')}`);
  }
  let selected = selectExpectedAccounts(metadata, ouIds);
  if (narrowing.accountIds) {
    const byId = new Map(metadata.accounts.map((a) => [a.id, a]));
    const unknown = narrowing.accountIds.filter((id) => !byId.has(id));
    if (unknown.length > 0) {
      throw new CollectOrgError(`--accounts: not in the organization: ${unknown.join(', ')}`);
    }
    const inactive = narrowing.accountIds.filter((id) => byId.get(id)?.state !== 'ACTIVE');
    if (inactive.length > 0) {
      const states = inactive.map((id) => `${id} (${byId.get(id)?.state ?? '?'})`);
      throw new CollectOrgError(`--accounts: not ACTIVE: ${states.join(', ')}`);
    }
    const wanted = new Set(narrowing.accountIds);
    selected = selected.filter((id) => wanted.has(id));
  }
  if (selected.length === 0) {
    throw new CollectOrgError(
      ouIds.length > 0 && narrowing.accountIds
        ? 'no ACTIVE account is both in --accounts and under --ou'
        : 'no ACTIVE account to collect',
    );
  }
  return selected;
}

/** How the orchestration obtains clients and runs the collector; injected. */
export interface CollectOrgDeps {
  /** IAM with the caller's own credentials, for the caller's own account. */
  readonly ownIam: () => IAMClient;
  /** IAM acting as `roleArn`; rejects with AssumeRoleError when the role cannot be assumed. */
  readonly assumedIam: (roleArn: string, accountId: string) => Promise<IAMClient>;
  /** The per-account collector (collector/account-collector.ts). */
  readonly collect: typeof collectAccountReport;
  /** ISO time source for problem records. @default () => new Date() */
  readonly clock?: () => Date;
}

export interface CollectAccountsOptions {
  readonly caller: CallerIdentity;
  /** The accounts; started, and handed over, in ascending id order as far as possible. */
  readonly accountIds: readonly string[];
  /** Role name (optionally with a path) assumed in every account but the caller's. */
  readonly roleName: string;
  /**
   * Accounts in hand at once: being collected, or collected and not yet taken by the consumer (it
   * takes one by asking for the next). A slow consumer therefore holds back new collections instead
   * of letting reports pile up.
   */
  readonly concurrency: number;
  /**
   * No account is started this many places or more after the lowest account not yet settled. A
   * consumer that reorders within a window this large (runMerge's REORDER_WINDOW_REPORTS) then writes
   * every account in id order even when one account takes far longer than the others.
   * @default REORDER_WINDOW_REPORTS
   */
  readonly orderWindow?: number;
  /** Called as each account settles, in completion order. */
  readonly onSettled?: (outcome: AccountOutcome) => void;
}

export type AccountOutcome = {
  readonly accountId: string;
  /** Whether a role was assumed for it (every account but the caller's). */
  readonly assumedRole: boolean;
} & (
  | {
      readonly ok: true;
      readonly users: number;
      readonly durationMs: number;
      /** IAM requests the collector sent, per operation. */
      readonly apiCalls: Readonly<Record<string, number>>;
    }
  | { readonly ok: false; readonly problem: ReportProblem }
);

/** Collects one account; never rejects for an AWS failure, which becomes a problem outcome instead. */
async function collectOne(
  deps: CollectOrgDeps,
  opts: CollectAccountsOptions,
  accountId: string,
): Promise<AccountReport | undefined> {
  const started = Date.now();
  const own = accountId === opts.caller.accountId;
  const fail = (detail: string): undefined => {
    const at = (deps.clock ?? (() => new Date()))().toISOString();
    const problem: ReportProblem = { accountId, reason: 'collection-failed', detail, at };
    opts.onSettled?.({ accountId, assumedRole: !own, ok: false, problem });
    return undefined;
  };
  let iam: IAMClient;
  if (own) {
    iam = deps.ownIam();
  } else {
    const roleArn = roleArnFor(opts.caller.partition, accountId, opts.roleName);
    try {
      iam = await deps.assumedIam(roleArn, accountId);
    } catch (error) {
      return fail(
        error instanceof AssumeRoleError ? error.message : `AssumeRole ${roleArn} failed: ${describe(error)}`,
      );
    }
  }
  let collected: Awaited<ReturnType<CollectOrgDeps['collect']>>;
  try {
    collected = await deps.collect({ iam }, { accountId });
  } catch (error) {
    return fail(`collection failed: ${describe(error)}`);
  }
  const { report, stats } = collected;
  opts.onSettled?.({
    accountId,
    assumedRole: !own,
    ok: true,
    users: stats.users,
    durationMs: Date.now() - started,
    apiCalls: stats.apiCalls,
  });
  return report;
}

/**
 * Collects every account in `accountIds` and yields each report as soon as it can be handed over, so
 * a consumer such as runMerge writes while the rest is still being collected and no more than
 * `concurrency` reports wait here. The caller's own account uses the caller's credentials; every
 * other assumes `arn:<partition>:iam::<id>:role/<roleName>`. An account that fails is reported
 * through `onSettled` (with its {@link ReportProblem}) and yields nothing; the others go on.
 *
 * Reports come out in ascending account id whenever that costs no waiting (the lowest id among
 * those ready first); with `orderWindow` this keeps runMerge's reorder window enough to write every
 * account in order. Stopping the iteration early stops starting new accounts.
 */
export async function* collectAccounts(
  deps: CollectOrgDeps,
  opts: CollectAccountsOptions,
): AsyncGenerator<AccountReport, void, undefined> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new RangeError(`collectAccounts: concurrency must be a positive integer, got ${opts.concurrency}`);
  }
  const ids = [...new Set(opts.accountIds)].sort();
  const orderWindow = Math.max(1, opts.orderWindow ?? REORDER_WINDOW_REPORTS);
  /** 1 once the account's report was handed over or the account failed. */
  const settled = new Uint8Array(ids.length);
  const ready: { readonly index: number; readonly report: AccountReport }[] = [];
  let next = 0;
  let lowestUnsettled = 0;
  let running = 0;
  let handingOver = 0;
  let stopped = false;
  let failure: { readonly error: unknown } | undefined;
  let wake: (() => void) | undefined;

  const settle = (index: number): void => {
    settled[index] = 1;
    while (lowestUnsettled < ids.length && settled[lowestUnsettled] === 1) lowestUnsettled++;
  };
  const signal = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const start = (): void => {
    while (
      !stopped &&
      failure === undefined &&
      next < ids.length &&
      next < lowestUnsettled + orderWindow &&
      running + ready.length + handingOver < opts.concurrency
    ) {
      const index = next++;
      running++;
      collectOne(deps, opts, ids[index] as string).then(
        (report) => {
          running--;
          if (report) ready.push({ index, report });
          else settle(index);
          start();
          signal();
        },
        // Only a throwing onSettled or clock gets here: AWS failures are outcomes.
        (error: unknown) => {
          running--;
          failure ??= { error };
          signal();
        },
      );
    }
  };

  try {
    for (;;) {
      start();
      if (failure) throw failure.error;
      if (ready.length > 0) {
        let lowest = 0;
        for (let i = 1; i < ready.length; i++) {
          if ((ready[i]?.index ?? Infinity) < (ready[lowest]?.index ?? Infinity)) lowest = i;
        }
        const [item] = ready.splice(lowest, 1) as [(typeof ready)[number]];
        settle(item.index);
        // The slot stays taken until the consumer asks for the next report.
        handingOver = 1;
        try {
          yield item.report;
        } finally {
          handingOver = 0;
        }
        continue;
      }
      if (running === 0 && next >= ids.length) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stopped = true;
  }
}

/** `Name: message`, plus the root cause's when the collector wrapped an SDK error. */
function describe(error: unknown): string {
  const text = `${errorName(error)}: ${errorMessage(error)}`;
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause === undefined || cause === null) return text;
  const causeText = `${errorName(cause)}: ${errorMessage(cause)}`;
  return text.includes(errorMessage(cause)) ? text : `${text} (${causeText})`;
}
